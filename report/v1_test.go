package report

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/eixamsim/eixamsim/scenario"
)

// testdata/v1 is a result directory written by eixamsim with schema
// version 1 (a 3 s run of 5 users with telemetry, and thresholds of every
// unit): summary.json, summary.txt and hdr/.

func TestReadV1UpgradesUnits(t *testing.T) {
	s, err := ReadSummaryFile(filepath.Join("testdata", "v1"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != SchemaVersion || s.Name != "v1-fixture" || s.EndReason != EndCompleted || s.Target.Kind != TargetEmbedded {
		t.Errorf("header: v%d %q %q %q", s.Version, s.Name, s.EndReason, s.Target.Kind)
	}
	// Verdicts: durations from seconds to milliseconds, the unit named.
	want := []struct {
		rule  string
		value float64
		unit  Unit
	}{
		{"p(99) < 1s", 6.287, UnitMs},    // v1: 0.006287 (seconds)
		{"errors < 1%", 0, UnitFraction}, // unchanged
		{"rate > 1/s", 9.989555949223755, UnitPerS},
		{"count > 0", 30, UnitCount},
		{"max >= 5", 5, UnitCount}, // a gauge's level, not a duration
	}
	if len(s.Thresholds) != len(want) {
		t.Fatalf("%d verdicts, want %d", len(s.Thresholds), len(want))
	}
	for i, w := range want {
		v := s.Thresholds[i]
		if v.Rule != w.rule || v.Unit != w.unit || !near(v.Value, w.value) || !v.Passed {
			t.Errorf("verdict %d = %+v; want %s = %v %s", i, v, w.rule, w.value, w.unit)
		}
	}
	// Series: t kept (now t_s), microseconds to milliseconds.
	if len(s.Series) < 3 || s.Series[0].T < 0.9 || s.Series[0].T > 1.5 {
		t.Fatalf("series = %+v", s.Series)
	}
	var sawP99 bool
	for _, p := range s.Series {
		st, ok := p.Latencies[scenario.HTTPMe]
		if ok && st.Count > 0 {
			// v1's first interval: http.me p99_us 1710.
			sawP99 = sawP99 || near(st.P99, 1.710)
		}
	}
	if !sawP99 {
		t.Errorf("no http.me interval with p99 1.710 ms: %+v", s.Series)
	}
}

// TestRerenderV1 renders an old result directory: the table is the one
// the old run printed, and the page has every chart.
func TestRerenderV1(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "v1"))); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{SummaryTextFile, ReportHTMLFile, JUnitFile} {
		os.Remove(filepath.Join(dir, f))
	}
	if err := Rerender(dir); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join("testdata", "v1", SummaryTextFile))
	got, err := os.ReadFile(filepath.Join(dir, SummaryTextFile))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("summary.txt re-rendered from v1 differs (%v):\n%s\n---\n%s", err, got, want)
	}
	page, err := os.ReadFile(filepath.Join(dir, ReportHTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"PASSED", `id="users"`, `id="latency-telemetry.puback"`, "v1-app"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if bytes.Contains(page, []byte("No data was recorded")) {
		t.Error("report.html from v1 has an empty chart")
	}
	// summary.json is only read.
	orig, _ := os.ReadFile(filepath.Join("testdata", "v1", SummaryJSONFile))
	kept, _ := os.ReadFile(filepath.Join(dir, SummaryJSONFile))
	if !bytes.Equal(orig, kept) {
		t.Error("Rerender rewrote summary.json")
	}
}

func near(a, b float64) bool {
	d := a - b
	return d < 1e-9 && d > -1e-9
}
