package fleet

import (
	"context"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// benchScenario is a one-user scenario with telemetry every second (with
// device id and battery, the largest payload) and a Poisson SOS stream
// over a ramped, three-stage schedule.
func benchScenario(b *testing.B) *scenario.Scenario {
	b.Helper()
	sc, err := scenario.Parse("bench.yaml", []byte(`
version: 1
name: bench
identity: { app_id: a, app_secret: s }
fleet: { users: 1 }
stages:
  - { for: 1m, users: 1 }
  - { for: 10m, users: 1, rates: { sos: 50/s }, ramp: linear }
  - { for: 1m, users: 1 }
behaviours:
  telemetry: { every: 1s, device_id: true, battery: true }
  sos: { rate: 10/s, arrivals: poisson }
`), scenario.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return sc
}

// BenchmarkTelemetryPublish measures one telemetry tick's work apart from
// the network: the user's state checked and its in-flight slot taken
// (under the user's lock, once), the payload built and encoded (outside
// it), the slot released and the PUBACK latency recorded through its
// handle.
func BenchmarkTelemetryPublish(b *testing.B) {
	sc := benchScenario(b)
	rn, err := New(Config{Scenario: sc, HTTPURL: "http://127.0.0.1:1", MQTTURL: "tcp://127.0.0.1:1", Metrics: metrics.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	r := rn.r
	tel := r.perUser[0].behaviour.(*telemetry)
	u := r.users[0]
	u.setCanonical("bench-user")
	l := &life{state: online, done: make(chan struct{}), client: paho.NewClient(paho.ClientConfig{}), clientCtx: context.Background()}
	u.life = l
	b.ReportAllocs()
	for b.Loop() {
		intended := time.Now()
		u.mu.Lock()
		p := tel.prepare(&occurrence{intended: intended}, u, l)
		l.work.Add(1)
		u.mu.Unlock()
		payload, ok := p.encode()
		if !ok || len(payload) == 0 {
			b.Fatal("no payload")
		}
		tel.puback.Record(time.Since(intended))
		p.inFlight.Add(-1)
		l.work.Done()
	}
}

// BenchmarkArrivalSchedule measures computing the next arrival time of a
// Poisson stream on a ramped three-stage rate curve.
func BenchmarkArrivalSchedule(b *testing.B) {
	sc := benchScenario(b)
	s := newSchedule(newRateCurve(sc, "sos"), scenario.ArrivalsPoisson, seeded(1))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := s.next(); !ok {
			s = newSchedule(newRateCurve(sc, "sos"), scenario.ArrivalsPoisson, seeded(1))
		}
	}
}
