package compare

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/report"
)

// SchemaName and SchemaVersion identify compare.json.
const (
	SchemaName    = "eixamsim/compare"
	SchemaVersion = 1
)

// Defaults of Options.
const (
	DefaultAlpha     = 0.01
	DefaultMinChange = 0.02
)

// Percentiles are the percentiles every metric is compared at (0..100);
// rules may name others.
var Percentiles = []float64{50, 90, 95, 99, 99.9}

// Options tune the noise judgement.
type Options struct {
	// Alpha is the significance level of the tests (0 < Alpha < 1); zero
	// means DefaultAlpha (0.01).
	Alpha float64
	// MinChange is the smallest relative change of a percentile that can
	// be significant, as a fraction (0.02 = 2 %); zero means
	// DefaultMinChange, a negative value none.
	MinChange float64
	// ExtraPercentiles are compared too (0..100), e.g. those rules name.
	ExtraPercentiles []float64
}

func (o Options) withDefaults() Options {
	if o.Alpha <= 0 || o.Alpha >= 1 {
		o.Alpha = DefaultAlpha
	}
	switch {
	case o.MinChange == 0:
		o.MinChange = DefaultMinChange
	case o.MinChange < 0:
		o.MinChange = 0
	}
	return o
}

// Verdicts of a metric or percentile.
const (
	Slower      = "slower"
	Faster      = "faster"
	TailSlower  = "tail slower" // a percentile moved significantly, the distribution as a whole did not
	TailFaster  = "tail faster"
	Mixed       = "mixed" // significant percentiles moved both ways
	WithinNoise = "within noise"
	NoSamples   = "no samples"         // a side has no successful operation
	NoHistogram = "no histograms"      // a side has no hdr/ log: no noise judgement
	Significant = "significant"        // a percentile's judgement
	Unjudged    = "not judged"         // a percentile without histograms
	FewSamples  = "not enough samples" // too few samples for a percentile's confidence interval: no judgement
	Below       = "below min change"
)

// Result is a comparison of two runs (compare.json).
type Result struct {
	Schema  string  `json:"schema"`
	Version int     `json:"schema_version"`
	Base    RunInfo `json:"base"`
	New     RunInfo `json:"new"`
	Method  Method  `json:"method"`
	// Warnings say why the comparison may mislead: different scenarios,
	// runs that did not complete, generator-bound runs.
	Warnings []string `json:"warnings"`
	// Metrics are the latency metrics both runs have, by name.
	Metrics []MetricDiff `json:"metrics"`
	// OnlyBase and OnlyNew are the latency metrics only one run has.
	OnlyBase []string `json:"only_in_base"`
	OnlyNew  []string `json:"only_in_new"`
	// Counters are the counters and gauges of either run (0 where absent).
	Counters []CounterDiff `json:"counters"`
	// Rules are the --fail-on rules and their outcome.
	Rules []RuleResult `json:"rules"`
}

// RunInfo identifies one side.
type RunInfo struct {
	Dir          string           `json:"dir"`
	Name         string           `json:"name"`
	ScenarioHash string           `json:"scenario_hash,omitempty"`
	Version      string           `json:"eixamsim_version,omitempty"`
	Start        time.Time        `json:"start"`
	Seconds      float64          `json:"duration_s"`
	EndReason    report.EndReason `json:"end_reason"`
	// Histograms says whether the run's hdr/ logs were read.
	Histograms bool `json:"histograms"`
}

// Method records how noise was judged.
type Method struct {
	Test      string  `json:"test"`
	Alpha     float64 `json:"alpha"`
	MinChange float64 `json:"min_change"`
	Intervals string  `json:"percentile_intervals"`
	Caveat    string  `json:"caveat"`
}

// Delta is one number of both runs: NEW - BASE and (NEW - BASE) / BASE.
type Delta struct {
	Base  float64 `json:"base"`
	New   float64 `json:"new"`
	Delta float64 `json:"delta"`
	// Rel is the relative change as a fraction (0.1 = +10 %); nil when
	// BASE is 0 (and NEW is not: both 0 is a change of 0).
	Rel *float64 `json:"rel"`
}

func delta(base, new float64) Delta {
	d := Delta{Base: base, New: new, Delta: new - base}
	switch {
	case base != 0:
		r := (new - base) / math.Abs(base)
		d.Rel = &r
	case new == 0:
		r := 0.0
		d.Rel = &r
	}
	return d
}

// relOrInf is the relative change, ±Inf for a change from 0.
func (d Delta) relOrInf() float64 {
	if d.Rel != nil {
		return *d.Rel
	}
	return math.Copysign(math.Inf(1), d.Delta)
}

// MetricDiff is one latency metric in both runs. Durations are in
// milliseconds.
type MetricDiff struct {
	Name   string `json:"name"`
	Count  Delta  `json:"count"`
	Errors Delta  `json:"errors"`
	// ErrorRate is errors / (count + errors), 0..1.
	ErrorRate Delta       `json:"error_rate"`
	Rate      Delta       `json:"rate_per_s"`
	ErrorsBy  []ClassDiff `json:"errors_by_class"`
	Mean      Delta       `json:"mean_ms"`
	Min       Delta       `json:"min_ms"`
	Max       Delta       `json:"max_ms"`
	// Percentiles are compared at Percentiles (and any extra), in order.
	Percentiles []PercentileDiff `json:"percentiles"`
	// Test is the rank test of the two distributions; nil without
	// histograms or samples on both sides.
	Test *ShiftTest `json:"test,omitempty"`
	// Verdict is Slower, Faster, TailSlower, TailFaster, Mixed,
	// WithinNoise, NoSamples or NoHistogram.
	Verdict string `json:"verdict"`

	base, new *hdr.Histogram // for charts and rules; nil without logs
}

// ClassDiff is one error class in both runs.
type ClassDiff struct {
	Class string `json:"class"`
	Base  int64  `json:"base"`
	New   int64  `json:"new"`
}

// PercentileDiff is one percentile in both runs, in milliseconds.
type PercentileDiff struct {
	Q float64 `json:"q"`
	Delta
	// BaseCI and NewCI are the percentile's confidence intervals at level
	// 1-alpha; absent without histograms, or when that run has too few
	// samples for one (FewSamples).
	BaseCI *[2]float64 `json:"base_ci_ms,omitempty"`
	NewCI  *[2]float64 `json:"new_ci_ms,omitempty"`
	// Significant: moved by at least min_change and the intervals do not
	// overlap.
	Significant bool `json:"significant"`
	// Judgement is Significant, WithinNoise, Below (min change),
	// FewSamples, Unjudged or NoSamples.
	Judgement string `json:"judgement"`
}

// CounterDiff is one counter or gauge at the end of both runs.
type CounterDiff struct {
	Name string `json:"name"`
	Delta
	// Rate is the value per second of each run (a counter's rate).
	Rate Delta `json:"rate_per_s"`
}

// Compare sets base and new side by side.
func Compare(base, new *Run, o Options) *Result {
	o = o.withDefaults()
	r := &Result{
		Schema: SchemaName, Version: SchemaVersion,
		Base: info(base), New: info(new),
		Method: Method{
			Test:      "Mann-Whitney U over the HDR histograms' bucket counts (two-sided, normal approximation, tie-corrected, continuity-corrected); effect size Cliff's delta",
			Alpha:     o.Alpha,
			MinChange: o.MinChange,
			Intervals: "distribution-free confidence intervals of each percentile from order statistics (normal approximation of the binomial rank), level 1-alpha; not enough samples when a run has too few values for one",
			Caveat:    "assumes independent samples; latencies within a run are autocorrelated, so p-values and intervals are optimistic",
		},
		Warnings: warnings(base, new),
		OnlyBase: []string{}, OnlyNew: []string{}, Rules: []RuleResult{},
	}
	qs := append(slices.Clone(Percentiles), o.ExtraPercentiles...)
	slices.Sort(qs)
	qs = slices.Compact(qs)
	for _, name := range metricNames(base, new) {
		_, inBase := base.Summary.Metrics[name]
		_, inNew := new.Summary.Metrics[name]
		switch {
		case !inNew:
			r.OnlyBase = append(r.OnlyBase, name)
		case !inBase:
			r.OnlyNew = append(r.OnlyNew, name)
		default:
			r.Metrics = append(r.Metrics, diffMetric(name, base, new, qs, o))
		}
	}
	r.Counters = diffCounters(base.Summary, new.Summary)
	return r
}

func info(r *Run) RunInfo {
	s := r.Summary
	in := RunInfo{Dir: r.Dir, Name: s.Name, Start: s.Start, Seconds: s.Seconds, EndReason: s.EndReason, Histograms: len(r.Hists) > 0}
	if s.Meta != nil {
		in.ScenarioHash, in.Version = s.Meta.ScenarioHash, s.Meta.Version
	}
	return in
}

// warnings are the reasons the two runs may not be comparable.
func warnings(base, new *Run) []string {
	out := []string{}
	bi, ni := info(base), info(new)
	// The echoes say what differs: the hash covers the load only (not the
	// target's settings) and a given seed, which the echoes' diff leaves
	// out.
	keys, err := scenarioDiff(base.Summary.Scenario, new.Summary.Scenario)
	switch {
	case err != nil:
		out = append(out, fmt.Sprintf("the runs' scenarios could not be compared (%v)", err))
	case len(keys) > 0:
		out = append(out, fmt.Sprintf("the runs ran different scenarios (scenario hash %s vs %s; %s): differences may come from the scenario, not the target",
			orUnknown(short(bi.ScenarioHash)), orUnknown(short(ni.ScenarioHash)), strings.Join(keys, ", ")))
	}
	for _, side := range []struct {
		label string
		r     *Run
	}{{"BASE", base}, {"NEW", new}} {
		s := side.r.Summary
		if s.EndReason != report.EndCompleted {
			out = append(out, fmt.Sprintf("%s was %s after %.1fs: it did not run the whole scenario", side.label, s.EndReason, s.Seconds))
		}
		if s.GeneratorBound() {
			out = append(out, side.label+" was generator-bound: its latencies include the simulator's own delay")
		}
		if len(side.r.Hists) == 0 && len(s.Metrics) > 0 {
			out = append(out, side.label+" has no hdr/ interval logs: only summary.json's percentiles are compared, without a noise judgement")
		}
	}
	return out
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}

// metricNames is every latency metric of either run, sorted.
func metricNames(base, new *Run) []string {
	var names []string
	for _, r := range []*Run{base, new} {
		names = append(names, r.Summary.MetricNames()...)
	}
	sort.Strings(names)
	return slices.Compact(names)
}

func diffMetric(name string, base, new *Run, qs []float64, o Options) MetricDiff {
	bm, nm := base.Summary.Metrics[name], new.Summary.Metrics[name]
	d := MetricDiff{
		Name:      name,
		Count:     delta(float64(bm.Count), float64(nm.Count)),
		Errors:    delta(float64(bm.Errors), float64(nm.Errors)),
		ErrorRate: delta(errorRate(bm), errorRate(nm)),
		Rate:      delta(bm.Rate, nm.Rate),
		Mean:      delta(bm.Mean, nm.Mean),
		Min:       delta(bm.Min, nm.Min),
		Max:       delta(bm.Max, nm.Max),
		ErrorsBy:  diffClasses(bm.ErrorsBy, nm.ErrorsBy),
		base:      base.Hists[name],
		new:       new.Hists[name],
	}
	hists := d.base != nil && d.new != nil
	if hists {
		// The logs are exact; summary.json rounds to the microsecond.
		if d.base.TotalCount() > 0 && d.new.TotalCount() > 0 {
			d.Mean = delta(d.base.Mean()/1000, d.new.Mean()/1000)
		}
		if t, ok := mannWhitney(d.base, d.new); ok {
			d.Test = &t
		}
	}
	for _, q := range qs {
		d.Percentiles = append(d.Percentiles, diffPercentile(q, bm, nm, d.base, d.new, o))
	}
	d.Verdict = verdict(d, bm, nm, hists, o)
	return d
}

func errorRate(m report.Metric) float64 {
	if n := m.Count + m.Errors; n > 0 {
		return float64(m.Errors) / float64(n)
	}
	return 0
}

func diffClasses(base, new map[string]int64) []ClassDiff {
	var classes []string
	for c := range base {
		classes = append(classes, c)
	}
	for c := range new {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	out := []ClassDiff{}
	for _, c := range slices.Compact(classes) {
		out = append(out, ClassDiff{Class: c, Base: base[c], New: new[c]})
	}
	return out
}

// summaryPercentile is q of m from summary.json, when it carries it.
func summaryPercentile(m report.Metric, q float64) (float64, bool) {
	switch q {
	case 50:
		return m.P50, true
	case 90:
		return m.P90, true
	case 95:
		return m.P95, true
	case 99:
		return m.P99, true
	case 99.9:
		return m.P999, true
	}
	return 0, false
}

// us2ms converts a histogram value (microseconds) to milliseconds.
func us2ms(v int64) float64 { return float64(v) / 1000 }

func diffPercentile(q float64, bm, nm report.Metric, bh, nh *hdr.Histogram, o Options) PercentileDiff {
	p := PercentileDiff{Q: q}
	if bh == nil || nh == nil {
		b, okB := summaryPercentile(bm, q)
		n, okN := summaryPercentile(nm, q)
		p.Delta = delta(b, n)
		p.Judgement = Unjudged
		if !okB || !okN || bm.Count == 0 || nm.Count == 0 {
			p.Judgement = NoSamples
		}
		return p
	}
	if bh.TotalCount() == 0 || nh.TotalCount() == 0 {
		p.Judgement = NoSamples
		return p
	}
	p.Delta = delta(us2ms(metrics.ValueAt(bh, q).Microseconds()), us2ms(metrics.ValueAt(nh, q).Microseconds()))
	blo, bhi, bok := quantileCI(bh, q, o.Alpha)
	nlo, nhi, nok := quantileCI(nh, q, o.Alpha)
	if bok {
		p.BaseCI = &[2]float64{us2ms(blo), us2ms(bhi)}
	}
	if nok {
		p.NewCI = &[2]float64{us2ms(nlo), us2ms(nhi)}
	}
	if !bok || !nok {
		p.Judgement = FewSamples
		return p
	}
	apart := nlo > bhi || blo > nhi
	big := math.Abs(p.relOrInf()) >= o.MinChange
	switch {
	case apart && big:
		p.Significant, p.Judgement = true, Significant
	case apart:
		p.Judgement = Below
	default:
		p.Judgement = WithinNoise
	}
	return p
}

// verdict sums a metric up: Slower or Faster when the rank test finds a
// shift (p < alpha) that moves p50 by at least MinChange in the same
// direction; else TailSlower, TailFaster or Mixed when some percentile
// moved significantly; else WithinNoise.
func verdict(d MetricDiff, bm, nm report.Metric, hists bool, o Options) string {
	if bm.Count == 0 || nm.Count == 0 {
		return NoSamples
	}
	if !hists || d.Test == nil {
		return NoHistogram
	}
	if p50, ok := d.percentile(50); ok && d.Test.P < o.Alpha && math.Abs(p50.relOrInf()) >= o.MinChange {
		switch {
		case d.Test.CliffsDelta > 0 && p50.Delta.Delta > 0:
			return Slower
		case d.Test.CliffsDelta < 0 && p50.Delta.Delta < 0:
			return Faster
		}
	}
	up, down := false, false
	for _, p := range d.Percentiles {
		if p.Significant {
			up = up || p.Delta.Delta > 0
			down = down || p.Delta.Delta < 0
		}
	}
	switch {
	case up && down:
		return Mixed
	case up:
		return TailSlower
	case down:
		return TailFaster
	}
	return WithinNoise
}

// percentile returns the comparison at q.
func (d MetricDiff) percentile(q float64) (PercentileDiff, bool) {
	for _, p := range d.Percentiles {
		if p.Q == q {
			return p, true
		}
	}
	return PercentileDiff{}, false
}

func diffCounters(base, new *report.Summary) []CounterDiff {
	var names []string
	for n := range base.Counters {
		names = append(names, n)
	}
	for n := range new.Counters {
		names = append(names, n)
	}
	sort.Strings(names)
	out := []CounterDiff{}
	for _, n := range slices.Compact(names) {
		b, v := float64(base.Counters[n]), float64(new.Counters[n])
		out = append(out, CounterDiff{Name: n, Delta: delta(b, v), Rate: delta(perSecond(b, base.Seconds), perSecond(v, new.Seconds))})
	}
	return out
}

func perSecond(v, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return v / seconds
}
