package metrics

import (
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/scenario"
)

// rule parses src for metric's kind, failing the test on a bad rule.
func rule(t *testing.T, metric, src string) scenario.Rule {
	t.Helper()
	m, ok := scenario.LookupMetric(metric)
	if !ok {
		t.Fatalf("unknown metric %s", metric)
	}
	r, err := scenario.ParseRule(m.Kind, src)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// testMeasurements is a run of 10 s in which:
//   - sos.delivered had 1000 successes of 1..1000 ms and 10 errors;
//   - telemetry.puback had errors only (3), no success;
//   - http.me had nothing at all (absent);
//   - mqtt.disconnects counted 5, arrivals.dropped 0;
//   - users.online was sampled 0, 100, 200, 200 (1 s each).
func testMeasurements() Measurements {
	h := newHistogram()
	for i := int64(1); i <= 1000; i++ {
		_ = h.RecordValue(i * 1000) // i ms in µs
	}
	var g GaugeStats
	for _, v := range []int64{0, 100, 200, 200} {
		g.Add(v, 1)
	}
	return Measurements{
		Elapsed: 10 * time.Second,
		Latencies: map[string]LatencyData{
			"sos.delivered":    {Hist: h, Errors: 10},
			"telemetry.puback": {Hist: newHistogram(), Errors: 3},
		},
		Counters: map[string]int64{"mqtt.disconnects": 5, "arrivals.dropped": 0},
		Gauges:   map[string]GaugeStats{"users.online": g},
	}
}

func TestJudge(t *testing.T) {
	m := testMeasurements()
	tests := []struct {
		metric, rule string
		observed     float64 // in the rule's unit; compared within 0.2 % (histogram resolution)
		hasData      bool
		passed       bool
	}{
		// Happy paths: each aggregation passes on data.
		{"sos.delivered", "p(95) < 2s", 0.950, true, true},             // any percentile, exact from the histogram
		{"sos.delivered", "p(99.9) <= 1s", 0.999, true, true},          // a fractional percentile
		{"sos.delivered", "p(100) < 1.1s", 1.0, true, true},            // p(100) is the max
		{"sos.delivered", "avg < 600ms", 0.5005, true, true},           // mean of 1..1000 ms
		{"sos.delivered", "min >= 1ms", 0.001, true, true},             // smallest
		{"sos.delivered", "max < 2s", 1.0, true, true},                 // largest
		{"sos.delivered", "errors < 1%", 10.0 / 1010, true, true},      // errors / (count + errors) = 0.99 %
		{"sos.delivered", "count >= 1000", 1000, true, true},           // successes only
		{"sos.delivered", "rate >= 100/s", 100, true, true},            // count / elapsed
		{"mqtt.disconnects", "count <= 5", 5, true, true},              // a counter's value
		{"mqtt.disconnects", "rate < 1/s", 0.5, true, true},            // a counter per second
		{"arrivals.dropped", "count <= 0", 0, true, true},              // a zero counter is data
		{"users.online", "max >= 190", 200, true, true},                // a gauge's largest sample
		{"users.online", "avg > 100", 125, true, true},                 // mean of 0, 100, 200, 200
		{"http.me", "count <= 0", 0, true, true},                       // nothing happened: count 0 is data
		{"telemetry.puback", "count < 1", 0, true, true},               // errors are not counted as successes
		{"telemetry.puback", "errors >= 100%", 1.0, true, true},        // errors without successes: 100 %
		{"sos.delivered", "p(50) > 400ms", 0.5, true, true},            // a lower bound
		{"users.online", "min <= 0", 0, true, true},                    // the ramp-up sample counts
		{"sos.delivered", "p(95)<=950.5ms", 0.9505, true, true},        // the top of the bucket is the conservative value
		{"sos.delivered", "errors <= 0.991%", 10.0 / 1010, true, true}, // exact ratio, not rounded
		// Failures on data.
		{"sos.delivered", "p(95) < 900ms", 0.950, true, false},       // the SLO is broken
		{"sos.delivered", "p(95) < 950ms", 0.950, true, false},       // equal is not below
		{"sos.delivered", "errors < 0.5%", 10.0 / 1010, true, false}, // too many errors
		{"sos.delivered", "rate > 200/s", 100, true, false},          // too slow
		{"mqtt.disconnects", "count <= 0", 5, true, false},           // any disconnect fails
		{"users.online", "max >= 250", 200, true, false},             // the fleet never got there
		{"http.me", "count > 0", 0, true, false},                     // nothing happened
		// No data: fails, never a silent pass.
		{"http.me", "p(95) < 2s", 0, false, false},          // a latency never recorded
		{"telemetry.puback", "p(99) < 1s", 0, false, false}, // errors only: no latency to judge
		{"telemetry.puback", "avg < 1s", 0, false, false},   // ditto for avg
		{"http.me", "errors < 1%", 0, false, false},         // no operation at all: no ratio
		{"sos.puback", "max < 1s", 0, false, false},         // absent from the measurements
	}
	for _, tc := range tests {
		v := Judge(tc.metric, rule(t, tc.metric, tc.rule), m)
		if v.HasData != tc.hasData || v.Passed != tc.passed {
			t.Errorf("%s %q: hasData=%v passed=%v (observed %s); want %v %v",
				tc.metric, tc.rule, v.HasData, v.Passed, v.ObservedString(), tc.hasData, tc.passed)
		}
		if d := v.Observed - tc.observed; d < -tc.observed/500 || d > tc.observed/500 {
			t.Errorf("%s %q: observed %v; want %v", tc.metric, tc.rule, v.Observed, tc.observed)
		}
	}

	// No data at all: a gauge never sampled, a rate over no elapsed time.
	for _, tc := range []struct{ metric, rule string }{
		{"users.online", "max >= 1"},     // no tick yet
		{"sos.delivered", "rate >= 1/s"}, // zero elapsed time
	} {
		v := Judge(tc.metric, rule(t, tc.metric, tc.rule), Measurements{})
		if v.HasData || v.Passed || v.ObservedString() != "no samples" {
			t.Errorf("%s %q on nothing: %+v (%s); want no samples, failed", tc.metric, tc.rule, v, v.ObservedString())
		}
	}
}

func TestEvaluateAndFirstBreach(t *testing.T) {
	m := testMeasurements()
	th := scenario.Thresholds{
		Metrics: []scenario.MetricRules{
			{Metric: "http.me", Rules: []scenario.Rule{
				rule(t, "http.me", "p(95) < 1s"), // no samples yet: fails at the end, never aborts
			}},
			{Metric: "sos.delivered", Rules: []scenario.Rule{
				rule(t, "sos.delivered", "count > 5000"),  // failing, but judged at the end only
				rule(t, "sos.delivered", "p(95) < 2s"),    // passing
				rule(t, "sos.delivered", "p(99) < 500ms"), // the breach
				rule(t, "sos.delivered", "errors < 0.1%"), // also failing, later in file order
			}},
			{Metric: "mqtt.disconnects", Rules: []scenario.Rule{
				rule(t, "mqtt.disconnects", "count <= 0"), // failing, but not in abort_on_fail
			}},
		},
		AbortOnFail: []string{"http.me", "sos.delivered"},
	}
	vs := Evaluate(th, m)
	var passed []bool
	for _, v := range vs {
		passed = append(passed, v.Passed)
	}
	if want := []bool{false, false, true, false, false, false}; len(vs) != len(want) || !equalBools(passed, want) {
		t.Fatalf("Evaluate passed = %v; want %v", passed, want)
	}
	b, ok := FirstBreach(th, Measured{Run: m}, "", nil)
	if !ok || b.Metric != "sos.delivered" || b.Rule.Source != "p(99) < 500ms" || b.Passed {
		t.Fatalf("FirstBreach = %+v, %v; want sos.delivered p(99) < 500ms", b, ok)
	}
	if got := b.ObservedString(); got != "990ms" { // the top of 990 ms's bucket, 990.207ms, to 3 digits
		t.Errorf("breach observed %q; want 990ms", got)
	}

	// Nothing breached: only end-only and data-less rules fail.
	th.Metrics[1].Rules = th.Metrics[1].Rules[:2]
	if b, ok := FirstBreach(th, Measured{Run: m}, "", nil); ok {
		t.Errorf("FirstBreach = %+v; want none", b)
	}
}

func equalBools(a, b []bool) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// TestCollectorMeasure checks that Measure sees latencies, counters and the
// per-tick gauge samples, filtered by name.
func TestCollectorMeasure(t *testing.T) {
	reg := NewRegistry()
	start := time.Unix(1000, 0)
	c := NewCollector(reg, start, nil)
	reg.Latency("sos.delivered").Record(20 * time.Millisecond)
	reg.Latency("sos.delivered").Error("timeout")
	reg.Latency("http.me").Record(time.Millisecond)
	reg.Counter("mqtt.disconnects").Add(2)
	online := reg.Gauge("users.online")
	for i, v := range []int64{10, 30, 20} { // samples 10, 40, 60
		online.Add(v)
		c.Tick(start.Add(time.Duration(i+1) * time.Second))
	}
	m := c.Measure(3*time.Second, []string{"sos.delivered", "mqtt.disconnects", "users.online"})
	if _, ok := m.Latencies["http.me"]; ok {
		t.Error("http.me measured but not asked for")
	}
	d := m.Latencies["sos.delivered"]
	if d.Hist == nil || d.Hist.TotalCount() != 1 || d.Errors != 1 {
		t.Errorf("sos.delivered = %+v", d)
	}
	if m.Counters["mqtt.disconnects"] != 2 {
		t.Errorf("counters = %v", m.Counters)
	}
	g := m.Gauges["users.online"]
	if g.Samples != 3 || g.Min != 10 || g.Max != 60 || g.Avg() != 110.0/3 {
		t.Errorf("users.online = %+v avg %v", g, g.Avg())
	}
	// The snapshot is a copy: later records do not change it.
	reg.Latency("sos.delivered").Record(time.Second)
	if d.Hist.TotalCount() != 1 {
		t.Error("Measure returned the live histogram")
	}
}

func TestRoundSignificant(t *testing.T) {
	tests := []struct{ in, want float64 }{
		{0.151260504202, 0.151},
		{2.41372, 2.41},
		{0.000123456, 0.000123},
		{99.96, 100},
		{12345.6, 12346},
		{7, 7},
		{0, 0},
		{-0.0456789, -0.0457},
	}
	for _, tt := range tests {
		if got := RoundSignificant(tt.in, 3); got != tt.want {
			t.Errorf("RoundSignificant(%v, 3) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func TestObservedStringIsRounded(t *testing.T) {
	tests := []struct {
		metric, rule string
		observed     float64
		want         string
	}{
		{"http.me", "errors < 5%", 0.151260504202, "15.1%"},
		{"sos.delivered", "p(95) < 2s", 2.413721, "2.41s"},
		{"telemetry.puback", "count > 0", 123456, "123456"},
	}
	for _, tt := range tests {
		v := Verdict{Metric: tt.metric, Rule: rule(t, tt.metric, tt.rule), Observed: tt.observed, HasData: true}
		if got := v.ObservedString(); got != tt.want {
			t.Errorf("%s %q observed %v: %q; want %q", tt.metric, tt.rule, tt.observed, got, tt.want)
		}
	}
}
