package health

import (
	"encoding/json"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// burn keeps n goroutines spinning until d has passed, then waits for them.
func burn(n int, d time.Duration) {
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			x := 1
			for !stop.Load() {
				for i := range 10_000 {
					x = x*31 + i
				}
			}
			_ = x
		})
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
}

// TestMonitorSeesCPUBurn reads the real process: an idle second, then two
// seconds with four spinning goroutines per core. The burn must show as
// more CPU and a longer scheduler latency (runnable goroutines wait for a
// preemption, every 10 ms). Shares are asserted loosely: the machine may be
// shared (go test runs other packages beside this one), and a process that
// gets little CPU shows the burn as scheduler latency instead: the monitor
// must see it one way or the other.
func TestMonitorSeesCPUBurn(t *testing.T) {
	cores := runtime.GOMAXPROCS(0)
	lim := Limits{Sustain: time.Second, CPU: 0.30, SchedP99: time.Millisecond}
	start := time.Now()
	m := NewMonitor(lim, start)

	time.Sleep(time.Second)
	idle := m.Sample(time.Now(), Input{Attempts: 100, ScheduleLagP99: time.Millisecond})
	burn(4*cores, 2*time.Second)
	busy := m.Sample(time.Now(), Input{Attempts: 100, Backpressure: 7, ScheduleLagP99: 2 * time.Millisecond})
	t.Logf("idle: CPU %.1f%% sched p99 %v; busy: CPU %.1f%% sched p99 %v (of %d cores)",
		100*idle.CPU, idle.SchedP99, 100*busy.CPU, busy.SchedP99, cores)

	if busy.CPU < idle.CPU+0.05 {
		t.Errorf("CPU busy %.2f, idle %.2f: want the burn to add at least 5%% of the cores", busy.CPU, idle.CPU)
	}
	if busy.SchedP99 <= idle.SchedP99 || busy.SchedP99 < time.Millisecond {
		t.Errorf("scheduler latency p99 busy %v, idle %v: want it to rise to 1ms or more", busy.SchedP99, idle.SchedP99)
	}
	if busy.Interval < 2*time.Second || busy.At < 3*time.Second {
		t.Errorf("busy sample covers %v ending at %v, want ≥ 2s ending at ≥ 3s", busy.Interval, busy.At)
	}
	if busy.Backpressure != 7 || busy.ScheduleLagP99 != 2*time.Millisecond {
		t.Errorf("the engine's input did not pass through: %+v", busy.Input)
	}

	rep := m.Report()
	if rep.Cores != cores || rep.SampledS < 3 {
		t.Errorf("report covers %v s on %d cores, want ≥ 3 s on %d", rep.SampledS, rep.Cores, cores)
	}
	if rep.CPU.MeanPct <= 100*idle.CPU || rep.CPU.PeakPct != pct(busy.CPU) {
		t.Errorf("CPU mean %v%% peak %v%%, want mean above the idle %.1f%% and peak %v%%", rep.CPU.MeanPct, rep.CPU.PeakPct, 100*idle.CPU, pct(busy.CPU))
	}
	if rep.SchedLatency.P99MS <= 0 {
		t.Errorf("whole-run scheduler latency p99 %v ms, want > 0", rep.SchedLatency.P99MS)
	}
	if rep.Backpressure.Dropped != 7 || rep.Backpressure.Attempts != 200 {
		t.Errorf("backpressure %+v, want 7 of 200", rep.Backpressure)
	}
	// With these tight limits the burn alone is generator-bound: by CPU
	// when the process got the cores, by scheduler latency when it had to
	// share them.
	sig := signals(rep.Verdict)
	if rep.State != GeneratorBound || !(slices.Contains(sig, SignalCPU) || slices.Contains(sig, SignalSchedLatency)) {
		t.Errorf("verdict %s, want generator-bound by CPU or scheduler latency", rep.Verdict)
	}
}

func TestMonitorIgnoresAStaleTick(t *testing.T) {
	now := time.Now()
	m := NewMonitor(DefaultLimits(), now)
	if s := m.Sample(now, Input{Attempts: 5}); s != (Sample{}) {
		t.Errorf("a tick at the start time gave %+v", s)
	}
	if rep := m.Report(); rep.SampledS != 0 || rep.Backpressure.Attempts != 0 {
		t.Errorf("a stale tick was recorded: %+v", rep)
	}
}

// TestReportJSON pins summary.json's keys: snake_case, units in the names.
func TestReportJSON(t *testing.T) {
	m := NewMonitor(DefaultLimits(), time.Now().Add(-time.Second))
	raw, err := json.Marshal(m.Report())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"":              {"verdict", "reasons", "cores", "sampled_s", "cpu", "sched_latency", "schedule_lag", "backpressure", "gc_pause", "late_arrivals"},
		"cpu":           {"mean_pct", "peak_pct", "limit_pct", "over_s"},
		"sched_latency": {"p99_ms", "peak_p99_ms", "limit_ms", "over_s"},
		"schedule_lag":  {"peak_p99_ms", "limit_ms", "over_s"},
		"backpressure":  {"dropped", "attempts", "share_pct", "peak_share_pct", "limit_pct", "over_s"},
		"gc_pause":      {"total_ms", "max_ms", "peak_pct", "limit_pct", "over_s"},
		"late_arrivals": {"dropped", "arrivals", "share_pct", "peak_share_pct", "limit_pct", "decisive_pct", "over_s"},
	}
	for obj, keys := range want {
		m := got
		if obj != "" {
			m, _ = got[obj].(map[string]any)
		}
		var have []string
		for k := range m {
			have = append(have, k)
		}
		slices.Sort(have)
		keys = slices.Sorted(slices.Values(keys))
		if !slices.Equal(have, keys) {
			t.Errorf("%q keys %v, want %v", obj, have, keys)
		}
	}
	// Nothing sampled yet: nothing judged, and why.
	if got["verdict"] != "not_judged" || !strings.Contains(string(raw), `"signal":"duration"`) || strings.Contains(string(raw), `"connect"`) {
		t.Errorf("a fresh monitor: %s", raw)
	}
}

// TestMonitorCPUOverTheReadInterval: a tick read late reads the CPU late
// too, so the share is the CPU between two reads over the time between
// them, not over the ticks' due times (which gave 146-151 % "of 2
// cores"); and a read right after a late one is too short a window for
// the kernel's count, which lags by a scheduler tick for threads still
// running (it gave 336 %), so its window starts a read earlier. The
// process here is 80 % busy throughout.
func TestMonitorCPUOverTheReadInterval(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := time.Millisecond
	var now time.Time // the fake clock: when each read happens
	var stale time.Duration
	cores := runtime.GOMAXPROCS(0)
	busy := func(_ runtimeReading) time.Duration { // 80 % of every core since t0, less what the kernel has not counted yet
		return time.Duration(0.8*float64(cores)*float64(now.Sub(t0))) - stale
	}
	now = t0
	m := newMonitor(DefaultLimits(), t0, func() time.Time { return now }, busy)
	for i, tc := range []struct {
		due, read, stale, window time.Duration
	}{
		{time.Second, time.Second, 0, time.Second},
		{2 * time.Second, 2500 * ms, 0, 1500 * ms}, // read half a second late
		{3 * time.Second, 3 * time.Second, 0, 500 * ms},
		{4 * time.Second, 4900 * ms, 8 * ms, 1900 * ms}, // read late, 8 ms of CPU not counted yet
		{5 * time.Second, 4901 * ms, 0, 1901 * ms},      // 1 ms later: measured from the read before
		{6 * time.Second, 6 * time.Second, 0, 1099 * ms},
	} {
		now, stale = t0.Add(tc.read), tc.stale
		s := m.Sample(t0.Add(tc.due), Input{})
		if math.Abs(s.CPU-0.8) > 0.01 || s.Interval != time.Second || s.Read != tc.window {
			t.Errorf("tick %d: CPU %.3f over interval %v measured over %v, want 0.800 over 1s measured over %v", i+1, s.CPU, s.Interval, s.Read, tc.window)
		}
	}
	rep := m.Report()
	if rep.CPU.PeakPct > 80 || rep.CPU.MeanPct != 80 {
		t.Errorf("CPU mean %v%% peak %v%%, want 80%% and at most 80%%", rep.CPU.MeanPct, rep.CPU.PeakPct)
	}
}
