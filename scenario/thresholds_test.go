package scenario

import (
	"math"
	"strings"
	"testing"
)

func TestParseRule(t *testing.T) {
	good := []struct {
		kind MetricKind
		in   string
		want Rule
		str  string // canonical String()
	}{
		// A percentile of a latency, in seconds.
		{KindLatency, "p(95) < 2s", Rule{Agg: AggPercentile, Percentile: 95, Op: OpLess, Value: 2, Unit: UnitDuration}, "p(95) < 2s"},
		// A fractional percentile, no spaces.
		{KindLatency, "p(99.9)<=500ms", Rule{Agg: AggPercentile, Percentile: 99.9, Op: OpLessEqual, Value: 0.5, Unit: UnitDuration}, "p(99.9) <= 500ms"},
		// Mean, min and max take durations for latencies.
		{KindLatency, "avg < 300ms", Rule{Agg: AggAvg, Op: OpLess, Value: 0.3, Unit: UnitDuration}, "avg < 300ms"},
		{KindLatency, "max>=1m", Rule{Agg: AggMax, Op: OpGreaterEqual, Value: 60, Unit: UnitDuration}, "max >= 1m0s"},
		// Errors as a fraction.
		{KindLatency, "errors < 0.1%", Rule{Agg: AggErrors, Op: OpLess, Value: 0.001, Unit: UnitPercent}, "errors < 0.1%"},
		// Count, a whole number.
		{KindCounter, "count <= 0", Rule{Agg: AggCount, Op: OpLessEqual, Value: 0, Unit: UnitCount}, "count <= 0"},
		// Rate, per second.
		{KindLatency, "rate > 60/min", Rule{Agg: AggRate, Op: OpGreater, Value: 1, Unit: UnitRate}, "rate > 1/s"},
		// A gauge's max is a plain number.
		{KindGauge, "max >= 190", Rule{Agg: AggMax, Op: OpGreaterEqual, Value: 190, Unit: UnitCount}, "max >= 190"},
	}
	for _, tc := range good {
		got, err := ParseRule(tc.kind, tc.in)
		tc.want.Source = tc.in
		if err != nil || got != tc.want {
			t.Errorf("ParseRule(%s, %q) = %+v, %v; want %+v", tc.kind, tc.in, got, err, tc.want)
			continue
		}
		if got.String() != tc.str {
			t.Errorf("ParseRule(%q).String() = %q; want %q", tc.in, got.String(), tc.str)
		}
	}
	bad := []struct {
		kind MetricKind
		in   string
		want string // the end of the message
	}{
		{KindLatency, "", `empty (want "<aggregation> <operator> <value>", e.g. "p(95) < 2s")`},                                            // empty
		{KindLatency, "p95 < 2s", "write p(95), not p95"},                                                                                  // k6 habit
		{KindLatency, "p < 2s", "p needs a percentile, as in p(95)"},                                                                       // no argument
		{KindLatency, "p(0) < 2s", `percentile must be a number with 0 < N <= 100, got "0"`},                                               // zero percentile
		{KindLatency, "p(95 < 2s", "missing ) after p("},                                                                                   // unclosed
		{KindLatency, "avg(95) < 2s", "only p takes an argument, as in p(95)"},                                                             // argument on avg
		{KindLatency, "mean < 2s", `unknown aggregation "mean"; want p(N), avg, min, max, errors, count or rate`},                          // unknown
		{KindLatency, "erors < 1%", `unknown aggregation "erors" (did you mean errors?); want p(N), avg, min, max, errors, count or rate`}, // typo
		{KindLatency, "avg 2s", `missing operator (<, <=, > or >=) after "avg"`},                                                           // no operator
		{KindLatency, "avg", `missing operator and value after "avg"`},                                                                     // nothing after
		{KindLatency, "avg <", "missing value after <"},                                                                                    // no value
		{KindLatency, "avg == 2s", `unknown operator "=="; want <, <=, > or >= (for "exactly 0" write "<= 0")`},                            // equality
		{KindLatency, "avg < -2s", "value must not be negative"},                                                                           // negative
		{KindLatency, "errors < 0.1", `value must be a percentage like 5% or 0.1%, got "0.1"`},                                             // no %
		{KindLatency, "rate > 10", `value must be a rate like 5/s, 60/min or 100/h, got "10"`},                                             // no unit
		{KindCounter, "avg < 2s", "avg does not apply to a counter metric (use count, rate)"},                                              // latency agg on counter
		{KindGauge, "errors < 1%", "errors does not apply to a gauge metric (use min, max, avg)"},                                          // errors on gauge
		{KindGauge, "max > 1s", `value must be a number >= 0, got "1s"`},                                                                   // duration on gauge
	}
	for _, tc := range bad {
		_, err := ParseRule(tc.kind, tc.in)
		if err == nil || !strings.HasSuffix(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "invalid rule ") {
			t.Errorf("ParseRule(%s, %q) error = %v; want ...%s", tc.kind, tc.in, err, tc.want)
		}
	}
}

func TestRulePass(t *testing.T) {
	rule := func(s string) Rule {
		r, err := ParseRule(KindLatency, s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		rule     string
		observed float64
		pass     bool
	}{
		{"p(95) < 2s", 1.999, true},  // below
		{"p(95) < 2s", 2, false},     // equal is not below
		{"p(95) <= 2s", 2, true},     // equal is allowed
		{"count > 0", 0, false},      // nothing measured
		{"count >= 1", 1, true},      // something measured
		{"errors < 1%", 0.02, false}, // 2% errors
	}
	for _, tc := range tests {
		if got := rule(tc.rule).Pass(tc.observed); got != tc.pass {
			t.Errorf("%q.Pass(%v) = %v; want %v", tc.rule, tc.observed, got, tc.pass)
		}
	}
	if r := rule("errors < 1%"); r.FormatValue(0.0025) != "0.25%" {
		t.Errorf("FormatValue = %q", r.FormatValue(0.0025))
	}
}

// TestMetricsCatalogue checks that names are unique and every metric has
// a kind, a unit and a description.
func TestMetricsCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range Metrics {
		if seen[m.Name] {
			t.Errorf("%s listed twice", m.Name)
		}
		seen[m.Name] = true
		if m.Kind.Aggregations() == nil || m.Unit == "" || m.Description == "" {
			t.Errorf("%s is incomplete: %+v", m.Name, m)
		}
		if got, ok := LookupMetric(m.Name); !ok || got.Name != m.Name {
			t.Errorf("LookupMetric(%q) = %v, %v", m.Name, got, ok)
		}
	}
	if _, ok := LookupMetric("sos.deliverd"); ok {
		t.Error("LookupMetric found a misspelt name")
	}
}

// TestRuleContinuous checks which rules abort_on_fail checks mid-run.
func TestRuleContinuous(t *testing.T) {
	tests := []struct {
		kind MetricKind
		rule string
		want bool
	}{
		{KindLatency, "p(95) < 2s", true},     // the SLO case: upper bound on a percentile
		{KindLatency, "p(99.9) <= 5s", true},  // inclusive upper bound
		{KindLatency, "avg < 300ms", true},    // upper bound on the mean
		{KindLatency, "errors < 1%", true},    // upper bound on the error ratio
		{KindLatency, "max < 10s", true},      // max only grows: a breach is final
		{KindLatency, "count <= 100", true},   // count only grows: a breach is final
		{KindLatency, "min > 1ms", true},      // min only shrinks: a breach is final
		{KindCounter, "count <= 0", true},     // "no disconnects at all"
		{KindGauge, "avg < 1000", true},       // upper bound on a level
		{KindLatency, "count > 0", false},     // false until the first sample
		{KindLatency, "max >= 1s", false},     // may still be reached
		{KindLatency, "min < 1s", false},      // may still be reached
		{KindLatency, "rate >= 10/s", false},  // a whole-run average
		{KindCounter, "rate < 1/s", false},    // also for upper bounds
		{KindLatency, "errors > 0%", false},   // sanity check of injected faults
		{KindLatency, "p(50) >= 40ms", false}, // sanity check of injected latency
		{KindGauge, "max >= 190", false},      // the fleet may still get there
	}
	for _, tc := range tests {
		r, err := ParseRule(tc.kind, tc.rule)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Continuous(); got != tc.want {
			t.Errorf("%q.Continuous() = %v; want %v", tc.rule, got, tc.want)
		}
	}
}

func TestParseBaselineRule(t *testing.T) {
	good := []struct {
		kind MetricKind
		in   string
		want Rule
		str  string
	}{
		// The baseline alone.
		{KindLatency, "p(99) <= baseline", Rule{Agg: AggPercentile, Percentile: 99, Op: OpLessEqual, Unit: UnitDuration, Baseline: true, Factor: 1}, "p(99) <= baseline"},
		// A factor.
		{KindLatency, "p(99) < baseline * 1.10", Rule{Agg: AggPercentile, Percentile: 99, Op: OpLess, Unit: UnitDuration, Baseline: true, Factor: 1.1}, "p(99) < baseline * 1.1"},
		// An offset in the rule's unit, no spaces.
		{KindLatency, "avg<baseline+50ms", Rule{Agg: AggAvg, Op: OpLess, Unit: UnitDuration, Baseline: true, Factor: 1, Offset: 0.05}, "avg < baseline + 50ms"},
		// Both, with a negative offset.
		{KindLatency, "rate >= baseline * 0.9 - 5/s", Rule{Agg: AggRate, Op: OpGreaterEqual, Unit: UnitRate, Baseline: true, Factor: 0.9, Offset: -5}, "rate >= baseline * 0.9 - 5/s"},
		// Errors take percentage points.
		{KindLatency, "errors < baseline + 0.5%", Rule{Agg: AggErrors, Op: OpLess, Unit: UnitPercent, Baseline: true, Factor: 1, Offset: 0.005}, "errors < baseline + 0.5%"},
		// A counter's count, a whole number.
		{KindCounter, "count <= baseline + 3", Rule{Agg: AggCount, Op: OpLessEqual, Unit: UnitCount, Baseline: true, Factor: 1, Offset: 3}, "count <= baseline + 3"},
	}
	for _, tc := range good {
		got, err := ParseRule(tc.kind, tc.in)
		tc.want.Source = tc.in
		if err != nil || got != tc.want {
			t.Errorf("ParseRule(%s, %q) = %+v, %v; want %+v", tc.kind, tc.in, got, err, tc.want)
			continue
		}
		if got.String() != tc.str {
			t.Errorf("ParseRule(%q).String() = %q; want %q", tc.in, got.String(), tc.str)
		}
	}
	if r, _ := ParseRule(KindLatency, "p(99) < baseline * 1.1 + 10ms"); math.Abs(r.Limit(0.38)-0.428) > 1e-12 || !r.PassLimit(0.412, r.Limit(0.38)) {
		t.Errorf("Limit(0.38) = %v; want 0.428, and 0.412 passing", r.Limit(0.38))
	}
	bad := []struct {
		kind MetricKind
		in   string
		want string
	}{
		{KindLatency, "p(99) < baseline * x", `the factor after baseline * must be a number > 0, such as 1.1, got "x"`},
		{KindLatency, "p(99) < baseline * -1", `the factor after baseline * must be a number > 0, such as 1.1, got ""`},
		{KindLatency, "p(99) < baseline / 2", `want baseline, baseline * FACTOR, baseline + OFFSET or baseline * FACTOR + OFFSET, got "/ 2" after baseline`},
		{KindLatency, "p(99) < baseline + 5", `offset must be a duration like 500ms, 30s or 1h30m, got "5"`},
		{KindLatency, "p(99) < baseline -", "missing offset after baseline -"},
		{KindLatency, "p(99) < baseln * 2", `unknown word "baseln" (did you mean baseline?)`},
		{KindGauge, "max <= baseline", "a gauge has no baseline (a result directory keeps no per-second gauge statistics): compare it with a number"},
	}
	for _, tc := range bad {
		_, err := ParseRule(tc.kind, tc.in)
		if err == nil || !strings.HasSuffix(err.Error(), tc.want) {
			t.Errorf("ParseRule(%s, %q) error = %v; want ...%s", tc.kind, tc.in, err, tc.want)
		}
	}
}

func TestParseThresholdKey(t *testing.T) {
	tests := []struct {
		key, metric, stage, err string
	}{
		{"telemetry.puback", "telemetry.puback", "", ""},
		{"telemetry.puback{stage=steady}", "telemetry.puback", "steady", ""},
		{"mqtt.connect@10.0.0.7:1883{stage=a-1}", "mqtt.connect@10.0.0.7:1883", "a-1", ""},
		{"telemetry.puback{stage=}", "", "", "want METRIC{stage=NAME}: the stage name is missing"},
		{"{stage=steady}", "", "", "want METRIC{stage=NAME}: the metric is missing"},
		{"telemetry.puback{users=1}", "", "", `want METRIC{stage=NAME} (no spaces), got "telemetry.puback{users=1}"`},
		{"telemetry.puback{stage=a", "", "", `want METRIC{stage=NAME} (no spaces), got "telemetry.puback{stage=a"`},
		{"telemetry.puback}", "", "", `want METRIC or METRIC{stage=NAME}, got "telemetry.puback}"`},
	}
	for _, tc := range tests {
		m, st, err := ParseThresholdKey(tc.key)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("ParseThresholdKey(%q) error = %v; want %s", tc.key, err, tc.err)
			}
			continue
		}
		if err != nil || m != tc.metric || st != tc.stage {
			t.Errorf("ParseThresholdKey(%q) = %q, %q, %v; want %q, %q", tc.key, m, st, err, tc.metric, tc.stage)
		}
		if back := ThresholdKey(m, st); back != tc.key {
			t.Errorf("ThresholdKey(%q, %q) = %q; want %q", m, st, back, tc.key)
		}
	}
}

// TestStageThresholds parses stage-scoped and baseline rules, echoes them
// as written, and refuses the baseline rules without a baseline.
func TestStageThresholds(t *testing.T) {
	yaml := `version: 1
name: t
identity: { app_id: a, app_secret: s3cret-value }
fleet: { users: 10 }
stages:
  - { name: ramp, for: 2s, users: 10 }
  - { name: steady, for: 8s, users: 10 }
behaviours: { telemetry: { every: 1s } }
thresholds:
  telemetry.puback: ["p(99) < 2s"]
  telemetry.puback{stage=steady}: ["p(99) < 250ms", "p(99) < baseline * 1.1"]
  abort_on_fail: ["telemetry.puback{stage=steady}"]
`
	s, err := testParse(yaml, Options{})
	if err != nil {
		t.Fatal(err)
	}
	th := s.Thresholds
	if len(th.Metrics) != 2 || th.Metrics[1].Metric != TelemetryPuback || th.Metrics[1].Stage != "steady" || th.Metrics[1].Key() != "telemetry.puback{stage=steady}" {
		t.Fatalf("metrics = %+v", th.Metrics)
	}
	if th.BaselineRules() != 1 {
		t.Errorf("BaselineRules = %d; want 1", th.BaselineRules())
	}
	echo, err := th.MarshalJSON()
	if want := `{"telemetry.puback":["p(99) < 2s"],"telemetry.puback{stage=steady}":["p(99) < 250ms","p(99) < baseline * 1.1"],"abort_on_fail":["telemetry.puback{stage=steady}"]}`; err != nil || string(echo) != want {
		t.Errorf("echo = %s, %v; want %s", echo, err, want)
	}
	if err := s.CheckBaseline(true); err != nil {
		t.Errorf("CheckBaseline(true) = %v", err)
	}
	err = s.CheckBaseline(false)
	if want := `/s/t.yaml:11:53: thresholds.telemetry.puback{stage=steady}[1]: "p(99) < baseline * 1.1" compares with a baseline run: give one with --baseline DIR (the result directory of an earlier run)`; err == nil || err.Error() != want {
		t.Errorf("CheckBaseline(false) = %v; want %s", err, want)
	}
}
