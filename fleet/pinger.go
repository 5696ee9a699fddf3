package fleet

import (
	"context"
	"errors"
	"fmt"
	"github.com/eixamsim/eixamsim/errclass"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"github.com/eclipse/paho.golang/paho/log"

	"github.com/eixamsim/eixamsim/metrics"
)

// errPingTimeout is the cause recorded when the broker did not answer a
// PINGREQ within the keep-alive.
var errPingTimeout = errors.New("PINGRESP timed out")

// pinger keeps one MQTT connection alive the way paho's DefaultPinger does,
// but with a runtime timer instead of a goroutine: its Run arms the timer
// and returns at once, so an idle connection costs paho's reader and
// router goroutines and no third one.
//
// Like DefaultPinger it sends a PINGREQ when the keep-alive has passed
// since a packet was last sent or last received (whichever is older; a
// connection that only sends is probed too), and it declares the
// connection dead when a PINGREQ is not answered by a PINGRESP within the
// keep-alive. Unlike DefaultPinger, which returns an error from Run, it
// then closes the connection: paho's reader fails and the client reports
// the loss through OnClientError, as it does for any broken connection.
// Unlike DefaultPinger it sends no PINGREQ right after CONNACK: CONNECT and
// CONNACK were just exchanged, so the first one is due a keep-alive later.
//
// Once the connection's context ends, the timer fires at most once more
// (within a keep-alive), sees the context done and does nothing: no
// PINGREQ, no close. Checking there, rather than registering with the
// context, keeps the pinger at one small allocation and one timer.
//
// Times are kept as monotonic offsets from the pinger's creation, so that
// paho's per-packet calls (PacketSent, PacketReceived) are one atomic
// store each. A pinger serves one connection: make it with newPinger.
type pinger struct {
	base time.Time // creation; the offsets below count from it
	// Offsets from base of the last packet the client wrote, of the last
	// it read, and of the last PINGRESP; written by paho's goroutines.
	lastSent, lastReceived, lastPingResp atomic.Int64

	mu       sync.Mutex
	ctx      context.Context // the connection's, from Run
	conn     net.Conn        // from Run
	interval time.Duration   // the keep-alive, from Run
	timer    *time.Timer     // the next check; nil until Run
	pingSent time.Duration   // offset of the last PINGREQ written; 0 before the first
	stopped  bool            // the context ended, or the pinger closed the connection
	failure  error           // why the pinger closed the connection; nil if it did not
	answered bool            // the last PINGREQ got its PINGRESP

	// rtt are the metrics each PINGREQ's round trip is recorded on
	// (mqtt.ping, and its per-profile twin); a PINGREQ unanswered
	// within the keep-alive counts as a "timeout" error on them.
	rtt []*metrics.Latency
}

var _ paho.Pinger = (*pinger)(nil)

// newPinger returns a pinger for one connection that records each
// PINGREQ -> PINGRESP round trip on rtt (nil entries are skipped).
func newPinger(rtt ...*metrics.Latency) *pinger {
	p := &pinger{base: time.Now()}
	for _, m := range rtt {
		if m != nil {
			p.rtt = append(p.rtt, m)
		}
	}
	return p
}

// since returns the offset of now from p.base, at least 1 ns (0 means
// "never").
func (p *pinger) since() time.Duration { return max(time.Since(p.base), 1) }

// Run implements paho.Pinger. It arms the first check a keep-alive from
// now and returns nil at once; with keepAlive 0 (no keep-alive) it does
// nothing. The checks stop when ctx (paho's connection context) ends.
func (p *pinger) Run(ctx context.Context, conn net.Conn, keepAlive uint16) error {
	if keepAlive == 0 {
		return nil
	}
	if conn == nil {
		return fmt.Errorf("pinger: conn is nil")
	}
	// CONNECT was sent and CONNACK received just now; a packet paho
	// already recorded (a SUBSCRIBE racing this goroutine) stands.
	now := int64(p.since())
	p.lastSent.CompareAndSwap(0, now)
	p.lastReceived.CompareAndSwap(0, now)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.timer != nil {
		return fmt.Errorf("pinger: Run called twice")
	}
	p.ctx, p.conn = ctx, conn
	p.interval = time.Duration(keepAlive) * time.Second
	p.timer = time.AfterFunc(p.interval, p.check)
	return nil
}

// check runs on the timer: it closes a connection whose PINGREQ went
// unanswered, writes a PINGREQ when one is due, and re-arms itself.
func (p *pinger) check() {
	now := p.since()
	p.mu.Lock()
	if p.stopped || p.ctx.Err() != nil {
		p.stopped = true
		p.mu.Unlock()
		return
	}
	if p.pingSent != 0 && p.pingSent > time.Duration(p.lastPingResp.Load()) {
		p.failLocked(errPingTimeout)
		return
	}
	due := min(p.lastSent.Load(), p.lastReceived.Load())
	due += int64(p.interval)
	if int64(now) < due {
		p.timer.Reset(time.Duration(due) - now)
		p.mu.Unlock()
		return
	}
	p.pingSent, p.answered = now, false
	p.timer.Reset(p.interval)
	conn := p.conn
	p.mu.Unlock()
	// paho writes its packets from several goroutines the same way: one
	// WriteTo is one write under the connection's lock (a single writev
	// on TCP; wsconn's packet lock on WebSocket). A write that blocks
	// holds only this timer's goroutine; the next check still runs.
	if _, err := packets.NewControlPacket(packets.PINGREQ).WriteTo(conn); err != nil {
		p.mu.Lock()
		if p.stopped || p.ctx.Err() != nil {
			p.mu.Unlock()
			return
		}
		p.failLocked(fmt.Errorf("send PINGREQ: %w", err))
	}
}

// failLocked records why the connection is dead, stops the checks and
// closes the connection, so that paho's reader fails and the client
// reports the loss. p.mu is held on entry and released.
func (p *pinger) failLocked(cause error) {
	if cause == errPingTimeout {
		for _, m := range p.rtt {
			m.Error(errclass.Timeout)
		}
	}
	p.failure = cause
	p.stopped = true
	p.timer.Stop()
	conn := p.conn
	p.mu.Unlock()
	_ = conn.Close()
}

// Failure returns why the pinger closed the connection, or nil if it did
// not.
func (p *pinger) Failure() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failure
}

// PacketSent implements paho.Pinger.
func (p *pinger) PacketSent() { p.lastSent.Store(int64(p.since())) }

// PacketReceived implements paho.Pinger.
func (p *pinger) PacketReceived() { p.lastReceived.Store(int64(p.since())) }

// PingResp implements paho.Pinger. It records the round trip of the
// PINGREQ it answers; a PINGRESP nobody asked for is not a sample.
func (p *pinger) PingResp() {
	now := p.since()
	p.lastPingResp.Store(int64(now))
	if len(p.rtt) == 0 {
		return
	}
	p.mu.Lock()
	sent, first := p.pingSent, p.pingSent != 0 && !p.answered
	p.answered = true
	p.mu.Unlock()
	if first {
		for _, m := range p.rtt {
			m.Record(now - sent)
		}
	}
}

// SetDebug implements paho.Pinger; the pinger logs nothing.
func (p *pinger) SetDebug(log.Logger) {}
