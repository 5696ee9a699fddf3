package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eixamsim/eixamsim/compare"
)

// TestCompareExitCodes runs one short embedded run with the binary, then
// compares it with itself and with a copy that lost a metric, through the
// binary, checking each exit code of docs/ci.md.
func TestCompareExitCodes(t *testing.T) {
	t.Parallel()
	path, base := writeScenario(t, "cmp", header+`name: cmp
duration: 3s
`)
	if r := eixamsim(t, "run", path, "--no-progress", "--out", base); !completed(r.code) {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	out := filepath.Join(t.TempDir(), "cmp")
	notDir := t.TempDir()
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // a line stdout must contain
		stderr string // the last line of stderr must contain
	}{
		{"no rules", []string{base, base}, exitOK, "http.me: WITHIN NOISE", ""},
		{"rule held", []string{base, base, "--fail-on", "http.me: p(99) > +10%", "-o", out}, exitOK, "ok      http.me: p(99) > +10% (observed +0%, not enough samples)", ""},
		{"rule broken", []string{base, base, "--fail-on", "http.me: count >= +0%", "--fail-on", "user.login: p(50) > +1%"}, exitThresholds,
			"BROKEN  http.me: count >= +0% (observed +0%)", "1 of 2 --fail-on rules broken: http.me: count >= +0% (observed +0%)"},
		{"unknown metric", []string{base, base, "--fail-on", "http.nope: p(99) > +10%"}, exitUsage, "", `unknown metric "http.nope"`},
		{"bad rule", []string{base, base, "--fail-on", "http.me: p99 > 10%"}, exitUsage, "", "want METRIC: AGG OP VALUE"},
		{"not a result directory", []string{base, notDir}, exitUsage, "", "not a result directory"},
		{"one directory", []string{base}, exitUsage, "", "want exactly two result directories"},
		{"bad min change", []string{base, base, "--min-change", "lots"}, exitUsage, "", "--min-change"},
	} {
		r := eixamsim(t, append([]string{"compare"}, tc.args...)...)
		if r.code != tc.code {
			t.Errorf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tc.name, r.code, tc.code, r.stdout, r.stderr)
			continue
		}
		if !strings.Contains(r.stdout, tc.stdout) {
			t.Errorf("%s: stdout lacks %q:\n%s", tc.name, tc.stdout, r.stdout)
		}
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if last := lines[len(lines)-1]; !strings.Contains(last, tc.stderr) {
			t.Errorf("%s: last line of stderr %q lacks %q", tc.name, last, tc.stderr)
		}
	}
	// -o (--out) wrote the three files, and compare.txt is what stdout showed.
	for _, f := range []string{compare.JSONFile, compare.TextFile, compare.HTMLFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("--out: %v", err)
		}
	}
	page, _ := os.ReadFile(filepath.Join(out, compare.HTMLFile))
	if !strings.Contains(string(page), "<title>BASE p50") {
		t.Errorf("compare.html has no hover titles")
	}
}
