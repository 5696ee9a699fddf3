package refbackend

import (
	"fmt"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/eixamsim/eixamsim/contract"
)

// sessions maps each open MQTT connection to its user.
type sessions struct {
	m sync.Map // *mqtt.Client -> *user
}

// user returns the user of cl, nil if cl has no open session.
func (s *sessions) user(cl *mqtt.Client) *user {
	if v, ok := s.m.Load(cl); ok {
		return v.(*user)
	}
	return nil
}

// sessionHook records the user of every established session, counts
// sessions, and completes an MQTT 5 CONNACK with the Maximum Packet Size
// (mochi enforces it but does not announce it).
type sessionHook struct {
	mqtt.HookBase
	ids       *identities
	sessions  *sessions
	stats     *counters
	maxPacket uint32
}

// sessionOptions are the sessionHook's Init options.
type sessionOptions struct {
	ids       *identities
	sessions  *sessions
	stats     *counters
	maxPacket uint32
}

var _ mqtt.Hook = (*sessionHook)(nil)

// ID implements mqtt.Hook.
func (h *sessionHook) ID() string { return "eixam-sessions" }

// Provides implements mqtt.Hook.
func (h *sessionHook) Provides(b byte) bool {
	return b == mqtt.OnSessionEstablished || b == mqtt.OnDisconnect || b == mqtt.OnPacketEncode
}

// Init implements mqtt.Hook; config must be *sessionOptions.
func (h *sessionHook) Init(config any) error {
	opts, ok := config.(*sessionOptions)
	if !ok || opts == nil {
		return fmt.Errorf("session hook: %w: want *sessionOptions, got %T", mqtt.ErrInvalidConfigType, config)
	}
	h.ids, h.sessions, h.stats, h.maxPacket = opts.ids, opts.sessions, opts.stats, opts.maxPacket
	return nil
}

// OnSessionEstablished implements mqtt.Hook. It runs after a successful
// CONNACK was written and before the first packet of the session is read.
func (h *sessionHook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	app, external, ok := contract.ParseUsername(string(cl.Properties.Username))
	if !ok { // cannot happen: the auth hook refused it
		return
	}
	h.sessions.m.Store(cl, h.ids.user(app, external))
	h.stats.connectsAccepted.Add(1)
	h.stats.connected.Add(1)
}

// OnDisconnect implements mqtt.Hook.
func (h *sessionHook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	if _, ok := h.sessions.m.LoadAndDelete(cl); ok {
		h.stats.connected.Add(-1)
	}
}

// OnPacketEncode implements mqtt.Hook.
func (h *sessionHook) OnPacketEncode(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	if pk.FixedHeader.Type == packets.Connack && pk.ReasonCode == packets.CodeSuccess.Code &&
		cl.Properties.ProtocolVersion == 5 && h.maxPacket > 0 {
		pk.Properties.MaximumPacketSize = h.maxPacket
	}
	return pk
}
