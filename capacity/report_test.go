package capacity

import (
	"bytes"
	"strings"
	"testing"

	"github.com/eixamsim/eixamsim/scenario"
)

// TestReports writes the three files of a hand-made search and checks
// what a reader relies on: the headline everywhere, the bounds and knee
// in the text, and an HTML page with its three charts and nothing
// fetched from elsewhere.
func TestReports(t *testing.T) {
	sc := &scenario.Scenario{Name: "r", Thresholds: scenario.Thresholds{Metrics: []scenario.MetricRules{
		{Metric: scenario.TelemetryPuback, Rules: []scenario.Rule{{Source: "p(99) < 250ms"}}},
	}}}
	step := func(i int, load, p99, achieved float64, verdict string, failed ...string) StepResult {
		return StepResult{Index: i, Load: load, Users: int(load), OfferedPerSecond: load, AchievedPerSecond: achieved, Verdict: verdict, Failed: failed,
			LoadMetric: scenario.TelemetryPuback, Metrics: map[string]MetricStats{scenario.TelemetryPuback: {Count: 100, P50MS: p99 / 2, P99MS: p99}}}
	}
	cfg := Config{Capacity: scenario.Capacity{Dimension: scenario.DimensionUsers, Start: 2000, Max: 16000, Factor: 2, Resolution: 0.05, MaxErrors: 0.001}}
	r := &Result{Name: "r", Capacity: cfg.Capacity, Steps: []StepResult{
		step(0, 2000, 40, 2000, VerdictPass), step(1, 4000, 50, 4000, VerdictPass),
		step(2, 8000, 340, 7000, VerdictFail, "telemetry.puback p(99) < 250ms: observed 340ms"),
		step(3, 6000, 90, 6000, VerdictPass), step(4, 7000, 120, 7000, VerdictPass), step(5, 7500, 200, 7500, VerdictPass),
		step(6, 7750, 260, 7700, VerdictFail, "telemetry.puback p(99) < 250ms: observed 260ms"),
	}}
	r.finish(cfg, sc, "", false)
	wantHead := "holds 7,500 users (telemetry.puback p(99) < 250ms, errors ≤ 0.1%); fails at 7,750 users (telemetry.puback p(99) < 250ms: observed 260ms); knee near 6,000 users"
	if r.Outcome != OutcomeFound || r.Headline != wantHead {
		t.Errorf("outcome %s, headline\n%q, want\n%q", r.Outcome, r.Headline, wantHead)
	}
	var txt, html, js bytes.Buffer
	if err := WriteText(&txt, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&html, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{wantHead, "highest passing load: 7,500 users", "first failing load:   7,750 users", "knee:                 6,000 users"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("capacity.txt lacks %q:\n%s", want, txt.String())
		}
	}
	page := html.String()
	if n := strings.Count(page, "<svg"); n != 3 || !strings.Contains(page, "holds 7,500 users") || !strings.Contains(page, "ideal: achieved = offered") {
		t.Errorf("capacity.html: %d charts, headline or ideal line missing", n)
	}
	for _, bad := range []string{"<script", "src=", "href=\"http", "<link"} {
		if strings.Contains(page, bad) {
			t.Errorf("capacity.html is not self-contained: it has %q", bad)
		}
	}
	if !strings.Contains(js.String(), `"schema": "eixamsim.capacity"`) || !strings.Contains(js.String(), `"knee": 6000`) {
		t.Errorf("capacity.json:\n%s", js.String())
	}
}
