package metrics

import (
	"maps"
	"slices"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Per-stage statistics: each finished interval is added, whole, to the
// stage the caller names at TickStage, so a stage's histogram is the exact
// merge of its intervals' histograms. Stage boundaries are therefore as
// fine as the intervals (a second in a run); the caller decides which
// stage an interval straddling a boundary belongs to. A stage's memory is
// one histogram per latency metric that had a sample in it.

// stageData is what the intervals of one stage measured.
type stageData struct {
	seconds   float64 // the length of its intervals
	from, to  float64 // its first interval's start, its last one's end, in seconds since the start
	intervals int
	latencies map[string]*stageLatency
	counters  map[string]int64      // growth of each counter during the stage
	gauges    map[string]GaugeStats // one sample per interval
}

// stageLatency is one latency metric over a stage.
type stageLatency struct {
	hist     *hdr.Histogram // nil until the first success
	errors   int64
	errorsBy map[string]int64
}

func newStageData() *stageData {
	return &stageData{latencies: map[string]*stageLatency{}, counters: map[string]int64{}, gauges: map[string]GaugeStats{}}
}

// addLatency adds one interval of a latency metric (h may be empty).
func (s *stageData) addLatency(name string, h *hdr.Histogram, errs int64, by map[string]int64) {
	l := s.latencies[name]
	if l == nil {
		l = &stageLatency{errorsBy: map[string]int64{}}
		s.latencies[name] = l
	}
	if h.TotalCount() > 0 {
		if l.hist == nil {
			l.hist = newHistogram()
		}
		l.hist.Merge(h)
	}
	l.errors += errs
	for class, n := range by {
		l.errorsBy[class] += n
	}
}

// StageStats is what one stage measured: every latency metric of the
// registry (empty ones too, as in Registry.Summaries), the growth of each
// counter, and the seconds its intervals cover (for rates), from From to
// To (seconds since the collector's start).
type StageStats struct {
	Seconds   float64
	From, To  float64
	Latencies []Summary // sorted by name
	Counters  map[string]int64
}

// StageStats returns what stage i measured so far, and false when no
// interval was added to it.
func (c *Collector) StageStats(i int) (StageStats, bool) {
	names := c.reg.Latencies()
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < 0 || i >= len(c.stages) || c.stages[i] == nil {
		return StageStats{}, false
	}
	s := c.stages[i]
	out := StageStats{Seconds: s.seconds, From: s.from, To: s.to, Counters: maps.Clone(s.counters)}
	for _, l := range names {
		d := s.latencies[l.name]
		if d == nil {
			out.Latencies = append(out.Latencies, Summary{Name: l.name, ErrorsBy: map[string]int64{}})
			continue
		}
		h := d.hist
		if h == nil {
			h = newHistogram()
		}
		out.Latencies = append(out.Latencies, summarize(l.name, h, d.errorsBy))
	}
	return out, true
}

// MeasureStage returns the measurements of stage i (as Measure does for
// the whole run, names nil meaning every metric): its intervals so far,
// rates over their length. ok is false when no interval was added to it.
func (c *Collector) MeasureStage(i int, names []string) (m Measurements, ok bool) {
	want := func(name string) bool { return names == nil || slices.Contains(names, name) }
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < 0 || i >= len(c.stages) || c.stages[i] == nil {
		return Measurements{}, false
	}
	s := c.stages[i]
	m = Measurements{
		Elapsed:   time.Duration(s.seconds * float64(time.Second)),
		Latencies: map[string]LatencyData{},
		Counters:  map[string]int64{},
		Gauges:    map[string]GaugeStats{},
	}
	for name, d := range s.latencies {
		if !want(name) {
			continue
		}
		ld := LatencyData{Errors: d.errors}
		if d.hist != nil {
			ld.Hist = d.hist.Clone()
		}
		m.Latencies[name] = ld
	}
	for name, v := range s.counters {
		if want(name) {
			m.Counters[name] = v
		}
	}
	for name, g := range s.gauges {
		if want(name) {
			m.Gauges[name] = g
		}
	}
	return m, true
}
