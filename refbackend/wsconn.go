package refbackend

import (
	"errors"
	"io"
	"net"

	"github.com/gorilla/websocket"
)

// errNotBinary is returned when a WebSocket client sends a text message;
// MQTT over WebSocket uses binary messages only (MQTT 5 §6).
var errNotBinary = errors.New("websocket: MQTT needs binary messages")

// wsConn presents a WebSocket connection as the byte stream mochi reads
// MQTT packets from. A packet may span messages and a message may hold
// several packets. Addresses and deadlines come from the underlying
// connection. mochi serialises writes (Client.WritePacket holds a lock), as
// gorilla/websocket requires.
type wsConn struct {
	net.Conn // the underlying connection
	ws       *websocket.Conn
	r        io.Reader // current message, nil between messages
}

var _ net.Conn = (*wsConn)(nil)

// Read implements net.Conn.
func (c *wsConn) Read(p []byte) (int, error) {
	for {
		if c.r == nil {
			typ, r, err := c.ws.NextReader()
			if err != nil {
				return 0, err
			}
			if typ != websocket.BinaryMessage {
				return 0, errNotBinary
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
func (c *wsConn) Write(p []byte) (int, error) {
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close implements net.Conn.
func (c *wsConn) Close() error { return c.ws.Close() }
