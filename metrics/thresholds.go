package metrics

import (
	"math"
	"slices"
	"strconv"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/eixamsim/eixamsim/scenario"
)

// Threshold evaluation: pure functions from Measurements (what a run has
// measured so far) to Verdicts. The CLI maps verdicts to an exit code; this
// file knows nothing about runs, files or exit codes.
//
// What each aggregation observes (units as in scenario.Rule.Unit):
//
//	latency p(N)    ValueAt(histogram, N): the value at nearest rank ceil(N/100·count), the top of its bucket (3 significant digits)
//	latency avg     histogram mean
//	latency min/max smallest / largest recorded value
//	latency errors  errors / (count + errors)
//	latency count   successful operations (the histogram's count)
//	rate            count / Elapsed seconds
//	counter count   the counter's value
//	gauge min/max   smallest / largest per-second sample
//	gauge avg       mean of the per-second samples, weighted by interval length
//
// A rule that has nothing to judge fails with HasData false ("no samples"),
// never passes silently: p(N), avg, min and max of a latency without a
// successful operation; errors of a latency without any operation; a gauge
// never sampled; a rate over no elapsed time. count is always defined
// (zero is a real count), so "count > 0" fails and "count <= 0" passes on
// an idle metric.

// Measurements is the cumulative state of a run at one moment, as far as
// thresholds need it. Metrics missing from the maps have measured nothing.
type Measurements struct {
	// Elapsed is the run time rates are computed over.
	Elapsed time.Duration
	// Latencies holds latency metrics by name.
	Latencies map[string]LatencyData
	// Counters holds counter values by name.
	Counters map[string]int64
	// Gauges holds gauge statistics by name.
	Gauges map[string]GaugeStats
}

// Measured is a run's measurements over the whole run and over each
// stage, which stage-scoped rules ("metric{stage=NAME}") are judged on.
type Measured struct {
	Run Measurements
	// Stages holds each stage's measurements by name; a stage without an
	// interval (one that did not run) is missing.
	Stages map[string]Measurements
}

// scope returns the measurements of stage ("" for the whole run) and
// whether there are any.
func (m *Measured) scope(stage string) (Measurements, bool) {
	if m == nil {
		return Measurements{}, false
	}
	if stage == "" {
		return m.Run, true
	}
	s, ok := m.Stages[stage]
	return s, ok
}

// LatencyData is one latency metric's cumulative measurements.
type LatencyData struct {
	Hist   *hdr.Histogram // successful operations, in microseconds; nil = none
	Errors int64          // failed operations, every class
}

// GaugeStats summarises a gauge's per-second samples. The zero value has
// no samples.
type GaugeStats struct {
	Samples int64   // number of samples
	Min     int64   // smallest sample; 0 without samples
	Max     int64   // largest sample; 0 without samples
	sum     float64 // sum of value x interval seconds
	seconds float64 // sum of interval seconds
}

// Add adds one sample v that held for an interval of the given length in
// seconds (used to weight the average; <= 0 counts as one second).
func (g *GaugeStats) Add(v int64, seconds float64) {
	if seconds <= 0 {
		seconds = 1
	}
	if g.Samples == 0 || v < g.Min {
		g.Min = v
	}
	if g.Samples == 0 || v > g.Max {
		g.Max = v
	}
	g.Samples++
	g.sum += float64(v) * seconds
	g.seconds += seconds
}

// Avg is the mean of the samples weighted by interval length; 0 without
// samples.
func (g GaugeStats) Avg() float64 {
	if g.seconds == 0 {
		return 0
	}
	return g.sum / g.seconds
}

// Verdict is the outcome of one threshold rule.
type Verdict struct {
	Metric   string        // the metric's name
	Stage    string        // the stage the rule judged; "" for the whole run
	Rule     scenario.Rule // the rule judged
	Observed float64       // the observed aggregate in Rule.Unit; 0 when !HasData
	HasData  bool          // false: nothing to judge, and the rule failed
	Passed   bool          // the rule holds
	// Limit is what Observed was compared with, in Rule.Unit: Rule.Value,
	// or for a baseline rule Rule.Limit(Baseline) (0 without a baseline).
	Limit float64
	// Baseline is a baseline rule's value in the baseline run (the same
	// aggregation over the same scope), in Rule.Unit; HasBaseline is
	// false when the baseline run has nothing to judge (the rule failed).
	Baseline    float64
	HasBaseline bool
}

// Key is the rule's thresholds key: "telemetry.puback{stage=steady}".
func (v Verdict) Key() string { return scenario.ThresholdKey(v.Metric, v.Stage) }

// BaselineString says what a baseline rule compared with, as rules are
// written: "380ms × 1.1 = 418ms", "380ms + 50ms = 430ms", "380ms", or
// "no samples"; "" for a rule without baseline.
func (v Verdict) BaselineString() string {
	r := v.Rule
	if !r.Baseline {
		return ""
	}
	if !v.HasBaseline {
		return "no samples"
	}
	s := r.FormatValue(RoundSignificant(v.Baseline, 3))
	if r.Factor == 1 && r.Offset == 0 {
		return s
	}
	if r.Factor != 1 {
		s += " × " + strconv.FormatFloat(r.Factor, 'g', -1, 64)
	}
	switch {
	case r.Offset > 0:
		s += " + " + r.FormatValue(r.Offset)
	case r.Offset < 0:
		s += " - " + r.FormatValue(-r.Offset)
	}
	return s + " = " + r.FormatValue(RoundSignificant(v.Limit, 3))
}

// ObservedString is the observed value as rules are written, to 3
// significant digits (the histograms' precision) but never fewer than the
// integer digits ("1.52s", "15.1%", "12345", "5/s"), or "no samples".
func (v Verdict) ObservedString() string {
	if !v.HasData {
		return "no samples"
	}
	return v.Rule.FormatValue(RoundSignificant(v.Observed, 3))
}

// RoundSignificant rounds v to n significant digits, but never into its
// integer part: 0.15126 -> 0.151, 2.4137 -> 2.41, 12345.6 -> 12346.
func RoundSignificant(v float64, n int) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	decimals := n - int(math.Floor(math.Log10(math.Abs(v)))) - 1
	if decimals < 0 {
		decimals = 0
	}
	scale := math.Pow(10, float64(decimals))
	return math.Round(v*scale) / scale
}

// Evaluate judges every rule of th on m, the whole run's measurements, in
// file order. Stage-scoped rules have no data there, and baseline rules no
// baseline: both fail (EvaluateAll judges them).
func Evaluate(th scenario.Thresholds, m Measurements) []Verdict {
	return EvaluateAll(th, Measured{Run: m}, nil)
}

// EvaluateAll judges every rule of th, in file order: each on the scope
// its key names (the whole run, or one stage of m), a baseline rule
// against the same aggregation and scope of base (nil: no baseline run,
// so baseline rules fail).
func EvaluateAll(th scenario.Thresholds, m Measured, base *Measured) []Verdict {
	n := 0
	for _, mr := range th.Metrics {
		n += len(mr.Rules)
	}
	out := make([]Verdict, 0, n)
	for _, mr := range th.Metrics {
		for _, r := range mr.Rules {
			out = append(out, JudgeRule(mr.Metric, mr.Stage, r, m, base))
		}
	}
	return out
}

// FirstBreach judges, in file order, the continuous rules (see
// scenario.Rule.Continuous) of the keys listed in th.AbortOnFail, and
// returns the first that fails on data: whole-run rules on m.Run, and the
// rules scoped to stage, the stage running now, on that stage's
// measurements (rules scoped to other stages are not checked). A rule
// without data yet, or without baseline data, does not breach: the run
// waits for samples. Grace periods are the caller's.
func FirstBreach(th scenario.Thresholds, m Measured, stage string, base *Measured) (Verdict, bool) {
	for _, mr := range th.Metrics {
		if !slices.Contains(th.AbortOnFail, mr.Key()) || mr.Stage != "" && mr.Stage != stage {
			continue
		}
		for _, r := range mr.Rules {
			if !r.Continuous() {
				continue
			}
			v := JudgeRule(mr.Metric, mr.Stage, r, m, base)
			if v.HasData && (!r.Baseline || v.HasBaseline) && !v.Passed {
				return v, true
			}
		}
	}
	return Verdict{}, false
}

// Judge judges one whole-run rule without baseline on metric (a name from
// scenario.Metrics). An unknown metric has no data, so its rule fails.
func Judge(metric string, r scenario.Rule, m Measurements) Verdict {
	return JudgeRule(metric, "", r, Measured{Run: m}, nil)
}

// JudgeRule judges one rule on metric over stage ("" for the whole run)
// of m; a baseline rule compares with the same aggregation over the same
// scope of base, and fails when base has nothing there.
func JudgeRule(metric, stage string, r scenario.Rule, m Measured, base *Measured) Verdict {
	v := Verdict{Metric: metric, Stage: stage, Rule: r, Limit: r.Value}
	cat, known := scenario.LookupMetric(metric)
	if known {
		if cur, ok := m.scope(stage); ok {
			v.Observed, v.HasData = observe(cat.Kind, metric, r, cur)
		}
	}
	if !v.HasData || math.IsNaN(v.Observed) {
		v.Observed, v.HasData = 0, false
	}
	if r.Baseline {
		v.Limit = 0
		if b, ok := base.scope(stage); ok && known {
			v.Baseline, v.HasBaseline = observe(cat.Kind, metric, r, b)
		}
		if !v.HasBaseline || math.IsNaN(v.Baseline) {
			v.Baseline, v.HasBaseline = 0, false
			return v
		}
		v.Limit = r.Limit(v.Baseline)
	}
	if v.HasData {
		v.Passed = r.PassLimit(v.Observed, v.Limit)
	}
	return v
}

// observe returns the aggregate r asks for, and whether there was data.
func observe(kind scenario.MetricKind, name string, r scenario.Rule, m Measurements) (float64, bool) {
	switch kind {
	case scenario.KindLatency:
		return observeLatency(m.Latencies[name], r, m.Elapsed)
	case scenario.KindCounter:
		n := m.Counters[name]
		switch r.Agg {
		case scenario.AggCount:
			return float64(n), true
		case scenario.AggRate:
			return perSecond(n, m.Elapsed)
		}
	case scenario.KindGauge:
		g := m.Gauges[name]
		if g.Samples == 0 {
			return 0, false
		}
		switch r.Agg {
		case scenario.AggMin:
			return float64(g.Min), true
		case scenario.AggMax:
			return float64(g.Max), true
		case scenario.AggAvg:
			return g.Avg(), true
		}
	}
	return 0, false
}

func observeLatency(d LatencyData, r scenario.Rule, elapsed time.Duration) (float64, bool) {
	var n int64
	if d.Hist != nil {
		n = d.Hist.TotalCount()
	}
	switch r.Agg {
	case scenario.AggCount:
		return float64(n), true
	case scenario.AggRate:
		return perSecond(n, elapsed)
	case scenario.AggErrors:
		if n+d.Errors == 0 {
			return 0, false
		}
		return float64(d.Errors) / float64(n+d.Errors), true
	}
	if n == 0 {
		return 0, false
	}
	switch r.Agg {
	case scenario.AggPercentile:
		return ValueAt(d.Hist, r.Percentile).Seconds(), true
	case scenario.AggAvg:
		return d.Hist.Mean() / 1e6, true
	case scenario.AggMin:
		return micros(d.Hist.Min()).Seconds(), true
	case scenario.AggMax:
		return micros(d.Hist.Max()).Seconds(), true
	}
	return 0, false
}

func perSecond(n int64, elapsed time.Duration) (float64, bool) {
	if elapsed <= 0 {
		return 0, false
	}
	return float64(n) / elapsed.Seconds(), true
}

// Measure returns the measurements of the named metrics (every metric when
// names is nil) with the given elapsed time: a snapshot of each latency
// histogram, counter values, and the gauge statistics of the ticks so far.
// Safe to call while the run records and ticks.
func (c *Collector) Measure(elapsed time.Duration, names []string) Measurements {
	want := func(name string) bool { return names == nil || slices.Contains(names, name) }
	m := Measurements{
		Elapsed:   elapsed,
		Latencies: map[string]LatencyData{},
		Counters:  map[string]int64{},
		Gauges:    map[string]GaugeStats{},
	}
	for _, l := range c.reg.Latencies() {
		if !want(l.name) {
			continue
		}
		h, errs := l.Snapshot()
		d := LatencyData{Hist: h}
		for _, n := range errs {
			d.Errors += n
		}
		m.Latencies[l.name] = d
	}
	for name, v := range c.reg.CounterValues() {
		if want(name) {
			m.Counters[name] = v
		}
	}
	c.mu.Lock()
	for name, g := range c.gauges {
		if want(name) {
			m.Gauges[name] = g
		}
	}
	c.mu.Unlock()
	return m
}
