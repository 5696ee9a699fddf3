package main

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/procs"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// procsScenario is a small embedded-backend scenario for --procs: 10
// users (5 per worker with --procs 2), telemetry twice a second.
func procsScenario(seconds int) string {
	return `version: 1
name: procs-e2e
identity: { app_id: demo-app, app_secret: demo-secret, user_id: "p-{{.N}}" }
fleet: { users: 10, connect_rate: 100/s }
stages: [{ name: steady, for: ` + strconv.Itoa(seconds) + `s, users: 10 }]
behaviours:
  login: [me]
  telemetry: { every: 500ms }
thresholds:
  user.login: ["count >= 10", "errors <= 0%"]
  users.online: ["max >= 10"]
`
}

// TestRunProcsMergesWorkers runs `run --procs 2` through the built binary
// on the embedded backend: one result directory, the two shards under
// shards/, merged counts equal to the shards' sums, users.online summed
// (its "max >= 10" holds only merged: each worker has 5), exit 0.
func TestRunProcsMergesWorkers(t *testing.T) {
	path, out := writeScenario(t, "procs", procsScenario(4))
	res := eixamsim(t, "run", path, "--procs", "2", "--out", out, "--no-progress")
	if !completed(res.code) {
		t.Fatalf("exit %d, want 0 or 5\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	merged := readSummary(t, out)
	if got := merged.Meta.Shards; len(got) != 2 {
		t.Fatalf("merged shards %v, want 2", got)
	}
	if merged.Meta.RunID == "" {
		t.Error("merged run id is empty")
	}
	var logins, puback int64
	for i := range 2 {
		s := readSummary(t, procs.ShardDir(out, i, 2))
		if s.Meta.Shard == nil || s.Meta.Shard.Index != i || s.Meta.RunID != merged.Meta.RunID {
			t.Errorf("shard %d: meta shard %+v run %q, want index %d of run %q", i, s.Meta.Shard, s.Meta.RunID, i, merged.Meta.RunID)
		}
		logins += s.Metrics[scenario.UserLogin].Count
		puback += s.Metrics[scenario.TelemetryPuback].Count
	}
	if got := merged.Metrics[scenario.UserLogin].Count; got != 10 || logins != 10 {
		t.Errorf("user.login merged %d, shards together %d; want 10 and 10", got, logins)
	}
	if got := merged.Metrics[scenario.TelemetryPuback].Count; got != puback || got == 0 {
		t.Errorf("telemetry.puback merged %d, shards together %d", got, puback)
	}
	for _, v := range merged.Thresholds {
		if !v.Passed {
			t.Errorf("threshold %s failed on the merged data: %s", v.Name(), v.Observed)
		}
	}
	if !strings.Contains(res.stderr, "2 worker processes") {
		t.Errorf("stderr does not say the workers ran:\n%s", res.stderr)
	}
}

// TestRunProcsWorkerKilled kills worker 1 with SIGKILL once every user is
// online: the parent names it with its pid, merges worker 0's shard,
// and the verdict is partial (exit 130, as merge gives for a missing
// shard).
func TestRunProcsWorkerKilled(t *testing.T) {
	srv := demoBackend(t)
	path, out := writeScenario(t, "procs", externalScenario(6, srv.HTTPURL(), srv.MQTTURL()))
	stderr, wait := startLive(t, "run", path, "--procs", "2", "--out", out, "--no-progress")
	pid, _ := workersStarted(t, stderr)
	waitFor(t, time.Minute, "10 MQTT sessions at the backend", func() bool { return srv.Stats().MQTT.ConnectsAccepted >= 10 })
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill worker 1 (pid %d): %v", pid, err)
	}
	res := wait()
	if res.code != exitInterrupted {
		t.Fatalf("exit %d, want %d (partial)\nstdout:\n%s\nstderr:\n%s", res.code, exitInterrupted, res.stdout, res.stderr)
	}
	if want := "worker 1 (pid " + strconv.Itoa(pid) + ") died: signal: killed"; !strings.Contains(res.stderr, want) {
		t.Errorf("stderr does not name the dead worker (%q):\n%s", want, res.stderr)
	}
	merged := readSummary(t, out)
	if got := shardIndexes(merged); !slices.Equal(got, []int{0}) {
		t.Errorf("merged shards %v, want [0]", got)
	}
	if merged.EndReason != report.EndInterrupted {
		t.Errorf("end reason %q, want %q", merged.EndReason, report.EndInterrupted)
	}
	if !slices.ContainsFunc(merged.Notes, func(n string) bool { return strings.Contains(n, "partial result: shard 1 of 2 missing") }) {
		t.Errorf("notes do not say the result is partial: %q", merged.Notes)
	}
	if got := merged.Metrics[scenario.UserLogin].Count; got != 5 {
		t.Errorf("user.login %d, want worker 0's 5", got)
	}
}

// TestRunProcsInterrupt sends SIGINT to the parent once every user is
// online: each worker gets it once, stops and writes its results,
// both shards are merged, and the run is interrupted (exit 130).
func TestRunProcsInterrupt(t *testing.T) {
	srv := demoBackend(t)
	path, out := writeScenario(t, "procs", externalScenario(30, srv.HTTPURL(), srv.MQTTURL()))
	stderr, wait := startLive(t, "run", path, "--procs", "2", "--out", out, "--no-progress")
	workersStarted(t, stderr)
	waitFor(t, time.Minute, "10 MQTT sessions at the backend", func() bool { return srv.Stats().MQTT.ConnectsAccepted >= 10 })
	if err := stderr.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	res := wait()
	if res.code != exitInterrupted {
		t.Fatalf("exit %d, want %d\nstderr:\n%s", res.code, exitInterrupted, res.stderr)
	}
	if res.elapsed > 25*time.Second {
		t.Errorf("took %v: the workers did not stop at the interrupt", res.elapsed)
	}
	merged := readSummary(t, out)
	if got := shardIndexes(merged); !slices.Equal(got, []int{0, 1}) {
		t.Errorf("merged shards %v, want [0 1]", got)
	}
	if got := merged.Metrics[scenario.UserLogin].Count; got != 10 {
		t.Errorf("user.login %d, want 10", got)
	}
	if merged.EndReason != report.EndInterrupted {
		t.Errorf("end reason %q, want %q", merged.EndReason, report.EndInterrupted)
	}
}

// liveRun is a running binary whose stderr can be read while it runs.
type liveRun struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
}

// startLive starts the binary with args; wait collects its result.
func startLive(t *testing.T, args ...string) (*liveRun, func() result) {
	t.Helper()
	cmd, wait := start(t, args...)
	return &liveRun{cmd: cmd, stderr: cmd.Stderr.(*syncBuffer)}, wait
}

var (
	pidsRE    = regexp.MustCompile(`\(pids (\d+) (\d+)\)`)
	startAtRE = regexp.MustCompile(`starting at (\S+) \(run id`)
)

// workersStarted waits (up to 30 s) for the line that says the workers
// run, and returns worker 1's pid and when the users start.
func workersStarted(t *testing.T, r *liveRun) (pid1 int, at time.Time) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		text := r.stderr.String()
		p, s := pidsRE.FindStringSubmatch(text), startAtRE.FindStringSubmatch(text)
		if p == nil || s == nil {
			continue
		}
		pid1, _ = strconv.Atoi(p[2])
		at, err := time.Parse(time.RFC3339, s[1])
		if err != nil {
			t.Fatal(err)
		}
		return pid1, at
	}
	t.Fatalf("no running line within 30 s:\n%s", r.stderr.String())
	return 0, time.Time{}
}

// shardIndexes are the indexes of a merged result's shards.
func shardIndexes(s *report.Summary) []int {
	var out []int
	for _, sh := range s.Meta.Shards {
		out = append(out, sh.Index)
	}
	return out
}

// TestRunProcsBaseline judges a baseline rule of a --procs run on the
// merged data: "count >= baseline" holds merged (10 logins, as the
// baseline) though each worker's shard has 5.
func TestRunProcsBaseline(t *testing.T) {
	base := t.TempDir()
	path, _ := writeScenario(t, "procs", procsScenario(2))
	if res := eixamsim(t, "run", path, "--out", base, "--no-progress", "--quiet"); !completed(res.code) {
		t.Fatalf("baseline run: exit %d\n%s", res.code, res.stderr)
	}
	withRule := strings.Replace(procsScenario(2), `user.login: ["count >= 10",`, `user.login: ["count >= baseline",`, 1)
	path, out := writeScenario(t, "procs-baseline", withRule)
	res := eixamsim(t, "run", path, "--procs", "2", "--baseline", base, "--out", out, "--no-progress")
	if !completed(res.code) {
		t.Fatalf("exit %d, want 0 or 5\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	merged := readSummary(t, out)
	i := slices.IndexFunc(merged.Thresholds, func(v report.Verdict) bool { return v.Name() == scenario.UserLogin+": count >= baseline" })
	if i < 0 {
		t.Fatalf("no verdict of the baseline rule among %+v", merged.Thresholds)
	}
	if v := merged.Thresholds[i]; !v.Passed || v.Value != 10 {
		t.Errorf("merged %s: passed %v, observed %v; want 10 against the baseline's 10", v.Name(), v.Passed, v.Value)
	}
}
