package engine

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/health"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// TestTeardownIsNotJudged: schedule.lag far over its limit while a stage
// runs makes the run generator-bound; the same after the last stage has
// ended (the teardown, when 100,000 connections close at once) does not.
func TestTeardownIsNotJudged(t *testing.T) {
	for _, tt := range []struct {
		name     string
		pastEnd  bool
		wantDown bool
	}{
		{"during the stage", false, true},
		{"in the teardown", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			lim := health.DefaultLimits()
			lim.Warmup, lim.Sustain, lim.LiveAfter = 0, 0, 0
			stageEnd := start.Add(time.Hour)
			if tt.pastEnd {
				stageEnd = start
			}
			tk, reg := newTestTicker(t, start, stageEnd, lim)
			lag := reg.Latency(scenario.ScheduleLag)
			for i := range 3 {
				for range 100 {
					lag.Record(10 * lim.ScheduleLagP99)
				}
				tk.tick(start.Add(time.Duration(i+1)*time.Second), false)
			}
			if got := tk.mon.Report().State == health.GeneratorBound; got != tt.wantDown {
				t.Errorf("generator-bound %v, want %v (%+v)", got, tt.wantDown, tk.mon.Report())
			}
		})
	}
}

// onlyLimits are limits that check nothing the process's real CPU or
// scheduler could trip (the tickers below run on made-up times), from
// the first sample.
func onlyLimits(set func(*health.Limits)) health.Limits {
	var l health.Limits
	set(&l)
	return l
}

// newTestTicker is a ticker over reg on made-up times from start, for a
// scenario of one stage that ends at stageEnd.
func newTestTicker(t *testing.T, start, stageEnd time.Time, lim health.Limits) (*ticker, *metrics.Registry) {
	t.Helper()
	sc := &scenario.Scenario{Stages: []scenario.Stage{{Name: "steady", For: stageEnd.Sub(start), Users: 1}}}
	reg := metrics.NewRegistry()
	hw, err := metrics.NewHlogWriter(filepath.Join(t.TempDir(), "hdr"), start)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hw.Close() })
	tk := &ticker{
		c: metrics.NewCollector(reg, start, hw), hlogs: hw, reg: reg, stages: 1,
		status: func() fleet.Status {
			return fleet.Status{Stage: "steady", StageIndex: 0, StageEnd: stageEnd, Target: 1, Online: 1}
		},
		mon: health.NewMonitor(lim, start), online: newOnlineTracker(sc), stageOf: newStageClock(sc), prev: start,
	}
	return tk, reg
}
