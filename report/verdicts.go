package report

import (
	"strings"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// Verdict is the outcome of one threshold rule. Value is the observed
// aggregate in Unit; Observed is the same written as rules are ("1.52s",
// "0.3%"), or "no samples" when the metric had nothing to judge (NoData,
// Value 0: the rule failed). Note says more, e.g. that this rule aborted
// the run.
type Verdict struct {
	Metric   string  `json:"metric"`
	Rule     string  `json:"rule"`
	Observed string  `json:"observed"`
	Value    float64 `json:"observed_value"`
	Unit     Unit    `json:"unit"`
	Passed   bool    `json:"passed"`
	NoData   bool    `json:"no_data,omitempty"`
	Line     int     `json:"line,omitempty"`
	Note     string  `json:"note,omitempty"`
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

// VerdictFrom converts a judged rule into its summary.json form. The rule
// reads as written in the scenario (spaces trimmed), so it can be found
// there; a hand-built rule without source reads in canonical form.
func VerdictFrom(v metrics.Verdict) Verdict {
	rule := strings.TrimSpace(v.Rule.Source)
	if rule == "" {
		rule = v.Rule.String()
	}
	value, unit := observedValue(v.Rule.Unit, v.Observed)
	return Verdict{
		Metric:   v.Metric,
		Rule:     rule,
		Observed: v.ObservedString(),
		Value:    value,
		Unit:     unit,
		Passed:   v.Passed,
		NoData:   !v.HasData,
		Line:     v.Rule.Line,
	}
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
// "sos.delivered: p(95) < 2s".
func (v Verdict) Name() string { return v.Metric + ": " + v.Rule }

// FailedThresholds returns the verdicts of s that did not pass, in order.
func (s *Summary) FailedThresholds() []Verdict {
	var out []Verdict
	for _, v := range s.Thresholds {
		if !v.Passed {
			out = append(out, v)
		}
	}
	return out
}
