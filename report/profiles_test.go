package report

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestProfilesInEveryReport: per-profile twins are grouped under
// "profiles" in summary.json (not among the totals), read back as they
// were, and shown as a section of summary.txt and a table of report.html.
func TestProfilesInEveryReport(t *testing.T) {
	s := &Summary{Schema: SchemaName, Version: SchemaVersion, Name: "net",
		Metrics: map[string]Metric{
			"sos.delivered":    {Count: 10, Errors: 1, ErrorsBy: map[string]int64{"no_event": 1}, P50: 300, P99: 900},
			"sos.delivered@3g": {Count: 2, Errors: 1, ErrorsBy: map[string]int64{"no_event": 1}, P50: 700, P99: 900},
			"sos.delivered@4g": {Count: 8, ErrorsBy: map[string]int64{}, P50: 250, P99: 400},
		},
		Stages: []Stage{{Name: "s", Metrics: map[string]Metric{"sos.delivered": {Count: 10}, "sos.delivered@3g": {Count: 2}}}},
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, s); err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Metrics  map[string]json.RawMessage            `json:"metrics"`
		Profiles map[string]map[string]json.RawMessage `json:"profiles"`
		Stages   []struct{ Metrics map[string]any }    `json:"stages"`
	}
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Metrics) != 1 || raw.Profiles["3g"]["sos.delivered"] == nil || raw.Profiles["4g"]["sos.delivered"] == nil {
		t.Errorf("summary.json metrics %v, profiles %v", raw.Metrics, raw.Profiles)
	}
	if len(raw.Stages[0].Metrics) != 1 {
		t.Errorf("stage metrics %v: twins are the whole run's", raw.Stages[0].Metrics)
	}
	if len(s.Metrics) != 3 || s.Profiles != nil {
		t.Error("WriteJSON changed the summary")
	}
	back, err := ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if back.Metrics["sos.delivered@3g"].P50 != 700 || back.Profiles != nil || back.TotalErrors() != 1 {
		t.Errorf("read back: %+v, total errors %d", back.Metrics, back.TotalErrors())
	}
	if names := strings.Join(back.MetricNames(), ","); names != "sos.delivered" {
		t.Errorf("MetricNames = %s", names)
	}

	buf.Reset()
	if err := WriteText(&buf, s); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	if !strings.Contains(text, "per network profile and SOS origin:") || !regexp.MustCompile(`(?m)^\s*3g\s+sos\.delivered\s+2\s.*900ms`).MatchString(text) {
		t.Errorf("summary.txt lacks the 3g line:\n%s", text)
	}
	buf.Reset()
	if err := WriteHTML(&buf, s, nil); err != nil {
		t.Fatal(err)
	}
	if html := buf.String(); !strings.Contains(html, "Per network profile and SOS origin") || !strings.Contains(html, "<b>3g</b>") {
		t.Error("report.html has no per-profile table")
	}
}
