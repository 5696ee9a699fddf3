package fleet

import (
	"io"
	"net"
)

// readAhead is what a broker connection reads ahead: a CONNACK, SUBACK,
// PUBACK or PINGRESP in one read, and the first bytes of a larger PUBLISH
// (the rest is read straight into paho's buffer).
const readAhead = 64

// bufferedConn is a plain TCP broker connection whose reads go through a
// small buffer. paho reads each packet straight from its connection: the
// fixed header's first byte, then its length a byte at a time, then the
// rest — three read(2) calls for a 4-byte PUBACK that arrived in one
// segment. Through the buffer that is one. Everything else is the TCP
// connection's own: writes (a packet's parts in one writev, as
// net.Buffers finds the embedded connection's), Close, deadlines. TLS
// (which buffers its records) and WebSocket connections, and those on a
// mobile link (netem queues them), are not wrapped.
//
// Only paho's reader reads, so the buffer needs no lock. It is kept in the
// struct, one allocation with the wrapper (80 B a connection).
type bufferedConn struct {
	*net.TCPConn
	r, w uint8 // buf[r:w] is read but not yet handed out
	buf  [readAhead]byte
}

// bufferReads wraps conn when it is a plain TCP connection.
func bufferReads(conn net.Conn) net.Conn {
	tcp, ok := conn.(*net.TCPConn)
	if !ok {
		return conn
	}
	return &bufferedConn{TCPConn: tcp}
}

func (c *bufferedConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.r == c.w {
		if len(p) >= len(c.buf) {
			return c.TCPConn.Read(p) // nothing buffered: straight into p
		}
		n, err := c.TCPConn.Read(c.buf[:])
		if n == 0 {
			return 0, err
		}
		// An error with data comes back on the next read of the socket.
		c.r, c.w = 0, uint8(n)
	}
	n := copy(p, c.buf[c.r:c.w])
	c.r += uint8(n)
	return n, nil
}

// WriteTo (io.WriterTo, which *net.TCPConn has too) hands out what is
// buffered first.
func (c *bufferedConn) WriteTo(w io.Writer) (int64, error) {
	var n int64
	if c.r < c.w {
		m, err := w.Write(c.buf[c.r:c.w])
		c.r += uint8(m)
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	m, err := c.TCPConn.WriteTo(w)
	return n + m, err
}
