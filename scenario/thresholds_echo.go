package scenario

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// ParseThresholds reads a thresholds block on its own, such as the one a
// summary.json's scenario echo holds (JSON is YAML), with the scenario
// file's decoder: the same reserved keys, threshold keys and rule parser,
// so a rule means in a merge what it meant in the run. name is used in
// error messages. Every metric must be in the catalogue. The rules' lines
// are the block's own; a caller that knows the scenario's sets them.
func ParseThresholds(name string, data []byte) (Thresholds, error) {
	var th Thresholds
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return th, fmt.Errorf("%s: %w", name, err)
	}
	if len(doc.Content) == 0 {
		return th, nil
	}
	d := newDecoder(newSourceMap(name), func(string) (string, bool) { return "", false })
	d.readThresholds(doc.Content[0], "thresholds", &th)
	if len(d.errs) > 0 {
		return th, d.errs.sorted()
	}
	for _, mr := range th.Metrics {
		if _, known := LookupMetric(mr.Metric); !known {
			return th, fmt.Errorf("%s: thresholds: unknown metric %q", name, mr.Metric)
		}
	}
	return th, nil
}
