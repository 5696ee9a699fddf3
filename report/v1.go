package report

import (
	"encoding/json"
	"fmt"

	"github.com/eixamsim/eixamsim/scenario"
)

// Schema version 1 differed from version 2 in units only:
//
//	series[].t                        seconds, now t_s
//	series[].latencies.*.p50_us ...   integer microseconds, now p50_ms ... in milliseconds
//	thresholds[].observed_value       in the rule's unit (seconds for durations), now
//	                                  milliseconds for durations, with the unit in "unit"
//
// readV1 reads a version 1 summary and upgrades it, so `eixamsim report`
// renders old result directories.

type summaryV1 struct {
	Summary
	Series     []pointV1   `json:"series,omitempty"`
	Thresholds []verdictV1 `json:"thresholds"`
}

type pointV1 struct {
	T         float64                   `json:"t"`
	Seconds   float64                   `json:"interval_s"`
	Values    map[string]int64          `json:"values"`
	Latencies map[string]intervalStatV1 `json:"latencies"`
}

type intervalStatV1 struct {
	Count  int64 `json:"count"`
	Errors int64 `json:"errors"`
	P50    int64 `json:"p50_us"`
	P95    int64 `json:"p95_us"`
	P99    int64 `json:"p99_us"`
	Max    int64 `json:"max_us"`
}

// verdictV1 is a version 1 verdict: observed_value in the rule's unit
// (scenario.Rule.Unit), and no unit key.
type verdictV1 struct {
	Verdict
}

func readV1(data []byte) (*Summary, error) {
	v1 := summaryV1{Summary: Summary{Scenario: new(json.RawMessage)}}
	if err := json.Unmarshal(data, &v1); err != nil {
		return nil, fmt.Errorf("summary.json (schema version 1): %w", err)
	}
	s := v1.Summary
	s.Version = SchemaVersion
	s.Series = nil
	for _, p := range v1.Series {
		np := Point{T: p.T, Seconds: p.Seconds, Values: p.Values, Latencies: make(map[string]IntervalStat, len(p.Latencies))}
		for name, st := range p.Latencies {
			np.Latencies[name] = IntervalStat{
				Count: st.Count, Errors: st.Errors,
				P50: microsMs(st.P50), P95: microsMs(st.P95), P99: microsMs(st.P99), Max: microsMs(st.Max),
			}
		}
		s.Series = append(s.Series, np)
	}
	s.Thresholds = []Verdict{}
	for _, v := range v1.Thresholds {
		s.Thresholds = append(s.Thresholds, v.upgrade())
	}
	return &s, nil
}

// upgrade puts the verdict's value in version 2's units. Version 1 did not
// say the unit; the metric's kind and the rule's aggregation do. A rule
// that no longer parses keeps its value, without a unit.
func (v verdictV1) upgrade() Verdict {
	out := v.Verdict
	m, ok := scenario.LookupMetric(v.Metric)
	if !ok {
		return out
	}
	r, err := scenario.ParseRule(m.Kind, v.Rule)
	if err != nil {
		return out
	}
	out.Value, out.Unit = observedValue(r.Unit, v.Value)
	return out
}
