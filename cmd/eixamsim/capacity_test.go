package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/eixamsim/eixamsim/capacity"
	"github.com/eixamsim/eixamsim/procs"
	"github.com/eixamsim/eixamsim/refbackend"
)

// capacityScenario is a small search against the embedded backend with a
// known telemetry limit of 100/s: 20 users each publishing every second.
const capacityScenario = `version: 1
name: cap
target: { embedded: { capacity: "telemetry=100/s,queue=250ms" } }
identity: { app_id: e2e, app_secret: e2e-secret }
fleet: { users: 20, connect_rate: 200/s }
duration: 5s
behaviours:
  login: [me]
  telemetry: { every: 1s }
`

func TestCapacityUsageExits2(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cap.yaml")
	if err := os.WriteFile(path, []byte(capacityScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no block, no start", []string{"capacity", path}, "capacity.start: required"},
		{"bad dimension", []string{"capacity", path, "--start", "10", "--max", "20", "--dimension", "sos.rate"}, "needs behaviours.sos"},
		{"bad resolution", []string{"capacity", path, "--start", "10", "--max", "20", "--resolution", "half"}, "--resolution"},
		{"ceiling under start", []string{"capacity", path, "--start", "10", "--max", "5"}, "capacity.max"},
		// More worker processes than this machine has cores: still a usage error.
		{"ceiling beyond what auto can place", []string{"capacity", path, "--start", "10", "--max", "9000000"}, "the ceiling (capacity.max 9e+06 users)"},
		{"--procs beyond its range", []string{"capacity", path, "--start", "10", "--max", "20", "--procs", "0"}, "--procs"},
		{"a worker's flag", []string{"capacity", path, "--start", "10", "--max", "20", "--shard", "0/2"}, "for the worker processes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := cli(t, tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d containing %q", code, stderr, exitUsage, tt.want)
			}
		})
	}
}

// TestCapacityRuns runs a search whose ceiling (40 users) is under the
// backend's limit: the ceiling holds. The exit code is the outcome's, and
// the three files are written beside the run's.
func TestCapacityRuns(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cap.yaml")
	if err := os.WriteFile(path, []byte(capacityScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, stdout, stderr := cli(t, "capacity", path, "--start", "20", "--max", "40", "--warmup", "1s", "--hold", "1s", "--out", out)
	var res struct {
		Outcome string
		Steps   []json.RawMessage
	}
	data, err := os.ReadFile(filepath.Join(out, capacity.JSONFile))
	if err != nil || json.Unmarshal(data, &res) != nil {
		t.Fatalf("capacity.json: %v (exit %d, stderr %s)", err, code, stderr)
	}
	// The machine may be too busy for the generator's health limits: then
	// the search is inconclusive and exits 4; otherwise the ceiling holds.
	want := map[string]int{capacity.OutcomeCeiling: exitOK, capacity.OutcomeInconclusive: exitGeneratorBound}
	if w, ok := want[res.Outcome]; !ok || code != w {
		t.Fatalf("outcome %s, exit %d; want ceiling_holds (exit 0) or inconclusive (exit 4)\n%s", res.Outcome, code, stderr)
	}
	if res.Outcome == capacity.OutcomeCeiling && (len(res.Steps) != 2 || !strings.Contains(stdout, "holds 40 users")) {
		t.Errorf("%d steps, stdout %q; want 2 steps and the headline", len(res.Steps), stdout)
	}
	for _, f := range []string{capacity.TextFile, capacity.HTMLFile, "summary.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}

// TestCapacityAutoWorkers searches a ceiling of 200 users that one
// process cannot hold under an open-files limit of 300 (200 MQTT
// connections + a 64-connection HTTP pool + 64 spare): without --procs
// the search says so on stderr and runs in 2 worker processes (100 users
// each fit), against a backend in this test process. The ceiling holds
// (or, on a machine too busy, the search is inconclusive), the files are
// written and both shards are there.
func TestCapacityAutoWorkers(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("auto refuses more worker processes than cores")
	}
	bin := eixamsimBinary(t)
	srv, err := refbackend.Start(context.Background(), refbackend.Config{
		MQTTAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		Apps: map[string][]byte{"auto-app": []byte("auto-secret")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	path, out := writeScenario(t, "auto", `version: 1
name: capacity-auto
target: { http: "`+srv.HTTPURL()+`", mqtt: "`+srv.MQTTURL()+`" }
identity: { app_id: auto-app, app_secret: auto-secret }
fleet: { users: 10, connect_rate: 400/s }
duration: 5s
behaviours:
  login: [me]
  telemetry: { every: 1s }
capacity: { dimension: users, start: 200, max: 200, warmup: 1s, hold: 1s }
`)
	cmd := exec.Command("sh", "-c", `ulimit -n 300 && exec "$0" "$@"`, bin, "capacity", path, "--out", out)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if err != nil && code <= 0 {
		t.Fatal(err)
	}
	if want := "searching with 2 worker process(es) (--procs auto)"; !strings.Contains(stderr.String(), want) {
		t.Fatalf("stderr does not say %q (exit %d):\n%s", want, code, stderr.String())
	}
	var res struct{ Outcome string }
	data, err := os.ReadFile(filepath.Join(out, capacity.JSONFile))
	if err != nil || json.Unmarshal(data, &res) != nil {
		t.Fatalf("capacity.json: %v (exit %d)\n%s", err, code, stderr.String())
	}
	want := map[string]int{capacity.OutcomeCeiling: exitOK, capacity.OutcomeInconclusive: exitGeneratorBound}
	if w, ok := want[res.Outcome]; !ok || code != w {
		t.Fatalf("outcome %s, exit %d; want ceiling_holds (exit 0) or inconclusive (exit 4)\n%s", res.Outcome, code, stderr.String())
	}
	if res.Outcome == capacity.OutcomeCeiling && !strings.Contains(stdout.String(), "holds 200 users") {
		t.Errorf("stdout %q: want the headline", stdout.String())
	}
	for i := range 2 {
		if _, err := os.Stat(filepath.Join(procs.ShardDir(out, i, 2), "summary.json")); err != nil {
			t.Error(err)
		}
	}
}
