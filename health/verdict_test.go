package health

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// run returns n one-second samples ending at 1 s, 2 s, ... n s, each
// filled by f from its end second (1..n) on top of a quiet baseline.
func run(n int, f func(sec int, s *Sample)) []Sample {
	out := make([]Sample, n)
	for i := range out {
		sec := i + 1
		s := Sample{At: time.Duration(sec) * time.Second, Interval: time.Second, CPU: 0.05,
			SchedP99: 100 * time.Microsecond, Input: Input{ScheduleLagP99: time.Millisecond, Attempts: 1000}}
		if f != nil {
			f(sec, &s)
		}
		out[i] = s
	}
	return out
}

// between reports whether sec is in [from, to].
func between(sec, from, to int) bool { return sec >= from && sec <= to }

func signals(v Verdict) []Signal {
	var out []Signal
	for _, r := range v.Reasons {
		out = append(out, r.Signal)
	}
	return out
}

func TestJudgeHealthy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		samples []Sample
	}{
		// Nothing happens.
		{"quiet", run(20, nil)},
		// The shortest run that can be judged: 5 s past the warm-up.
		{"quiet 10 s", run(10, nil)},
		// The connect burst: every signal high in the first 4 s, inside
		// the warm-up.
		{"spike at start", run(20, func(sec int, s *Sample) {
			if sec <= 4 {
				s.CPU, s.SchedP99, s.ScheduleLagP99 = 1, 200*time.Millisecond, 300*time.Millisecond
			}
		})},
		// A 10 s smoke run whose CPU is pinned for its first 6 s: the one
		// second past the warm-up is not sustained.
		{"smoke run with a busy start", run(10, func(sec int, s *Sample) {
			if sec <= 6 {
				s.CPU = 1
			}
		})},
		// 4 s of CPU mid-run: shorter than Sustain.
		{"short CPU spike mid-run", run(20, func(sec int, s *Sample) {
			if between(sec, 10, 13) {
				s.CPU = 0.99
			}
		})},
		// One long GC second.
		{"one GC", run(20, func(sec int, s *Sample) {
			if sec == 12 {
				s.GCPause, s.GCPauseMax = 200*time.Millisecond, 200*time.Millisecond
			}
		})},
		// Scheduler latency over the limit one second in three: two
		// seconds under end each stretch.
		{"scattered scheduler latency", run(30, func(sec int, s *Sample) {
			if sec%3 == 0 {
				s.SchedP99 = 50 * time.Millisecond
			}
		})},
		// Half the ticks dropped, but the simulator is idle: the backend
		// is slow to acknowledge, which is the backend's doing.
		{"backpressure from a slow backend", run(20, func(_ int, s *Sample) {
			s.Backpressure = 500
		})},
		// Every attempt dropped, but too few attempts to judge.
		{"backpressure on a trickle", run(20, func(_ int, s *Sample) {
			s.CPU, s.Attempts, s.Backpressure = 0.7, 10, 10 // busy enough, under the CPU limit
		})},
		// CPU exactly at the limit is over it (>=), but only for 4 s.
		{"at the CPU limit briefly", run(20, func(sec int, s *Sample) {
			if between(sec, 8, 11) {
				s.CPU = 0.90
			}
		})},
		// Arrivals dropped for want of an idle user are not Late: only
		// the few late ones count, under the limit.
		{"a few late arrivals", run(20, func(_ int, s *Sample) {
			s.Arrivals, s.Late = 10000, 50 // 0.5 %
		})},
		// Every arrival late, but too few to judge: 40 in the run, fewer
		// than MinAttempts (one stall of the machine could do it).
		{"late arrivals on a trickle", run(20, func(_ int, s *Sample) {
			s.Arrivals, s.Late = 2, 2
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Judge(tc.samples, DefaultLimits())
			if v.State != Healthy || len(v.Reasons) != 0 {
				t.Errorf("got %s, want healthy", v)
			}
		})
	}
}

func TestJudgeGeneratorBound(t *testing.T) {
	for _, tc := range []struct {
		name    string
		samples []Sample
		want    []Signal
		// the first reason's stretch
		startS, sustainedS, peak float64
	}{
		// CPU pinned from 6 s to 14 s.
		{"sustained CPU", run(20, func(sec int, s *Sample) {
			if between(sec, 7, 14) {
				s.CPU = 0.95
			}
			if sec == 10 {
				s.CPU = 0.98
			}
		}), []Signal{SignalCPU}, 6, 8, 98},
		// CPU hovering at the limit: single seconds under it do not end
		// the stretch, nor count in it.
		{"CPU hovering at the limit", run(20, func(sec int, s *Sample) {
			cpu := map[int]float64{6: 0.91, 7: 0.89, 8: 0.95, 9: 0.92, 10: 0.88, 11: 0.97, 12: 0.93}
			if v, ok := cpu[sec]; ok {
				s.CPU = v
			}
		}), []Signal{SignalCPU}, 5, 5, 97},
		// The run: goroutines wait 100+ ms for a core for 15 s.
		{"sustained scheduler latency", run(20, func(sec int, s *Sample) {
			if sec > 5 {
				s.SchedP99 = 150 * time.Millisecond
			}
		}), []Signal{SignalSchedLatency}, 5, 15, 150},
		// Ticks fire late, every second, for 6 s, at the end of the run:
		// the stretch still open when the run ends counts.
		{"schedule lag at the end", run(20, func(sec int, s *Sample) {
			if sec > 14 {
				s.ScheduleLagP99 = 468 * time.Millisecond
			}
		}), []Signal{SignalScheduleLag}, 14, 6, 468},
		// Ticks fire on time and are dropped: lag cannot see it, the
		// backpressure share with a busy CPU can.
		{"backpressure share with a busy process", run(20, func(sec int, s *Sample) {
			s.CPU = 0.75
			if sec > 8 {
				s.Attempts, s.Backpressure = 10000, 7100
			}
		}), []Signal{SignalBackpressure}, 8, 12, 71},
		// A machine shared with other work: little CPU for us, but the
		// scheduler latency shows the starvation, and the backpressure
		// counts.
		{"backpressure on a starved process", run(20, func(sec int, s *Sample) {
			s.CPU = 0.45
			if sec > 5 {
				s.SchedP99, s.Backpressure = 800*time.Millisecond, 450
			}
		}), []Signal{SignalSchedLatency, SignalBackpressure}, 5, 15, 800},
		// The collector runs all the time.
		{"GC pauses", run(20, func(sec int, s *Sample) {
			if sec > 10 {
				s.GCPause = 100 * time.Millisecond
			}
		}), []Signal{SignalGCPause}, 10, 10, 10},
		// Arrivals fire on time but the pacer falls more than 1 s behind
		// on 5 % of them: the planned load is not sent.
		{"late arrivals", run(20, func(sec int, s *Sample) {
			s.Arrivals = 2000
			if sec > 12 {
				s.Late = 100
			}
		}), []Signal{SignalLateArrivals}, 12, 8, 5},
		// Everything at once, reasons in table order.
		{"overloaded", run(20, func(_ int, s *Sample) {
			s.CPU, s.SchedP99, s.ScheduleLagP99, s.Backpressure = 0.97, 300*time.Millisecond, 400*time.Millisecond, 200
		}), []Signal{SignalCPU, SignalSchedLatency, SignalScheduleLag, SignalBackpressure}, 5, 15, 97},
		// The 8 s run at 20,000 contacts/s: most arrivals dropped
		// late. Too short for any limit to be sustained, but decisive
		// whatever the length; the stretch is the whole run.
		{"most arrivals late in a short run", run(8, func(_ int, s *Sample) {
			s.CPU, s.SchedP99, s.Arrivals, s.Late = 0.99, time.Second, 20000, 12600
		}), []Signal{SignalLateArrivals}, 0, 8, 63},
		// A tenth of them late decides too.
		{"a tenth of the arrivals late in a short run", run(8, func(_ int, s *Sample) {
			s.Arrivals, s.Late = 1000, 100
		}), []Signal{SignalLateArrivals}, 0, 8, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Judge(tc.samples, DefaultLimits())
			if v.State != GeneratorBound {
				t.Fatalf("got %s, want generator-bound", v)
			}
			if got := signals(v); !slices.Equal(got, tc.want) {
				t.Errorf("signals %v, want %v", got, tc.want)
			}
			r := v.Reasons[0]
			peak := r.PeakMS + r.PeakPct
			if r.StartS != tc.startS || r.SustainedS != tc.sustainedS || peak != tc.peak {
				t.Errorf("first reason from %vs for %vs peak %v, want from %vs for %vs peak %v (%s)",
					r.StartS, r.SustainedS, peak, tc.startS, tc.sustainedS, tc.peak, r.Message)
			}
		})
	}
}

// TestJudgeTooShort: a run whose samples past the warm-up cover less than
// Sustain cannot show a sustained limit, so it is not judged, not
// healthy, whatever its samples say short of decisive evidence.
func TestJudgeTooShort(t *testing.T) {
	for _, tc := range []struct {
		name    string
		samples []Sample
		judged  float64 // seconds past the warm-up
	}{
		// No samples at all.
		{"empty", nil, 0},
		// A quiet 3 s run: nothing past the warm-up.
		{"3 s", run(3, nil), 0},
		// A quiet 9 s run: 4 s past the warm-up.
		{"9 s", run(9, nil), 4},
		// The 8 s run without its late drops: every limit over,
		// but for 3 s.
		{"overloaded for 8 s", run(8, func(_ int, s *Sample) {
			s.CPU, s.SchedP99, s.ScheduleLagP99 = 1, time.Second, 2*time.Second
		}), 3},
		// 5 % of the arrivals late: over the per-second limit, but for
		// 3 s, and short of the decisive tenth.
		{"some late arrivals in a short run", run(8, func(_ int, s *Sample) {
			s.Arrivals, s.Late = 1000, 50
		}), 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Judge(tc.samples, DefaultLimits())
			if v.State != NotJudged || len(v.Reasons) != 1 || v.Reasons[0].Signal != SignalDuration {
				t.Fatalf("got %s, want not judged for its duration", v)
			}
			r := v.Reasons[0]
			if r.SustainedS != tc.judged || r.StartS != 5 || !strings.Contains(r.Message, "a run needs 10s") {
				t.Errorf("reason %+v, want %vs judged after a 5s warm-up and the length a run needs", r, tc.judged)
			}
		})
	}
	// The same limits without a warm-up judge a run from its first
	// second: 5 s suffice.
	lim := DefaultLimits()
	lim.Warmup = 0
	if v := Judge(run(5, nil), lim); v.State != Healthy {
		t.Errorf("5 s without a warm-up: %s, want healthy", v)
	}
}

func TestJudgeZeroLimitsCheckNothing(t *testing.T) {
	samples := run(20, func(_ int, s *Sample) {
		s.CPU, s.SchedP99, s.ScheduleLagP99, s.Backpressure, s.GCPause = 1, time.Second, time.Second, 1000, time.Second
	})
	if v := Judge(samples, Limits{}); v.State != Healthy {
		t.Errorf("zero limits: got %s, want healthy", v)
	}
}

func TestReasonMessage(t *testing.T) {
	v := Judge(run(20, func(sec int, s *Sample) {
		if sec > 5 {
			s.SchedP99 = 180 * time.Millisecond
		}
	}), DefaultLimits())
	want := "generator-bound: Go scheduler latency p99 over 20ms for 15s from 5s (peak 180ms)"
	if got := v.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestLive(t *testing.T) {
	lim := DefaultLimits()
	j := newJudge(lim)
	feed := func(from, to int, cpu float64) {
		for _, s := range run(to, func(_ int, s *Sample) { s.CPU = cpu })[from-1:] {
			j.add(s)
		}
	}
	feed(1, 5, 1) // warm-up: not judged
	if got := j.live(); got != nil {
		t.Fatalf("during the warm-up: %v", got)
	}
	feed(6, 7, 1) // 2 s over: less than LiveAfter
	if got := j.live(); got != nil {
		t.Fatalf("after 2 s over: %v", got)
	}
	feed(8, 8, 1) // 3 s over
	got := j.live()
	if len(got) != 1 || got[0].Signal != SignalCPU || got[0].SustainedS != 3 {
		t.Fatalf("after 3 s over: %v, want cpu for 3 s", got)
	}
	feed(9, 10, 0.1) // two seconds under end it
	if got := j.live(); got != nil {
		t.Fatalf("after 2 s under: %v", got)
	}
	// 3 s over is not sustained: the final verdict is healthy.
	if v := j.verdict(); v.State != Healthy {
		t.Errorf("verdict %s", v)
	}
}

func TestHistogramQuantile(t *testing.T) {
	h := histogram{Buckets: []float64{0, 0.001, 0.01, 0.1, 1}, Counts: []uint64{90, 9, 1, 0}}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{
		{0.5, time.Millisecond},       // in [0, 1ms): the bucket's top
		{0.9, time.Millisecond},       // the 90th of 100 is still there
		{0.99, 10 * time.Millisecond}, // the 99th is in [1ms, 10ms)
		{1, 100 * time.Millisecond},
	} {
		if got := h.quantile(tc.q); got != tc.want {
			t.Errorf("q%v = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := h.max(); got != 100*time.Millisecond {
		t.Errorf("max %v", got)
	}
	later := histogram{Buckets: h.Buckets, Counts: []uint64{90, 9, 1, 3}}
	d := later.since(h)
	if d.total() != 3 || d.quantile(0.99) != time.Second {
		t.Errorf("delta %v: total %d p99 %v, want 3 values in [100ms, 1s)", d.Counts, d.total(), d.quantile(0.99))
	}
	if got := (histogram{}).quantile(0.99); got != 0 {
		t.Errorf("empty: %v", got)
	}
}

// TestArrivalTotalsDecide: a simulator far behind reaches most of its
// late arrivals only when the run ends (the pacer drains them after the
// last sample): 9 % of the sampled arrivals were late, 82 % of the run's.
// Given the run's totals, the monitor judges and reports those.
func TestArrivalTotalsDecide(t *testing.T) {
	lim := DefaultLimits()
	lim.CPU, lim.SchedP99, lim.GCPauseShare = 0, 0, 0 // the process's own readings play no part
	t0 := time.Now()
	m := NewMonitor(lim, t0)
	for sec := 1; sec <= 8; sec++ {
		m.Sample(t0.Add(time.Duration(sec)*time.Second), Input{Arrivals: 1000, Late: 90})
	}
	if v := m.Report().Verdict; v.State != NotJudged {
		t.Fatalf("on the samples alone: %s, want not judged", v)
	}
	m.Arrivals(159904, 131320)
	rep := m.Report()
	if rep.State != GeneratorBound || rep.Reasons[0].Signal != SignalLateArrivals || rep.Reasons[0].PeakPct != 82.1 {
		t.Errorf("with the run's totals: %s, want generator-bound by 82.1%% late", rep.Verdict)
	}
	if rep.LateArrivals.Dropped != 131320 || rep.LateArrivals.Arrivals != 159904 || rep.LateArrivals.PeakSharePct != 9 {
		t.Errorf("late arrivals %+v, want the run's counts and the worst second's share", rep.LateArrivals)
	}
}
