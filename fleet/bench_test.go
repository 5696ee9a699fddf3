package fleet

import (
	"encoding/json"
	"testing"
	"time"

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
// the network: the user's state checked and its in-flight count taken,
// the payload built and encoded, the count released and the PUBACK
// latency recorded.
func BenchmarkTelemetryPublish(b *testing.B) {
	sc := benchScenario(b)
	rn, err := New(Config{Scenario: sc, HTTPURL: "http://127.0.0.1:1", MQTTURL: "tcp://127.0.0.1:1", Metrics: metrics.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	r := rn.r
	u := r.users[0]
	u.setCanonical("bench-user")
	u.life = &life{state: online}
	b.ReportAllocs()
	for b.Loop() {
		intended := time.Now()
		// Today's publishTelemetry, up to the network call.
		u.mu.Lock()
		l := u.life
		l.inFlight++
		l.work.Add(1)
		payload, err := json.Marshal(u.dev.telemetry(time.Now(), u.canonical, r.sc.Behaviours.Telemetry))
		u.mu.Unlock()
		if err != nil || len(payload) == 0 {
			b.Fatal(err)
		}
		r.m(mTelPuback).Record(time.Since(intended))
		u.mu.Lock()
		l.inFlight--
		u.mu.Unlock()
		l.work.Done()
	}
}

// BenchmarkArrivalSchedule measures computing the next arrival time of a
// Poisson stream on a ramped three-stage rate curve.
func BenchmarkArrivalSchedule(b *testing.B) {
	sc := benchScenario(b)
	s := newSchedule(newRateCurve(sc, "sos"), scenario.ArrivalsPoisson, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := s.next(); !ok {
			s = newSchedule(newRateCurve(sc, "sos"), scenario.ArrivalsPoisson, 1)
		}
	}
}
