package scenario

import (
	"encoding/json"
	"strings"
	"testing"
)

// The echo of a thresholds block parses back into the rules it was
// written from, with the scenario file's parser.
func TestParseThresholdsEcho(t *testing.T) {
	var th Thresholds
	for _, w := range []struct {
		metric, stage string
		kind          MetricKind
		rules         []string
	}{
		{SOSDelivered, "", KindLatency, []string{"p(95) < 2s", "errors < 1%"}},
		{TelemetryPuback, "steady", KindLatency, []string{"p(99) < baseline * 1.1"}},
		{UsersOnline, "", KindGauge, []string{"min >= 1"}},
	} {
		mr := MetricRules{Metric: w.metric, Stage: w.stage}
		for _, src := range w.rules {
			r, err := ParseRule(w.kind, src)
			if err != nil {
				t.Fatal(err)
			}
			mr.Rules = append(mr.Rules, r)
		}
		th.Metrics = append(th.Metrics, mr)
	}
	th.AbortOnFail = []string{SOSDelivered}
	echo, err := json.Marshal(th)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseThresholds("echo", echo)
	if err != nil {
		t.Fatalf("ParseThresholds(%s): %v", echo, err)
	}
	if len(got.Metrics) != len(th.Metrics) || strings.Join(got.AbortOnFail, ",") != SOSDelivered {
		t.Fatalf("ParseThresholds(%s) = %+v; want %+v", echo, got, th)
	}
	for i, mr := range th.Metrics {
		g := got.Metrics[i]
		if g.Metric != mr.Metric || g.Stage != mr.Stage || len(g.Rules) != len(mr.Rules) {
			t.Fatalf("metric %d = %+v; want %+v", i, g, mr)
		}
		for j, r := range mr.Rules {
			if g.Rules[j].String() != r.String() || g.Rules[j].Source != r.Source || g.Rules[j].Baseline != r.Baseline || g.Rules[j].Continuous() != r.Continuous() {
				t.Errorf("%s rule %d = %+v; want %+v", mr.Key(), j, g.Rules[j], r)
			}
		}
	}
}

func TestParseThresholdsEchoErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"no.such_metric":["p(95) < 1s"]}`, `unknown metric "no.such_metric"`},
		{`{"sos.delivered":["p(95) <"]}`, "thresholds.sos.delivered[0]"},
		{`{"sos.delivered{stage=}":["p(95) < 1s"]}`, "stage"},
	} {
		if _, err := ParseThresholds("echo", []byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseThresholds(%s) error = %v; want ...%s", tc.in, err, tc.want)
		}
	}
	if th, err := ParseThresholds("echo", []byte(`{}`)); err != nil || len(th.Metrics) != 0 {
		t.Errorf("ParseThresholds({}) = %+v, %v; want no rules", th, err)
	}
}

// Written is the rule as the file writes it, and a hand-built rule's
// canonical form.
func TestRuleWritten(t *testing.T) {
	r, err := ParseRule(KindLatency, "  p(95)<2s ")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Written(); got != "p(95)<2s" {
		t.Errorf("Written() = %q; want %q", got, "p(95)<2s")
	}
	r.Source = ""
	if got := r.Written(); got != "p(95) < 2s" {
		t.Errorf("hand-built Written() = %q; want %q", got, "p(95) < 2s")
	}
}
