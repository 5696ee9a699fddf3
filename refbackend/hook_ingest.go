package refbackend

import (
	"context"
	"fmt"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/eixamsim/eixamsim/contract"
)

// ingestHook processes the payloads users publish (after the ACL passed):
// sos/alerts raises the sender's SOS, tel/<own seg>/data is recorded as
// telemetry. It runs before mochi answers the PUBLISH, so a message counts
// as accepted exactly when a QoS 1 publisher gets a success PUBACK, and an
// incident is visible on GET /v1/sdk/sos once the alert's PUBACK arrived
// (unless Faults.AlertDelay holds the alert back).
//
// With a capacity model, the message first passes through its resource's
// queue (telemetry or sos): the hook holds it for its wait and service
// time, which holds that client's next packets too, as a saturated broker
// does; a full queue refuses it before its payload is read.
//
// A rejected payload, or a refused message, is answered per protocol
// version:
//
//	MQTT 5, QoS 1      PUBACK 0x99 payload format invalid (refused: 0x97 quota exceeded)
//	MQTT 3.1.1, QoS 1  PUBACK (3.1.1 has no failure PUBACK); message discarded
//	QoS 0              discarded
type ingestHook struct {
	mqtt.HookBase
	sessions *sessions
	stats    *counters
	life     *lifecycle
	capacity *capacity
	ctx      context.Context
}

// ingestOptions are the ingestHook's Init options.
type ingestOptions struct {
	sessions *sessions
	stats    *counters
	life     *lifecycle
	capacity *capacity       // nil: no capacity model
	ctx      context.Context // ends the wait of queued messages (server closing)
}

var _ mqtt.Hook = (*ingestHook)(nil)

// ID implements mqtt.Hook.
func (h *ingestHook) ID() string { return "eixam-ingest" }

// Provides implements mqtt.Hook.
func (h *ingestHook) Provides(b byte) bool { return b == mqtt.OnPublish }

// Init implements mqtt.Hook; config must be *ingestOptions.
func (h *ingestHook) Init(config any) error {
	opts, ok := config.(*ingestOptions)
	if !ok || opts == nil {
		return fmt.Errorf("ingest hook: %w: want *ingestOptions, got %T", mqtt.ErrInvalidConfigType, config)
	}
	h.sessions, h.stats, h.life = opts.sessions, opts.stats, opts.life
	h.capacity, h.ctx = opts.capacity, opts.ctx
	if h.ctx == nil {
		h.ctx = context.Background()
	}
	return nil
}

// OnPublish implements mqtt.Hook.
func (h *ingestHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline { // our own lifecycle events
		return pk, nil
	}
	u := h.sessions.user(cl)
	if u == nil { // cannot happen after the ACL check
		return pk, refusal(cl, pk, packets.ErrPayloadFormatInvalid)
	}
	if h.capacity != nil && !h.admit(u, pk.TopicName) {
		h.Log.Debug("publish refused: over capacity", "client", cl.ID, "topic", pk.TopicName)
		return pk, refusal(cl, pk, packets.ErrQuotaExceeded)
	}
	now := time.Now()
	var err error
	switch pk.TopicName {
	case contract.TopicSOSAlerts:
		err = raiseAlert(h.stats, h.life, u, pk.Payload, now)
	case u.telTopic:
		err = recordTelemetry(h.stats, u, pk.Payload, now)
	}
	if err != nil {
		h.Log.Debug("payload rejected", "client", cl.ID, "topic", pk.TopicName, "error", err)
		return pk, refusal(cl, pk, packets.ErrPayloadFormatInvalid)
	}
	return pk, nil
}

// admit passes a publish on topic by u through its capacity resource
// (waiting its turn and its service time); false when the queue refused
// it. Topics without a resource pass at once.
func (h *ingestHook) admit(u *user, topic string) bool {
	q := h.capacity.sos
	if topic != contract.TopicSOSAlerts {
		if topic != u.telTopic {
			return true
		}
		q = h.capacity.telemetry
	}
	return q == nil || q.serve(h.ctx)
}

// refusal is the OnPublish error that makes mochi answer a rejected or
// refused publish as documented on ingestHook: code for an MQTT 5 QoS 1
// PUBACK, otherwise CodeSuccessIgnore (acknowledge per protocol, deliver to
// no one). ErrRejectPacket is not used: it would leave a QoS 1 publish
// without any PUBACK.
func refusal(cl *mqtt.Client, pk packets.Packet, code packets.Code) error {
	if cl.Properties.ProtocolVersion == 5 && pk.FixedHeader.Qos > 0 {
		return code
	}
	return packets.CodeSuccessIgnore
}

// raiseAlert validates an sos/alerts payload (contract §3.5: JSON object,
// RFC 3339 timestamp, latitude and longitude in range) and raises the SOS of
// u, the user of the MQTT connection; the payload's userId is ignored. With
// Faults.AlertDelay the alert is accepted now and raised later.
func raiseAlert(st *counters, life *lifecycle, u *user, payload []byte, now time.Time) error {
	a, err := contract.ParseSOSAlert(payload)
	if err != nil {
		st.alertsRejected.Add(1)
		return err
	}
	st.alertsAccepted.Add(1)
	alt := float64(a.Altitude)
	life.ingest(u, sosPosition{
		latitude:  float64(a.Latitude),
		longitude: float64(a.Longitude),
		altitude:  &alt,
		deviceID:  a.DeviceID,
	}, now)
	return nil
}
