package fleet

import (
	"github.com/eixamsim/eixamsim/errclass"

	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// maxTelemetryInFlight bounds the telemetry publishes one user has waiting
// for a PUBACK; beyond it a tick is counted as unsent ("backpressure")
// instead of piling up goroutines behind a stalled broker.
const maxTelemetryInFlight = 8

var _ behaviour = (*telemetry)(nil)

// telemetry publishes the phone's position on tel/<seg>/data (contract
// §3.6): per user every `every` (closed model), or at a fleet-wide rate
// handed to online users in turn (open model).
type telemetry struct {
	cfg    scenario.Telemetry
	log    *slog.Logger
	puback *metrics.Latency
	unsent *metrics.Counter
	// inFlight counts each user's publishes awaiting a PUBACK.
	inFlight []atomic.Int32
	// topic caches each user's telemetry topic and the canonical id it was
	// made from; guarded by the user's lock.
	topic, topicOf []string
	refuse         work // counts a tick refused for backpressure
}

func newTelemetry(e env) behaviour {
	t := e.sc.Behaviours.Telemetry
	if t == nil {
		return nil
	}
	b := &telemetry{
		cfg:      *t,
		log:      e.log,
		puback:   e.reg.Latency(scenario.TelemetryPuback),
		unsent:   e.reg.Counter(scenario.TelemetryUnsent),
		inFlight: make([]atomic.Int32, e.users),
		topic:    make([]string, e.users),
		topicOf:  make([]string, e.users),
	}
	b.refuse = func(context.Context) error {
		b.unsent.Inc()
		b.puback.Error(errclass.Backpressure)
		return nil
	}
	return b
}

func (b *telemetry) when() trigger {
	if b.cfg.Every > 0 {
		return trigger{kind: perUser, every: b.cfg.Every, jitter: b.cfg.Jitter}
	}
	return trigger{kind: onArrival, process: b.cfg.Arrivals}
}

// claim takes the next position fix of u's phone and its connection; the
// JSON is encoded by the work, outside the lock. A tick while u is not
// connected is counted as unsent.
func (b *telemetry) claim(o *occurrence, u *user, l *life) work {
	if !u.connected(l) {
		b.unsent.Inc()
		return nil
	}
	p := b.prepare(o, u, l)
	if p == nil {
		return b.refuse
	}
	return p.run
}

// missed counts a dropped arrival (open model) as a message not sent, and
// as an error of telemetry.puback.
func (b *telemetry) missed(_ *occurrence, class string) {
	b.unsent.Inc()
	b.puback.Error(class)
}

// prepare takes one message's in-flight slot, position fix and connection
// for a connected u, or returns nil when u has too many messages in
// flight. Call with u's lock held.
func (b *telemetry) prepare(o *occurrence, u *user, l *life) *telemetryPublish {
	inFlight := &b.inFlight[u.index]
	if inFlight.Load() >= maxTelemetryInFlight {
		return nil
	}
	inFlight.Add(1)
	if b.topicOf[u.index] != u.canonical {
		b.topic[u.index], b.topicOf[u.index] = contract.TelemetryTopic(u.canonical), u.canonical
	}
	p := &telemetryPublish{
		b:        b,
		intended: o.intended,
		conn:     l.conn(),
		topic:    b.topic[u.index],
		inFlight: inFlight,
	}
	u.dev.telemetry(time.Now(), u.canonical, b.cfg, &p.fix)
	return p
}

// telemetryPublish is one claimed telemetry message.
type telemetryPublish struct {
	b        *telemetry
	intended time.Time
	conn     conn
	topic    string
	fix      telemetryFix
	inFlight *atomic.Int32
}

// run encodes and publishes the message and records its PUBACK latency
// from the intended time.
func (p *telemetryPublish) run(context.Context) error {
	defer p.inFlight.Add(-1)
	if payload, ok := p.encode(); ok {
		p.conn.publish(p.b.puback, p.b.log, p.intended, &paho.Publish{Topic: p.topic, QoS: p.b.cfg.QoS, Payload: payload})
	}
	return nil
}

// encode returns the message's JSON; a failure is counted as an internal
// error.
func (p *telemetryPublish) encode() ([]byte, bool) {
	payload, err := json.Marshal(&p.fix.msg)
	if err != nil {
		p.b.puback.Error(errclass.Internal)
		return nil, false
	}
	return payload, true
}
