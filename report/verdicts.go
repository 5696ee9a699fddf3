package report

import (
	"strings"

	"github.com/eixamsim/eixamsim/metrics"
)

// VerdictFrom converts a judged rule into its summary.json form. The rule
// reads as written in the scenario (spaces trimmed), so it can be found
// there; a hand-built rule without source reads in canonical form.
func VerdictFrom(v metrics.Verdict) Verdict {
	rule := strings.TrimSpace(v.Rule.Source)
	if rule == "" {
		rule = v.Rule.String()
	}
	return Verdict{
		Metric:   v.Metric,
		Rule:     rule,
		Observed: v.ObservedString(),
		Value:    v.Observed,
		Passed:   v.Passed,
		NoData:   !v.HasData,
		Line:     v.Rule.Line,
	}
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
