package fleet_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eixamsim/eixamsim/refbackend"
)

// These tests prove the numbers tell the truth: the reference backend
// injects a known delay and the simulator must measure at least that, for
// every sample. Bounds are one-sided where a slow machine could only make
// the numbers larger; the one upper bound (a median) has a wide margin.

// startFaulty starts the reference backend with faults.
func startFaulty(t *testing.T, f refbackend.Faults, ackDelay time.Duration) *refbackend.Server {
	t.Helper()
	srv, err := refbackend.Start(context.Background(), refbackend.Config{
		MQTTAddr: "127.0.0.1:0",
		HTTPAddr: "127.0.0.1:0",
		Apps:     map[string][]byte{"demo-app": []byte("demo-secret")},
		AckDelay: ackDelay,
		Faults:   f,
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// medianMargin is how far above an injected latency the median may be: the
// simulator's own overhead on loopback is ~1 ms; 50 ms leaves room for a
// loaded CI machine without letting a real measurement error through.
const medianMargin = 50 * time.Millisecond

func TestInjectedHTTPLatencyIsMeasured(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const injected = 100 * time.Millisecond
	srv := startFaulty(t, refbackend.Faults{HTTPLatency: refbackend.Latency{Kind: "fixed", Fixed: injected}}, -1)
	defer srv.Close()
	sc := parse(t, `
version: 1
name: latency-proof
duration: 3s
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 10, connect_rate: 100/s }
behaviours:
  login: [me]
  contacts: { rate: 20/s, mix: { list: 1, create: 0, update: 0, delete: 0 } }
`)
	reg, _ := run(t, sc, srv.HTTPURL(), srv.MQTTURL())
	for _, name := range []string{"http.me", "http.contacts_list"} {
		s := reg.Latency(name).Summary()
		if s.Count == 0 || s.Errors != 0 {
			t.Fatalf("%s: %d samples, %d errors", name, s.Count, s.Errors)
		}
		if s.Min < injected {
			t.Errorf("%s: min %v is below the injected %v: some latency was not measured", name, s.Min, injected)
		}
		p50, _ := s.At(50)
		if p50 > injected+medianMargin {
			t.Errorf("%s: median %v is more than %v above the injected %v", name, p50, medianMargin, injected)
		}
		t.Logf("%s: injected %v; min %v, median %v, max %v over %d samples", name, injected, s.Min, p50, s.Max, s.Count)
	}
}

func TestInjectedEventDelayIsMeasured(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const delay = 300 * time.Millisecond
	srv := startFaulty(t, refbackend.Faults{EventDelay: delay}, -1)
	defer srv.Close()
	sc := parse(t, `
version: 1
name: event-delay-proof
duration: 3s
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 20, connect_rate: 200/s }
behaviours:
  sos: { rate: 5/s, hold: 600ms, end: cancel }
`)
	reg, _ := run(t, sc, srv.HTTPURL(), srv.MQTTURL())
	s := reg.Latency("sos.delivered").Summary()
	if s.Count == 0 || s.Errors != 0 {
		t.Fatalf("sos.delivered: %d samples, %d errors %v", s.Count, s.Errors, s.ErrorsBy)
	}
	if s.Min < delay {
		t.Errorf("sos.delivered min %v is below the injected event delay %v", s.Min, delay)
	}
	t.Logf("sos.delivered: injected %v; min %v, max %v over %d samples", delay, s.Min, s.Max, s.Count)
}
