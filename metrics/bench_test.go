package metrics

import (
	"fmt"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/scenario"
)

// BenchmarkLatencyRecord is the hot path of every measured operation:
// one successful latency recorded from one goroutine.
func BenchmarkLatencyRecord(b *testing.B) {
	l := NewRegistry().Latency(scenario.TelemetryPuback)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.Record(time.Duration(1+i%5000) * 100 * time.Microsecond)
	}
}

// BenchmarkLatencyRecordParallel is the same with every core recording
// into one metric, as a fleet's users do.
func BenchmarkLatencyRecordParallel(b *testing.B) {
	l := NewRegistry().Latency(scenario.TelemetryPuback)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			l.Record(time.Duration(1+i%5000) * 100 * time.Microsecond)
		}
	})
}

// gateThresholds loads the thresholds of scenarios/ci-gate.yaml, the
// example CI gate: 13 rules on 6 metrics, abort_on_fail on one.
func gateThresholds(b *testing.B) scenario.Thresholds {
	b.Helper()
	sc, err := scenario.Load("../scenarios/ci-gate.yaml", scenario.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return sc.Thresholds
}

// gateCollector is a collector whose registry measured, for every metric
// the thresholds name, 10 000 latencies spread over 1 ms .. 1 s and a few
// errors, as a 20 s gate run would.
func gateCollector(th scenario.Thresholds) *Collector {
	reg := NewRegistry()
	for _, mr := range th.Metrics {
		l := reg.Latency(mr.Metric)
		for i := range 10_000 {
			l.Record(time.Duration(1+i%1000) * time.Millisecond)
		}
		l.Error("timeout")
	}
	c := NewCollector(reg, time.Now(), nil)
	return c
}

// BenchmarkEvaluate judges every rule of the gate scenario on the
// measurements of a whole run: the end-of-run verdicts.
func BenchmarkEvaluate(b *testing.B) {
	th := gateThresholds(b)
	m := gateCollector(th).Measure(20*time.Second, nil)
	b.ReportAllocs()
	for b.Loop() {
		if v := Evaluate(th, m); len(v) != 13 {
			b.Fatalf("%d verdicts", len(v))
		}
	}
}

// BenchmarkAbortCheck is what the abort_on_fail watch does each second:
// measure the listed metrics, then look for the first breach.
func BenchmarkAbortCheck(b *testing.B) {
	th := gateThresholds(b)
	c := gateCollector(th)
	b.ReportAllocs()
	for b.Loop() {
		if _, breached := FirstBreach(th, Measured{Run: c.Measure(20*time.Second, th.AbortOnFail)}, "", nil); breached {
			b.Fatal("breach")
		}
	}
}

// BenchmarkTickStage is one second's interval close with per-stage
// statistics: 20 latency metrics with 1,000 samples each merged into the
// stage's histograms (BenchmarkTick without them).
func BenchmarkTickStage(b *testing.B) { benchmarkTick(b, 0) }

// BenchmarkTick is the same interval close without a stage.
func BenchmarkTick(b *testing.B) { benchmarkTick(b, -1) }

func benchmarkTick(b *testing.B, stage int) {
	reg := NewRegistry()
	start := time.Unix(1_700_000_000, 0)
	c := NewCollector(reg, start, nil)
	var ls []*Latency
	for i := range 20 {
		ls = append(ls, reg.Latency(fmt.Sprintf("m%02d", i)))
	}
	now := start
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for _, l := range ls {
			for j := range 1000 {
				l.Record(time.Duration(j+1) * 37 * time.Microsecond)
			}
		}
		now = now.Add(time.Second)
		b.StartTimer()
		c.TickStage(now, stage)
	}
}

// BenchmarkTickHlog is one second's interval close written to real
// interval logs (HlogWriter in a temporary directory), as a run does:
// "busy" has 20 metrics with 1,000 samples each; "idle" has 30 metrics of
// which 2 had samples, the usual shape of a long steady stage.
func BenchmarkTickHlog(b *testing.B) {
	for _, bc := range []struct {
		name          string
		metrics, busy int
	}{
		{"busy", 20, 20},
		{"idle", 30, 2},
	} {
		b.Run(bc.name, func(b *testing.B) {
			reg := NewRegistry()
			start := time.Unix(1_700_000_000, 0)
			w, err := NewHlogWriter(b.TempDir(), start)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			c := NewCollector(reg, start, w)
			var ls []*Latency
			for i := range bc.metrics {
				ls = append(ls, reg.Latency(fmt.Sprintf("m%02d", i)))
			}
			now := start
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				for _, l := range ls[:bc.busy] {
					for j := range 1000 {
						l.Record(time.Duration(j+1) * 37 * time.Microsecond)
					}
				}
				now = now.Add(time.Second)
				b.StartTimer()
				c.Tick(now)
			}
		})
	}
}
