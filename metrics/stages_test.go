package metrics

import (
	"maps"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/scenario"
)

// Each interval goes whole into the stage it is ticked into: a stage's
// histogram, errors, counter growth and seconds are those of its
// intervals, and the stages add up to the whole run.
func TestCollectorStages(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	reg := NewRegistry()
	c := NewCollector(reg, start, nil)
	l, n := reg.Latency(scenario.TelemetryPuback), reg.Counter(scenario.MQTTDisconnects)
	g := reg.Gauge(scenario.UsersOnline)

	// Stage 0, two intervals: slow operations, one timeout.
	for i := range 100 {
		l.Record(time.Duration(400+i) * time.Millisecond)
	}
	l.Error("timeout")
	n.Add(2)
	g.Add(5)
	c.TickStage(start.Add(time.Second), 0)
	g.Add(5)
	c.TickStage(start.Add(2*time.Second), 0)
	// Stage 1, three intervals: fast operations, a refused one.
	for i := range 300 {
		l.Record(time.Duration(10+i%10) * time.Millisecond)
	}
	l.Error("http_503")
	n.Add(1)
	for s := 3; s <= 5; s++ {
		c.TickStage(start.Add(time.Duration(s)*time.Second), 1)
	}

	s0, ok0 := c.StageStats(0)
	s1, ok1 := c.StageStats(1)
	if _, ok := c.StageStats(2); !ok0 || !ok1 || ok {
		t.Fatalf("stages with intervals: %v %v, stage 2 %v", ok0, ok1, ok)
	}
	at := func(st StageStats) Summary {
		for _, s := range st.Latencies {
			if s.Name == scenario.TelemetryPuback {
				return s
			}
		}
		t.Fatal("no telemetry.puback")
		return Summary{}
	}
	a, b := at(s0), at(s1)
	if a.Count != 100 || a.Errors != 1 || !maps.Equal(a.ErrorsBy, map[string]int64{"timeout": 1}) || a.Min < 399*time.Millisecond {
		t.Errorf("stage 0 = %+v", a)
	}
	if b.Count != 300 || b.Errors != 1 || !maps.Equal(b.ErrorsBy, map[string]int64{"http_503": 1}) || b.Max > 20*time.Millisecond {
		t.Errorf("stage 1 = %+v", b)
	}
	if whole := l.Summary(); a.Count+b.Count != whole.Count || a.Errors+b.Errors != whole.Errors {
		t.Errorf("stages %d+%d ops, %d+%d errors; whole run %d, %d", a.Count, b.Count, a.Errors, b.Errors, whole.Count, whole.Errors)
	}
	if s0.Seconds != 2 || s1.Seconds != 3 || s0.From != 0 || s0.To != 2 || s1.From != 2 || s1.To != 5 || s0.Counters[scenario.MQTTDisconnects] != 2 || s1.Counters[scenario.MQTTDisconnects] != 1 {
		t.Errorf("seconds %v, %v; counters %v, %v", s0.Seconds, s1.Seconds, s0.Counters, s1.Counters)
	}

	// Thresholds on a stage see only its intervals: rates over its seconds,
	// gauges over its samples.
	m0, _ := c.MeasureStage(0, nil)
	m1, _ := c.MeasureStage(1, nil)
	measured := Measured{Run: c.Measure(5*time.Second, nil), Stages: map[string]Measurements{"ramp": m0, "steady": m1}}
	for _, tc := range []struct {
		metric, stage, rule string
		pass                bool
		observed            string
	}{
		{scenario.TelemetryPuback, "", "p(99) < 100ms", false, "495ms"},
		{scenario.TelemetryPuback, "steady", "p(99) < 100ms", true, "19ms"},
		{scenario.TelemetryPuback, "ramp", "p(99) < 100ms", false, "498ms"},
		{scenario.TelemetryPuback, "steady", "rate >= 100/s", true, "100/s"},
		{scenario.MQTTDisconnects, "ramp", "count <= 1", false, "2"},
		{scenario.UsersOnline, "ramp", "min >= 10", false, "5"},
		{scenario.UsersOnline, "steady", "min >= 10", true, "10"},
		{scenario.TelemetryPuback, "down", "p(99) < 100ms", false, "no samples"}, // a stage that did not run
	} {
		v := JudgeRule(tc.metric, tc.stage, rule(t, tc.metric, tc.rule), measured, nil)
		if v.Passed != tc.pass || v.ObservedString() != tc.observed || v.Key() != scenario.ThresholdKey(tc.metric, tc.stage) {
			t.Errorf("%s{stage=%s} %q: passed %v observed %s; want %v, %s", tc.metric, tc.stage, tc.rule, v.Passed, v.ObservedString(), tc.pass, tc.observed)
		}
	}

	// abort_on_fail checks a stage's rules only while it runs.
	th := scenario.Thresholds{
		Metrics:     []scenario.MetricRules{{Metric: scenario.TelemetryPuback, Stage: "ramp", Rules: []scenario.Rule{rule(t, scenario.TelemetryPuback, "p(99) < 100ms")}}},
		AbortOnFail: []string{"telemetry.puback{stage=ramp}"},
	}
	if v, ok := FirstBreach(th, measured, "ramp", nil); !ok || v.Stage != "ramp" {
		t.Errorf("FirstBreach during ramp = %+v, %v; want the ramp rule", v, ok)
	}
	if v, ok := FirstBreach(th, measured, "steady", nil); ok {
		t.Errorf("FirstBreach during steady = %+v; want none", v)
	}
}

// A baseline rule compares with the same aggregation of the baseline, and
// fails with "no samples" when the baseline has none.
func TestJudgeBaseline(t *testing.T) {
	cur, base := testMeasurements(), testMeasurements()
	r := rule(t, scenario.SOSDelivered, "p(99) < baseline * 1.1")
	v := JudgeRule(scenario.SOSDelivered, "", r, Measured{Run: cur}, &Measured{Run: base})
	if !v.Passed || !v.HasBaseline || v.Baseline != v.Observed || v.Limit != v.Baseline*1.1 {
		t.Errorf("same data: %+v; want passed, limit 1.1 x baseline", v)
	}
	if got, want := v.BaselineString(), "990ms × 1.1 = 1.09s"; got != want {
		t.Errorf("BaselineString = %q; want %q", got, want)
	}
	r = rule(t, scenario.SOSDelivered, "p(99) < baseline - 1ms")
	if v := JudgeRule(scenario.SOSDelivered, "", r, Measured{Run: cur}, &Measured{Run: base}); v.Passed || v.BaselineString() != "990ms - 1ms = 989ms" {
		t.Errorf("faster than itself: %+v (%s); want failed", v, v.BaselineString())
	}
	for _, b := range []*Measured{nil, {Run: Measurements{}}} {
		v := JudgeRule(scenario.SOSDelivered, "", r, Measured{Run: cur}, b)
		if v.Passed || v.HasBaseline || !v.HasData || v.BaselineString() != "no samples" {
			t.Errorf("baseline %v: %+v; want failed, no baseline samples", b, v)
		}
	}
}
