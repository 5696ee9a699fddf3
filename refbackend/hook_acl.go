package refbackend

import (
	"fmt"

	mqtt "github.com/mochi-mqtt/server/v2"

	"github.com/eixamsim/eixamsim/contract"
)

// aclHook enforces the topic ACL of contract §3.3: a user may publish only
// to sos/alerts and tel/<own seg>/data, and subscribe only to
// sos/events/<own seg> (exact strings: no wildcards, no shared
// subscriptions, no $SYS). What the client sees on a denial is decided by
// mochi:
//
//	PUBLISH QoS 1, MQTT 5      PUBACK 0x87 not authorized
//	PUBLISH QoS 1, MQTT 3.1.1  the connection is closed
//	PUBLISH QoS 0              silently dropped
//	SUBSCRIBE                  SUBACK 0x87 (MQTT 3.1.1: 0x80) for that filter
type aclHook struct {
	mqtt.HookBase
	sessions *sessions
	stats    *counters
}

// aclOptions are the aclHook's Init options.
type aclOptions struct {
	sessions *sessions
	stats    *counters
}

var _ mqtt.Hook = (*aclHook)(nil)

// ID implements mqtt.Hook.
func (h *aclHook) ID() string { return "eixam-acl" }

// Provides implements mqtt.Hook.
func (h *aclHook) Provides(b byte) bool { return b == mqtt.OnACLCheck }

// Init implements mqtt.Hook; config must be *aclOptions.
func (h *aclHook) Init(config any) error {
	opts, ok := config.(*aclOptions)
	if !ok || opts == nil {
		return fmt.Errorf("acl hook: %w: want *aclOptions, got %T", mqtt.ErrInvalidConfigType, config)
	}
	h.sessions, h.stats = opts.sessions, opts.stats
	return nil
}

// OnACLCheck implements mqtt.Hook. write is true for a PUBLISH, false for a
// SUBSCRIBE filter and for each delivery to a subscriber. Deliveries are
// allowed for the user's own events topic, the only filter it can
// subscribe to; the check still matters for a session taken over with
// clean start off under another user's client id, whose inherited
// subscriptions deliver nothing (and count as subscribe denials).
func (h *aclHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if cl.Net.Inline {
		return true
	}
	u := h.sessions.user(cl)
	if write {
		if u != nil && mayPublish(u, topic) {
			return true
		}
		h.stats.aclDeniedPublish.Add(1)
		return false
	}
	if u != nil && maySubscribe(u, topic) {
		return true
	}
	h.stats.aclDeniedSubscribe.Add(1)
	return false
}

// mayPublish reports whether u may publish to topic.
func mayPublish(u *user, topic string) bool {
	return topic == contract.TopicSOSAlerts || topic == u.telTopic
}

// maySubscribe reports whether u may subscribe to filter.
func maySubscribe(u *user, filter string) bool {
	return filter == u.eventsTopic
}
