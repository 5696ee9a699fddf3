package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/engine"
	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/refbackend"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// TestMergeTwoShardsEndToEnd runs two shards of one scenario at the same
// time through engine.Run against one reference backend (each with half
// of the 16 users), marks their results as shards 0 and 1 of one run as
// the sharding will, and merges them with `eixamsim merge`: the merged
// counts are the sums, users.online is summed second by second (its
// "max >= 16" rule fails in each shard and holds merged), and the exit
// code is the merged verdict.
func TestMergeTwoShardsEndToEnd(t *testing.T) {
	srv, err := refbackend.Start(context.Background(), refbackend.Config{
		MQTTAddr: "127.0.0.1:0",
		HTTPAddr: "127.0.0.1:0",
		Apps:     map[string][]byte{"merge-app": []byte("merge-secret")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "shard.yaml")
	yaml := `version: 1
name: merge-e2e
target: { http: "` + srv.HTTPURL() + `", mqtt: "` + srv.MQTTURL() + `" }
identity: { app_id: merge-app, app_secret: merge-secret, user_id: "u-{{.N}}" }
fleet: { users: 8, connect_rate: 200/s }
stages: [{ name: steady, for: 4s, users: 8 }]
behaviours:
  login: [me]
  telemetry: { every: 500ms }
thresholds:
  user.login: ["count >= 16"]
  telemetry.puback: ["p(99) < 5s"]
  users.online: ["max >= 16"]
`
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	shards := make([]string, 2)
	results := make([]*engine.Result, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range shards {
		shards[i] = filepath.Join(dir, "shard-"+string(rune('0'+i)))
		// Each shard has its own users (s0-0.., s1-0..): its slice.
		sc, err := scenario.Load(path, scenario.Options{Set: []string{"identity.user_id=s" + string(rune('0'+i)) + "-{{.N}}"}})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = engine.Run(ctx, sc, engine.Options{Dir: shards[i]})
		}()
	}
	wg.Wait()
	var logins int64
	for i, r := range results {
		if r == nil || outcome.Of(errs[i]) == outcome.Failed {
			t.Fatalf("shard %d: %v", i, errs[i])
		}
		logins += r.Summary.Metrics[scenario.UserLogin].Count
		// What the sharding sets in each shard's meta.
		s, err := report.ReadSummaryFile(r.Dir)
		if err != nil {
			t.Fatal(err)
		}
		s.Meta.RunID, s.Meta.Shard = "e2e-run", &report.Shard{Index: i, Count: 2}
		s.Meta.ScenarioHash = results[0].Summary.Meta.ScenarioHash
		if err := report.WriteFileAtomic(filepath.Join(r.Dir, report.SummaryJSONFile), func(w io.Writer) error { return report.WriteJSON(w, s) }); err != nil {
			t.Fatal(err)
		}
	}
	if logins != 16 {
		t.Fatalf("%d logins over both shards, want 16", logins)
	}

	out := filepath.Join(dir, "merged")
	code, stdout, stderr := cli(t, "merge", shards[0], shards[1], "--out", out)
	merged, err := report.ReadSummaryFile(out)
	if err != nil {
		t.Fatalf("exit %d, stderr %s: %v", code, stderr, err)
	}
	want := exitOK
	switch {
	case merged.GeneratorBound():
		want = exitGeneratorBound // a busy test machine; the verdict is still the merged one
	case merged.GeneratorNotJudged():
		want = exitNotJudged // shards too short to judge their generators (docs/health.md)
	}
	if code != want {
		t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, want, stdout, stderr)
	}
	if got := merged.Metrics[scenario.UserLogin].Count; got != 16 {
		t.Errorf("merged user.login count %d, want 16", got)
	}
	var puback int64
	for _, r := range results {
		puback += r.Summary.Metrics[scenario.TelemetryPuback].Count
	}
	if got := merged.Metrics[scenario.TelemetryPuback].Count; got != puback || got == 0 {
		t.Errorf("merged telemetry.puback count %d, want the shards' sum %d", got, puback)
	}
	if merged.UsersOnline == nil || merged.UsersOnline.Peak != 16 {
		t.Errorf("merged users_online %+v, want peak 16", merged.UsersOnline)
	}
	for _, v := range merged.Thresholds {
		if !v.Passed {
			t.Errorf("merged verdict %s failed (observed %s)", v.Name(), v.Observed)
		}
	}
	if m := merged.Meta; m.RunID != "e2e-run" || m.Shard != nil || len(m.Shards) != 2 {
		t.Errorf("merged meta run %q shard %v shards %v", m.RunID, m.Shard, m.Shards)
	}
	if !strings.Contains(stdout, "telemetry.puback") {
		t.Errorf("merge did not print the merged table:\n%s", stdout)
	}
	for _, f := range []string{report.SummaryTextFile, report.ReportHTMLFile, report.JUnitFile, "hdr/telemetry.puback.hlog"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}

	// One shard alone: a partial result, exit 130.
	code, _, stderr = cli(t, "merge", shards[1], "--out", filepath.Join(dir, "partial"))
	if code != exitInterrupted || !strings.Contains(stderr, "partial result: shard 0 of 2 missing") {
		t.Errorf("one of two shards: exit %d, stderr %q; want 130 and the missing shard", code, stderr)
	}
	// The same shard twice: refused, exit 2.
	code, _, stderr = cli(t, "merge", shards[0], shards[0], "--out", filepath.Join(dir, "dup"))
	if code != exitUsage || !strings.Contains(stderr, "are both shard 0/2") {
		t.Errorf("a shard twice: exit %d, stderr %q; want 2 and a refusal", code, stderr)
	}
	code, _, stderr = cli(t, "merge", shards[0])
	if code != exitUsage || !strings.Contains(stderr, "--out") {
		t.Errorf("no --out: exit %d, stderr %q", code, stderr)
	}
}

func TestMergeBaselineMustBeAResultDir(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := cli(t, "merge", dir, "--out", filepath.Join(dir, "out"), "--baseline", filepath.Join(dir, "nope"))
	if code != exitUsage || !strings.Contains(stderr, "merge: baseline:") {
		t.Errorf("exit %d, stderr %q; want %d naming the baseline", code, stderr, exitUsage)
	}
}

// TestMergeShardsWithTheirOwnOut runs two shards of one run as two
// processes, each with its own --out and the same flags otherwise, and
// merges them: the scenario hash covers the load, not the output
// directory, so they are one scenario and merge (exit 0).
func TestMergeShardsWithTheirOwnOut(t *testing.T) {
	t.Parallel()
	srv := demoBackend(t)
	path, out := writeScenario(t, "sharded", externalScenario(2, srv.HTTPURL(), srv.MQTTURL()))
	startAt := time.Now().Add(4 * time.Second).Truncate(time.Second).Format(time.RFC3339)
	waits := make([]func() result, 2)
	dirs := make([]string, 2)
	for i := range 2 {
		own := filepath.Join(out, fmt.Sprintf("machine-%d", i))
		dirs[i] = own + fmt.Sprintf("-shard-%d-of-2", i)
		_, waits[i] = start(t, "run", path, "--shard", fmt.Sprintf("%d/2", i), "--start-at", startAt, "--run-id", "own-out",
			"--out", own, "--no-progress", "--quiet")
	}
	for i, wait := range waits {
		if res := wait(); !completed(res.code) && res.code != exitThresholds {
			t.Fatalf("shard %d: exit %d\nstderr:\n%s", i, res.code, res.stderr)
		}
	}
	a, b := readSummary(t, dirs[0]), readSummary(t, dirs[1])
	if a.Meta.ScenarioHash != b.Meta.ScenarioHash {
		t.Errorf("the shards' scenario hashes differ: %s, %s", a.Meta.ScenarioHash, b.Meta.ScenarioHash)
	}
	code, stdout, stderr := cli(t, "merge", dirs[0], dirs[1], "--out", filepath.Join(out, "merged"))
	if !completed(code) && code != exitGeneratorBound { // 5: shards too short to judge; 4: a busy test machine; the merge still happened
		t.Fatalf("merge: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}
