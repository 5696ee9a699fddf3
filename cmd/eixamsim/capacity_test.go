package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eixamsim/eixamsim/capacity"
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
		{"ceiling beyond one process", []string{"capacity", path, "--start", "10", "--max", "9000000"}, "the search runs in one process"},
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
