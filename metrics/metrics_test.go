package metrics

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

func TestLatencySummary(t *testing.T) {
	reg := NewRegistry()
	l := reg.Latency("http.me")
	for i := 1; i <= 1000; i++ {
		l.Record(time.Duration(i) * time.Millisecond)
	}
	l.Error("http_503")
	l.Error("http_503")
	l.Error("timeout")
	s := l.Summary()
	if s.Count != 1000 || s.Errors != 3 || s.ErrorsBy["http_503"] != 2 {
		t.Fatalf("count/errors = %d/%d %v", s.Count, s.Errors, s.ErrorsBy)
	}
	within := func(name string, got, want time.Duration) {
		t.Helper()
		if d := got - want; d < -want/500 || d > want/500 { // 3 significant digits
			t.Errorf("%s = %v, want %v ±0.2%%", name, got, want)
		}
	}
	within("min", s.Min, time.Millisecond)
	within("max", s.Max, time.Second)
	p99, _ := s.At(99)
	within("p99", p99, 990*time.Millisecond)
	p50, _ := s.At(50)
	within("p50", p50, 500*time.Millisecond)
}

func TestOutOfRangeIsCountedNotRecorded(t *testing.T) {
	l := NewRegistry().Latency("x")
	l.Record(2 * time.Hour)
	l.Record(0) // below 1 µs: recorded as 1 µs
	s := l.Summary()
	if s.Count != 1 || s.ErrorsBy[ErrorOutOfRange] != 1 {
		t.Fatalf("summary = %+v", s)
	}
	if s.Max != time.Microsecond {
		t.Fatalf("max = %v, want 1µs", s.Max)
	}
}

func TestConcurrentRecording(t *testing.T) {
	l := NewRegistry().Latency("x")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				l.Record(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	if got := l.Summary().Count; got != 8000 {
		t.Fatalf("count = %d, want 8000", got)
	}
}

func TestCollectorIntervalsAndHlogRoundTrip(t *testing.T) {
	dir := t.TempDir()
	start := time.Unix(1_700_000_000, 0)
	reg := NewRegistry()
	hw, err := NewHlogWriter(filepath.Join(dir, "hdr"), start)
	if err != nil {
		t.Fatal(err)
	}
	c := NewCollector(reg, start, hw)
	l := reg.Latency("telemetry.puback")
	online := reg.Gauge("users.online")

	// Three one-second intervals with 10, 0 and 5 samples.
	for i, n := range []int{10, 0, 5} {
		for j := 0; j < n; j++ {
			l.Record(time.Duration(j+1) * time.Millisecond)
		}
		online.Add(1)
		c.Tick(start.Add(time.Duration(i+1) * time.Second))
	}
	if err := hw.Close(); err != nil {
		t.Fatal(err)
	}
	series := c.Series()
	if len(series) != 3 {
		t.Fatalf("series has %d points", len(series))
	}
	if got := series[0].Latencies["telemetry.puback"].Count; got != 10 {
		t.Errorf("first interval count = %d, want 10", got)
	}
	if _, ok := series[1].Latencies["telemetry.puback"]; ok {
		t.Errorf("empty interval should carry no stat")
	}
	if series[2].Values["users.online"] != 3 || series[2].T != 3 {
		t.Errorf("last point = %+v", series[2])
	}
	if l.Summary().Count != 15 {
		t.Errorf("cumulative count = %d", l.Summary().Count)
	}

	// Read the log back with HdrHistogram's own reader.
	f, err := os.Open(filepath.Join(dir, "hdr", "telemetry.puback.hlog"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := hdr.NewHistogramLogReader(f)
	var counts []int64
	for {
		h, err := r.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			break
		}
		counts = append(counts, h.TotalCount())
	}
	if len(counts) != 3 || counts[0] != 10 || counts[1] != 0 || counts[2] != 5 {
		t.Fatalf("hlog interval counts = %v, want [10 0 5]", counts)
	}
	if _, err := os.Stat(filepath.Join(dir, "hdr", "telemetry.puback.hlog.tmp")); !os.IsNotExist(err) {
		t.Errorf("temp file left behind: %v", err)
	}
}

func TestSeriesStaysBounded(t *testing.T) {
	s := NewSeries(4)
	for i := 1; i <= 9; i++ {
		s.Add(Point{T: float64(i), Seconds: 1, Latencies: map[string]IntervalStat{"m": {Count: 1, P50: time.Duration(i), P99: time.Duration(i), Max: time.Duration(i)}}})
	}
	pts := s.Points()
	if len(pts) > 4 {
		t.Fatalf("series grew to %d", len(pts))
	}
	var total int64
	var seconds float64
	for _, p := range pts {
		total += p.Latencies["m"].Count
		seconds += p.Seconds
	}
	if total != 9 || seconds != 9 {
		t.Fatalf("merged totals = %d samples over %v s, want 9 over 9", total, seconds)
	}
	if last := pts[len(pts)-1]; last.T != 9 || last.Latencies["m"].Max != 9*time.Nanosecond {
		t.Fatalf("last point = %+v", last)
	}
}

// A log whose writes failed (a full disk, here a file closed under the
// writer) is not renamed over the previous run's log: Close reports the
// error, removes its temporary file and leaves the old log as it was.
func TestHlogFailedWriteKeepsThePreviousFile(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "telemetry.puback.hlog")
	if err := os.WriteFile(old, []byte("previous log\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Unix(1_700_000_000, 0)
	hw, err := NewHlogWriter(dir, start)
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry()
	c := NewCollector(reg, start, hw)
	reg.Latency("telemetry.puback").Record(time.Millisecond)
	c.Tick(start.Add(time.Second))
	hw.mu.Lock()
	_ = hw.files["telemetry.puback"].f.Close() // every later write fails
	hw.mu.Unlock()
	if err := hw.Close(); err == nil {
		t.Fatal("Close after a failed write returned nil")
	}
	got, err := os.ReadFile(old)
	if err != nil || string(got) != "previous log\n" {
		t.Errorf("previous log = %q, %v; want it untouched", got, err)
	}
	if _, err := os.Stat(old + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
}

func TestStopGaugeSamplesEndsThresholdSamples(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	reg := NewRegistry()
	c := NewCollector(reg, start, nil)
	online := reg.Gauge("users.online")
	online.Add(10)
	c.Tick(start.Add(time.Second))
	c.Tick(start.Add(2 * time.Second))
	c.StopGaugeSamples()
	online.Add(-10) // the teardown
	c.Tick(start.Add(3 * time.Second))
	g := c.Measure(3*time.Second, nil).Gauges["users.online"]
	if g.Samples != 2 || g.Min != 10 || g.Max != 10 {
		t.Errorf("users.online samples = %+v; want 2 samples of 10", g)
	}
	if s := c.Series(); len(s) != 3 || s[2].Values["users.online"] != 0 {
		t.Errorf("series = %+v; want the teardown's 0 as its third point", s)
	}
}

func TestFailKeepsAFewSamplesPerClass(t *testing.T) {
	reg := NewRegistry()
	l := reg.Latency("x")
	for i := range 5 {
		l.Fail("timeout", fmt.Errorf("attempt %d timed out", i))
	}
	l.Fail("http_503", nil)
	l.Fail("http_503", errors.New(strings.Repeat("y", 1000)))
	if got := l.ErrorCount("timeout"); got != 5 {
		t.Fatalf("timeout count = %d, want 5", got)
	}
	if got := l.ErrorCount("http_503"); got != 2 {
		t.Fatalf("http_503 count = %d, want 2", got)
	}
	s := l.ErrorSamples()
	if want := []string{"attempt 0 timed out", "attempt 1 timed out", "attempt 2 timed out"}; !slices.Equal(s["timeout"], want) {
		t.Fatalf("timeout samples = %q, want %q", s["timeout"], want)
	}
	if len(s["http_503"]) != 1 || len(s["http_503"][0]) > maxSampleLen+len("…") {
		t.Fatalf("http_503 samples = %q, want one message cut to %d bytes", s["http_503"], maxSampleLen)
	}
}
