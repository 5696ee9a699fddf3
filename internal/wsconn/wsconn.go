// Package wsconn presents a WebSocket connection as the byte stream an
// MQTT client or broker reads and writes (MQTT 5 §6: MQTT over WebSocket
// uses binary messages; a packet may span messages and a message may hold
// several packets). Both the simulator's clients and the reference
// backend's listener use it.
package wsconn

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// ErrNotBinary is returned by Read when the peer sends a text message.
var ErrNotBinary = errors.New("websocket: MQTT needs binary messages")

// Conn adapts a *websocket.Conn to net.Conn. Reads come from one reader at
// a time; writes are serialised, because gorilla/websocket allows one
// concurrent writer and paho writes from several goroutines.
type Conn struct {
	ws *websocket.Conn

	rmu sync.Mutex
	r   io.Reader // the current message, nil between messages

	wmu sync.Mutex
}

var _ net.Conn = (*Conn)(nil)

// New wraps ws.
func New(ws *websocket.Conn) *Conn { return &Conn{ws: ws} }

// Read implements net.Conn.
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if c.r == nil {
			typ, r, err := c.ws.NextReader()
			if err != nil {
				return 0, err
			}
			if typ != websocket.BinaryMessage {
				return 0, ErrNotBinary
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if errors.Is(err, io.EOF) {
			c.r = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

// Write implements net.Conn: one binary message per write.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close implements net.Conn.
func (c *Conn) Close() error { return c.ws.Close() }

// LocalAddr implements net.Conn.
func (c *Conn) LocalAddr() net.Addr { return c.ws.LocalAddr() }

// RemoteAddr implements net.Conn.
func (c *Conn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }

// Deadlines go to the underlying connection, whose setters are safe from
// any goroutine; gorilla's own setters are not (a broker refreshes
// deadlines while another goroutine writes).

// SetReadDeadline implements net.Conn.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.ws.NetConn().SetReadDeadline(t) }

// SetWriteDeadline implements net.Conn.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.ws.NetConn().SetWriteDeadline(t) }

// SetDeadline implements net.Conn.
func (c *Conn) SetDeadline(t time.Time) error { return c.ws.NetConn().SetDeadline(t) }
