package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// report.html explains itself: errors by class with their scrubbed sample
// messages, the generator-health panel, the stage table with users online
// and operations, the metrics without data named, and exact values on
// hover in every chart.
func TestHTMLExplainsItself(t *testing.T) {
	run := makeRun(t)
	pg, err := buildPage(run.sum, run.hs)
	if err != nil {
		t.Fatal(err)
	}

	// Errors: one row per metric and class, with the kept messages.
	rows := map[string]errorRow{}
	for _, r := range pg.Errors {
		rows[r.Metric+" "+r.Class] = r
	}
	if r := rows["http.me http_503"]; r.Count != 4 || len(r.Samples) != 3 {
		t.Errorf("http.me http_503 row = %+v, want 4 errors and 3 samples", r)
	} else if !strings.Contains(r.Samples[0], "503 Service Unavailable") || strings.Contains(r.Samples[0], leakedHash) {
		t.Errorf("sample %q: want the message with the hash scrubbed", r.Samples[0])
	}
	if r := rows["http.me timeout"]; r.Count != 1 || len(r.Samples) != 1 {
		t.Errorf("http.me timeout row = %+v", r)
	}
	if r := rows[emptyMetric+" auth_refused"]; r.Count != 1 || len(r.Samples) != 0 {
		t.Errorf("%s auth_refused row = %+v, want 1 error without a message", emptyMetric, r)
	}

	// No file of the result directory carries the hash.
	entries, _ := os.ReadDir(run.dir)
	for _, e := range entries {
		if b, _ := os.ReadFile(filepath.Join(run.dir, e.Name())); bytes.Contains(b, []byte(leakedHash)) {
			t.Errorf("%s carries the userHash of an error message", e.Name())
		}
	}

	// The metric without a success is named, with why.
	if len(pg.NoData) != 1 || !strings.HasPrefix(pg.NoData[0], emptyMetric+" (every operation failed") {
		t.Errorf("no-data list = %q", pg.NoData)
	}

	// Generator panel: six signals (no connect ramp); the scheduler was
	// over its limit.
	if len(pg.GenPanel) != 6 || !strings.HasPrefix(pg.GenVerdict, "Healthy") {
		t.Fatalf("generator panel = %q %+v", pg.GenVerdict, pg.GenPanel)
	}
	for _, r := range pg.GenPanel {
		if over := r.Signal == "Go scheduler latency"; (r.Class != "") != over {
			t.Errorf("generator row %+v: marked %q", r, r.Class)
		}
	}

	// Stages: users online and every operation of the series, once.
	var ops int64
	for _, p := range run.sum.Series {
		for _, st := range p.Latencies {
			ops += st.Count
		}
	}
	var staged int64
	for _, r := range pg.Stages {
		var n int64
		if _, err := fmt.Sscan(r.Operations, &n); err != nil {
			t.Fatal(err)
		}
		staged += n
	}
	if staged != ops || pg.Stages[0].Online != "20..100" || pg.Stages[1].Errors != "6" {
		t.Errorf("stages = %+v (operations add up to %d, want %d)", pg.Stages, staged, ops)
	}

	// The errors chart stacks the two classes of http.me and the third.
	var errs *chartView
	for i := range pg.Timeline {
		if pg.Timeline[i].ID == "errors" {
			errs = &pg.Timeline[i]
		}
	}
	if errs == nil || len(errs.Legend) != 3 {
		t.Fatalf("errors chart legend = %+v", errs)
	}
	if !strings.Contains(string(errs.SVG), "<title>http.me: http_503 at 11s: 1 errors/s (1 errors)</title>") {
		t.Errorf("errors chart lacks the hover of the first http_503 second")
	}

	// Hover: every chart has titles; the first interval of the
	// telemetry.puback chart shows that second's exact p99.
	for _, c := range append(append([]chartView{}, pg.Timeline...), append(pg.Latency, *pg.Dist)...) {
		if n := strings.Count(string(c.SVG), "<title>"); n < 10 {
			t.Errorf("chart %s has %d <title> elements", c.ID, n)
		}
	}
	first := run.hs["telemetry.puback"][0]
	p99 := fmtMs(float64(microsAt(first.Hist, 99)) / 1000)
	want := "<title>p99 at " + fmtSeconds(first.End()) + ": " + p99 + "</title>"
	for _, c := range pg.Latency {
		if c.ID == "latency-telemetry.puback" && !strings.Contains(string(c.SVG), want) {
			t.Errorf("telemetry.puback chart lacks %s", want)
		}
	}
	// Hover circles sit inside the chart's viewBox.
	circle := regexp.MustCompile(`<circle cx="([0-9.]+)" cy="([0-9.]+)"`)
	for _, m := range circle.FindAllStringSubmatch(string(pg.Dist.SVG), -1) {
		var x, y float64
		fmt.Sscan(m[1], &x)
		fmt.Sscan(m[2], &y)
		if x < 0 || x > wideWidth || y < 0 || y > chartHeight {
			t.Fatalf("hover point at %v,%v is outside the chart", x, y)
		}
	}
}

// Secrets in error messages are scrubbed, other words kept.
func TestScrubMessage(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"dial tcp 127.0.0.1:1883: connection refused", "dial tcp 127.0.0.1:1883: connection refused"},
		{"GET /v1/sdk/me?hash=abc123&x=1: 401", "GET /v1/sdk/me?hash=[redacted]&x=1: 401"},
		{"password: hunter2 refused", "password: [redacted] refused"},
		{"Authorization: Bearer eyJhbGciOi.x.y failed", "Authorization: [redacted] failed"},
		{"user " + leakedHash + " not authorized", "user [redacted] not authorized"},
		{"app_secret=demo-secret", "app_secret=[redacted]"},
		{"token " + strings.Repeat("QWxhZGRpbjpvcGVuIHNlc2FtZQ", 2) + "== expired", "token [redacted] expired"},
	} {
		if got := ScrubMessage(tc.in); got != tc.want {
			t.Errorf("ScrubMessage(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
