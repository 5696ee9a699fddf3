package fleet

import (
	"bufio"
	"io"
	"net"
)

// readBufferSize is what a broker connection reads ahead: a CONNACK,
// SUBACK, PUBACK or PINGRESP in one read, and the first bytes of a larger
// PUBLISH (the rest is read straight into paho's buffer).
const readBufferSize = 64

// bufferedConn is a plain TCP broker connection whose reads go through a
// small buffer. paho reads each packet straight from its connection: the
// fixed header's first byte, then its length a byte at a time, then the
// rest — three read(2) calls for a 4-byte PUBACK that arrived in one
// segment. Through the buffer that is one. Everything else is the TCP
// connection's own: writes (a packet's parts in one writev), Close,
// deadlines. TLS (which buffers its records) and WebSocket connections,
// and those on a mobile link (netem queues them), are not wrapped.
type bufferedConn struct {
	*net.TCPConn
	r *bufio.Reader
}

// bufferReads wraps conn when it is a plain TCP connection.
func bufferReads(conn net.Conn) net.Conn {
	tcp, ok := conn.(*net.TCPConn)
	if !ok {
		return conn
	}
	return &bufferedConn{TCPConn: tcp, r: bufio.NewReaderSize(tcp, readBufferSize)}
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// WriteTo (io.WriterTo, which *net.TCPConn has too) must not read past
// the buffer.
func (c *bufferedConn) WriteTo(w io.Writer) (int64, error) { return c.r.WriteTo(w) }
