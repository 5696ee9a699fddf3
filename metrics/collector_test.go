package metrics

import (
	"errors"
	"maps"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/eixamsim/eixamsim/scenario"
)

// Each interval of the series splits its errors by class: only the classes
// that failed in that interval, adding up to its error count, and nothing
// for an interval without errors.
func TestCollectorSplitsIntervalErrorsByClass(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	reg := NewRegistry()
	c := NewCollector(reg, start, nil)
	l := reg.Latency("m")

	l.Fail("timeout", errors.New("t1"))
	l.Fail("timeout", errors.New("t2"))
	l.Error("http_503")
	c.Tick(start.Add(time.Second))
	l.Record(time.Millisecond)
	c.Tick(start.Add(2 * time.Second))
	l.Error("http_503")
	l.Error("http_503")
	c.Tick(start.Add(3 * time.Second))

	pts := c.Series()
	want := []map[string]int64{
		{"timeout": 2, "http_503": 1},
		nil,
		{"http_503": 2},
	}
	for i, w := range want {
		st := pts[i].Latencies["m"]
		if !maps.Equal(st.ErrorsBy, w) {
			t.Errorf("interval %d errors by class = %v, want %v", i+1, st.ErrorsBy, w)
		}
		var sum int64
		for _, n := range st.ErrorsBy {
			sum += n
		}
		if sum != st.Errors {
			t.Errorf("interval %d: classes add up to %d, errors = %d", i+1, sum, st.Errors)
		}
	}
}

// Merging points when the series is full adds the classes of both.
func TestSeriesMergesErrorsByClass(t *testing.T) {
	s := NewSeries(2)
	s.Add(Point{T: 1, Seconds: 1, Latencies: map[string]IntervalStat{"m": {Errors: 2, ErrorsBy: map[string]int64{"timeout": 2}}}})
	s.Add(Point{T: 2, Seconds: 1, Latencies: map[string]IntervalStat{"m": {Errors: 3, ErrorsBy: map[string]int64{"timeout": 1, "http_503": 2}}}})
	s.Add(Point{T: 3, Seconds: 1})
	got := s.Points()[0].Latencies["m"]
	if want := map[string]int64{"timeout": 3, "http_503": 2}; got.Errors != 5 || !maps.Equal(got.ErrorsBy, want) {
		t.Errorf("merged = %d errors by class %v, want 5 and %v", got.Errors, got.ErrorsBy, want)
	}
}

// teardownSink stands for the run moving on while a tick writes its
// intervals: each write takes users offline and counts a disconnect.
type teardownSink struct {
	online *Gauge
	lost   *Counter
}

func (s teardownSink) WriteInterval(string, *hdr.Histogram) error {
	s.online.Add(-130)
	s.lost.Add(130)
	return nil
}

// A tick reads counters and gauges once: the series, the gauge statistics
// thresholds judge (whole run and stage) and the stage's counter growth
// all see the same sample, however the run moves while the tick works.
// Before, the series said 200 online and users.online's minimum 70.
func TestTickSamplesOnce(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	reg := NewRegistry()
	online, lost := reg.Gauge(scenario.UsersOnline), reg.Counter(scenario.MQTTDisconnects)
	reg.Latency(scenario.TelemetryPuback).Record(time.Millisecond)
	online.Add(200)
	c := NewCollector(reg, start, teardownSink{online, lost})
	c.TickStage(start.Add(time.Second), 0)

	inSeries := c.Last().Values
	run := c.Measure(time.Second, nil)
	stage, ok := c.MeasureStage(0, nil)
	if !ok {
		t.Fatal("stage 0 has no interval")
	}
	for _, g := range []struct {
		what string
		got  GaugeStats
	}{{"whole run", run.Gauges[scenario.UsersOnline]}, {"stage", stage.Gauges[scenario.UsersOnline]}} {
		if g.got.Samples != 1 || g.got.Min != inSeries[scenario.UsersOnline] || g.got.Max != inSeries[scenario.UsersOnline] {
			t.Errorf("%s: users.online %+v, the series %d", g.what, g.got, inSeries[scenario.UsersOnline])
		}
	}
	if got, want := stage.Counters[scenario.MQTTDisconnects], inSeries[scenario.MQTTDisconnects]; got != want {
		t.Errorf("stage counted %d disconnects, the series %d", got, want)
	}
}
