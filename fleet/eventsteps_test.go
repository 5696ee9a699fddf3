package fleet_test

import (
	"context"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// eventSteps is a StageSource that plays its steps in turn, each held,
// once its users are online, until its until holds; after the last the
// run ends. A test so ends its run on what happened rather than after a
// duration a loaded machine may not keep up with (the scenario's duration
// only bounds the run).
type eventSteps struct {
	steps []eventStep
	next  int // Next and Settled are called from one goroutine
}

// eventStep is one step of an eventSteps.
type eventStep struct {
	fleet.Step
	settled func()      // nil, or called once the step's users are online
	until   func() bool // nil: the next step comes as soon as this one settled
}

func (s *eventSteps) Next(ctx context.Context) (fleet.Step, bool) {
	if s.next > 0 {
		until := s.steps[s.next-1].until
		for until != nil && !until() {
			select {
			case <-ctx.Done():
				return fleet.Step{}, false
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	if s.next == len(s.steps) {
		return fleet.Step{}, false
	}
	s.next++
	return s.steps[s.next-1].Step, true
}

func (s *eventSteps) Settled(i int, _ time.Time) {
	if f := s.steps[i].settled; f != nil {
		f()
	}
}

// runSteps runs sc with steps, recording into reg; the run must complete.
func runSteps(t *testing.T, sc *scenario.Scenario, httpURL, mqttURL string, reg *metrics.Registry, steps ...eventStep) fleet.Result {
	t.Helper()
	r, err := fleet.New(fleet.Config{Scenario: sc, HTTPURL: httpURL, MQTTURL: mqttURL, Metrics: reg, Logger: testLogger(t), Steps: &eventSteps{steps: steps}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background())
	if err != nil || !res.Completed {
		t.Fatalf("the run did not complete (bound: the scenario's duration): %v", err)
	}
	return res
}

// runUntil runs cfg until done holds (polled; bounded by the scenario's
// duration), then stops it: for runs whose users never come online, or that
// need no step, so that a loaded machine gets the time it needs.
func runUntil(t *testing.T, cfg fleet.Config, done func() bool) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	r, err := fleet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := startRun(t, r)
	defer stop()
	for deadline := time.Now().Add(cfg.Scenario.Duration()); !done() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}
