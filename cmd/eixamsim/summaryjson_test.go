package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eixamsim/eixamsim/report"
)

// checkSummaryOnStdout asserts that r's stdout is exactly the summary.json
// of dir, parseable, and that the table went to stderr.
func checkSummaryOnStdout(t *testing.T, r result, dir string) {
	t.Helper()
	file, err := os.ReadFile(filepath.Join(dir, report.SummaryJSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var s report.Summary
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil || dec.More() {
		t.Fatalf("stdout is not one summary.json (%v):\n%s", err, r.stdout)
	}
	if r.stdout != string(file) {
		t.Errorf("stdout differs from %s", filepath.Join(dir, report.SummaryJSONFile))
	}
	if len(s.Metrics) == 0 {
		t.Errorf("the summary has no metrics:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "telemetry.puback") {
		t.Errorf("the table is not on stderr:\n%s", r.stderr)
	}
}

// --summary-json - is for a pipeline: stdout is summary.json and nothing
// else, with --quiet's verdict line on stderr; --summary-json FILE writes
// the same bytes to FILE and leaves stdout as it was.
func TestSummaryJSON(t *testing.T) {
	t.Parallel()
	path, out := writeScenario(t, "sj", procsScenario(2))
	r := eixamsim(t, "run", path, "--out", out, "--summary-json", "-")
	if !completed(r.code) {
		t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	checkSummaryOnStdout(t, r, out)

	file := filepath.Join(t.TempDir(), "s.json")
	r = eixamsim(t, "run", path, "--out", out, "--summary-json", file, "--quiet")
	if !completed(r.code) || !strings.HasPrefix(r.stdout, "eixamsim: ") || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("--quiet --summary-json FILE: exit %d, stdout %q\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	got, err := os.ReadFile(file)
	want, _ := os.ReadFile(filepath.Join(out, report.SummaryJSONFile))
	if err != nil || !bytes.Equal(got, want) || !json.Valid(got) {
		t.Errorf("%s: %v, %d bytes; want the %d of summary.json", file, err, len(got), len(want))
	}
}
