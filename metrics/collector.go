package metrics

import (
	"maps"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// IntervalSink receives each finished per-interval histogram of a metric.
// HlogWriter is one. The histogram is only valid during the call.
type IntervalSink interface {
	WriteInterval(metric string, h *hdr.Histogram) error
}

// IntervalStat is one metric's statistics over one interval: successes,
// errors (in all and by class), and the successes' percentiles (exact to
// the histogram's 3 significant digits; 0 without successes).
type IntervalStat struct {
	Count  int64
	Errors int64
	// ErrorsBy splits Errors by class; only classes with an error in the
	// interval are present, and nil means no error at all.
	ErrorsBy map[string]int64
	P50      time.Duration
	P95      time.Duration
	P99      time.Duration
	Max      time.Duration
}

// Point is the state of the run at the end of one interval: counter and
// gauge values, and each latency metric's interval statistics.
type Point struct {
	// T is the end of the interval in seconds since the run start.
	T float64
	// Seconds is the interval's length.
	Seconds float64
	// Values holds every counter and gauge by name.
	Values map[string]int64
	// Latencies holds the latency metrics that had a success or an error
	// in the interval.
	Latencies map[string]IntervalStat
}

// Collector closes one interval per Tick: it rotates every latency metric's
// interval histogram, hands it to the sink, and appends a Point to a bounded
// series. Tick is driven by the caller (once a second in a run, by hand in
// tests), from one goroutine.
type Collector struct {
	reg   *Registry
	start time.Time
	sink  IntervalSink // may be nil

	prev  time.Time
	spare *hdr.Histogram
	// classes holds each latency metric's cumulative error counts by class
	// at the previous Tick, to take per-interval differences.
	classes map[string]map[string]int64

	mu       sync.Mutex
	series   *Series
	last     Point
	sinkErrs int
	gauges   map[string]GaugeStats // every gauge's samples, one per Tick (for thresholds)
	// gaugesDone stops gauge sampling for thresholds (StopGaugeSamples).
	gaugesDone bool
	// stages holds each stage's statistics by index (stages.go); nil for
	// a stage without an interval yet.
	stages []*stageData
	// counters are the counter values at the previous Tick, for each
	// stage's growth.
	counters map[string]int64
}

// NewCollector returns a collector for reg whose first interval starts at
// start. sink may be nil.
func NewCollector(reg *Registry, start time.Time, sink IntervalSink) *Collector {
	return &Collector{reg: reg, start: start, sink: sink, prev: start, spare: newHistogram(), series: NewSeries(DefaultSeriesPoints),
		gauges: map[string]GaugeStats{}, classes: map[string]map[string]int64{}}
}

// Tick ends the current interval at now, without adding it to a stage.
func (c *Collector) Tick(now time.Time) { c.TickStage(now, -1) }

// TickStage ends the current interval at now and adds it, whole, to the
// statistics of stage (an index from 0; negative for none): its latency
// histograms and errors, the counters' growth, its gauge samples and its
// length.
func (c *Collector) TickStage(now time.Time, stage int) {
	from := c.prev.Sub(c.start).Seconds() // the previous interval's T, exactly
	var st *stageData
	if stage >= 0 {
		c.mu.Lock()
		for len(c.stages) <= stage {
			c.stages = append(c.stages, nil)
		}
		if c.stages[stage] == nil {
			c.stages[stage] = newStageData()
		}
		st = c.stages[stage]
		c.mu.Unlock()
	}
	// One sample of the counters and gauges serves the series, the gauge
	// statistics thresholds judge and the stage's counter growth: read
	// apart, a tick handled while the users leave (the last one, due
	// before the stage's end) put 200 online in the series and 70 in
	// users.online's minimum.
	counters, gauges := c.reg.sample()
	p := Point{
		T:         now.Sub(c.start).Seconds(),
		Seconds:   now.Sub(c.prev).Seconds(),
		Values:    make(map[string]int64, len(counters)+len(gauges)),
		Latencies: map[string]IntervalStat{},
	}
	maps.Copy(p.Values, counters)
	maps.Copy(p.Values, gauges)
	sinkErrs := 0
	for _, l := range c.reg.Latencies() {
		h, errs, cum := l.rotateClasses(c.spare)
		h.SetStartTimeMs(c.prev.UnixMilli())
		h.SetEndTimeMs(now.UnixMilli())
		h.SetTag("")
		if c.sink != nil {
			if err := c.sink.WriteInterval(l.name, h); err != nil {
				sinkErrs++
			}
		}
		if h.TotalCount() > 0 || errs > 0 {
			is := IntervalStatOf(h, errs)
			if errs > 0 {
				is.ErrorsBy = classDelta(c.classes[l.name], cum)
			}
			p.Latencies[l.name] = is
			if st != nil {
				c.mu.Lock() // MeasureStage reads the stage from other goroutines
				st.addLatency(l.name, h, errs, is.ErrorsBy)
				c.mu.Unlock()
			}
		}
		c.classes[l.name] = cum
		if h.TotalCount() > 0 {
			h.Reset() // an empty one is already clean: skip zeroing its counts
		}
		c.spare = h
	}
	c.prev = now

	c.mu.Lock()
	for name, v := range gauges {
		if c.gaugesDone {
			break
		}
		g := c.gauges[name]
		g.Add(v, p.Seconds)
		c.gauges[name] = g
		if st != nil {
			g = st.gauges[name]
			g.Add(v, p.Seconds)
			st.gauges[name] = g
		}
	}
	if st != nil {
		if st.intervals == 0 {
			st.from = from
		}
		st.intervals++
		st.to = p.T
		st.seconds += p.Seconds
		for name, v := range counters {
			st.counters[name] += v - c.counters[name]
		}
	}
	c.counters = counters
	c.series.Add(p)
	c.last = p
	c.sinkErrs += sinkErrs
	c.mu.Unlock()
}

// rotateClasses is rotate that also returns the cumulative error counts by
// class, read under the same lock: the classes' growth since the previous
// call adds up to errs exactly.
func (l *Latency) rotateClasses(spare *hdr.Histogram) (finished *hdr.Histogram, errs int64, cumulative map[string]int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	finished, l.interval = l.interval, spare
	errs, l.intervalErrors = l.intervalErrors, 0
	cumulative = make(map[string]int64, len(l.errors))
	for class, n := range l.errors {
		cumulative[class] = n
	}
	return finished, errs, cumulative
}

// classDelta is the errors by class counted between prev and cur (both
// cumulative), leaving out classes that did not grow.
func classDelta(prev, cur map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for class, n := range cur {
		if d := n - prev[class]; d > 0 {
			out[class] = d
		}
	}
	return out
}

// IntervalStatOf is one interval of a latency metric: h's count and
// percentiles (h in microseconds), and errs errors.
func IntervalStatOf(h *hdr.Histogram, errs int64) IntervalStat {
	return IntervalStat{
		Count:  h.TotalCount(),
		Errors: errs,
		P50:    ValueAt(h, 50),
		P95:    ValueAt(h, 95),
		P99:    ValueAt(h, 99),
		Max:    micros(h.Max()),
	}
}

// StopGaugeSamples ends the gauge samples thresholds are judged on: later
// Ticks still record gauges in the series, but not in Measure's
// GaugeStats. A run calls it when its last stage ends, so the teardown
// (every user leaving) does not count as a sample of users.online.
func (c *Collector) StopGaugeSamples() {
	c.mu.Lock()
	c.gaugesDone = true
	c.mu.Unlock()
}

// Last returns the most recent interval's Point (zero before the first Tick).
func (c *Collector) Last() Point {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// Series returns a copy of the points collected so far.
func (c *Collector) Series() []Point {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.series.Points()
}

// SinkErrors returns how many interval writes failed.
func (c *Collector) SinkErrors() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sinkErrs
}
