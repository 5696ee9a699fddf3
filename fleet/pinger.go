package fleet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"github.com/eclipse/paho.golang/paho/log"
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
// The zero value is ready for one connection; a pinger is not reused.
type pinger struct {
	mu           sync.Mutex
	conn         net.Conn      // set by Run
	interval     time.Duration // keep-alive; 0 until Run
	lastSent     time.Time     // last packet written by the client
	lastReceived time.Time     // last packet read by the client
	lastPingResp time.Time     // last PINGRESP read
	pingSent     time.Time     // last PINGREQ written; zero before the first
	timer        *time.Timer   // the next check; nil until Run
	stopped      bool          // the connection's context ended, or it was closed
	failure      error         // why the pinger closed the connection; nil if it did not
}

var _ paho.Pinger = (*pinger)(nil)

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
	now := time.Now()
	p.mu.Lock()
	if p.timer != nil {
		p.mu.Unlock()
		return fmt.Errorf("pinger: Run called twice")
	}
	p.conn = conn
	p.interval = time.Duration(keepAlive) * time.Second
	// CONNECT was sent and CONNACK received just now.
	p.lastSent, p.lastReceived = now, now
	p.timer = time.AfterFunc(p.interval, p.check)
	p.mu.Unlock()
	context.AfterFunc(ctx, p.stop)
	return nil
}

// stop ends the checks: no PINGREQ is written and nothing is closed after
// it returns (a check already past its test may still finish its write,
// which fails on the closed connection).
func (p *pinger) stop() {
	p.mu.Lock()
	p.stopped = true
	p.timer.Stop()
	p.mu.Unlock()
}

// check runs on the timer: it closes a connection whose PINGREQ went
// unanswered, writes a PINGREQ when one is due, and re-arms itself.
func (p *pinger) check() {
	now := time.Now()
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	if !p.pingSent.IsZero() && p.pingSent.After(p.lastPingResp) {
		p.failLocked(errPingTimeout)
		return
	}
	due := p.lastSent
	if p.lastReceived.Before(due) {
		due = p.lastReceived
	}
	due = due.Add(p.interval)
	if now.Before(due) {
		p.timer.Reset(due.Sub(now))
		p.mu.Unlock()
		return
	}
	p.pingSent = now
	p.timer.Reset(p.interval)
	conn := p.conn
	p.mu.Unlock()
	// paho writes its packets from several goroutines the same way: one
	// WriteTo is one write under the connection's lock (a single writev
	// on TCP; wsconn's packet lock on WebSocket). A write that blocks
	// holds only this timer's goroutine; the next check still runs.
	if _, err := packets.NewControlPacket(packets.PINGREQ).WriteTo(conn); err != nil {
		p.mu.Lock()
		if p.stopped {
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
	p.failure = cause
	p.stopped = true
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
func (p *pinger) PacketSent() {
	now := time.Now()
	p.mu.Lock()
	p.lastSent = now
	p.mu.Unlock()
}

// PacketReceived implements paho.Pinger.
func (p *pinger) PacketReceived() {
	now := time.Now()
	p.mu.Lock()
	p.lastReceived = now
	p.mu.Unlock()
}

// PingResp implements paho.Pinger.
func (p *pinger) PingResp() {
	now := time.Now()
	p.mu.Lock()
	p.lastPingResp = now
	p.mu.Unlock()
}

// SetDebug implements paho.Pinger; the pinger logs nothing.
func (p *pinger) SetDebug(log.Logger) {}
