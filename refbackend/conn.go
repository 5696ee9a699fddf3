package refbackend

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// closeFlushTimeout bounds how long a closing connection may take to
// write what is still queued (a server DISCONNECT, say): a client that
// does not read cannot hold a takeover, a Kick or StopMQTT longer.
const closeFlushTimeout = time.Second

// keptWriteBuffer is the largest queue buffer a connection keeps once its
// queue is empty.
const keptWriteBuffer = 16 << 10

// errSlowConsumer ends a connection whose client stopped reading.
var errSlowConsumer = errors.New("client does not read: write backlog over the limit")

// conn is the net.Conn mochi reads and writes for every MQTT connection.
// It does two things mochi does not:
//
//   - Keep-alive. mochi sets a deadline of 1.5 × keep-alive rounded down to
//     whole seconds (keep-alive 1 s → 1 s, 3 s → 4 s) on reads and writes
//     alike. conn applies exactly 1.5 × keep-alive (MQTT 5 §3.1.2.10,
//     set by the keepalive hook), to reads only.
//   - Writes never block. mochi writes to a client while holding that
//     client's lock, which the publisher of a QoS 1 message takes too, so
//     one client whose receive buffer is full would stall every publisher
//     of its topics (the lifecycle events among them) until its deadline.
//     conn queues the bytes and a goroutine, alive only while bytes wait,
//     writes them; a queue over the limit closes the connection.
type conn struct {
	net.Conn
	limit   int             // bytes that may wait before the client is closed as a slow consumer
	wg      *sync.WaitGroup // the listener's: counts the flush goroutines
	backlog *atomic.Int64   // server-wide gauge of bytes waiting

	readTimeout atomic.Int64 // ns after each packet read; 0: the deadline mochi asks for

	mu           sync.Mutex
	pending      []byte
	flushing     bool  // a flush goroutine runs
	closing      bool  // Close was called
	closed       bool  // the socket is closed
	werr         error // the write error that ended the connection
	readExpired  bool  // a read timed out: keep-alive (or CONNECT) timeout
	slowConsumer bool  // closed for a write backlog over limit
}

var _ net.Conn = (*conn)(nil)

func newConn(c net.Conn, limit int, wg *sync.WaitGroup, backlog *atomic.Int64) *conn {
	return &conn{Conn: c, limit: limit, wg: wg, backlog: backlog}
}

// setKeepAlive makes the read timeout 1.5 × keepAlive (none for 0).
func (c *conn) setKeepAlive(keepAlive time.Duration) {
	c.readTimeout.Store(int64(keepAlive * 3 / 2))
}

// Read implements net.Conn; it records a read timeout.
func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.mu.Lock()
			if !c.closing {
				c.readExpired = true
			}
			c.mu.Unlock()
		}
	}
	return n, err
}

// SetDeadline implements net.Conn. mochi calls it before reading each
// packet: it sets the read deadline only, at the exact keep-alive timeout
// once the CONNECT is known. Once closing it does nothing (the reader must
// stay unblocked).
func (c *conn) SetDeadline(t time.Time) error {
	if d := c.readTimeout.Load(); d > 0 && !t.IsZero() {
		t = time.Now().Add(time.Duration(d))
	}
	return c.SetReadDeadline(t)
}

// SetReadDeadline implements net.Conn; it does nothing once closing.
func (c *conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return nil
	}
	return c.Conn.SetReadDeadline(t)
}

// SetWriteDeadline implements net.Conn. Writes are queued, so there is
// nothing to bound: it does nothing.
func (c *conn) SetWriteDeadline(time.Time) error { return nil }

// Write implements net.Conn: it queues p and returns at once. A queue over
// the limit closes the connection.
func (c *conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.werr != nil:
		return 0, c.werr
	case c.closing:
		return 0, net.ErrClosed
	case len(c.pending)+len(p) > c.limit:
		c.slowConsumer = true
		c.werr = errSlowConsumer
		c.backlog.Add(-int64(len(c.pending)))
		c.pending = nil
		c.closed = true
		_ = c.Conn.Close() // the reader ends; the flush goroutine, if any, too
		return 0, c.werr
	}
	c.pending = append(c.pending, p...)
	c.backlog.Add(int64(len(p)))
	if !c.flushing {
		c.flushing = true
		c.wg.Add(1)
		go c.flush()
	}
	return len(p), nil
}

// flush writes the queue until it is empty, then closes the socket if
// Close was called meanwhile.
func (c *conn) flush() {
	defer c.wg.Done()
	var buf []byte
	for {
		c.mu.Lock()
		if c.werr != nil || len(c.pending) == 0 {
			c.flushing = false
			if cap(c.pending) > keptWriteBuffer {
				c.pending = nil // a burst's buffer is not kept for the connection's life
			}
			if c.closing && !c.closed {
				c.closed = true
				_ = c.Conn.Close()
			}
			c.mu.Unlock()
			return
		}
		buf, c.pending = c.pending, buf[:0]
		c.mu.Unlock()
		_, err := c.Conn.Write(buf)
		c.backlog.Add(-int64(len(buf)))
		if err != nil {
			c.mu.Lock()
			if c.werr == nil {
				c.werr = err
			}
			c.backlog.Add(-int64(len(c.pending)))
			c.pending = nil
			if !c.closed {
				c.closed = true
				_ = c.Conn.Close()
			}
			c.flushing = false
			c.mu.Unlock()
			return
		}
	}
}

// Close implements net.Conn. With bytes still queued it ends the reader at
// once and leaves the socket to the flush goroutine, which closes it once
// they are written or after closeFlushTimeout.
func (c *conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return nil
	}
	c.closing = true
	if c.flushing {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
		_ = c.Conn.SetReadDeadline(time.Unix(1, 0))
		return nil
	}
	if c.closed {
		return nil
	}
	c.closed = true
	return c.Conn.Close()
}

// ended reports what conn saw of the connection's end: a read that timed
// out (keep-alive), a write backlog over the limit.
func (c *conn) ended() (readExpired, slowConsumer bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readExpired, c.slowConsumer
}
