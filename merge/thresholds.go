package merge

import (
	"encoding/json"
	"fmt"

	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// thresholdsOf reads the threshold rules back from a summary's scenario
// echo with scenario.ParseThresholds, the parser of the scenario file.
// Each rule's line comes from the summary's verdict of the same rule; the
// abort grace was judged while a shard ran, so nothing is left of it to
// judge. A summary without a thresholds block has no rules.
func thresholdsOf(sum *report.Summary) (scenario.Thresholds, error) {
	block, err := thresholdsEcho(sum)
	if err != nil || block == nil {
		return scenario.Thresholds{}, err
	}
	th, err := scenario.ParseThresholds("scenario echo", block)
	if err != nil {
		return th, err
	}
	th.AbortGrace = 0
	for i := range th.Metrics {
		mr := &th.Metrics[i]
		mr.Line = 0
		for j := range mr.Rules {
			mr.Rules[j].Line = ruleLine(sum.Thresholds, mr.Metric, mr.Stage, mr.Rules[j].Written())
		}
	}
	return th, nil
}

// thresholdsEcho is the "thresholds" object of a summary's scenario echo,
// as JSON; nil when it has none.
func thresholdsEcho(sum *report.Summary) (json.RawMessage, error) {
	raw, err := json.Marshal(sum.Scenario)
	if err != nil {
		return nil, fmt.Errorf("scenario echo: %w", err)
	}
	var root map[string]json.RawMessage
	if err := json.Unmarshal(raw, &root); err != nil {
		return nil, fmt.Errorf("scenario echo: %w", err)
	}
	block, ok := root["thresholds"]
	if !ok || string(block) == "null" {
		return nil, nil
	}
	return block, nil
}

// ruleLine is the scenario line of metric's rule written as rule
// (scenario.Rule.Written; scoped to stage, "" for the whole run), from a
// verdict; 0 when no verdict names it.
func ruleLine(verdicts []report.Verdict, metric, stage, rule string) int {
	for _, v := range verdicts {
		if v.Metric == metric && v.Stage == stage && v.Rule == rule {
			return v.Line
		}
	}
	return 0
}
