package refbackend

import (
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/gorilla/websocket"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Causes of a session's end (MQTTStats.DisconnectsByCause).
const (
	causeClean                   = "clean"
	causeKeepaliveExpired        = "keepalive_expired"
	causeTakenOver               = "taken_over"
	causeClosedWithoutDisconnect = "closed_without_disconnect"
	causeSlowConsumer            = "slow_consumer"
	causeOther                   = "other"
)

// disconnectHook counts every ended session by cause.
type disconnectHook struct {
	mqtt.HookBase
	stats *counters
}

var _ mqtt.Hook = (*disconnectHook)(nil)

// ID implements mqtt.Hook.
func (h *disconnectHook) ID() string { return "eixam-disconnects" }

// Provides implements mqtt.Hook.
func (h *disconnectHook) Provides(b byte) bool { return b == mqtt.OnDisconnect }

// Init implements mqtt.Hook; config must be *counters.
func (h *disconnectHook) Init(config any) error {
	c, ok := config.(*counters)
	if !ok || c == nil {
		return fmt.Errorf("disconnect hook: %w: want *counters, got %T", mqtt.ErrInvalidConfigType, config)
	}
	h.stats = c
	return nil
}

// OnDisconnect implements mqtt.Hook. mochi calls it once for every session
// that was established, after its reading ended.
func (h *disconnectHook) OnDisconnect(cl *mqtt.Client, err error, _ bool) {
	h.stats.disconnectsBy.add(disconnectCause(cl, err))
}

// disconnectCause classifies the end of cl's session; err is what ended
// its reading (nil once the client was stopped).
func disconnectCause(cl *mqtt.Client, err error) string {
	var stop packets.Code
	stopped := errors.As(cl.StopCause(), &stop)
	switch {
	case stopped && stop.Code == packets.CodeDisconnect.Code,
		errors.Is(err, packets.CodeDisconnectWillMessage):
		return causeClean // the client sent DISCONNECT
	case cl.IsTakenOver(), stopped && stop.Code == packets.ErrSessionTakenOver.Code:
		return causeTakenOver
	}
	if c, ok := cl.Net.Conn.(*conn); ok {
		readExpired, slow := c.ended()
		switch {
		case slow:
			return causeSlowConsumer
		case readExpired && !stopped:
			return causeKeepaliveExpired
		}
	}
	var closeErr *websocket.CloseError
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.As(err, &closeErr) {
		return causeClosedWithoutDisconnect
	}
	return causeOther
}
