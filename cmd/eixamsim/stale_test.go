package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/eixamsim/eixamsim/internal/testnet"
	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/procs"
	"github.com/eixamsim/eixamsim/refbackend"
	"github.com/eixamsim/eixamsim/report"
)

// The tests in this file run a passing `run --procs 2 --out D --run-id X`
// and then the same command again when it cannot pass: the second run's
// verdict must be its own, never the first run's files read back.

// demoBackend is a reference backend for the test, serving procsScenario's
// app.
func demoBackend(t *testing.T) *refbackend.Server {
	t.Helper()
	return appBackend(t, "demo-app", "demo-secret")
}

// appBackend is a reference backend on loopback for the test, serving one
// app; a test waits on its Stats for what the run has done.
func appBackend(t *testing.T, app, secret string) *refbackend.Server {
	t.Helper()
	srv, err := refbackend.Start(context.Background(), refbackend.Config{
		MQTTAddr: "127.0.0.1:0",
		HTTPAddr: "127.0.0.1:0",
		Apps:     map[string][]byte{app: []byte(secret)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// externalScenario is procsScenario against the target at httpURL and
// mqttURL.
func externalScenario(seconds int, httpURL, mqttURL string) string {
	return strings.Replace(procsScenario(seconds), "identity:", `target: { http: "`+httpURL+`", mqtt: "`+mqttURL+`" }
identity:`, 1)
}

// TestRunProcsAgainAfterTheTargetStopped: the target of a passing run
// stops (its address now refuses connections); the same command exits 3
// (unreachable), and D holds neither the previous summary.json nor its
// junit.xml.
func TestRunProcsAgainAfterTheTargetStopped(t *testing.T) {
	t.Parallel()
	srv := demoBackend(t)
	path, out := writeScenario(t, "gate", externalScenario(2, "${GATE_HTTP}", "${GATE_MQTT}"))
	args := []string{"run", path, "--procs", "2", "--out", out, "--run-id", "ci-gate", "--no-progress"}

	_, wait := startEnv(t, []string{"GATE_HTTP=" + srv.HTTPURL(), "GATE_MQTT=" + srv.MQTTURL()}, args...)
	if res := wait(); !completed(res.code) {
		t.Fatalf("first run: exit %d, want 0 (or 5, too short to judge)\nstderr:\n%s", res.code, res.stderr)
	}
	for _, f := range []string{report.SummaryJSONFile, report.JUnitFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Fatalf("first run: %v", err)
		}
	}

	down := testnet.RefusedAddr(t)
	_, wait = startEnv(t, []string{"GATE_HTTP=http://" + down, "GATE_MQTT=tcp://" + down}, args...)
	res := wait()
	if res.code != exitUnreachable {
		t.Fatalf("second run against the stopped target: exit %d, want %d (unreachable)\nstdout:\n%s\nstderr:\n%s",
			res.code, exitUnreachable, res.stdout, res.stderr)
	}
	for _, f := range []string{report.SummaryJSONFile, report.JUnitFile} {
		if _, err := os.Stat(filepath.Join(out, f)); !os.IsNotExist(err) {
			t.Errorf("the first run's %s is still in %s (%v)", f, out, err)
		}
	}
	if strings.Contains(res.stdout, "PASSED") || strings.Contains(res.stderr, "merged") {
		t.Errorf("the second run merged something:\nstdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	}
}

// TestRunProcsAgainWorkerKilledAtLaunch: in the second run worker 1 is
// killed as soon as it is started, before its users start. Its shard is
// missing (the first run's is not merged in its place): merged 1 of 2,
// partial, exit 130. Both runs hash the scenario the same, although each
// worker runs against its parent's backend on other ports.
func TestRunProcsAgainWorkerKilledAtLaunch(t *testing.T) {
	t.Parallel()
	path, out := writeScenario(t, "procs", procsScenario(2))
	args := []string{"run", path, "--procs", "2", "--out", out, "--run-id", "ci-gate", "--no-progress"}
	if res := eixamsim(t, args...); !completed(res.code) {
		t.Fatalf("first run: exit %d, want 0 (or 5, too short to judge)\nstderr:\n%s", res.code, res.stderr)
	}
	firstHash := readSummary(t, out).Meta.ScenarioHash

	stderr, wait := startLive(t, args...)
	pid, _ := workersStarted(t, stderr)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill worker 1 (pid %d): %v", pid, err)
	}
	res := wait()
	if res.code != exitInterrupted {
		t.Fatalf("exit %d, want %d (partial)\nstdout:\n%s\nstderr:\n%s", res.code, exitInterrupted, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stderr, "merged 1 of 2 shards") {
		t.Errorf("stderr does not say 1 of 2 shards were merged:\n%s", res.stderr)
	}
	merged := readSummary(t, out)
	if got := shardIndexes(merged); !slices.Equal(got, []int{0}) {
		t.Errorf("merged shards %v, want [0]: the first run's shard 1 was taken", got)
	}
	if merged.Meta.ScenarioHash != firstHash {
		t.Errorf("the same command hashed %s, then %s: the hash covers more than the load", firstHash, merged.Meta.ScenarioHash)
	}
	if _, err := os.Stat(filepath.Join(procs.ShardDir(out, 1, 2), report.SummaryJSONFile)); !os.IsNotExist(err) {
		t.Errorf("the first run's shard 1 is still there (%v)", err)
	}
}

// TestVerdictCodesAreTheOutcomes keeps procs.VerdictCodes, the exit codes
// of a worker whose shard counts, the codes of the outcomes that are a
// run's verdict.
func TestVerdictCodesAreTheOutcomes(t *testing.T) {
	verdicts := []outcome.Outcome{outcome.Passed, outcome.GeneratorBound, outcome.NotJudged, outcome.ThresholdsFailed, outcome.Aborted, outcome.Interrupted}
	for o := outcome.Passed; o <= outcome.NotJudged; o++ {
		code := outcomeCode(o)
		if got, want := slices.Contains(procs.VerdictCodes, code), slices.Contains(verdicts, o); got != want {
			t.Errorf("%s (exit %d): in procs.VerdictCodes %v, want %v", o, code, got, want)
		}
	}
	if len(procs.VerdictCodes) != len(verdicts) {
		t.Errorf("procs.VerdictCodes %v has codes of no verdict", procs.VerdictCodes)
	}
}
