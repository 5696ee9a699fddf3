package compare

import (
	"errors"
	"math"
	"testing"
)

func TestParseRule(t *testing.T) {
	// Happy cases.
	for _, tc := range []struct {
		text string
		want Rule
	}{
		// relative percentile rule, the documented example
		{"telemetry.puback: p(99) > +10%", Rule{Metric: "telemetry.puback", Agg: "p", Q: 99, Op: ">", Value: 0.1, Relative: true}},
		// fractional percentile, no sign, spaces
		{"  http.me :p( 99.9 )>=5 %", Rule{Metric: "http.me", Agg: "p", Q: 99.9, Op: ">=", Value: 0.05, Relative: true}},
		// absolute durations in ms, s and µs
		{"http.me: avg > +50ms", Rule{Metric: "http.me", Agg: "avg", Op: ">", Value: 50}},
		{"sos.delivered: max > 0.5s", Rule{Metric: "sos.delivered", Agg: "max", Op: ">", Value: 500}},
		{"mqtt.connect: min < -300µs", Rule{Metric: "mqtt.connect", Agg: "min", Op: "<", Value: -0.3}},
		// error rate in percentage points, and relative
		{"sos.delivered: errors > +0.5pp", Rule{Metric: "sos.delivered", Agg: "errors", Op: ">", Value: 0.005}},
		{"sos.delivered: errors > +50%", Rule{Metric: "sos.delivered", Agg: "errors", Op: ">", Value: 0.5, Relative: true}},
		// count: plain number or relative; rate per second
		{"mqtt.disconnects: count > +10", Rule{Metric: "mqtt.disconnects", Agg: "count", Op: ">", Value: 10}},
		{"telemetry.puback: count < -20%", Rule{Metric: "telemetry.puback", Agg: "count", Op: "<", Value: -0.2, Relative: true}},
		{"telemetry.puback: rate <= -5/s", Rule{Metric: "telemetry.puback", Agg: "rate", Op: "<=", Value: -5}},
	} {
		got, err := ParseRule(tc.text)
		if err != nil {
			t.Errorf("%q: %v", tc.text, err)
			continue
		}
		tc.want.Text = got.Text
		if got != tc.want || math.IsNaN(got.Value) {
			t.Errorf("%q = %+v, want %+v", tc.text, got, tc.want)
		}
	}
	// Failure cases.
	for _, text := range []string{
		"",                                // empty
		"telemetry.puback p(99) > +10%",   // no colon
		"telemetry.puback: p99 > +10%",    // p99 is not p(99)
		"telemetry.puback: p(100) > +1%",  // percentile out of range
		"telemetry.puback: p(0) > +1%",    // percentile out of range
		"telemetry.puback: p(99) = +10%",  // no such operator
		"telemetry.puback: p(99) > +10",   // a latency needs a unit
		"telemetry.puback: p(99) > +1pp",  // pp is for errors
		"telemetry.puback: errors > +1ms", // a duration is not an error rate
		"telemetry.puback: count > +5ms",  // nor a count
		"telemetry.puback: rate > +5",     // a rate needs /s
		"telemetry.puback: median > +5%",  // no such aggregate
		"telemetry.puback: p(99) > +10% extra",
	} {
		if _, err := ParseRule(text); !errors.Is(err, ErrBadRule) {
			t.Errorf("%q: err = %v, want ErrBadRule", text, err)
		}
	}
}

// ParseRules reports every bad rule at once.
func TestParseRulesAllProblems(t *testing.T) {
	_, err := ParseRules([]string{"a: p(99) > +1%", "b: nope", "c: max > 1"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`"b: nope"`, `"c: max > 1"`} {
		if !contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub))
}

// Judging: a change from 0 is +Inf (a relative rule breaks), a counter takes
// count and rate only, and a side without samples breaks a latency rule.
func TestJudgeEdges(t *testing.T) {
	r := &Result{
		Metrics: []MetricDiff{{
			Name:        "m",
			Count:       delta(10, 10),
			Errors:      delta(0, 2),
			ErrorRate:   delta(0, 2.0/12),
			Percentiles: []PercentileDiff{{Q: 99, Judgement: NoSamples}},
		}},
		Counters: []CounterDiff{{Name: "c", Delta: delta(5, 9), Rate: delta(1, 2)}},
	}
	for _, tc := range []struct {
		rule   string
		broken bool
		noData bool
		err    bool
	}{
		{"m: errors > +10%", true, false, false},   // from 0: +Inf %
		{"m: errors > +20pp", false, false, false}, // 16.7 pp
		{"m: p(99) > +10%", true, true, false},     // a side has no samples at p99
		{"m: count > +5", false, false, false},
		{"c: count > +50%", true, false, false}, // 5 -> 9 is +80 %
		{"c: rate < +50%", false, false, false}, // +100 %
		{"c: p(99) > +1%", false, false, true},  // a counter has no percentiles
		{"x: count > +1", false, false, true},   // unknown
	} {
		rule, err := ParseRule(tc.rule)
		if err != nil {
			t.Fatal(err)
		}
		err = r.Judge([]Rule{rule}, false)
		if (err != nil) != tc.err {
			t.Errorf("%s: err = %v", tc.rule, err)
			continue
		}
		if tc.err {
			continue
		}
		got := r.Rules[0]
		if got.Broken != tc.broken || got.NoData != tc.noData {
			t.Errorf("%s = %+v, want broken %v no_data %v", tc.rule, got, tc.broken, tc.noData)
		}
	}
}
