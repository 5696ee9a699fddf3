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

// A tick due before the last stage's end but handled after it (a loaded
// machine, or the end of the run) reads the users leaving: it is the
// teardown, so users.online's threshold samples and the stage's online
// range do not take it.
func TestLateTickAfterLastStageIsTeardown(t *testing.T) {
	start := time.Now().Add(-2 * time.Second)
	stageEnd := time.Now().Add(-time.Millisecond) // the stage is over when the tick runs
	sc := &scenario.Scenario{Stages: []scenario.Stage{{Name: "steady", For: stageEnd.Sub(start), Users: 200}}}
	reg := metrics.NewRegistry()
	online := reg.Gauge(scenario.UsersOnline)
	online.Add(70) // 130 of the 200 have left
	hw, err := metrics.NewHlogWriter(filepath.Join(t.TempDir(), "hdr"), start)
	if err != nil {
		t.Fatal(err)
	}
	defer hw.Close()
	tk := &ticker{
		c: metrics.NewCollector(reg, start, hw), hlogs: hw, reg: reg, stages: 1,
		status: func() fleet.Status {
			return fleet.Status{Stage: "steady", StageIndex: 0, StageEnd: stageEnd, Target: 200, Online: 70}
		},
		mon: health.NewMonitor(health.DefaultLimits(), start), online: newOnlineTracker(sc), stageOf: newStageClock(sc), prev: start,
	}
	tk.tick(stageEnd.Add(-500*time.Millisecond), false) // due half a second before the end
	if g := tk.c.Measure(time.Second, nil).Gauges[scenario.UsersOnline]; g.Samples != 0 {
		t.Errorf("users.online sampled %+v after the last stage ended", g)
	}
	if o := tk.online.summary(); len(o.Stages) != 0 {
		t.Errorf("online per stage %+v: a teardown sample counted", o.Stages)
	}
}
