package netem

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// closeLinger bounds how long queued bytes may still wait for the peer to
// take them after Close, past the time the last of them is due.
const closeLinger = 5 * time.Second

// aLongTimeAgo is a deadline in the past, to wake a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// Conn is a connection on a Link. It implements net.Conn as TCP would
// over the link:
//
//   - Write queues the bytes (a copy) and returns; each packet is written
//     to the underlying connection when it is due, by a runtime timer. It
//     blocks only while the send buffer (queueBytes) is full.
//   - Read returns bytes once they are due: the time the underlying
//     connection delivered them plus the downlink's delay. While it waits
//     it keeps reading, so later bytes are timed from when they came.
//   - Deadlines behave as net.Conn documents: a Read or Write past its
//     deadline fails with an error that wraps os.ErrDeadlineExceeded.
//   - Close returns at once; bytes already written still cross at their
//     due times before the underlying connection is closed (as the kernel
//     sends a closed socket's buffer before its FIN), or are dropped if
//     the peer has not taken them closeLinger after the last is due.
//     Read and Write fail with net.ErrClosed from then on.
//   - CloseWrite likewise shuts the underlying connection's writing side
//     once the queued bytes are out; later writes fail with EPIPE.
//
// Conn is also a sync.Locker, like wsconn.Conn: paho's ControlPacket.WriteTo
// holds the lock while it writes one packet in several Write calls, so
// packets of concurrent writers never interleave (on a bare *net.TCPConn
// a single writev gives the same). Each Write's bytes stay together
// whatever the lock.
type Conn struct {
	c      net.Conn
	link   *Link
	closed atomic.Bool
	done   chan struct{} // closed by Close
	psem   chan struct{} // the packet lock of Lock and Unlock
	up     uplink
	down   downlink
}

var (
	_ net.Conn    = (*Conn)(nil)
	_ sync.Locker = (*Conn)(nil)
)

// What the caller asked of the uplink.
const (
	shutNone = iota
	shutWrite
	shutClose
)

// What became of the underlying connection.
const (
	rawOpen = iota
	rawWriteShut
	rawClosed
)

// uplink is the phone-to-server direction: a queue written out by a timer.
type uplink struct {
	// wsem lets one Write in at a time, so each Write's bytes stay
	// together. A channel, not a sync.Mutex, so a Write waiting for
	// another is durably blocked for testing/synctest.
	wsem chan struct{}
	wt   *time.Timer // a waiting Write's deadline; only the holder of wsem uses it

	mu       sync.Mutex
	q        queue
	path     path
	timer    *time.Timer // runs flush when the first queued packet is due
	armed    bool        // timer is set
	flushing bool        // flush is writing to the underlying connection
	deadline time.Time
	err      error // the underlying Write's error, which ends the uplink
	shut     int
	raw      int
	room     chan struct{} // told when room frees up or shut changes (cap 1)
}

// downlink is the server-to-phone direction: the reader's own queue.
type downlink struct {
	rsem chan struct{} // one Read at a time, like wsem; guards the fields up to mu

	q       queue
	path    path
	err     error // the underlying Read's error, returned once errDue comes
	errDue  int64
	timer   *time.Timer
	scratch [512]byte // what an idle Read reads into, so it holds no block

	mu        sync.Mutex
	deadline  time.Time
	wake      int64     // the due time a Read blocked in the underlying connection waits for
	installed time.Time // the read deadline set on the underlying connection
	closed    bool
	kick      chan struct{} // told when the deadline changes (cap 1)
}

// Wrap puts c, a connection already established, on the link. The
// connection's handshake is not delayed (Dial does that). The wrapper
// sits under TLS and WebSocket, on the raw connection.
func (l *Link) Wrap(c net.Conn) *Conn {
	n := l.conns.Add(1)
	w := &Conn{c: c, link: l, done: make(chan struct{}), psem: make(chan struct{}, 1)}
	w.up.wsem = make(chan struct{}, 1)
	w.up.room = make(chan struct{}, 1)
	w.down.rsem = make(chan struct{}, 1)
	w.down.kick = make(chan struct{}, 1)
	w.down.wake = never
	w.up.path.init(l, up, n)
	w.down.path.init(l, down, n)
	return w
}

// handshake waits out TCP's handshake over the link: the SYN up, the
// SYN-ACK down.
func (c *Conn) handshake(ctx context.Context) error {
	syn := c.up.path.empty(c.link.now(), synRTO)
	ack := c.down.path.empty(syn, synRTO)
	t := time.NewTimer(time.Duration(ack - c.link.now()))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Read implements net.Conn.
func (c *Conn) Read(p []byte) (int, error) {
	d := &c.down
	select {
	case d.rsem <- struct{}{}:
	case <-c.done:
		return 0, c.opError("read", net.ErrClosed)
	}
	defer func() { <-d.rsem }()
	for {
		if c.closed.Load() {
			d.q.clear()
			return 0, c.opError("read", net.ErrClosed)
		}
		if len(p) == 0 {
			return 0, nil
		}
		now := c.link.now()
		if n := d.q.take(p, now); n > 0 {
			d.q.release()
			return n, nil
		}
		if d.err != nil && d.q.empty() && now >= d.errDue {
			return 0, d.err
		}
		dl := d.readDeadline()
		if !dl.IsZero() && !time.Now().Before(dl) {
			return 0, c.opError("read", os.ErrDeadlineExceeded)
		}
		next := int64(never)
		switch {
		case !d.q.empty():
			next = d.q.head().due
		case d.err != nil:
			next = d.errDue
		}
		if d.err != nil || d.q.room() == 0 {
			// Nothing more to read now: wait for the first bytes to
			// come due, or for a new deadline or Close.
			var until time.Time
			if next != never {
				until = c.link.at(next)
			}
			if !dl.IsZero() && (until.IsZero() || dl.Before(until)) {
				until = dl
			}
			wait(&d.timer, until, d.kick, c.done)
			continue
		}
		c.fill(p, next)
	}
}

// fill reads once from the underlying connection, until next at the
// latest (the first queued bytes' due time) or the caller's deadline, and
// queues and times what came. p may serve as scratch (io.Reader allows it).
func (c *Conn) fill(p []byte, next int64) {
	d := &c.down
	queued := d.q.b != nil
	var buf []byte
	switch {
	case queued:
		buf = d.q.space()
	case len(p) >= len(d.scratch):
		buf = p[:min(len(p), queueBytes)]
	default:
		buf = d.scratch[:]
	}
	d.mu.Lock()
	d.wake = next
	d.applyLocked(c)
	d.mu.Unlock()
	n, err := c.c.Read(buf)
	now := c.link.now()
	if n > 0 {
		if queued {
			d.q.grow(n)
		} else {
			d.q.write(buf[:n])
		}
		d.path.schedule(&d.q, now, n)
	}
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		// The end of the stream (or a reset) crosses the link too,
		// after the bytes before it.
		d.err = err
		d.errDue = d.path.empty(now, c.link.rto)
	}
}

func (d *downlink) readDeadline() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.deadline
}

// applyLocked sets the underlying read deadline to the earlier of the
// caller's and the reader's wake time, if that changed.
func (d *downlink) applyLocked(c *Conn) {
	if d.closed {
		return
	}
	t := d.deadline
	if d.wake != never {
		if w := c.link.at(d.wake); t.IsZero() || w.Before(t) {
			t = w
		}
	}
	if !t.Equal(d.installed) {
		d.installed = t
		c.c.SetReadDeadline(t)
	}
}

// Write implements net.Conn.
func (c *Conn) Write(b []byte) (int, error) {
	u := &c.up
	select {
	case u.wsem <- struct{}{}:
	case <-c.done:
		return 0, c.opError("write", net.ErrClosed)
	}
	defer func() { <-u.wsem }()
	written := 0
	for {
		u.mu.Lock()
		if err := c.refusalLocked(); err != nil {
			u.mu.Unlock()
			return written, err
		}
		dl := u.deadline
		if !dl.IsZero() && !time.Now().Before(dl) {
			u.mu.Unlock()
			return written, c.opError("write", os.ErrDeadlineExceeded)
		}
		if len(b) == 0 {
			u.mu.Unlock()
			return written, nil
		}
		if room := u.q.room(); room > 0 {
			n := min(room, len(b))
			now := c.link.now()
			u.q.write(b[:n])
			u.path.schedule(&u.q, now, n)
			if !u.armed && !u.flushing {
				u.arm(c, now)
			}
			u.mu.Unlock()
			b, written = b[n:], written+n
			continue
		}
		u.mu.Unlock()
		wait(&u.wt, dl, u.room, c.done)
	}
}

// refusalLocked returns why the uplink takes no more bytes, or nil.
func (c *Conn) refusalLocked() error {
	switch {
	case c.closed.Load() || c.up.shut == shutClose:
		return c.opError("write", net.ErrClosed)
	case c.up.shut == shutWrite:
		return c.opError("write", syscall.EPIPE)
	}
	return c.up.err
}

// arm sets the timer for the first queued packet.
func (u *uplink) arm(c *Conn, now int64) {
	d := time.Duration(u.q.head().due - now)
	if u.timer == nil {
		u.timer = time.AfterFunc(d, c.flush)
	} else {
		u.timer.Reset(d)
	}
	u.armed = true
}

// flush, the uplink's timer, writes the packets that are due to the
// underlying connection, in order, and sets the timer for the next. When
// the queue is empty it carries out a Close or CloseWrite that waited.
func (c *Conn) flush() {
	u := &c.up
	u.mu.Lock()
	defer u.mu.Unlock()
	u.armed = false
	if u.flushing {
		return
	}
	u.flushing = true
	for u.err == nil {
		n := u.q.ready(c.link.now(), queueBytes)
		if n == 0 {
			break
		}
		chunk := u.q.peek(n)
		u.mu.Unlock() // Write appends behind chunk meanwhile, never into it
		_, err := c.c.Write(chunk)
		u.mu.Lock()
		if err != nil {
			u.err = err
			break
		}
		u.q.discard(len(chunk))
		signal(u.room)
	}
	u.flushing = false
	if u.err != nil {
		u.q.clear()
		signal(u.room)
	}
	if !u.q.empty() {
		u.arm(c, c.link.now())
		return
	}
	u.q.release()
	c.finishLocked()
}

// finishLocked does to the underlying connection what Close or
// CloseWrite asked, now that nothing is left to send.
func (c *Conn) finishLocked() error {
	u := &c.up
	switch {
	case u.shut == shutClose && u.raw != rawClosed:
		u.raw = rawClosed
		return c.c.Close()
	case u.shut == shutWrite && u.raw == rawOpen:
		u.raw = rawWriteShut
		return c.c.(closeWriter).CloseWrite()
	}
	return nil
}

type closeWriter interface{ CloseWrite() error }

// Close implements net.Conn. It returns at once: bytes already written
// still cross at their due times, then the underlying connection closes.
func (c *Conn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return c.opError("close", net.ErrClosed)
	}
	close(c.done)
	u := &c.up
	u.mu.Lock()
	u.shut = shutClose
	signal(u.room)
	lingering := u.flushing || !u.q.empty() && u.err == nil
	var err error
	if lingering {
		c.c.SetWriteDeadline(c.link.at(u.path.last).Add(closeLinger))
	} else {
		u.q.clear()
		err = c.finishLocked()
	}
	u.mu.Unlock()

	d := &c.down
	d.mu.Lock()
	d.closed = true
	if lingering {
		c.c.SetReadDeadline(aLongTimeAgo) // wake a Read blocked in the underlying connection
	}
	d.mu.Unlock()
	signal(d.kick)
	return err
}

// CloseWrite shuts the writing side, once the bytes already written are
// out, if the underlying connection can (a *net.TCPConn can); reading goes
// on. crypto/tls's CloseWrite calls it.
func (c *Conn) CloseWrite() error {
	if _, ok := c.c.(closeWriter); !ok {
		return c.opError("close", errors.ErrUnsupported)
	}
	u := &c.up
	u.mu.Lock()
	defer u.mu.Unlock()
	switch u.shut {
	case shutClose:
		return c.opError("close", net.ErrClosed)
	case shutWrite:
		return nil
	}
	u.shut = shutWrite
	signal(u.room)
	if !u.flushing && (u.q.empty() || u.err != nil) {
		u.q.clear()
		return c.finishLocked()
	}
	return nil
}

// LocalAddr implements net.Conn.
func (c *Conn) LocalAddr() net.Addr { return c.c.LocalAddr() }

// RemoteAddr implements net.Conn.
func (c *Conn) RemoteAddr() net.Addr { return c.c.RemoteAddr() }

// SetDeadline implements net.Conn.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline implements net.Conn. It applies to a Read already
// waiting too.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if c.closed.Load() {
		return c.opError("set", net.ErrClosed)
	}
	d := &c.down
	d.mu.Lock()
	d.deadline = t
	d.applyLocked(c)
	d.mu.Unlock()
	signal(d.kick)
	return nil
}

// SetWriteDeadline implements net.Conn. It applies to a Write already
// waiting for room too; bytes already queued are not affected.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if c.closed.Load() {
		return c.opError("set", net.ErrClosed)
	}
	u := &c.up
	u.mu.Lock()
	u.deadline = t
	u.mu.Unlock()
	signal(u.room)
	return nil
}

// Lock takes the packet lock (see Conn).
func (c *Conn) Lock() { c.psem <- struct{}{} }

// Unlock releases the packet lock. Like sync.Mutex, it panics if the lock
// is not held.
func (c *Conn) Unlock() {
	select {
	case <-c.psem:
	default:
		panic("netem: Unlock of an unlocked Conn")
	}
}

func (c *Conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: c.c.LocalAddr().Network(), Source: c.c.LocalAddr(), Addr: c.c.RemoteAddr(), Err: err}
}

// signal tells ch's waiter, if any; one pending signal is kept.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// wait blocks until the time until (forever if zero), a signal on wake,
// or done. timer is reused from one wait to the next.
func wait(timer **time.Timer, until time.Time, wake, done <-chan struct{}) {
	if until.IsZero() {
		select {
		case <-wake:
		case <-done:
		}
		return
	}
	d := time.Until(until)
	if d <= 0 {
		return
	}
	if *timer == nil {
		*timer = time.NewTimer(d)
	} else {
		(*timer).Reset(d)
	}
	select {
	case <-(*timer).C:
	case <-wake:
	case <-done:
	}
	(*timer).Stop()
}
