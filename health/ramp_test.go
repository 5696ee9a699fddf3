package health

import (
	"slices"
	"testing"
	"time"
)

// TestRampJudged: a connect ramp that reached well under the rate asked is
// generator-bound when the process was saturated for most of it, warm-up
// or not, and only then. The run: 5,000 users at 5,000/s reached
// 1,649/s with the CPU at its peak.
func TestRampJudged(t *testing.T) {
	sec := time.Second
	busy := func(from, to int) func(int, *Sample) { // CPU pinned in seconds from..to
		return func(s int, smp *Sample) {
			if between(s, from, to) {
				smp.CPU = 1
			}
		}
	}
	starved := func(s int, smp *Sample) { // little CPU, goroutines wait for a core
		if s <= 3 {
			smp.CPU, smp.SchedP99 = 0.4, 150*time.Millisecond
		}
	}
	slow := Ramp{From: 0, To: 3 * sec, AskedPerS: 5000, ReachedPerS: 1649}
	for _, tc := range []struct {
		name    string
		samples []Sample
		ramp    Ramp
		want    []Signal
	}{
		// The ramp: 3 s, CPU pinned throughout, a third of the
		// rate asked.
		{"slow and saturated", run(20, busy(1, 3)), slow, []Signal{SignalConnect}},
		// Starved by other work on the machine: the scheduler shows it.
		{"slow and starved", run(20, starved), slow, []Signal{SignalConnect}},
		// Saturated for 2 of its 3 s: most of it.
		{"slow, saturated for most of it", run(20, busy(2, 3)), slow, []Signal{SignalConnect}},
		// A ramp later in the run, judged on its own seconds.
		{"a later ramp", run(30, busy(12, 14)), Ramp{From: 11 * sec, To: 15 * sec, AskedPerS: 1000, ReachedPerS: 400}, []Signal{SignalConnect}},
		// The same ramp in an 8 s run: too short for anything sustained,
		// but the ramp is judged on its own.
		{"slow and saturated in a short run", run(8, busy(1, 3)), slow, []Signal{SignalConnect}},
		// An idle process behind a slow target: the target's doing.
		{"slow and idle", run(20, nil), slow, nil},
		// Saturated for 1 s of 3: one busy second of a slow ramp.
		{"slow, saturated for a second", run(20, busy(3, 3)), slow, nil},
		// Saturated, but the rate was reached: a busy burst by design.
		{"fast and saturated", run(20, busy(1, 3)), Ramp{From: 0, To: time.Second, AskedPerS: 5000, ReachedPerS: 4800}, nil},
		// Exactly half the rate asked is not under it.
		{"at the limit", run(20, busy(1, 3)), Ramp{From: 0, To: 3 * sec, AskedPerS: 1000, ReachedPerS: 500}, nil},
		// Saturated after the ramp ended.
		{"saturated after the ramp", run(20, busy(4, 6)), slow, nil},
		// No rate asked (connect_rate unlimited): nothing to compare.
		{"no rate asked", run(20, busy(1, 3)), Ramp{From: 0, To: 3 * sec, ReachedPerS: 1649}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newJudge(DefaultLimits())
			for _, s := range tc.samples {
				j.add(s)
			}
			j.ramp = &tc.ramp
			v := j.verdict()
			if got := signals(v); !slices.Equal(got, tc.want) || (tc.want == nil && v.State == GeneratorBound) {
				t.Fatalf("got %s, want signals %v", v, tc.want)
			}
			if tc.want == nil {
				return
			}
			r := v.Reasons[0]
			if r.LimitPct != 50 || r.PeakPct != pct(tc.ramp.ReachedPerS/tc.ramp.AskedPerS) || r.StartS != tc.ramp.From.Seconds() {
				t.Errorf("reason %+v", r)
			}
		})
	}
}

func TestRampInReport(t *testing.T) {
	j := newJudge(DefaultLimits())
	for _, s := range run(20, func(sec int, s *Sample) {
		if sec <= 2 {
			s.CPU = 0.95
		}
	}) {
		j.add(s)
	}
	if j.report().Connect != nil {
		t.Error("a report without a ramp has connect stats")
	}
	j.ramp = &Ramp{From: 500 * time.Millisecond, To: 3500 * time.Millisecond, AskedPerS: 5000, ReachedPerS: 1649}
	got := j.report()
	want := RampStats{Seconds: 3, SaturatedS: 1.5, ReachedPct: 33, LimitPct: 50}
	if got.Connect == nil || *got.Connect != want {
		t.Errorf("connect %+v, want %+v", got.Connect, want)
	}
	if got.State != GeneratorBound || got.Reasons[0].Signal != SignalConnect ||
		got.Reasons[0].Message != "users came online at 1649/s, 33% of the 5000/s asked, while the process was saturated (CPU at or over 90% or scheduler latency p99 over 20ms) for 1.5s of the 3s ramp from 500ms" {
		t.Errorf("verdict %s", got.Verdict)
	}
}

func TestSpans(t *testing.T) {
	var ss spans
	sec := time.Second
	ss.add(0, sec)
	ss.add(sec, 2*sec) // adjacent: joined
	ss.add(5*sec, 6*sec)
	if len(ss) != 2 || ss[0] != (span{0, 2 * sec}) {
		t.Fatalf("spans %v", ss)
	}
	if got := ss.within(1500*time.Millisecond, 5500*time.Millisecond); got != sec {
		t.Errorf("within: %v, want 1s", got)
	}
}
