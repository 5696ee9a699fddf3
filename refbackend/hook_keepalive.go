package refbackend

import (
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// keepaliveHook enforces keep-alive exactly: a connection that sends
// nothing for 1.5 × the keep-alive of its CONNECT (MQTT 5 §3.1.2.10) is
// closed, as if the network had failed (no DISCONNECT). Keep-alive 0
// means no timeout. mochi would round 1.5 × down to whole seconds; the
// hook hands the exact value to the connection (conn.go).
type keepaliveHook struct {
	mqtt.HookBase
}

var _ mqtt.Hook = (*keepaliveHook)(nil)

// ID implements mqtt.Hook.
func (h *keepaliveHook) ID() string { return "eixam-keepalive" }

// Provides implements mqtt.Hook.
func (h *keepaliveHook) Provides(b byte) bool { return b == mqtt.OnConnect }

// OnConnect implements mqtt.Hook. mochi calls it after parsing the CONNECT
// and before it sets the first keep-alive deadline.
func (h *keepaliveHook) OnConnect(cl *mqtt.Client, _ packets.Packet) error {
	if c, ok := cl.Net.Conn.(*conn); ok {
		c.setKeepAlive(time.Duration(cl.State.Keepalive) * time.Second)
	}
	return nil
}
