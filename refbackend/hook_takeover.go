package refbackend

import (
	"errors"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// takeoverWait bounds how long the end of a taken-over session waits for
// its takeover to be complete (in practice microseconds).
const takeoverWait = time.Second

// takeoverHook makes session takeover reliable. mochi's takeover sends the
// old client DISCONNECT 0x8E, closes it, and only then marks it taken
// over; meanwhile the old session's goroutine, seeing a clean session end
// that is not marked, removes the client id from the broker's table —
// by then the new session's entry. The next CONNECT with that id then
// finds nothing to take over and both connections stay open (seen about
// once in a few hundred back-to-back takeovers). The hook holds the old
// session's end, which runs just before that removal, until the mark is
// set.
type takeoverHook struct {
	mqtt.HookBase
}

var _ mqtt.Hook = (*takeoverHook)(nil)

// ID implements mqtt.Hook.
func (h *takeoverHook) ID() string { return "eixam-takeover" }

// Provides implements mqtt.Hook.
func (h *takeoverHook) Provides(b byte) bool { return b == mqtt.OnDisconnect }

// OnDisconnect implements mqtt.Hook.
func (h *takeoverHook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	var code packets.Code
	if !errors.As(cl.StopCause(), &code) || code.Code != packets.ErrSessionTakenOver.Code {
		return
	}
	deadline := time.Now().Add(takeoverWait)
	for !cl.IsTakenOver() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Microsecond) // the new session's goroutine sets it right after the close
	}
}
