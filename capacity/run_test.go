package capacity

import (
	"context"
	"encoding/json"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/health"
	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/scenario"
)

// The embedded backend's telemetry resource serves exactly 100 publishes a
// second (docs/refbackend.md, capacity model): the known limit the tests
// search for.
const knownLimit = 100.0

// relaxed are the health limits of the tests that find the limit: only a
// simulator that starts its sends late for a whole hold window is
// generator-bound. On a shared 2-core machine under -race, the default
// limits (CPU, Go scheduler latency) trip on other processes' work; the
// generator's verdict is tested on its own in TestStarvedGenerator.
var relaxed = health.Limits{ScheduleLagP99: 250 * time.Millisecond, Sustain: 2 * time.Second}

// loadScenario parses yaml in a file of its own, results beside it.
func loadScenario(t *testing.T, yaml string) *scenario.Scenario {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "capacity.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "results")
	sc, err := scenario.Load(path, scenario.Options{OutDir: &out})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// search runs a search with a deadline and checks its files.
func search(t *testing.T, sc *scenario.Scenario, lim health.Limits) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	began := time.Now()
	res, err := Run(ctx, sc, Options{Health: &lim, OnStep: func(st StepResult) {
		t.Logf("step %d: load %v %s (offered %.0f/s, achieved %.0f/s, errors %s) %v",
			st.Index, st.Load, st.Verdict, st.OfferedPerSecond, st.AchievedPerSecond, pctString(st.ErrorShare), st.Failed)
	}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("%s (%d steps, %v)", res.Headline, len(res.Steps), time.Since(began).Round(time.Second))
	var back struct {
		Outcome string
		Steps   []json.RawMessage
	}
	data, err := os.ReadFile(filepath.Join(res.RunDir, JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &back); err != nil || back.Outcome != res.Outcome || len(back.Steps) != len(res.Steps) {
		t.Errorf("capacity.json does not read back as the result: %v, outcome %q, %d steps", err, back.Outcome, len(back.Steps))
	}
	// Each file carries the search's own result, not only a shell: the
	// headline in the text and the page, a run's summary in summary.json.
	for f, want := range map[string]string{TextFile: res.Headline, HTMLFile: html.EscapeString(res.Headline), "summary.json": `"metrics"`} {
		data, err := os.ReadFile(filepath.Join(res.RunDir, f))
		if err != nil || !strings.Contains(string(data), want) {
			t.Errorf("%s: %v (%d bytes): want it to hold %q", f, err, len(data), want)
		}
	}
	return res
}

// checkFound asserts a search found the known limit within ±10 %.
func checkFound(t *testing.T, res *Result) {
	t.Helper()
	if res.Outcome != OutcomeFound {
		t.Fatalf("outcome %s, want %s: %s", res.Outcome, OutcomeFound, res.Headline)
	}
	if res.HighestPass < 0.9*knownLimit || res.HighestPass > 1.1*knownLimit {
		t.Errorf("highest passing load %v, want within 10%% of %v", res.HighestPass, knownLimit)
	}
	if res.FirstFail <= res.HighestPass || res.FirstFail-res.HighestPass > res.Capacity.Resolution*res.HighestPass+1 {
		t.Errorf("first failing load %v is not just above the highest passing %v", res.FirstFail, res.HighestPass)
	}
}

// checkGrew checks that the fleet grew between steps: only the users each
// step added connected (a step below the one before stops users; the next
// one above starts them again).
func checkGrew(t *testing.T, res *Result) {
	t.Helper()
	var sum struct {
		Metrics map[string]struct {
			Count int64 `json:"count"`
		} `json:"metrics"`
	}
	data, _ := os.ReadFile(filepath.Join(res.RunDir, "summary.json"))
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatal(err)
	}
	added, online := 0, 0
	for _, st := range res.Steps {
		added += max(st.Users-online, 0)
		online = st.Users
	}
	if n := sum.Metrics[scenario.MQTTConnect].Count; n != int64(added) {
		t.Errorf("%d MQTT connects, want %d (the users each step added): the fleet reconnected between steps", n, added)
	}
}

// TestFindsRateLimit grows telemetry's fleet-wide arrival rate with 60
// users online: more than the backend's queue holds (250 ms × 100/s), so
// an overload is refused at once rather than waiting in the users'
// sockets, which would take the next steps' warm-ups to drain.
func TestFindsRateLimit(t *testing.T) {
	sc := loadScenario(t, `version: 1
name: capacity-rate
target: { embedded: { capacity: "telemetry=100/s,queue=250ms" } }
identity: { app_id: cap, app_secret: cap-secret }
fleet: { users: 60, connect_rate: 200/s }
duration: 10s
behaviours:
  login: [me]
  telemetry: { rate: 10/s }
thresholds:
  telemetry.puback: ["p(99) < 500ms"]
capacity: { dimension: telemetry.rate, start: 60, max: 400, resolution: 5%, warmup: 2s, hold: 2s }
`)
	res := search(t, sc, relaxed)
	checkFound(t, res)
	if res.Unit != "telemetry/s" {
		t.Errorf("unit %q, want telemetry/s", res.Unit)
	}
}

// TestStarvedGenerator gives the generator no room at all (any CPU use is
// over its limit): the first step is inconclusive, never a backend
// failure, and the search stops there.
func TestStarvedGenerator(t *testing.T) {
	sc := loadScenario(t, `version: 1
name: capacity-starved
target: { embedded: { capacity: "telemetry=100/s,queue=250ms" } }
identity: { app_id: cap, app_secret: cap-secret }
fleet: { users: 10, connect_rate: 500/s }
duration: 10s
behaviours:
  login: [me]
  telemetry: { every: 1s, jitter: 50% }
capacity: { dimension: users, start: 50, max: 600, warmup: 1s, hold: 2s }
`)
	res := search(t, sc, health.Limits{CPU: 1e-9})
	if res.Outcome != OutcomeInconclusive || len(res.Steps) != 1 {
		t.Fatalf("outcome %s after %d steps, want %s after 1: %s", res.Outcome, len(res.Steps), OutcomeInconclusive, res.Headline)
	}
	st := res.Steps[0]
	if st.Verdict != VerdictInconclusive || st.Generator.State != health.GeneratorBound {
		t.Errorf("step verdict %s, generator %s; want inconclusive, generator_bound", st.Verdict, st.Generator.State)
	}
	if res.FirstFail != 0 || !strings.Contains(res.Headline, "generator-bound") || len(res.Advice) == 0 {
		t.Errorf("first fail %v, headline %q, advice %q: want no failure, a generator-bound headline and advice",
			res.FirstFail, res.Headline, res.Advice)
	}
}

// TestCeilingBeyondOneProcess: a search in this process (no Workers)
// refuses a ceiling one process cannot hold, before any traffic, and
// says how to search it with worker processes; AutoWorkers places it,
// unless it needs more workers than cores.
func TestCeilingBeyondOneProcess(t *testing.T) {
	sc := loadScenario(t, `version: 1
name: capacity-huge
identity: { app_id: cap, app_secret: cap-secret }
fleet: { users: 10 }
duration: 10s
behaviours: { login: [me], telemetry: { every: 1s } }
capacity: { dimension: users, start: 100, max: 5000000 }
`)
	_, err := Run(context.Background(), sc, Options{})
	if outcome.Of(err) != outcome.BadInput || !strings.Contains(err.Error(), "--procs auto") {
		t.Fatalf("err %v, want bad input pointing to --procs auto", err)
	}
	if OneProcess(sc) == nil {
		t.Error("OneProcess: a ceiling of 5,000,000 users fits one process")
	}
	if _, err := AutoWorkers(sc, 20000, 2); err == nil || !strings.Contains(err.Error(), "more than this machine's 2 cores") {
		t.Errorf("AutoWorkers: %v, want a refusal naming the cores", err)
	}
}

// TestAutoWorkers places a 200-user ceiling against an external target
// (200 MQTT connections, a 64-connection HTTP pool, 64 spare: 328 open
// files in one process) by the open-files limit, capped by the cores.
func TestAutoWorkers(t *testing.T) {
	sc := loadScenario(t, `version: 1
name: capacity-auto
target: { http: "http://127.0.0.1:1", mqtt: "tcp://127.0.0.1:1" }
identity: { app_id: cap, app_secret: cap-secret }
fleet: { users: 10 }
duration: 10s
behaviours: { login: [me], telemetry: { every: 1s } }
capacity: { dimension: users, start: 100, max: 200 }
`)
	for _, tc := range []struct {
		fds, cores, want int
		err              string
	}{
		{fds: 20000, cores: 2, want: 1},
		{fds: 328, cores: 2, want: 1},
		{fds: 300, cores: 2, want: 2}, // 100 users + 64 + 64 each
		{fds: 300, cores: 1, err: "more than this machine's 1 cores"},
		{fds: 100, cores: 8, err: "fits"}, // the HTTP pool (64 at least) and 64 spare never fit 100
	} {
		got, err := AutoWorkers(sc, tc.fds, tc.cores)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%d fds, %d cores: %d, %v; want an error with %q", tc.fds, tc.cores, got, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%d fds, %d cores: %d, %v; want %d", tc.fds, tc.cores, got, err, tc.want)
		}
	}
}

// TestInterrupted cancels the search once its first step is judged: the
// steps done so far are reported, in the files too, and the error says
// the run was interrupted.
func TestInterrupted(t *testing.T) {
	sc := loadScenario(t, `version: 1
name: capacity-interrupted
target: { embedded: { capacity: "telemetry=100/s,queue=250ms" } }
identity: { app_id: cap, app_secret: cap-secret }
fleet: { users: 10, connect_rate: 200/s }
duration: 10s
behaviours:
  login: [me]
  telemetry: { every: 1s }
capacity: { dimension: users, start: 20, max: 400, warmup: 1s, hold: 1s }
`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lim := relaxed
	res, err := Run(ctx, sc, Options{Health: &lim, OnStep: func(StepResult) { cancel() }})
	if outcome.Of(err) != outcome.Interrupted || res == nil {
		t.Fatalf("result %v, err %v: want a result and Interrupted", res, err)
	}
	if res.Outcome != OutcomeInterrupted || len(res.Steps) != 1 || res.Steps[0].Verdict != VerdictPass {
		t.Errorf("outcome %s with %d steps, want interrupted with the 1 passing step done", res.Outcome, len(res.Steps))
	}
	data, err := os.ReadFile(filepath.Join(res.RunDir, TextFile))
	if err != nil || !strings.Contains(string(data), "interrupted after 1 steps") {
		t.Errorf("capacity.txt does not say it was interrupted (%v):\n%s", err, data)
	}
}
