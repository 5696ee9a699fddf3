package scenario

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/eixamsim/eixamsim/internal/suggest"
)

// Threshold aggregations (Rule.Agg).
const (
	AggPercentile = "p"      // p(N): the N-th percentile of the latencies
	AggAvg        = "avg"    // mean
	AggMin        = "min"    // smallest
	AggMax        = "max"    // largest
	AggErrors     = "errors" // errors / (count + errors)
	AggCount      = "count"  // number of successful operations (latency) or events (counter)
	AggRate       = "rate"   // count per second of run time
)

// Units of Rule.Value.
const (
	UnitDuration = "duration" // seconds
	UnitPercent  = "percent"  // fraction 0..1
	UnitCount    = "count"    // a whole number (for gauges: a level, such as users)
	UnitRate     = "rate"     // per second
)

// Threshold comparison operators (Rule.Op).
const (
	OpLess         = "<"
	OpLessEqual    = "<="
	OpGreater      = ">"
	OpGreaterEqual = ">="
)

// Rule is one threshold rule, "<agg> <op> <value>", such as "p(95) < 2s".
// A run passes the rule when Pass(observed) holds for the metric's
// aggregated value.
//
// A baseline rule compares with the same aggregation of an earlier run
// (run --baseline DIR): "p(99) < baseline * 1.1", "p(95) < baseline +
// 50ms", "errors <= baseline * 2 + 0.1%". Its limit is
// Limit(baseline) = baseline x Factor + Offset; Value is unused (0).
type Rule struct {
	Source     string  `json:"source"`               // the rule as written
	Line       int     `json:"line,omitempty"`       // line in the scenario file; 0 if hand-built
	Agg        string  `json:"agg"`                  // AggPercentile, AggAvg, ...
	Percentile float64 `json:"percentile,omitempty"` // for AggPercentile: 0 < N <= 100 (99.9 for p(99.9))
	Op         string  `json:"op"`                   // OpLess, OpLessEqual, OpGreater or OpGreaterEqual
	Value      float64 `json:"value"`                // in Unit: seconds, fraction 0..1, count, or per second
	Unit       string  `json:"unit"`                 // UnitDuration, UnitPercent, UnitCount or UnitRate
	// Baseline says the limit is Limit(the baseline run's value), not Value.
	Baseline bool `json:"baseline,omitempty"`
	// Factor multiplies the baseline value: > 0, 1 when not written; 0
	// for a rule without baseline.
	Factor float64 `json:"factor,omitempty"`
	// Offset is added to the baseline value after Factor, in Unit
	// (negative for "baseline - 5ms"); 0 when not written.
	Offset float64 `json:"offset,omitempty"`
}

// keywordBaseline starts the value of a baseline rule.
const keywordBaseline = "baseline"

// ParseRule parses a rule for a metric of the given kind:
//
//	p(95) < 2s     p(99.9) <= 500ms    avg < 300ms    min >= 0s    max < 5s
//	errors < 0.1%  count > 0           rate >= 10/s
//	p(99) < baseline * 1.1             p(95) < baseline + 50ms
//	errors <= baseline * 2 + 0.1%      rate >= baseline * 0.9
//
// Spaces around the operator are optional. For latency metrics p, avg, min
// and max take a duration; for gauges min, max and avg take a number.
// errors takes a percentage, count a whole number, rate a rate. A value
// "baseline [* FACTOR] [+|- OFFSET]" compares with an earlier run (not for
// gauges); the offset takes the unit a value would.
func ParseRule(kind MetricKind, src string) (Rule, error) {
	r := Rule{Source: src}
	s := strings.TrimSpace(src)
	bad := func(format string, args ...any) (Rule, error) {
		return Rule{}, fmt.Errorf("invalid rule %q: %s", src, fmt.Sprintf(format, args...))
	}
	if s == "" {
		return bad(`empty (want "<aggregation> <operator> <value>", e.g. "p(95) < 2s")`)
	}

	// Aggregation: letters, optionally followed by (N).
	i := 0
	for i < len(s) && ('a' <= s[i] && s[i] <= 'z' || 'A' <= s[i] && s[i] <= 'Z' || '0' <= s[i] && s[i] <= '9' || s[i] == '_' || s[i] == '.') {
		i++
	}
	name := s[:i]
	rest := strings.TrimLeft(s[i:], " \t")
	if strings.HasPrefix(rest, "(") {
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return bad("missing ) after %s(", name)
		}
		if name != "p" {
			return bad("only p takes an argument, as in p(95)")
		}
		arg := strings.TrimSpace(rest[1:end])
		n, err := strconv.ParseFloat(arg, 64)
		if err != nil || math.IsNaN(n) || n <= 0 || n > 100 {
			return bad("percentile must be a number with 0 < N <= 100, got %q", arg)
		}
		r.Agg, r.Percentile = AggPercentile, n
		rest = strings.TrimLeft(rest[end+1:], " \t")
	} else {
		switch name {
		case AggAvg, AggMin, AggMax, AggErrors, AggCount, AggRate:
			r.Agg = name
		case "p":
			return bad("p needs a percentile, as in p(95)")
		case "":
			return bad(`must start with an aggregation: p(N), avg, min, max, errors, count or rate`)
		default:
			if len(name) > 1 && (name[0] == 'p' || name[0] == 'P') {
				if _, err := strconv.ParseFloat(name[1:], 64); err == nil {
					return bad("write p(%s), not %s", name[1:], name)
				}
			}
			hint := ""
			if s := suggest.Closest(name, []string{AggAvg, AggMin, AggMax, AggErrors, AggCount, AggRate, "med"}); s != "" && s != "med" {
				hint = " (did you mean " + s + "?)"
			}
			return bad("unknown aggregation %q%s; want p(N), avg, min, max, errors, count or rate", name, hint)
		}
	}

	if aggs := kind.Aggregations(); aggs != nil && !slices.Contains(aggs, r.Agg) {
		return bad("%s does not apply to a %s metric (use %s)", r.AggString(), kind, strings.Join(displayAggs(aggs), ", "))
	}

	// Operator.
	switch {
	case strings.HasPrefix(rest, "<="), strings.HasPrefix(rest, ">="):
		r.Op, rest = rest[:2], rest[2:]
	case strings.HasPrefix(rest, "=="), strings.HasPrefix(rest, "!="), strings.HasPrefix(rest, "=<"), strings.HasPrefix(rest, "=>"):
		return bad("unknown operator %q; want <, <=, > or >= (for \"exactly 0\" write \"<= 0\")", rest[:2])
	case strings.HasPrefix(rest, "<"), strings.HasPrefix(rest, ">"):
		r.Op, rest = rest[:1], rest[1:]
	case strings.HasPrefix(rest, "="):
		return bad("unknown operator \"=\"; want <, <=, > or >=")
	case rest == "":
		return bad("missing operator and value after %q", s)
	default:
		return bad("missing operator (<, <=, > or >=) after %q", strings.TrimSpace(s[:len(s)-len(rest)]))
	}
	value := strings.TrimSpace(rest)
	if value == "" {
		return bad("missing value after %s", r.Op)
	}

	r.Unit = ruleUnit(kind, r.Agg)
	if rest, ok := strings.CutPrefix(value, keywordBaseline); ok {
		if kind == KindGauge {
			return bad("a gauge has no baseline (a result directory keeps no per-second gauge statistics): compare it with a number")
		}
		if err := r.parseBaseline(rest); err != nil {
			return bad("%s", err.Error())
		}
		return r, nil
	}
	if first := strings.TrimLeft(value, " \t"); len(first) > 0 && 'a' <= first[0] && first[0] <= 'z' {
		if word := strings.FieldsFunc(first, func(c rune) bool { return !('a' <= c && c <= 'z') })[0]; suggest.Closest(word, []string{keywordBaseline}) != "" {
			return bad("unknown word %q (did you mean baseline?)", word)
		}
	}
	v, err := r.parseValue(value, false)
	if err != nil {
		return bad("%s", err.Error())
	}
	r.Value = v
	return r, nil
}

// parseValue parses a value in r.Unit. signed allows a leading + or -
// (an offset to a baseline).
func (r Rule) parseValue(value string, signed bool) (float64, error) {
	sign := 1.0
	if signed {
		switch {
		case strings.HasPrefix(value, "+"):
			value = strings.TrimSpace(value[1:])
		case strings.HasPrefix(value, "-"):
			sign, value = -1, strings.TrimSpace(value[1:])
		}
	}
	what := "value"
	if signed {
		what = "offset"
	}
	switch r.Unit {
	case UnitDuration:
		d, err := ParseDuration(value)
		if err != nil {
			return 0, fmt.Errorf("%s must be %s, got %q", what, wantDuration, value)
		}
		if d < 0 {
			return 0, fmt.Errorf("%s must not be negative", what)
		}
		return sign * d.Seconds(), nil
	case UnitPercent:
		f, err := ParsePercent(value)
		if err != nil {
			return 0, fmt.Errorf("%s must be %s, got %q", what, wantPercent, value)
		}
		return sign * f, nil
	case UnitRate:
		rate, err := ParseRate(value)
		if err != nil {
			return 0, fmt.Errorf("%s must be %s, got %q", what, wantRate, value)
		}
		return sign * rate.PerSecond, nil
	}
	if r.Agg == AggCount {
		n, err := strconv.ParseUint(value, 10, 53)
		if err != nil {
			return 0, fmt.Errorf("%s must be a whole number >= 0, got %q", what, value)
		}
		return sign * float64(n), nil
	}
	f, err := strconv.ParseFloat(value, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0, fmt.Errorf("%s must be a number >= 0, got %q", what, value)
	}
	return sign * f, nil
}

// parseBaseline parses what follows "baseline" in a rule's value:
// "", "* FACTOR", "+ OFFSET", "- OFFSET" or "* FACTOR +|- OFFSET".
func (r *Rule) parseBaseline(rest string) error {
	r.Baseline, r.Factor = true, 1
	rest = strings.TrimSpace(rest)
	if f, ok := strings.CutPrefix(rest, "*"); ok {
		f = strings.TrimSpace(f)
		end := strings.IndexAny(f, "+- \t")
		if end < 0 {
			end = len(f)
		}
		text := f[:end]
		n, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) || n <= 0 {
			return fmt.Errorf("the factor after baseline * must be a number > 0, such as 1.1, got %q", text)
		}
		r.Factor, rest = n, strings.TrimSpace(f[end:])
	}
	switch {
	case rest == "":
		return nil
	case rest[0] == '+' || rest[0] == '-':
		if strings.TrimSpace(rest[1:]) == "" {
			return fmt.Errorf("missing offset after baseline %c", rest[0])
		}
		off, err := r.parseValue(rest, true)
		if err != nil {
			return err
		}
		r.Offset = off
		return nil
	}
	return fmt.Errorf("want baseline, baseline * FACTOR, baseline + OFFSET or baseline * FACTOR + OFFSET, got %q after baseline", rest)
}

// ruleUnit is the unit of an aggregation's value for a metric kind.
func ruleUnit(kind MetricKind, agg string) string {
	switch agg {
	case AggErrors:
		return UnitPercent
	case AggCount:
		return UnitCount
	case AggRate:
		return UnitRate
	}
	if kind == KindGauge {
		return UnitCount
	}
	return UnitDuration
}

// Pass reports whether an observed aggregated value (in the rule's Unit)
// satisfies the rule against its Value. NaN (no data) never passes. For
// a baseline rule use PassLimit(observed, Limit(baseline)).
func (r Rule) Pass(observed float64) bool { return r.PassLimit(observed, r.Value) }

// PassLimit reports whether observed satisfies the rule's operator
// against limit (both in the rule's Unit). NaN never passes.
func (r Rule) PassLimit(observed, limit float64) bool {
	switch r.Op {
	case OpLess:
		return observed < limit
	case OpLessEqual:
		return observed <= limit
	case OpGreater:
		return observed > limit
	case OpGreaterEqual:
		return observed >= limit
	}
	return false
}

// Limit is the value a baseline rule compares with, given the baseline
// run's value of the same aggregation (in Unit): baseline x Factor +
// Offset. For a rule without baseline it is Value.
func (r Rule) Limit(baseline float64) float64 {
	if !r.Baseline {
		return r.Value
	}
	return baseline*r.Factor + r.Offset
}

// Continuous reports whether the rule can fail before the run ends, and
// so is checked every second for a metric listed in abort_on_fail. These
// can: an upper bound (<, <=) on p(N), avg, max, errors or count, and a
// lower bound (>, >=) on min. A breach of max, min or count is final (max
// and count only grow, min only shrinks); a breach of p(N), avg or errors
// is the SLO failing on everything measured so far. The others are judged
// once, at the end: a lower bound on count or max (count > 0 is false until
// the first sample), an upper bound on min, any rate (a whole-run average),
// and lower bounds on p(N), avg and errors (sanity checks, such as
// "errors > 0%" with injected faults, that need the whole run).
func (r Rule) Continuous() bool {
	upper := r.Op == OpLess || r.Op == OpLessEqual
	switch r.Agg {
	case AggPercentile, AggAvg, AggMax, AggErrors, AggCount:
		return upper
	case AggMin:
		return !upper
	}
	return false
}

// AggString is the aggregation as written: "p(95)", "avg", "errors", ...
func (r Rule) AggString() string {
	if r.Agg == AggPercentile {
		return "p(" + strconv.FormatFloat(r.Percentile, 'g', -1, 64) + ")"
	}
	return r.Agg
}

// FormatValue formats a value in the rule's unit the way rules are
// written: "1.5s", "0.1%", "12", "5/s". Use it for observed values too.
func (r Rule) FormatValue(v float64) string {
	switch r.Unit {
	case UnitDuration:
		return time.Duration(math.Round(v * float64(time.Second))).String()
	case UnitPercent:
		return formatPercent(v)
	case UnitRate:
		return Rate{PerSecond: v}.String()
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Written is the rule as the scenario writes it (Source, spaces trimmed),
// so it can be found there; a hand-built rule without source reads in
// canonical form (String). Reports, merge and capacity print this.
func (r Rule) Written() string {
	if w := strings.TrimSpace(r.Source); w != "" {
		return w
	}
	return r.String()
}

// String is the rule in canonical form, e.g. "p(95) < 2s",
// "p(99) < baseline * 1.1 + 5ms".
func (r Rule) String() string {
	return r.AggString() + " " + r.Op + " " + r.ValueString()
}

// ValueString is the rule's right-hand side in canonical form: "2s", or
// for a baseline rule "baseline", "baseline * 1.1", "baseline - 5ms".
func (r Rule) ValueString() string {
	if !r.Baseline {
		return r.FormatValue(r.Value)
	}
	s := keywordBaseline
	if r.Factor != 1 && r.Factor != 0 {
		s += " * " + strconv.FormatFloat(r.Factor, 'g', -1, 64)
	}
	switch {
	case r.Offset > 0:
		s += " + " + r.FormatValue(r.Offset)
	case r.Offset < 0:
		s += " - " + r.FormatValue(-r.Offset)
	}
	return s
}
