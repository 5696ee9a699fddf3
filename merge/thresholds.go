package merge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// Reserved keys of the echoed thresholds block (scenario's thresholdKeys);
// every other key is a metric.
const (
	echoAbortOnFail = "abort_on_fail"
	echoAbortGrace  = "abort_grace"
)

// thresholdsOf reads the threshold rules back from a summary's scenario
// echo: the "thresholds" object maps each metric, in file order, to its
// rules as written, which scenario.ParseRule parses again. Each rule's
// line comes from the summary's verdict of the same rule. A summary
// without a thresholds block has no rules.
func thresholdsOf(sum *report.Summary) (scenario.Thresholds, error) {
	var th scenario.Thresholds
	block, err := thresholdsEcho(sum)
	if err != nil || block == nil {
		return th, err
	}
	keys, values, err := orderedObject(block)
	if err != nil {
		return th, fmt.Errorf("scenario echo: thresholds: %w", err)
	}
	for i, key := range keys {
		switch key {
		case echoAbortOnFail:
			if err := json.Unmarshal(values[i], &th.AbortOnFail); err != nil {
				return th, fmt.Errorf("scenario echo: thresholds.%s: %w", key, err)
			}
			continue
		case echoAbortGrace:
			continue // judged while a shard ran; nothing to judge after it
		}
		metric, stage, err := scenario.ParseThresholdKey(key)
		if err != nil {
			return th, fmt.Errorf("scenario echo: thresholds: %w", err)
		}
		m, known := scenario.LookupMetric(metric)
		if !known {
			return th, fmt.Errorf("scenario echo: thresholds: unknown metric %q", metric)
		}
		var srcs []string
		if err := json.Unmarshal(values[i], &srcs); err != nil {
			return th, fmt.Errorf("scenario echo: thresholds.%s: %w", key, err)
		}
		mr := scenario.MetricRules{Metric: metric, Stage: stage, Rules: make([]scenario.Rule, 0, len(srcs))}
		for _, src := range srcs {
			r, err := scenario.ParseRule(m.Kind, src)
			if err != nil {
				return th, fmt.Errorf("scenario echo: thresholds.%s: %w", key, err)
			}
			r.Line = ruleLine(sum.Thresholds, metric, stage, src)
			mr.Rules = append(mr.Rules, r)
		}
		th.Metrics = append(th.Metrics, mr)
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

// ruleLine is the scenario line of metric's rule src (scoped to stage, ""
// for the whole run), from a verdict; 0
// when no verdict names it.
func ruleLine(verdicts []report.Verdict, metric, stage, src string) int {
	src = strings.TrimSpace(src)
	for _, v := range verdicts {
		if v.Metric == metric && v.Stage == stage && v.Rule == src {
			return v.Line
		}
	}
	return 0
}

// orderedObject splits a JSON object into its keys and raw values, in the
// order they are written (a Go map would lose the rules' file order).
func orderedObject(data []byte) (keys []string, values []json.RawMessage, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, fmt.Errorf("want an object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		keys, values = append(keys, key), append(values, v)
	}
	return keys, values, nil
}
