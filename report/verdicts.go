package report

import (
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// Verdict is the outcome of one threshold rule. Value is the observed
// aggregate in Unit; Observed is the same written as rules are ("1.52s",
// "0.3%"), or "no samples" when the metric had nothing to judge (NoData,
// Value 0: the rule failed). Note says more, e.g. that this rule aborted
// the run.
//
// EndOnly marks a rule that is judged only at the end of a whole run
// (scenario.Rule.Continuous is false: count > 0, a rate, a lower bound on
// p(N)): in a run that did not complete it is not judged, whatever Passed
// says of what ran.
//
// Stage names the stage a stage-scoped rule judged ("" for the whole
// run). A baseline rule also says what it compared with: Baseline as
// rules are written ("380ms × 1.1 = 418ms", or "no samples" when the
// baseline run had nothing to judge, and the rule failed), and the
// baseline run's value and the limit as numbers in Unit.
type Verdict struct {
	Metric        string   `json:"metric"`
	Stage         string   `json:"stage,omitempty"`
	Rule          string   `json:"rule"`
	Observed      string   `json:"observed"`
	Value         float64  `json:"observed_value"`
	Unit          Unit     `json:"unit"`
	Baseline      string   `json:"baseline,omitempty"`
	BaselineValue *float64 `json:"baseline_value,omitempty"`
	LimitValue    *float64 `json:"limit_value,omitempty"`
	Passed        bool     `json:"passed"`
	NoData        bool     `json:"no_data,omitempty"`
	EndOnly       bool     `json:"end_only,omitempty"`
	Line          int      `json:"line,omitempty"`
	Note          string   `json:"note,omitempty"`
}

// Unit is the unit of a verdict's observed_value.
type Unit string

// Units of observed values, one per kind of rule value.
const (
	UnitMs       Unit = "ms"       // a duration in milliseconds (p(N), avg, min, max of a latency)
	UnitFraction Unit = "fraction" // 0..1 (errors)
	UnitCount    Unit = "count"    // a count or a gauge's level
	UnitPerS     Unit = "per_s"    // per second (rate)
)

// VerdictFrom converts a judged rule into its summary.json form; the rule
// reads as written in the scenario (scenario.Rule.Written).
func VerdictFrom(v metrics.Verdict) Verdict {
	value, unit := observedValue(v.Rule.Unit, v.Observed)
	out := Verdict{
		Metric:   v.Metric,
		Stage:    v.Stage,
		Rule:     v.Rule.Written(),
		Observed: v.ObservedString(),
		Value:    value,
		Unit:     unit,
		Passed:   v.Passed,
		NoData:   !v.HasData,
		EndOnly:  !v.Rule.Continuous(),
		Line:     v.Rule.Line,
		Baseline: v.BaselineString(),
	}
	if v.Rule.Baseline && v.HasBaseline {
		b, _ := observedValue(v.Rule.Unit, v.Baseline)
		l, _ := observedValue(v.Rule.Unit, v.Limit)
		out.BaselineValue, out.LimitValue = &b, &l
	}
	return out
}

// Key is the rule's thresholds key: "telemetry.puback",
// "telemetry.puback{stage=steady}".
func (v Verdict) Key() string { return scenario.ThresholdKey(v.Metric, v.Stage) }

// ObservedText is the observed value, and for a baseline rule what it was
// compared with: "412ms", "412ms, baseline 380ms × 1.1 = 418ms".
func (v Verdict) ObservedText() string {
	if v.Baseline == "" {
		return v.Observed
	}
	return v.Observed + ", baseline " + v.Baseline
}

// observedValue converts a value in a rule's unit (scenario.Rule.Unit:
// durations in seconds) to summary.json's.
func observedValue(ruleUnit string, v float64) (float64, Unit) {
	switch ruleUnit {
	case scenario.UnitDuration:
		return v * 1000, UnitMs
	case scenario.UnitPercent:
		return v, UnitFraction
	case scenario.UnitRate:
		return v, UnitPerS
	}
	return v, UnitCount
}

// Name is how a verdict is named in JUnit and messages:
// "sos.delivered: p(95) < 2s", "telemetry.puback{stage=steady}: p(99) < 250ms".
func (v Verdict) Name() string { return v.Key() + ": " + v.Rule }

// FailedThresholds returns the verdicts of s that did not pass, in order;
// a rule that was not judged (NotJudged) did not fail.
func (s *Summary) FailedThresholds() []Verdict {
	var out []Verdict
	for _, v := range s.Thresholds {
		if !v.Passed && !s.NotJudged(v) {
			out = append(out, v)
		}
	}
	return out
}

// NotJudged reports whether v, a verdict of s, judges nothing: a rule
// judged only at the end of a whole run (EndOnly) in a run that did not
// complete. "count > 0" failing 3 s into an aborted run says the run was
// cut short, not that the target never answered.
func (s *Summary) NotJudged(v Verdict) bool { return v.EndOnly && s.EndReason != EndCompleted }
