package compare

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// maxScenarioKeys bounds the differing keys a warning names.
const maxScenarioKeys = 6

// ignoredScenarioKeys differ between runs of one scenario: the file it was
// read from, where the results went and the seed a run picked.
var ignoredScenarioKeys = []string{"file", "output", "seed"}

// scenarioDiff lists the keys whose values differ between two scenario
// echoes (summary.json "scenario"), as "path: base -> new", leaving out
// ignoredScenarioKeys; at most maxScenarioKeys, then "and N more".
func scenarioDiff(base, new any) ([]string, error) {
	b, err := flatten(base)
	if err != nil {
		return nil, err
	}
	n, err := flatten(new)
	if err != nil {
		return nil, err
	}
	var keys []string
	for k := range b {
		keys = append(keys, k)
	}
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range slices.Compact(keys) {
		root, _, _ := strings.Cut(k, ".")
		if slices.Contains(ignoredScenarioKeys, root) || b[k] == n[k] {
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s -> %s", k, orAbsent(b, k), orAbsent(n, k)))
	}
	if len(out) > maxScenarioKeys {
		out = append(out[:maxScenarioKeys], fmt.Sprintf("and %d more", len(out)-maxScenarioKeys))
	}
	return out, nil
}

func orAbsent(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return "(absent)"
}

// flatten turns a JSON value into path -> JSON text of each leaf
// ("stages[1].users" -> "100").
func flatten(v any) (map[string]string, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return nil, err
	}
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, c := range t {
				walk(strings.TrimPrefix(path+"."+k, "."), c)
			}
		case []any:
			for i, c := range t {
				walk(fmt.Sprintf("%s[%d]", path, i), c)
			}
		default:
			b, _ := json.Marshal(t)
			out[path] = string(b)
		}
	}
	walk("", tree)
	return out, nil
}
