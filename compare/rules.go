package compare

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// ErrBadRule is wrapped by every error of ParseRule.
var ErrBadRule = errors.New("bad --fail-on rule")

// ErrUnknownMetric is wrapped by Judge's error for a rule whose metric
// neither run has.
var ErrUnknownMetric = errors.New("unknown metric")

// Rule is one --fail-on rule: the comparison fails when NEW's change
// against BASE in Agg satisfies Op Value. Written
//
//	METRIC: AGG OP VALUE
//
//	telemetry.puback: p(99) > +10%     p99 grew by more than 10 %
//	http.me: avg > +5ms                the mean grew by more than 5 ms
//	sos.delivered: errors > +0.5pp     the error rate grew by more than 0.5 percentage points
//	telemetry.puback: count < -20%     a fifth fewer successful operations
//	mqtt.disconnects: count > +10      more than 10 more disconnects (a counter)
//	telemetry.puback: rate < -5%       throughput fell by more than 5 %
//
// AGG is p(N) (0 < N < 100), avg, min, max, errors (the error rate),
// count or rate; a counter or gauge takes only count and rate. VALUE is a
// signed change: with "%" relative to BASE ((NEW-BASE)/BASE; from a BASE
// of 0 any growth is +Inf %), else absolute in the aggregate's unit:
// a duration (us, ms, s) for p(N), avg, min and max; "pp" (percentage
// points) for errors; a plain number for count; "/s" for rate.
type Rule struct {
	Text   string  // as written
	Metric string  // e.g. telemetry.puback
	Agg    string  // p, avg, min, max, errors, count, rate
	Q      float64 // the percentile of p(N)
	Op     string  // >, >=, <, <=
	Value  float64 // a fraction when Relative, else in the unit below
	// Relative: Value is a fraction of BASE; otherwise an absolute change
	// in milliseconds (p, avg, min, max), a fraction 0..1 (errors, from
	// pp), a count or per second.
	Relative bool
}

var ruleRE = regexp.MustCompile(`^\s*([A-Za-z0-9_.\-]+)\s*:\s*(p\(\s*[0-9.]+\s*\)|avg|min|max|errors|count|rate)\s*(>=|<=|>|<)\s*([+-]?[0-9]*\.?[0-9]+)\s*(%|pp|us|µs|ms|s|/s)?\s*$`)

// ParseRule reads one rule (see Rule).
func ParseRule(text string) (Rule, error) {
	m := ruleRE.FindStringSubmatch(text)
	if m == nil {
		return Rule{}, fmt.Errorf("%w %q: want METRIC: AGG OP VALUE, e.g. 'telemetry.puback: p(99) > +10%%' (AGG: p(N), avg, min, max, errors, count, rate; OP: >, >=, <, <=; VALUE: +10%%, +50ms, +0.5pp, +100, +5/s)", ErrBadRule, text)
	}
	r := Rule{Text: strings.TrimSpace(text), Metric: m[1], Agg: m[2], Op: m[3]}
	v, err := strconv.ParseFloat(m[4], 64)
	if err != nil {
		return Rule{}, fmt.Errorf("%w %q: %v", ErrBadRule, text, err)
	}
	if strings.HasPrefix(r.Agg, "p(") {
		q, err := strconv.ParseFloat(strings.TrimSpace(r.Agg[2:len(r.Agg)-1]), 64)
		if err != nil || q <= 0 || q >= 100 {
			return Rule{}, fmt.Errorf("%w %q: the percentile of p(N) must be above 0 and below 100", ErrBadRule, text)
		}
		r.Agg, r.Q = "p", q
	}
	unit := m[5]
	latency := r.Agg == "p" || r.Agg == "avg" || r.Agg == "min" || r.Agg == "max"
	want := map[string]string{"errors": "pp", "count": "", "rate": "/s"}[r.Agg]
	switch {
	case unit == "%":
		r.Relative, r.Value = true, v/100
	case latency && (unit == "us" || unit == "µs" || unit == "ms" || unit == "s"):
		r.Value = v * map[string]float64{"us": 0.001, "µs": 0.001, "ms": 1, "s": 1000}[unit]
	case !latency && unit == want:
		r.Value = v
		if r.Agg == "errors" {
			r.Value = v / 100
		}
	case latency:
		return Rule{}, fmt.Errorf("%w %q: %s takes a relative change (+10%%) or a duration (+50ms, +0.2s)", ErrBadRule, text, m[2])
	default:
		abs := map[string]string{"errors": "percentage points (+0.5pp)", "count": "a plain number (+100)", "rate": "a rate (+5/s)"}[r.Agg]
		return Rule{}, fmt.Errorf("%w %q: %s takes a relative change (+10%%) or %s", ErrBadRule, text, r.Agg, abs)
	}
	return r, nil
}

// ParseRules reads every rule and returns all problems at once.
func ParseRules(texts []string) ([]Rule, error) {
	var rules []Rule
	var errs []error
	for _, t := range texts {
		r, err := ParseRule(t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rules = append(rules, r)
	}
	return rules, errors.Join(errs...)
}

// RulePercentiles are the percentiles rules name, for
// Options.ExtraPercentiles.
func RulePercentiles(rules []Rule) []float64 {
	var qs []float64
	for _, r := range rules {
		if r.Agg == "p" {
			qs = append(qs, r.Q)
		}
	}
	return qs
}

// RuleResult is a rule judged on a comparison.
type RuleResult struct {
	Rule   string `json:"rule"`
	Metric string `json:"metric"`
	// Observed is the change as the rule reads it ("+12.3%", "+4.1ms"),
	// or "no samples".
	Observed string `json:"observed"`
	// Value is the change as a number in the rule's unit (a fraction for
	// relative rules); absent without samples or for a change from 0.
	Value *float64 `json:"value,omitempty"`
	// Broken: the change satisfies the rule's condition (or there was
	// nothing to judge).
	Broken bool `json:"broken"`
	NoData bool `json:"no_data,omitempty"`
	// Significant says, for a p(N) rule, whether the percentile's change
	// is beyond noise; absent for other rules.
	Significant *bool `json:"significant,omitempty"`
	// Noise is, for a p(N) rule, its percentile's judgement (Significant,
	// WithinNoise, Below, FewSamples, ...); absent for other rules.
	Noise string `json:"noise,omitempty"`
	// Note explains a rule that broke without data or held only because
	// its change was within noise.
	Note string `json:"note,omitempty"`
}

// Judge evaluates rules on r and stores them in r.Rules. A rule whose
// metric neither run has is an error wrapping ErrUnknownMetric (every such
// rule is named). With onlySignificant, a p(N) rule breaks only when its
// percentile's change is also significant.
func (r *Result) Judge(rules []Rule, onlySignificant bool) error {
	var errs []error
	r.Rules = []RuleResult{}
	for _, rule := range rules {
		res, err := r.judge(rule, onlySignificant)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.Rules = append(r.Rules, res)
	}
	return errors.Join(errs...)
}

// Broken returns the rules that broke.
func (r *Result) Broken() []RuleResult {
	var out []RuleResult
	for _, rr := range r.Rules {
		if rr.Broken {
			out = append(out, rr)
		}
	}
	return out
}

func (r *Result) judge(rule Rule, onlySignificant bool) (RuleResult, error) {
	out := RuleResult{Rule: rule.Text, Metric: rule.Metric}
	d, err := r.change(rule)
	if err != nil {
		return out, err
	}
	if d == nil {
		out.Observed, out.NoData, out.Broken = "no samples", true, true
		out.Note = "a run has no successful operation of " + rule.Metric + ": nothing to compare is a failure"
		return out, nil
	}
	var got float64
	if rule.Relative {
		got = d.relOrInf()
	} else {
		got = d.Delta
	}
	if !math.IsInf(got, 0) {
		out.Value = &got
	}
	out.Observed = formatChange(rule, got)
	out.Broken = holds(got, rule.Op, rule.Value)
	if rule.Agg == "p" {
		p, _ := r.metric(rule.Metric).percentile(rule.Q)
		sig := p.Significant
		out.Significant, out.Noise = &sig, p.Judgement
		if onlySignificant && out.Broken && !sig {
			out.Broken = false
			out.Note = "the change is not significant (" + p.Judgement + "), so the rule holds with --only-significant"
		}
	}
	return out, nil
}

// change is the rule's aggregate in both runs; nil when a side has nothing
// to judge.
func (r *Result) change(rule Rule) (*Delta, error) {
	m := r.metric(rule.Metric)
	if m == nil {
		for _, c := range r.Counters {
			if c.Name != rule.Metric {
				continue
			}
			switch rule.Agg {
			case "count":
				return &c.Delta, nil
			case "rate":
				return &c.Rate, nil
			}
			return nil, fmt.Errorf("%w %q: %s is a counter or gauge: only count and rate compare", ErrBadRule, rule.Text, rule.Metric)
		}
		for _, names := range [][]string{r.OnlyBase, r.OnlyNew} {
			for _, n := range names {
				if n == rule.Metric {
					return nil, nil // in one run only: nothing to compare
				}
			}
		}
		return nil, fmt.Errorf("%w %q in rule %q: neither run has it", ErrUnknownMetric, rule.Metric, rule.Text)
	}
	noSamples := m.Count.Base == 0 || m.Count.New == 0
	switch rule.Agg {
	case "count":
		return &m.Count, nil
	case "rate":
		return &m.Rate, nil
	case "errors":
		if m.Count.Base+m.Errors.Base == 0 || m.Count.New+m.Errors.New == 0 {
			return nil, nil
		}
		return &m.ErrorRate, nil
	case "avg":
		if noSamples {
			return nil, nil
		}
		return &m.Mean, nil
	case "min":
		if noSamples {
			return nil, nil
		}
		return &m.Min, nil
	case "max":
		if noSamples {
			return nil, nil
		}
		return &m.Max, nil
	}
	p, ok := m.percentile(rule.Q)
	if noSamples || !ok || p.Judgement == NoSamples {
		return nil, nil
	}
	return &p.Delta, nil
}

func (r *Result) metric(name string) *MetricDiff {
	for i := range r.Metrics {
		if r.Metrics[i].Name == name {
			return &r.Metrics[i]
		}
	}
	return nil
}

func holds(got float64, op string, want float64) bool {
	switch op {
	case ">":
		return got > want
	case ">=":
		return got >= want
	case "<":
		return got < want
	}
	return got <= want
}

// formatChange writes a change in the rule's unit: "+12.3%", "-4.10ms",
// "+0.52pp", "+12", "+3.4/s".
func formatChange(rule Rule, v float64) string {
	if math.IsInf(v, 0) {
		return fmt.Sprintf("%+.0f%% (from 0)", v)
	}
	switch {
	case rule.Relative:
		return signed(100*v, "%")
	case rule.Agg == "errors":
		return signed(100*v, "pp")
	case rule.Agg == "count":
		return fmt.Sprintf("%+.0f", v)
	case rule.Agg == "rate":
		return signed(v, "/s")
	}
	return signedMs(v)
}

func signed(v float64, unit string) string {
	return fmt.Sprintf("%+.*f%s", decimals(v), v, unit)
}

// decimals keeps 3 significant digits of v, at most 3 decimals.
func decimals(v float64) int {
	a := math.Abs(v)
	switch {
	case a >= 100 || a == 0:
		return 0
	case a >= 10:
		return 1
	case a >= 1:
		return 2
	}
	return 3
}
