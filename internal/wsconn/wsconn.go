// Package wsconn presents a WebSocket connection as the byte stream an
// MQTT client or broker reads and writes (MQTT 5 §6: MQTT over WebSocket
// uses binary messages; a packet may span messages and a message may hold
// several packets). Both the simulator's clients and the reference
// backend's listener use it.
//
// Reading accepts any split. Writing sends exactly one binary message per
// MQTT control packet, whatever the writes look like: some brokers
// (mosquitto 2.0 among them) drop a client whose packet spans messages
// once another packet's bytes come between them. See framer.go.
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

// Conn adapts a *websocket.Conn to net.Conn.
//
// Reads come from one reader at a time. Writes are cut at MQTT packet
// boundaries and each packet goes out as one binary message (framer.go).
// Conn is also a sync.Locker: a writer that writes one packet in several
// Write calls holds the lock for the whole packet, so packets of
// concurrent writers never interleave. paho's ControlPacket.WriteTo does
// exactly that for any connection that is a sync.Locker (it writes the
// fixed header and each part of the packet separately).
type Conn struct {
	ws *websocket.Conn

	rmu sync.Mutex
	r   io.Reader // the current message, nil between messages

	pmu sync.Mutex // the packet lock of Lock and Unlock

	wmu sync.Mutex // serialises Write: gorilla allows one writer at a time
	f   framer     // guarded by wmu
}

var (
	_ net.Conn    = (*Conn)(nil)
	_ sync.Locker = (*Conn)(nil)
)

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

// Write implements net.Conn. Every MQTT packet that p completes goes out
// as one binary message; the bytes of a packet not yet complete wait for
// the next Write. n is len(p) unless sending a message failed.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.f.write(p, c.send)
}

func (c *Conn) send(packet []byte) error {
	return c.ws.WriteMessage(websocket.BinaryMessage, packet)
}

// Lock takes the packet lock: until Unlock, no other goroutine that also
// takes it can write. It does not block Write itself, so the holder writes
// as usual.
func (c *Conn) Lock() { c.pmu.Lock() }

// Unlock releases the packet lock.
func (c *Conn) Unlock() { c.pmu.Unlock() }

// closeGrace bounds the write of the closing handshake's Close frame.
const closeGrace = 100 * time.Millisecond

// Close implements net.Conn. It sends a WebSocket Close frame first (RFC
// 6455 §5.5.1), so the peer handles every message before it (an MQTT
// DISCONNECT, say) before it sees the connection end: without one, a
// broker reading TLS may take the end of the stream first and log the
// client as dropped. Bytes of an unfinished packet are discarded.
func (c *Conn) Close() error {
	// WriteControl may run concurrently with other writes; a peer that is
	// gone only costs closeGrace.
	_ = c.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(closeGrace))
	return c.ws.Close()
}

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
