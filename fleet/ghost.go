package fleet

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// How a churned user's connection ends (phoneConn.end).
const (
	endOpen     int32 = iota // still in use: MQTT as usual
	endKilled                // the socket is closed with no DISCONNECT
	endVanished              // nothing more goes out; the socket stays open
)

// errGone is what paho gets from a connection whose phone was killed or
// vanished: nothing more is written, not even its DISCONNECT.
var errGone = errors.New("phone gone")

// phoneConn is the connection paho talks to, with the TCP socket under it
// (below TLS, WebSocket and the mobile link), so that a churned user can
// end it as a phone does: killed (close the socket itself: a FIN, no TLS
// close_notify or WebSocket close frame) or vanished (drop every write and
// leave the socket open). It is a sync.Locker when the connection under
// it is, as paho needs for whole-packet writes.
type phoneConn struct {
	net.Conn
	raw net.Conn // the TCP socket
	end atomic.Int32
}

// Write implements net.Conn: nothing goes out once the phone is gone.
func (c *phoneConn) Write(b []byte) (int, error) {
	if c.end.Load() != endOpen {
		return 0, errGone
	}
	return c.Conn.Write(b)
}

// Close implements net.Conn. A killed phone's socket is closed under
// every layer; a vanished one's stays open: the read deadline only wakes
// paho's reader, so that the client's goroutines end and the socket is
// left to the reaper.
func (c *phoneConn) Close() error {
	switch c.end.Load() {
	case endKilled:
		return c.raw.Close()
	case endVanished:
		return c.Conn.SetReadDeadline(time.Now())
	}
	return c.Conn.Close()
}

// Lock implements sync.Locker (paho locks a connection that has one around
// each packet it writes).
func (c *phoneConn) Lock() {
	if l, ok := c.Conn.(sync.Locker); ok {
		l.Lock()
	}
}

// Unlock implements sync.Locker.
func (c *phoneConn) Unlock() {
	if l, ok := c.Conn.(sync.Locker); ok {
		l.Unlock()
	}
}

// A ghost is the open, silent socket of a vanished (or roamed) user,
// waiting for the broker to close it. It holds no goroutine: the reaper
// looks at every ghost from one timer.
type ghost struct {
	raw   net.Conn
	since time.Time // when it went silent
	roam  bool
	tail  []byte // the last bytes the broker sent it (tailKeep at most)
	// connects is its user's count of CONNECTs sent, at; more when it
	// ends means the user connected again meanwhile: a broker closing
	// the ghost then is taking the session over, whether it says so
	// (DISCONNECT 0x8E) or not.
	connects *atomic.Uint64
	at       uint64
}

// reconnected reports whether the ghost's user has sent a CONNECT since
// the ghost went silent.
func (g *ghost) reconnected() bool { return g.connects != nil && g.connects.Load() > g.at }

// tailKeep is how much of the end of what the broker sent a ghost is
// kept: enough for a DISCONNECT with a reason string.
const tailKeep = 256

// keep remembers the end of what the broker sent.
func (g *ghost) keep(b []byte) {
	g.tail = append(g.tail, b...)
	if n := len(g.tail); n > tailKeep {
		g.tail = append(g.tail[:0], g.tail[n-tailKeep:]...)
	}
}

// takenOver reports whether the last packet the broker sent is an MQTT 5
// DISCONNECT with reason 0x8E (session taken over): a packet type 0xE0
// whose remaining length (a 1- or 2-byte varint) runs to the end.
func (g *ghost) takenOver() bool {
	t := g.tail
	for i := 0; i+2 < len(t); i++ {
		if t[i] != 0xE0 {
			continue
		}
		n, at := int(t[i+1]&0x7F), i+2
		if t[i+1]&0x80 != 0 && at < len(t) {
			n, at = n+int(t[at])<<7, at+1
		}
		if n >= 1 && at+n == len(t) && t[at] == 0x8E {
			return true
		}
	}
	return false
}

// reaper watches the ghosts: every tick it reads what each one's socket
// has (a non-blocking read, no goroutine per socket) to see the broker's
// close, and closes those still open 3 × keep-alive after going silent. Its
// timer runs only while there are ghosts.
type reaper struct {
	every, limit                                  time.Duration
	reaped                                        *metrics.Latency
	unreaped                                      *metrics.Counter
	takenOver                                     *metrics.Counter // vanished ghosts ended by their user's return
	roamTakenOver, roam8E, roamClosed, roamSilent *metrics.Counter

	mu     sync.Mutex
	ghosts []*ghost
	timer  *time.Timer
	closed bool
}

// newReaper makes the reaper of a run with keep-alive ka: it looks every
// ka/20 (10 ms to 250 ms), which bounds the error of mqtt.ghost_reaped.
func newReaper(ka time.Duration, reg *metrics.Registry) *reaper {
	return &reaper{
		every:         min(max(ka/20, 10*time.Millisecond), 250*time.Millisecond),
		limit:         3 * ka,
		reaped:        reg.Latency(scenario.MQTTGhostReaped),
		unreaped:      reg.Counter(scenario.MQTTGhostUnreaped),
		takenOver:     reg.Counter(scenario.MQTTGhostTakenOver),
		roamTakenOver: reg.Counter(scenario.MQTTRoamTakenOver),
		roam8E:        reg.Counter(scenario.MQTTRoamDisconnect8E),
		roamClosed:    reg.Counter(scenario.MQTTRoamClosed),
		roamSilent:    reg.Counter(scenario.MQTTRoamSilent),
	}
}

// add hands the reaper a socket gone silent at since, its user having
// sent at CONNECTs so far (connects; nil: not known).
func (p *reaper) add(raw net.Conn, since time.Time, roam bool, connects *atomic.Uint64, at uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		raw.Close()
		return
	}
	p.ghosts = append(p.ghosts, &ghost{raw: raw, since: since, roam: roam, connects: connects, at: at})
	if p.timer == nil {
		p.timer = time.AfterFunc(p.every, p.poll)
	}
}

// open returns how many ghosts are waiting.
func (p *reaper) open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ghosts)
}

// poll looks at every ghost once.
func (p *reaper) poll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	now := time.Now()
	keep := p.ghosts[:0]
	for _, g := range p.ghosts {
		switch {
		case peerClosed(g):
			g.raw.Close()
			p.ended(g, now, true)
		case now.Sub(g.since) >= p.limit:
			g.raw.Close()
			p.ended(g, now, false)
		default:
			keep = append(keep, g)
		}
	}
	clear(p.ghosts[len(keep):])
	p.ghosts = keep
	if len(keep) == 0 {
		p.timer = nil
		return
	}
	p.timer.Reset(p.every)
}

// ended counts how a ghost ended: closed by the broker (on a takeover:
// after its user's new CONNECT, or with DISCONNECT 0x8E) or not.
func (p *reaper) ended(g *ghost, now time.Time, byBroker bool) {
	said8E := byBroker && g.takenOver()
	takenOver := said8E || byBroker && g.reconnected()
	switch {
	case g.roam && takenOver:
		p.roamTakenOver.Inc()
		if said8E {
			p.roam8E.Inc()
		}
	case g.roam && byBroker:
		p.roamClosed.Inc()
	case g.roam:
		p.roamSilent.Inc()
	case takenOver:
		p.takenOver.Inc()
	case byBroker:
		p.reaped.Record(now.Sub(g.since))
	default:
		p.unreaped.Inc()
	}
}

// close looks at the ghosts a last time, closes those still open (the
// run is over; they count in nothing) and stops the reaper.
func (p *reaper) close() {
	p.poll() // what the broker closed since the last tick counts as usual
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	for _, g := range p.ghosts {
		g.raw.Close()
	}
	p.ghosts = nil
}
