package capacity

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/eixamsim/eixamsim/scenario"
)

// How a search ended (Result.Outcome).
const (
	// OutcomeFound: a passing and a failing load within the resolution (or
	// as close as the dimension goes).
	OutcomeFound = "found"
	// OutcomeCeiling: every step up to the ceiling passed.
	OutcomeCeiling = "ceiling_holds"
	// OutcomeFloor: even the lowest load (one user, 0.1/s) failed.
	OutcomeFloor = "fails_at_floor"
	// OutcomeInconclusive: a step was generator-bound (or measured
	// nothing), or a worker process ended early; the search stopped there.
	OutcomeInconclusive = "inconclusive"
	// OutcomeInterrupted: the search was interrupted; the steps done so
	// far are reported.
	OutcomeInterrupted = "interrupted"
)

// SchemaName and SchemaVersion identify capacity.json.
const (
	SchemaName    = "eixamsim.capacity"
	SchemaVersion = 1
)

// kneeFactor defines the knee: the lowest load whose p99 of the knee
// metric is at least this many times its p99 at the lowest load measured.
const kneeFactor = 2.0

// Result is a whole search: capacity.json.
type Result struct {
	Schema  string `json:"schema"`
	Version int    `json:"version"`
	Name    string `json:"name"`
	// Capacity is the search as configured (the scenario's block and the
	// flags).
	Capacity scenario.Capacity `json:"capacity"`
	// Unit is the load's unit: "users" or "<behaviour>/s".
	Unit    string    `json:"unit"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Outcome string    `json:"outcome"`
	// Headline is the result in one sentence.
	Headline string `json:"headline"`
	// HighestPass is the highest load that passed; 0 for none.
	HighestPass float64 `json:"highest_pass"`
	// FirstFail is the lowest load that failed; 0 for none.
	FirstFail float64 `json:"first_fail"`
	// FailedBecause is what failed at FirstFail.
	FailedBecause []string `json:"failed_because,omitempty"`
	// KneeMetric is the metric the knee is computed on: the first latency
	// metric with a threshold, else the load metric.
	KneeMetric string `json:"knee_metric,omitempty"`
	// Knee is the lowest load (of the steps that passed or failed) whose
	// p99 of KneeMetric is at least twice its p99 at the lowest load
	// measured; 0 when there is none.
	Knee float64 `json:"knee"`
	// Advice says how to give the generator more room (inconclusive).
	Advice []string `json:"advice,omitempty"`
	// Steps are every step, in the order they ran.
	Steps []StepResult `json:"steps"`
	// RunDir is the directory of the run that carried the search
	// (summary.json, report.html): the same as capacity.json's.
	RunDir string `json:"run_dir"`
}

// advice is what an inconclusive search tells the reader.
var advice = []string{
	"the simulator, not the target, was the bottleneck at the last step: its latencies include its own delay",
	"give the generator more room: more worker processes (capacity --procs N, docs/capacity.md), a machine with more cores, or a share of the target searched from several machines",
	"with many users per address, spread them over several source addresses (fleet.source_ips) so that ephemeral ports do not run out",
}

// workerAdvice is what a search whose worker process ended early tells
// the reader.
var workerAdvice = []string{
	"a worker process ended before the search did: its share of the load was gone, so no later step could be measured",
	"its own lines (prefixed [worker i] on stderr) and its result directory under shards/ say why; the steps judged before it ended stand",
}

// finish fills in the schema, the outcome, the bounds, the knee and the headline from
// the steps.
func (r *Result) finish(cfg Config, sc *scenario.Scenario, ended string, interrupted bool) {
	r.Schema, r.Version = SchemaName, SchemaVersion
	r.Unit = cfg.Unit()
	r.HighestPass, r.FirstFail, r.FailedBecause = 0, 0, nil
	for _, st := range r.Steps {
		switch st.Verdict {
		case VerdictPass:
			r.HighestPass = max(r.HighestPass, st.Load)
		case VerdictFail:
			if r.FirstFail == 0 || st.Load < r.FirstFail {
				r.FirstFail, r.FailedBecause = st.Load, st.Failed
			}
		}
	}
	switch {
	case interrupted:
		r.Outcome = OutcomeInterrupted
	case ended != "":
		r.Outcome = OutcomeInconclusive
		r.Advice = advice
		if strings.HasPrefix(ended, "worker ") {
			r.Advice = workerAdvice
		}
	case r.FirstFail == 0:
		r.Outcome = OutcomeCeiling
	case r.HighestPass == 0:
		r.Outcome = OutcomeFloor
	default:
		r.Outcome = OutcomeFound
	}
	r.KneeMetric = kneeMetric(sc, r.Steps)
	r.Knee = knee(r.Steps, r.KneeMetric)
	r.Headline = r.headline(sc, ended)
}

// kneeMetric is the first latency metric with a threshold rule, else the
// load metric of the steps.
func kneeMetric(sc *scenario.Scenario, steps []StepResult) string {
	for _, mr := range sc.Thresholds.Metrics {
		if m, ok := scenario.LookupMetric(mr.Metric); ok && m.Kind == scenario.KindLatency {
			return mr.Metric
		}
	}
	for _, st := range steps {
		if st.LoadMetric != "" {
			return st.LoadMetric
		}
	}
	return ""
}

// knee is the lowest load, among the steps judged pass or fail with a p99
// of metric, whose p99 is at least kneeFactor times the p99 at the lowest
// such load; 0 when none is.
func knee(steps []StepResult, metric string) float64 {
	type pt struct{ load, p99 float64 }
	var pts []pt
	for _, st := range steps {
		m, ok := st.Metrics[metric]
		if st.Verdict == VerdictInconclusive || !ok || m.Count == 0 {
			continue
		}
		pts = append(pts, pt{st.Load, m.P99MS})
	}
	if len(pts) < 2 {
		return 0
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].load < pts[j].load })
	base := pts[0].p99
	for _, p := range pts[1:] {
		if p.load > pts[0].load && p.p99 >= kneeFactor*base {
			return p.load
		}
	}
	return 0
}

// headline says the result in one sentence, e.g. "holds 280 users
// (telemetry.puback p(99) < 250ms, errors ≤ 1%); fails at 300 users
// (telemetry.puback p(99) < 250ms: observed 912ms); knee near 290 users".
func (r *Result) headline(sc *scenario.Scenario, ended string) string {
	slo := sloText(sc, r.Capacity.MaxErrors)
	var parts []string
	if r.HighestPass > 0 {
		parts = append(parts, fmt.Sprintf("holds %s (%s)", r.load(r.HighestPass), slo))
	}
	switch r.Outcome {
	case OutcomeCeiling:
		parts = append(parts, "the ceiling (capacity.max) held: the limit is higher")
	case OutcomeFloor:
		parts = append(parts, fmt.Sprintf("fails even at %s (%s)", r.load(r.FirstFail), strings.Join(r.FailedBecause, "; ")))
	}
	if r.FirstFail > 0 && r.Outcome != OutcomeFloor {
		parts = append(parts, fmt.Sprintf("fails at %s (%s)", r.load(r.FirstFail), strings.Join(r.FailedBecause, "; ")))
	}
	if r.Knee > 0 {
		parts = append(parts, "knee near "+r.load(r.Knee))
	}
	switch r.Outcome {
	case OutcomeInconclusive:
		parts = append([]string{"inconclusive: " + ended}, parts...)
	case OutcomeInterrupted:
		parts = append([]string{fmt.Sprintf("interrupted after %d steps", len(r.Steps))}, parts...)
	}
	if len(parts) == 0 {
		return "no step was judged"
	}
	return strings.Join(parts, "; ")
}

// load formats a load with its unit: "7,500 users", "250/s telemetry".
func (r *Result) load(v float64) string {
	if r.Unit == "users" {
		return groupDigits(int64(math.Round(v))) + " users"
	}
	b, _ := strings.CutSuffix(r.Unit, "/s")
	return fmt.Sprintf("%s/s %s", trimFloat(v), b)
}

// sloText lists the scenario's threshold rules and the error limit.
func sloText(sc *scenario.Scenario, maxErrors float64) string {
	var rules []string
	for _, mr := range sc.Thresholds.Metrics {
		for _, ru := range mr.Rules {
			rules = append(rules, mr.Metric+" "+ru.Source)
		}
	}
	rules = append(rules, "errors ≤ "+pctString(maxErrors))
	return strings.Join(rules, ", ")
}

// groupDigits writes n with thousands separated by commas.
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// trimFloat formats v with up to 3 significant decimals, without trailing
// zeros.
func trimFloat(v float64) string { return fmt.Sprintf("%.4g", v) }
