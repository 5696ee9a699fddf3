package scenario

import (
	"bytes"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The thresholds block maps metric names, which are not a fixed set of
// keys, to rules; its two reserved keys are a key table like every other
// block's. readThresholds sends a key of the table to its row and every
// other key to the metric rules.

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
func (d *decoder) readMetricRules(metric string, k, v *yaml.Node, p string) MetricRules {
	mr := MetricRules{Metric: metric, Line: k.Line, Rules: []Rule{}}
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
		k, _ := marshal(mr.Metric)
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
		mp := join(p, mr.Metric)
		m, known := LookupMetric(mr.Metric)
		if !known {
			v.keyErrorf(mp, "%s", unknownMsg("metric", mr.Metric, false, metricNames()))
			continue
		}
		if withRules[mr.Metric] {
			v.keyErrorf(mp, "metric listed twice")
			continue
		}
		if len(mr.Rules) == 0 {
			if !v.written(index(mp, 0)) {
				v.errorf(mp, "needs at least one rule, e.g. [\"p(95) < 2s\"]")
			}
			continue
		}
		withRules[mr.Metric] = true
		if addr, ok := MetricAddress(mr.Metric); ok {
			v.checkMetricAddress(mp, addr)
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
		withRules[mr.Metric] = true
		for _, r := range mr.Rules {
			continuous[mr.Metric] = continuous[mr.Metric] || r.Continuous()
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
			if _, known := LookupMetric(name); !known {
				v.errorf(ip, "%s", unknownMsg("metric", name, true, metricNames()))
			} else if v.ok(join(block, name)) {
				v.errorf(ip, "%s has no rules in thresholds: add rules for it, e.g. %s: [\"p(95) < 2s\"]", name, name)
			}
		}
		seen[name] = true
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
