package procs

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/report"
)

// writeSummary writes a summary.json of shard sh of run id into dir.
func writeSummary(t *testing.T, dir, id string, sh report.Shard, start time.Time) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &report.Summary{Schema: report.SchemaName, Version: report.SchemaVersion, Name: "x",
		Start: start, End: start.Add(time.Second), Meta: &report.Meta{RunID: id, Shard: &sh}}
	if err := report.WriteFileAtomic(filepath.Join(dir, report.SummaryJSONFile), func(w io.Writer) error { return report.WriteJSON(w, s) }); err != nil {
		t.Fatal(err)
	}
}

// TestOwnResults counts a shard's directory as this run's results only
// when its summary.json names this run, this shard, and a start no
// earlier than the run's.
func TestOwnResults(t *testing.T) {
	at := time.Date(2026, 12, 1, 21, 0, 0, 0, time.UTC)
	cfg := Config{Count: 2, RunID: "ci-gate", StartAt: at}
	for _, tc := range []struct {
		name  string
		id    string
		shard report.Shard
		start time.Time
		want  bool
	}{
		{"this run's", "ci-gate", report.Shard{Index: 1, Count: 2}, at.Add(3 * time.Millisecond), true},
		{"an earlier run with the same id", "ci-gate", report.Shard{Index: 1, Count: 2}, at.Add(-20 * time.Second), false},
		{"another run id", "other", report.Shard{Index: 1, Count: 2}, at, false},
		{"another shard", "ci-gate", report.Shard{Index: 0, Count: 2}, at, false},
		{"another shard count", "ci-gate", report.Shard{Index: 1, Count: 3}, at, false},
	} {
		dir := t.TempDir()
		writeSummary(t, dir, tc.id, tc.shard, tc.start)
		if got := cfg.ownResults(dir, 1); got != tc.want {
			t.Errorf("%s: ownResults = %v, want %v", tc.name, got, tc.want)
		}
	}
	if cfg.ownResults(t.TempDir(), 1) {
		t.Error("a directory without summary.json counts as results")
	}
}

// TestExitDied: only a verdict exit code with this run's results is a
// shard to merge; exit 3 (unreachable) and 1 or 2 are failed shards even
// with a summary.json.
func TestExitDied(t *testing.T) {
	for _, code := range []int{0, 4, 5, 99, 100, 130} {
		if (Exit{Code: code, Results: true}).Died() {
			t.Errorf("exit %d with results: a failed shard, want a verdict", code)
		}
		if !(Exit{Code: code}).Died() {
			t.Errorf("exit %d without results: not a failed shard", code)
		}
	}
	for _, code := range []int{-1, 1, 2, 3, 6, 137} {
		if !(Exit{Code: code, Results: true}).Died() {
			t.Errorf("exit %d with results: not a failed shard", code)
		}
	}
	w := &Worker{Index: 1, PID: 42}
	if got := (Exit{Worker: w, Code: 3, Results: true}).String(); !strings.Contains(got, "worker 1 (pid 42) failed: exit status 3 is not a verdict") {
		t.Errorf("String = %q", got)
	}
}

// TestRunIgnoresStaleShards runs two workers that leave nothing of this
// run (a shell that copies an earlier run's summary.json with the same run
// id into its shard directory and exits 0) into a directory a previous
// run filled: the previous files are gone before the workers start, no
// worker counts as having results, and nothing is merged.
func TestRunIgnoresStaleShards(t *testing.T) {
	dir := t.TempDir()
	at := time.Now().Truncate(time.Second)
	stale := filepath.Join(t.TempDir(), "stale")
	writeSummary(t, stale, "ci-gate", report.Shard{Index: 0, Count: 2}, at.Add(-time.Minute))
	writeSummary(t, dir, "ci-gate", report.Shard{Index: 0, Count: 2}, at.Add(-time.Minute)) // as a merge leaves it
	for _, d := range []string{ShardDir(dir, 0, 2), ShardDir(dir, 1, 2), ShardDir(dir, 0, 3)} {
		writeSummary(t, d, "ci-gate", report.Shard{Index: 0, Count: 2}, at.Add(-time.Minute))
	}
	// $1 is the worker's "--shard i/N": copy the stale summary there only
	// after checking that the parent removed the previous one.
	script := `d="` + dir + `/shards/run-shard-${1%/*}-of-2"; test ! -e "$d/summary.json" || exit 7; mkdir -p "$d"; cp "` + stale + `/summary.json" "$d/"`
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Run(ctx, Config{Exe: "/bin/sh", Args: []string{"-c", script}, Count: 2, Dir: dir, RunID: "ci-gate", StartAt: at})
	if !errors.Is(err, ErrNoResults) {
		t.Fatalf("Run: %v; want ErrNoResults", err)
	}
	for _, e := range res.Workers {
		if e.Code != 0 || e.Results || !e.Died() {
			t.Errorf("%s: code %d, results %v; want exit 0 without this run's results", e, e.Code, e.Results)
		}
	}
	for _, gone := range []string{dir, ShardDir(dir, 0, 3)} {
		if _, err := os.Stat(filepath.Join(gone, report.SummaryJSONFile)); !os.IsNotExist(err) {
			t.Errorf("%s: the previous run's summary.json is still there (%v)", gone, err)
		}
	}
}
