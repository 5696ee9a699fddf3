package refbackend

import (
	"fmt"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/eixamsim/eixamsim/contract"
)

// Reasons an MQTT CONNECT is refused, besides reasonUnknownApp and
// reasonBadHash (Stats keys).
const (
	reasonBadUsername      = "bad_username"       // not sdk:<appId>:<userId>
	reasonWillDenied       = "will_denied"        // will topic outside the user's ACL
	reasonReservedClientID = "reserved_client_id" // the broker's own inline client id
)

// authHook authenticates MQTT CONNECTs (contract §1.1, §3.1): username
// "sdk:<appId>:<externalUserId>" naming a configured app, password equal to
// the user's HMAC (constant-time compare). Any failure answers CONNACK 0x86
// "bad username or password" (MQTT 3.1.1: mochi sends return code 0x05
// "not authorized") and is counted
// by reason. A will message is only allowed on a topic the user may publish
// to, because mochi publishes wills without an ACL check.
type authHook struct {
	mqtt.HookBase
	ids   *identities
	stats *counters
}

// authOptions are the authHook's Init options.
type authOptions struct {
	ids   *identities
	stats *counters
}

var _ mqtt.Hook = (*authHook)(nil)

// ID implements mqtt.Hook.
func (h *authHook) ID() string { return "eixam-auth" }

// Provides implements mqtt.Hook.
func (h *authHook) Provides(b byte) bool { return b == mqtt.OnConnectAuthenticate }

// Init implements mqtt.Hook; config must be *authOptions.
func (h *authHook) Init(config any) error {
	opts, ok := config.(*authOptions)
	if !ok || opts == nil {
		return fmt.Errorf("auth hook: %w: want *authOptions, got %T", mqtt.ErrInvalidConfigType, config)
	}
	h.ids, h.stats = opts.ids, opts.stats
	return nil
}

// OnConnectAuthenticate implements mqtt.Hook.
func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	reason := h.refusal(cl, pk)
	if reason == "" {
		return true
	}
	h.stats.connectsRefused.add(reason)
	h.Log.Debug("mqtt connect refused", "reason", reason, "client", cl.ID, "remote", cl.Net.Remote)
	return false
}

// refusal returns why the CONNECT is refused, "" if it is accepted.
func (h *authHook) refusal(cl *mqtt.Client, pk packets.Packet) string {
	if cl.ID == mqtt.InlineClientId {
		return reasonReservedClientID
	}
	app, external, ok := contract.ParseUsername(string(pk.Connect.Username))
	if !ok {
		return reasonBadUsername
	}
	u, reason := h.ids.authenticate(app, external, string(pk.Connect.Password))
	if u == nil {
		return reason
	}
	if pk.Connect.WillFlag && !mayPublish(u, pk.Connect.WillTopic) {
		return reasonWillDenied
	}
	return ""
}
