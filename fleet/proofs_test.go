package fleet_test

import (
	"context"
	"fmt"
	"github.com/eixamsim/eixamsim/faults"
	"io"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/refbackend"
	"github.com/eixamsim/eixamsim/scenario"
)

// These tests prove the numbers tell the truth: the reference backend
// injects a known delay and the simulator must measure at least that, for
// every sample. Bounds are one-sided where a slow machine could only make
// the numbers larger; the one upper bound (a median) has a wide margin.

// startFaulty starts the reference backend with faults.
func startFaulty(t *testing.T, f faults.Set, ackDelay time.Duration) *refbackend.Server {
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
	srv := startFaulty(t, faults.Set{HTTPLatency: faults.Latency{Kind: "fixed", Fixed: injected}}, -1)
	defer srv.Close()
	sc := parse(t, `
version: 1
name: latency-proof
duration: 1s
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 10, connect_rate: 100/s }
behaviours:
  login: [me]
  contacts: { rate: 60/s, mix: { list: 1, create: 0, update: 0, delete: 0 } }
`)
	reg, _ := run(t, sc, srv.HTTPURL(), srv.MQTTURL())
	for _, name := range []string{scenario.HTTPMe, scenario.HTTPContactsList} {
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
	srv := startFaulty(t, faults.Set{EventDelay: delay}, -1)
	defer srv.Close()
	sc := parse(t, `
version: 1
name: event-delay-proof
duration: 1s
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 20, connect_rate: 200/s }
behaviours:
  sos: { rate: 15/s, hold: 600ms, end: cancel }
`)
	reg, _ := run(t, sc, srv.HTTPURL(), srv.MQTTURL())
	s := reg.Latency(scenario.SOSDelivered).Summary()
	if s.Count == 0 || s.Errors != 0 {
		t.Fatalf("sos.delivered: %d samples, %d errors %v", s.Count, s.Errors, s.ErrorsBy)
	}
	if s.Min < delay {
		t.Errorf("sos.delivered min %v is below the injected event delay %v", s.Min, delay)
	}
	t.Logf("sos.delivered: injected %v; min %v, max %v over %d samples", delay, s.Min, s.Max, s.Count)
}

// TestStallIsNotOmitted freezes the backend's HTTP API for one second in
// the middle of an open-model run at 50 requests/s and checks that every
// scheduled request is recorded and the stall shows in the tail. A
// closed-loop client (one worker that measures from its actual send, like
// hey) runs against the same stall for comparison; the test logs what it
// sees, which docs/measurement.md quotes.
func TestStallIsNotOmitted(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const (
		rate     = 50                     // requests per second
		measured = 3 * time.Second        // open-model stage length
		warmup   = 200 * time.Millisecond // users log in; no arrivals
		stallAt  = warmup + time.Second
		stall    = time.Second
	)
	srv := startFaulty(t, faults.Set{}, -1)
	defer srv.Close()
	sc := parse(t, `
version: 1
name: stall-proof
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 10, connect_rate: 1000/s, http_timeout: 10s }
stages:
  - { for: 200ms, rates: { contacts: 0/s } }
  - { for: 3s }
behaviours:
  login: [me]
  contacts: { rate: 50/s, mix: { list: 1, create: 0, update: 0, delete: 0 } }
`)
	fault, err := faults.ParseScheduledFault(fmt.Sprintf("stall_http@%v:%v", stallAt, stall))
	if err != nil {
		t.Fatal(err)
	}
	schedule, err := srv.RunSchedule(time.Now(), []faults.ScheduledFault{fault})
	if err != nil {
		t.Fatal(err)
	}
	defer schedule.Stop()
	// The naive client runs through the same stall at the same time.
	type loopResult struct {
		s   metrics.Summary
		err error
	}
	closedDone := make(chan loopResult, 1)
	go func() {
		s, err := closedLoop(srv.HTTPURL(), rate, warmup+measured)
		closedDone <- loopResult{s, err}
	}()
	reg, _ := run(t, sc, srv.HTTPURL(), srv.MQTTURL())
	open := reg.Latency(scenario.HTTPContactsList).Summary()
	want := int64(rate * measured / time.Second)
	if got := open.Count + open.Errors + reg.Counter(scenario.ArrivalsDropped).Value(); got != want {
		t.Errorf("open model: %d requests accounted for (%d ok, %d errors, dropped %d), want R×T = %d", got, open.Count, open.Errors, reg.Counter(scenario.ArrivalsDropped).Value(), want)
	}
	if open.Count != want {
		t.Errorf("open model recorded %d requests, want all %d", open.Count, want)
	}
	p99, _ := open.At(99)
	if p99 < stall/2 || open.Max < stall*9/10 {
		t.Errorf("open model p99 %v, max %v: the %v stall does not show", p99, open.Max, stall)
	}
	p50, _ := open.At(50)
	t.Logf("open model:  %d requests, p50 %v, p99 %v, max %v", open.Count, p50, p99, open.Max)

	// The same stall against a closed loop that measures from its own send.
	lr := <-closedDone
	if lr.err != nil {
		t.Fatalf("closed loop: %v", lr.err)
	}
	closed := lr.s
	cp50, _ := closed.At(50)
	cp99, _ := closed.At(99)
	t.Logf("closed loop: %d requests, p50 %v, p99 %v, max %v", closed.Count, cp50, cp99, closed.Max)
	if closed.Count >= want {
		t.Errorf("the closed loop sent %d requests during a stall; expected it to miss some", closed.Count)
	}
	if cp99 >= stall/2 {
		t.Logf("note: the closed loop's p99 (%v) showed the stall on this machine", cp99)
	}
}

// closedLoop is the naive client: one worker, one request at a time, at
// most rate per second, each measured from its actual send.
func closedLoop(baseURL string, rate int, d time.Duration) (metrics.Summary, error) {
	lat := metrics.NewRegistry().Latency("closed")
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	interval := time.Second / time.Duration(rate)
	for end, next := time.Now().Add(d), time.Now(); time.Now().Before(end); {
		time.Sleep(time.Until(next))
		req, _ := http.NewRequest("GET", baseURL+"/v1/sdk/contacts", nil)
		req.Header.Set("X-App-ID", "demo-app")
		req.Header.Set("X-User-ID", "closed-loop")
		req.Header.Set("Authorization", "Bearer "+contract.Sign([]byte("demo-secret"), "closed-loop"))
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return metrics.Summary{}, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat.Record(time.Since(t0))
		next = maxTime(next.Add(interval), time.Now()) // no catch-up burst after the stall
	}
	return lat.Summary(), nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// TestHTTPFaultsAreCountedPerEndpoint injects 503s on one endpoint and
// slow answers past the client timeout on another: both must show as
// classified errors of exactly those endpoints, and the run must finish.
func TestHTTPFaultsAreCountedPerEndpoint(t *testing.T) {
	t.Parallel() // leaks: TestMain
	srv := startFaulty(t, faults.Set{
		ErrorRate:       map[string]float64{"contacts_list": 0.5},
		EndpointLatency: map[string]faults.Latency{"devices_list": {Kind: "fixed", Fixed: 2 * time.Second}},
	}, -1)
	defer srv.Close()
	sc := parse(t, `
version: 1
name: http-faults
duration: 1s
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 10, connect_rate: 1000/s, http_timeout: 500ms }
behaviours:
  login: [me]
  contacts: { rate: 120/s, mix: { list: 1, create: 0, update: 0, delete: 0 } }
  devices: { rate: 10/s, mix: { list: 1, upsert: 0, delete: 0 } }
`)
	reg, res := run(t, sc, srv.HTTPURL(), srv.MQTTURL())
	if !res.Completed {
		t.Fatal("the run did not complete")
	}
	list := reg.Latency(scenario.HTTPContactsList).Summary()
	n := list.Count + list.Errors
	if frac := float64(list.ErrorsBy["http_503"]) / float64(n); n < 40 || frac < 0.3 || frac > 0.7 { // 40 draws: ±2.5 sd; a loaded machine sends fewer than the 120 asked
		t.Errorf("contacts_list: %d of %d answered 503 (%.0f%%), want about half", list.ErrorsBy["http_503"], n, frac*100)
	}
	if len(list.ErrorsBy) != 1 {
		t.Errorf("contacts_list error classes %v, want only http_503", list.ErrorsBy)
	}
	dev := reg.Latency(scenario.HTTPDevicesList).Summary()
	if dev.Count != 0 || dev.ErrorsBy["timeout"] == 0 || len(dev.ErrorsBy) != 1 {
		t.Errorf("devices_list: %d ok, errors %v; want only timeouts", dev.Count, dev.ErrorsBy)
	}
	if me := reg.Latency(scenario.HTTPMe).Summary(); me.Errors != 0 || me.Count != 10 {
		t.Errorf("http.me: %d ok, errors %v; faults leaked to another endpoint", me.Count, me.ErrorsBy)
	}
}
