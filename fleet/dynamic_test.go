package fleet_test

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// scripted is a StageSource that plays fixed steps, each held for hold
// after it settles, and records users.online at each settle.
type scripted struct {
	steps []fleet.Step
	hold  time.Duration
	reg   *metrics.Registry

	mu      sync.Mutex
	next    int
	settled chan struct{}
	online  []int64
}

func (s *scripted) Next(ctx context.Context) (fleet.Step, bool) {
	s.mu.Lock()
	i, wait := s.next, s.settled
	s.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			return fleet.Step{}, false
		}
		select {
		case <-time.After(s.hold):
		case <-ctx.Done():
			return fleet.Step{}, false
		}
	}
	if i == len(s.steps) {
		return fleet.Step{}, false
	}
	s.mu.Lock()
	s.next, s.settled = i+1, make(chan struct{})
	s.mu.Unlock()
	return s.steps[i], true
}

func (s *scripted) Settled(_ int, _ time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.online = append(s.online, s.reg.Gauge(scenario.UsersOnline).Value())
	close(s.settled)
}

// TestStepsGrowTheFleet runs three steps decided while the run goes: the
// fleet grows from 5 to 15 users and shrinks to 10 without anyone
// connecting twice, each step settles with its users online, and the
// open-model telemetry runs at each step's rate only during that step.
func TestStepsGrowTheFleet(t *testing.T) {
	t.Parallel() // leaks: TestMain; it only waits on its steps
	srv := startBackend(t, "demo-secret", -1)
	defer srv.Close()
	sc := parse(t, `
version: 1
name: steps
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 15, connect_rate: 500/s }
duration: 1m
behaviours:
  login: [me]
  telemetry: { rate: 1/s, qos: 1 }
`)
	reg := metrics.NewRegistry()
	src := &scripted{reg: reg, hold: 500 * time.Millisecond, steps: []fleet.Step{
		{Name: "a", Users: 5, Rates: map[string]scenario.Rate{"telemetry": {}}},
		{Name: "b", Users: 15, Rates: map[string]scenario.Rate{"telemetry": {PerSecond: 100}}},
		{Name: "c", Users: 10, Rates: map[string]scenario.Rate{"telemetry": {}}},
	}}
	r, err := fleet.New(fleet.Config{Scenario: sc, HTTPURL: srv.HTTPURL(), MQTTURL: srv.MQTTURL(), Metrics: reg, Steps: src})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := r.Run(ctx)
	if err != nil || !res.Completed {
		t.Fatalf("run: %v, completed %v", err, res.Completed)
	}
	if len(res.Stages) != 3 || res.Stages[0].Users != 5 || res.Stages[1].Users != 15 || res.Stages[2].Users != 10 {
		t.Fatalf("stage timings %+v, want steps of 5, 15 and 10 users", res.Stages)
	}
	if want := []int64{5, 15, 10}; len(src.online) != 3 || src.online[0] != want[0] || src.online[1] != want[1] || src.online[2] != want[2] {
		t.Errorf("users.online at each settle %v, want %v", src.online, want)
	}
	if n := reg.Latency(scenario.MQTTConnect).Summary().Count; n != 15 {
		t.Errorf("%d MQTT connects, want 15: growing from 5 to 15 adds 10, shrinking to 10 adds none", n)
	}
	b := res.Stages[1]
	want := 100 * b.End.Sub(b.Start).Seconds()
	tel := reg.Latency(scenario.TelemetryPuback).Summary()
	if got := float64(tel.Count + tel.Errors); math.Abs(got-want) > 3 {
		t.Errorf("%v telemetry publishes, want %.1f (100/s during step b only, ±3)", got, want)
	}
}
