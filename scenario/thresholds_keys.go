package scenario

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The thresholds block maps metric names, which are not a fixed set of
// keys, to rules; its two reserved keys are a key table like every other
// block's. readThresholds sends a key of the table to its row and every
// other key to the metric rules. A metric key may be scoped to one stage:
// "telemetry.puback{stage=steady}" judges the rules on that stage's
// intervals only.

// stageScope opens and closes the stage scope of a thresholds key.
const (
	stageScopeOpen  = "{stage="
	stageScopeClose = "}"
)

// ParseThresholdKey splits a thresholds key into its metric and stage:
// "telemetry.puback" is the whole run's (stage ""),
// "telemetry.puback{stage=steady}" the stage steady's. It checks the
// syntax only; whether the metric and stage exist is Validate's job.
func ParseThresholdKey(key string) (metric, stage string, err error) {
	open := strings.IndexByte(key, '{')
	if open < 0 {
		if strings.ContainsAny(key, "}=") {
			return "", "", fmt.Errorf("want METRIC or METRIC{stage=NAME}, got %q", key)
		}
		return key, "", nil
	}
	metric, scope := key[:open], key[open:]
	inner, ok := strings.CutPrefix(scope, stageScopeOpen)
	if ok {
		inner, ok = strings.CutSuffix(inner, stageScopeClose)
	}
	switch {
	case !ok:
		return "", "", fmt.Errorf("want METRIC{stage=NAME} (no spaces), got %q", key)
	case metric == "":
		return "", "", fmt.Errorf("want METRIC{stage=NAME}: the metric is missing")
	case inner == "":
		return "", "", fmt.Errorf("want METRIC{stage=NAME}: the stage name is missing")
	case strings.ContainsAny(inner, "{}= \t"):
		return "", "", fmt.Errorf("want METRIC{stage=NAME} (no spaces), got %q", key)
	}
	return metric, inner, nil
}

// ThresholdKey is the thresholds key of metric scoped to stage ("" for
// the whole run): "telemetry.puback{stage=steady}".
func ThresholdKey(metric, stage string) string {
	if stage == "" {
		return metric
	}
	return metric + stageScopeOpen + stage + stageScopeClose
}

// Key is the rules' thresholds key: the metric, with its stage scope.
func (mr MetricRules) Key() string { return ThresholdKey(mr.Metric, mr.Stage) }

// Reserved keys of the thresholds block; every other key is a metric.
const (
	keyAbortOnFail = "abort_on_fail"
	keyAbortGrace  = "abort_grace"
)

// thresholdKeys are the reserved keys of the thresholds block.
var thresholdKeys = keys[Thresholds]{
	{name: keyAbortOnFail, shape: shapeList, doc: "metrics whose rules are also checked every second; the first breach stops the run (exit 100)",
		decode: func(d *decoder, n *yaml.Node, p string, t *Thresholds) bool {
			t.AbortOnFail, _, _ = d.stringList(n, p, false)
			if t.AbortOnFail == nil {
				t.AbortOnFail = []string{}
			}
			return true
		},
		check: checkAbortOnFail,
		echo:  func(t *Thresholds) (any, bool) { return t.AbortOnFail, len(t.AbortOnFail) > 0 }},
	{name: keyAbortGrace, shape: shapeDuration, doc: "no abort_on_fail breach stops the run before this much run time (default 0s)",
		decode: readDuration(func(t *Thresholds, d time.Duration) { t.AbortGrace = d }),
		check: func(v *validator, p string, t *Thresholds) {
			switch g := t.AbortGrace; {
			case g < 0:
				v.errorf(p, "must not be negative, got %s", g)
			case g > 0 && len(t.AbortOnFail) == 0:
				v.errorf(p, "has no effect without abort_on_fail")
			case g > 0 && g >= v.s.Duration() && v.stagesOK():
				v.errorf(p, "must be shorter than the run (%s), got %s: abort_on_fail could never stop it", v.s.Duration(), g)
			}
		},
		echo: func(t *Thresholds) (any, bool) { return dur(t.AbortGrace), t.AbortGrace != 0 }},
}

// readThresholds decodes the thresholds block at path into t.
func (d *decoder) readThresholds(n *yaml.Node, path string, t *Thresholds) {
	d.pairs(n, path, "a mapping of metric name to a list of rules", func(key string, k, v *yaml.Node, p string) {
		for _, row := range thresholdKeys {
			if row.name == key {
				d.read[p] = row.decode(d, v, p, t)
				return
			}
		}
		t.Metrics = append(t.Metrics, d.readMetricRules(key, k, v, p))
	})
}

// readMetricRules reads the rules of one metric (a list, or one rule).
func (d *decoder) readMetricRules(key string, k, v *yaml.Node, p string) MetricRules {
	metric, stage, err := ParseThresholdKey(key)
	if err != nil {
		d.errAt(k, p, "%s", err.Error())
		metric = key
	}
	mr := MetricRules{Metric: metric, Stage: stage, Line: k.Line, Rules: []Rule{}}
	kind := KindLatency
	if m, ok := LookupMetric(metric); ok {
		kind = m.Kind
	}
	srcs, nodes, _ := d.stringList(v, p, true)
	for i, src := range srcs {
		rule, err := ParseRule(kind, src)
		if err != nil {
			rp := index(p, i)
			if _, env := d.fromEnv[nodes[i]]; env {
				d.errAt(nodes[i], rp, "invalid rule from %s (value from the environment not shown)", d.fromEnv[nodes[i]])
			} else {
				d.errAt(nodes[i], rp, "%s", err.Error())
			}
			continue
		}
		rule.Line = nodes[i].Line
		mr.Rules = append(mr.Rules, rule)
	}
	return mr
}

// MarshalJSON writes the thresholds as in the file: an object from metric
// name to its rules (as written), in file order, then abort_on_fail and
// abort_grace when set.
func (t Thresholds) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for _, mr := range t.Metrics {
		rules := make([]string, len(mr.Rules))
		for i, r := range mr.Rules {
			rules[i] = r.Source
			if rules[i] == "" {
				rules[i] = r.String()
			}
		}
		k, _ := marshal(mr.Key())
		val, err := marshal(rules)
		if err != nil {
			return nil, err
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(val)
	}
	rest, err := thresholdKeys.marshal(&t)
	if err != nil {
		return nil, err
	}
	if rest = rest[1 : len(rest)-1]; len(rest) > 0 { // without its braces
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.Write(rest)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// checkThresholds checks the rules of each metric, then the reserved keys.
func (v *validator) checkThresholds(p string, th *Thresholds) {
	withRules := map[string]bool{}
	for _, mr := range th.Metrics {
		mp := join(p, mr.Key())
		m, known := LookupMetric(mr.Metric)
		if !known {
			v.keyErrorf(mp, "%s", unknownMsg("metric", mr.Metric, mr.Stage != "", metricNames()))
			continue
		}
		if mr.Stage != "" && v.stagesOK() && !slices.ContainsFunc(v.s.Stages, func(st Stage) bool { return st.Name == mr.Stage }) {
			v.keyErrorf(mp, "%s", unknownMsg("stage", mr.Stage, true, v.stageNames()))
			continue
		}
		if withRules[mr.Key()] {
			v.keyErrorf(mp, "metric listed twice")
			continue
		}
		if len(mr.Rules) == 0 {
			if !v.written(index(mp, 0)) {
				v.errorf(mp, "needs at least one rule, e.g. [\"p(95) < 2s\"]")
			}
			continue
		}
		withRules[mr.Key()] = true
		if addr, ok := MetricAddress(mr.Metric); ok {
			v.checkMetricAddress(mp, addr)
		}
		if _, suffix, ok := MetricProfile(mr.Metric); ok {
			if IsOrigin(suffix) {
				v.checkMetricOrigin(mp)
			} else {
				v.checkMetricProfile(mp, suffix)
			}
		}
		if ev, ok := EventOfMetric(mr.Metric); ok {
			v.checkMetricEvent(mp, ev)
		}
		if on, want := v.metricHasSamples(m); !on {
			v.keyErrorf(mp, "has no samples in this scenario: it needs %s (a rule on it could never be checked)", want)
		}
		for i, r := range mr.Rules {
			v.checkRule(index(mp, i), m, r)
		}
	}
	thresholdKeys.check(v, p, th)
}

// checkAbortOnFail checks that each metric of abort_on_fail has a rule
// that can fail before the run ends.
func checkAbortOnFail(v *validator, p string, th *Thresholds) {
	withRules := map[string]bool{}  // metrics with rules
	continuous := map[string]bool{} // metrics with a rule that can fail mid-run
	for _, mr := range th.Metrics {
		if _, known := LookupMetric(mr.Metric); !known || len(mr.Rules) == 0 {
			continue
		}
		key := mr.Key()
		withRules[key] = true
		for _, r := range mr.Rules {
			continuous[key] = continuous[key] || r.Continuous()
		}
	}
	block := parentPath(p)
	seen := map[string]bool{}
	for i, name := range th.AbortOnFail {
		ip := index(p, i)
		switch {
		case seen[name]:
			v.errorf(ip, "%s is listed twice", name)
		case withRules[name] && !continuous[name]:
			v.errorf(ip, "%s has no rule that can fail before the run ends, so it could never abort it (rates, lower bounds on count, max, p(N), avg and errors, and upper bounds on min are judged at the end): add an upper bound such as \"p(95) < 2s\"", name)
		case withRules[name]:
		default:
			metric, _, err := ParseThresholdKey(name)
			if err != nil {
				v.errorf(ip, "%s", err.Error())
			} else if _, known := LookupMetric(metric); !known {
				v.errorf(ip, "%s", unknownMsg("metric", metric, true, metricNames()))
			} else if v.ok(join(block, name)) {
				v.errorf(ip, "%s has no rules in thresholds: add rules for it, e.g. %s: [\"p(95) < 2s\"]", name, name)
			}
		}
		seen[name] = true
	}
}

// stageNames lists the scenario's stage names, for suggestions.
func (v *validator) stageNames() []string {
	names := make([]string, len(v.s.Stages))
	for i, st := range v.s.Stages {
		names[i] = st.Name
	}
	return names
}

// BaselineRules counts the rules that compare with a baseline run.
func (th Thresholds) BaselineRules() int {
	n := 0
	for _, mr := range th.Metrics {
		for _, r := range mr.Rules {
			if r.Baseline {
				n++
			}
		}
	}
	return n
}

// CheckBaseline returns, as an ErrorList located like Validate's, one
// problem per baseline rule when no baseline run is given (haveBaseline
// false): such a rule could not be judged. nil otherwise.
func (s *Scenario) CheckBaseline(haveBaseline bool) error {
	if haveBaseline {
		return nil
	}
	v := &validator{s: s, src: s.src}
	for _, mr := range s.Thresholds.Metrics {
		for i, r := range mr.Rules {
			if r.Baseline {
				v.errorf(index(join("thresholds", mr.Key()), i), "%q compares with a baseline run: give one with --baseline DIR (the result directory of an earlier run)", strings.TrimSpace(r.Source))
			}
		}
	}
	if len(v.errs) == 0 {
		return nil
	}
	return v.errs.sorted()
}

// checkMetricProfile checks that the profile of a per-profile metric is
// one users can draw (fleet.network.mix, weight above 0).
func (v *validator) checkMetricProfile(path, profile string) {
	names := v.s.Fleet.Network.Names()
	switch {
	case len(names) == 0:
		v.keyErrorf(path, "is recorded only with fleet.network (network profiles)")
	case !slices.Contains(names, profile):
		v.keyErrorf(path, "%s is not a profile of fleet.network.mix (%s)", profile, strings.Join(names, ", "))
	}
}

// checkMetricAddress checks that the address of a per-address metric is
// one of target.mqtt's, and that there are several (with one, the
// per-address metric is not recorded: mqtt.connect is it).
func (v *validator) checkMetricAddress(path, addr string) {
	var have []string
	for _, raw := range v.s.Target.Brokers() {
		if hp, err := brokerHostPort(raw); err == nil {
			have = append(have, hp)
		}
	}
	switch {
	case len(have) < 2:
		v.keyErrorf(path, "is recorded only when target.mqtt lists several brokers; with one, use %s", MQTTConnect)
	case !slices.Contains(have, addr):
		v.keyErrorf(path, "%s is not an address of target.mqtt (%s)", addr, strings.Join(have, ", "))
	}
}
