package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A baseline rule without --baseline is exit 2 from validate and run, at
// the rule's line and column, before anything runs; a --baseline that is
// no result directory is exit 2 too. A real baseline makes it valid.
func TestBaselineFlag(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "b.yaml")
	out := filepath.Join(dir, "out")
	yaml := header + "name: b\nduration: 2s\nthresholds:\n  http.me: [\"p(99) < baseline * 1.1\"]\n"
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	want := path + `:8:13: thresholds.http.me[0]: "p(99) < baseline * 1.1" compares with a baseline run: give one with --baseline DIR`
	for _, args := range [][]string{{"validate", path}, {"run", path, "--out", out}} {
		code, _, stderr := cli(t, args...)
		if code != exitUsage || !strings.Contains(stderr, want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", args, code, stderr, want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("run without --baseline left a result directory")
	}
	for _, args := range [][]string{{"validate", path, "--baseline", dir}, {"run", path, "--baseline", dir, "--out", out}} {
		code, _, stderr := cli(t, args...)
		if code != exitUsage || !strings.Contains(stderr, "has no summary.json: not a result directory") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and not a result directory", args, code, stderr)
		}
	}

	// A real baseline: the run of a scenario without the rule.
	plain := filepath.Join(dir, "plain.yaml")
	if err := os.WriteFile(plain, []byte(header+"name: plain\nduration: 2s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "base")
	if code, _, stderr := cli(t, "run", plain, "--out", base, "--no-progress", "--quiet"); !completed(code) {
		t.Fatalf("baseline run: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := cli(t, "validate", path, "--baseline", base)
	if code != 0 || !strings.Contains(stdout, "b.yaml: ok") || stderr != "" {
		t.Errorf("validate --baseline: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
