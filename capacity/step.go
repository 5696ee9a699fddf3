package capacity

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/eixamsim/eixamsim/health"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// A step's verdict.
const (
	VerdictPass         = "pass"
	VerdictFail         = "fail"
	VerdictInconclusive = "inconclusive"
)

// StepResult is one step of a search, as capacity.json records it.
type StepResult struct {
	Index int `json:"index"`
	// Load is the step's load: users, or arrivals per second.
	Load float64 `json:"load"`
	// Users is the online-users target of the step.
	Users int `json:"users"`
	// Start is when the step began; Settled when its users were online
	// (the warm-up starts there).
	Start   time.Time `json:"start"`
	Settled time.Time `json:"settled"`
	// HoldSeconds is the measured time: the one-second intervals inside
	// the hold window.
	HoldSeconds float64 `json:"hold_s"`
	// OfferedPerSecond is the throughput the step asks for on the load
	// metric (users / telemetry.every, or the arrival rate); 0 when the
	// dimension has no such figure (users without per-user telemetry).
	OfferedPerSecond float64 `json:"offered_per_s"`
	// AchievedPerSecond is the load metric's successful operations per
	// second in the hold window.
	AchievedPerSecond float64 `json:"achieved_per_s"`
	// LoadMetric names the metric achieved throughput is counted on.
	LoadMetric string `json:"load_metric,omitempty"`
	// ErrorShare is failed / (failed + successful) operations of every
	// latency metric in the hold window, 0..1.
	ErrorShare float64 `json:"error_share"`
	// Metrics are the latency metrics measured in the hold window.
	Metrics map[string]MetricStats `json:"metrics"`
	// Thresholds are the scenario's rules judged on the hold window.
	Thresholds []Rule `json:"thresholds"`
	// Verdict is VerdictPass, VerdictFail or VerdictInconclusive.
	Verdict string `json:"verdict"`
	// Failed says what failed (or why the step is inconclusive), one
	// sentence each.
	Failed []string `json:"failed,omitempty"`
	// Generator is the simulator's own health during the step.
	Generator health.Report `json:"generator"`
}

// MetricStats is one latency metric over a step's hold window.
type MetricStats struct {
	Count  int64 `json:"count"`
	Errors int64 `json:"errors"`
	// ErrorsBy splits Errors by class.
	ErrorsBy map[string]int64 `json:"errors_by_class,omitempty"`
	P50MS    float64          `json:"p50_ms"`
	P90MS    float64          `json:"p90_ms"`
	P95MS    float64          `json:"p95_ms"`
	P99MS    float64          `json:"p99_ms"`
	MaxMS    float64          `json:"max_ms"`
}

// Rule is one threshold rule judged on a step.
type Rule struct {
	Metric   string `json:"metric"`
	Rule     string `json:"rule"`
	Observed string `json:"observed"`
	Passed   bool   `json:"passed"`
}

// offered returns the throughput a step at load asks for, and the
// behaviour it is counted on ("" when there is none).
func (s *Stepper) offered(load float64) (float64, string) {
	if !s.cfg.isUsers() {
		return load, s.cfg.Behaviour
	}
	if t := s.sc.Behaviours.Telemetry; t != nil && t.Every > 0 {
		return load / t.Every.Seconds(), scenario.BehaviourTelemetry
	}
	return 0, ""
}

// judge turns a measured step into its result.
func (s *Stepper) judge(c *stepState) StepResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := c.res
	r.Generator = s.generator(c)
	r.HoldSeconds = c.seconds
	r.Metrics = map[string]MetricStats{}
	var ops, errs int64
	m := metrics.Measurements{
		Elapsed:   time.Duration(c.seconds * float64(time.Second)),
		Latencies: map[string]metrics.LatencyData{},
		Counters:  map[string]int64{},
		Gauges:    map[string]metrics.GaugeStats{},
	}
	names := map[string]bool{}
	for n := range c.hists {
		names[n] = true
	}
	for n := range c.errs {
		names[n] = true
	}
	for n := range names {
		h := c.hists[n]
		st := MetricStats{Errors: c.errs[n], ErrorsBy: c.classes[n]}
		if h != nil {
			st.Count = h.TotalCount()
			st.P50MS, st.P90MS, st.P95MS = msAt(h, 50), msAt(h, 90), msAt(h, 95)
			st.P99MS, st.MaxMS = msAt(h, 99), msAt(h, 100)
			if st.Count == 0 {
				h = nil
			}
		}
		if st.Count == 0 && st.Errors == 0 {
			continue
		}
		r.Metrics[n] = st
		m.Latencies[n] = metrics.LatencyData{Hist: h, Errors: st.Errors}
		if n != scenario.ScheduleLag {
			ops += st.Count
			errs += st.Errors
		}
	}
	for k, v := range c.last {
		m.Counters[k] = v - c.first[k]
	}
	for k, g := range c.gauges {
		m.Gauges[k] = *g
	}
	if ops+errs > 0 {
		r.ErrorShare = float64(errs) / float64(ops+errs)
	}
	offered, behaviour := s.offered(r.Load)
	r.OfferedPerSecond = offered
	var achieved int64
	for _, n := range scenario.LoadMetrics(behaviour) {
		achieved += r.Metrics[n].Count
		if r.Metrics[n].Count > 0 || r.LoadMetric == "" {
			r.LoadMetric = n
		}
	}
	if c.seconds > 0 {
		r.AchievedPerSecond = float64(achieved) / c.seconds
	}

	switch {
	case c.seconds == 0:
		r.Verdict = VerdictInconclusive
		r.Failed = []string{"no interval fell inside the hold window"}
		return r
	case r.Generator.State == health.GeneratorBound:
		r.Verdict = VerdictInconclusive
		r.Failed = []string{r.Generator.Verdict.String()} // "generator-bound: <what, how long>"
		return r
	}
	for _, v := range metrics.Evaluate(s.sc.Thresholds, m) {
		r.Thresholds = append(r.Thresholds, Rule{Metric: v.Metric, Rule: v.Rule.Written(), Observed: v.ObservedString(), Passed: v.Passed})
		if !v.Passed {
			r.Failed = append(r.Failed, fmt.Sprintf("%s %s: observed %s", v.Metric, v.Rule.Written(), v.ObservedString()))
		}
	}
	if r.ErrorShare > s.cfg.MaxErrors {
		r.Failed = append(r.Failed, fmt.Sprintf("errors %s of operations, over %s%s", pctString(r.ErrorShare),
			pctString(s.cfg.MaxErrors), topClasses(r.Metrics)))
	}
	if offered > 0 && short(achieved, offered*c.seconds) {
		r.Failed = append(r.Failed, fmt.Sprintf("achieved %.4g/s of %.4g/s offered (under %.0f%%)",
			r.AchievedPerSecond, offered, Follow*100))
	}
	r.Verdict = VerdictPass
	if len(r.Failed) > 0 {
		r.Verdict = VerdictFail
	}
	return r
}

// short reports whether achieved operations fall under Follow of the
// expected count by more than counting noise: two standard deviations of
// a count, 2·√expected. Twenty users publishing once a second over a 1 s
// hold may land 18 in the window (timer jitter and phase), which is not
// a backend failing to keep up; 450 expected and 300 achieved is.
func short(achieved int64, expected float64) bool {
	return float64(achieved) < Follow*expected-2*math.Sqrt(expected)
}

// msAt is the q-th percentile of h in milliseconds (h in microseconds).
func msAt(h *hdr.Histogram, q float64) float64 {
	return float64(metrics.ValueAt(h, q).Microseconds()) / 1000
}

// pctString formats a share as a percentage.
func pctString(f float64) string { return fmt.Sprintf("%.3g%%", f*100) }

// topClasses names the error classes of a step, most frequent first, for
// a message: " (telemetry.puback quota_exceeded 120, …)".
func topClasses(ms map[string]MetricStats) string {
	type cl struct {
		name string
		n    int64
	}
	var all []cl
	for m, st := range ms {
		for c, n := range st.ErrorsBy {
			all = append(all, cl{m + " " + c, n})
		}
	}
	if len(all) == 0 {
		return ""
	}
	sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n || all[i].n == all[j].n && all[i].name < all[j].name })
	var parts []string
	for i, c := range all {
		if i == 3 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", c.name, c.n))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
