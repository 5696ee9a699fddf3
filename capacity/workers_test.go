package capacity

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/internal/testbin"
	"github.com/eixamsim/eixamsim/outcome"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/health"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/procs"
	"github.com/eixamsim/eixamsim/scenario"
)

// TestSplitStep splits steps among workers as scenario.Slice splits a
// run: the users sum exactly to the step's, the remainder on the lowest
// indexes, and the rates sum to the step's.
func TestSplitStep(t *testing.T) {
	for _, tc := range []struct {
		users, n int
		want     []int
	}{
		{users: 100, n: 2, want: []int{50, 50}},
		{users: 101, n: 2, want: []int{51, 50}},
		{users: 7, n: 3, want: []int{3, 2, 2}},
		{users: 1, n: 3, want: []int{1, 0, 0}},
	} {
		st := fleet.Step{Name: "step-3", Users: tc.users, Rates: map[string]scenario.Rate{"telemetry": {PerSecond: 90}}}
		var rate float64
		for w := range tc.n {
			l := splitStep(st, 3, w, tc.n)
			if l.Users != tc.want[w] || l.Index != 3 || l.Name != "step-3" {
				t.Errorf("%d users over %d: worker %d got %+v, want %d users", tc.users, tc.n, w, l, tc.want[w])
			}
			rate += l.Rates["telemetry"]
		}
		if rate < 90-1e-9 || rate > 90+1e-9 {
			t.Errorf("%d workers: rates sum to %v, want 90", tc.n, rate)
		}
	}
}

// sinkRecorder keeps what intervals hands on.
type sinkRecorder struct {
	counts  []int64 // telemetry.puback hist counts, per interval
	points  []metrics.Point
	samples []map[int]health.Sample
	pending int64
}

func (r *sinkRecorder) WriteInterval(name string, h *hdr.Histogram) error {
	if name == scenario.TelemetryPuback {
		r.pending += h.TotalCount()
	}
	return nil
}

func (r *sinkRecorder) UpdateWorkers(p metrics.Point, s map[int]health.Sample) {
	r.counts = append(r.counts, r.pending)
	r.pending = 0
	r.points = append(r.points, p)
	r.samples = append(r.samples, s)
}

// statusLine is a worker's interval k with n puback latencies of v ms.
func statusLine(t *testing.T, k, n int, v int64, online int64) procs.Status {
	t.Helper()
	h := hdr.New(1, 3_600_000_000, 3)
	for range n {
		_ = h.RecordValue(v * 1000)
	}
	enc, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	return procs.Status{T: float64(k) + 0.003, Seconds: 1,
		Values: map[string]int64{scenario.UsersOnline: online},
		Counts: map[string]procs.Count{scenario.TelemetryPuback: {N: int64(n), Errors: 1, ErrorsBy: map[string]int64{"timeout": 1}}},
		Hists:  map[string]string{scenario.TelemetryPuback: string(enc)},
		Health: &health.Sample{Interval: time.Second, CPU: 0.5}}
}

// TestIntervalsMerge merges two workers' intervals: an interval goes on
// only once both sent it (or a later one), counts and error classes are
// summed, histograms merged, the p99 taken from the merge; a worker that
// skipped a tick counts with its last values; an exited worker holds
// nothing up.
// TestCombineReports: the workers' step reports as one take the worst
// worker's state with its reasons; a worker's step that was not judged
// makes no reason of generator-bound.
func TestCombineReports(t *testing.T) {
	lim := health.DefaultLimits()
	healthy := health.Report{Verdict: health.Verdict{State: health.Healthy}}
	short := health.Report{Verdict: health.Verdict{State: health.NotJudged, Reasons: []health.Reason{{Signal: health.SignalDuration, Message: "w1: too short"}}}}
	bound := health.Report{Verdict: health.Verdict{State: health.GeneratorBound, Reasons: []health.Reason{{Signal: health.SignalCPU, Message: "w2: CPU"}}}}
	for _, tc := range []struct {
		name    string
		reports []health.Report
		want    health.State
		reasons int
	}{
		{"all healthy", []health.Report{healthy, healthy}, health.Healthy, 0},
		{"one not judged", []health.Report{healthy, short}, health.NotJudged, 1},
		{"one bound", []health.Report{short, bound, healthy}, health.GeneratorBound, 1},
	} {
		if got := combineReports(tc.reports, lim); got.State != tc.want || len(got.Reasons) != tc.reasons {
			t.Errorf("%s: %s, want %s with %d reasons", tc.name, got.Verdict, tc.want, tc.reasons)
		}
	}
}

func TestIntervalsMerge(t *testing.T) {
	rec := &sinkRecorder{}
	iv := newIntervals(2, rec)
	iv.add(0, statusLine(t, 1, 10, 5, 3))
	if len(rec.points) != 0 {
		t.Fatal("interval 1 went on before worker 1 sent it")
	}
	iv.add(1, statusLine(t, 1, 30, 100, 4))
	if len(rec.points) != 1 {
		t.Fatalf("%d intervals after both sent interval 1, want 1", len(rec.points))
	}
	p := rec.points[0]
	if st := p.Latencies[scenario.TelemetryPuback]; st.Count != 40 || st.Errors != 2 || st.ErrorsBy["timeout"] != 2 ||
		st.P99 < 100*time.Millisecond || st.P99 > 100100*time.Microsecond || st.P50 < 100*time.Millisecond {
		t.Errorf("merged stat %+v, want 40 counts, 2 timeouts, p50 and p99 100ms (3 significant digits)", st)
	}
	if rec.counts[0] != 40 || p.Values[scenario.UsersOnline] != 7 || len(rec.samples[0]) != 2 {
		t.Errorf("histograms %d, users.online %d, %d samples; want 40, 7, 2", rec.counts[0], p.Values[scenario.UsersOnline], len(rec.samples[0]))
	}
	// Worker 1 skips interval 2 and sends 3: interval 2 goes on with its last values.
	iv.add(0, statusLine(t, 2, 10, 5, 5))
	iv.add(1, statusLine(t, 3, 10, 5, 6))
	if len(rec.points) != 2 || rec.points[1].Values[scenario.UsersOnline] != 9 {
		t.Fatalf("after a skipped tick: %d intervals, users.online %v; want 2 and 5+4", len(rec.points), rec.points[len(rec.points)-1].Values)
	}
	if !iv.exited(0) {
		t.Error("an exit before the search ended is not a death")
	}
	if len(rec.points) != 3 || rec.counts[2] != 10 {
		t.Errorf("after worker 0 exited: %d intervals (want interval 3 on, 3), %v", len(rec.points), rec.counts)
	}
	iv.finish()
	if iv.exited(1) {
		t.Error("an exit after the search ended is a death")
	}
}

// The tests below run worker processes: the eixamsim binary, built once.

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// workerBinary is the eixamsim binary the workers run.
func workerBinary(t *testing.T) string { return testbin.Path(t, "../cmd/eixamsim") }

// usersScenario grows online users, each publishing every second: 100
// users offer the backend's 100/s. One search of it, in workers
// (TestWorkersFindUsersLimit), covers the users dimension; the
// single-process search is TestFindsRateLimit's.
const usersScenario = `version: 1
name: capacity-users
target: { embedded: { capacity: "telemetry=100/s,queue=250ms" } }
identity: { app_id: cap, app_secret: cap-secret }
fleet: { users: 10, connect_rate: 200/s }
duration: 10s
behaviours:
  login: [me]
  telemetry: { every: 1s, jitter: 20% }
thresholds:
  telemetry.puback: ["p(99) < 500ms"]
capacity: { dimension: users, start: 60, max: 400, resolution: 5%, warmup: 2s, hold: 2s }
`

// workers are 2 worker processes of sc's file.
func twoWorkers(t *testing.T, sc *scenario.Scenario) *Workers {
	return &Workers{Count: 2, Exe: workerBinary(t), Args: []string{"capacity", sc.File},
		Output: func(w *procs.Worker, line string, _ bool) { t.Logf("[worker %d] %s", w.Index, line) }}
}

// TestWorkersFindUsersLimit runs usersScenario's search in 2
// worker processes against the parent's embedded backend: the known limit
// within ±10 %, the fleet grown between steps (the merged run's MQTT
// connects are the users each step added), both shards' results under
// shards/ and merged beside capacity.json.
func TestWorkersFindUsersLimit(t *testing.T) {
	sc := loadScenario(t, usersScenario)
	lim := relaxed
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	began := time.Now()
	res, err := Run(ctx, sc, Options{Health: &lim, Workers: twoWorkers(t, sc), OnStep: func(st StepResult) {
		t.Logf("step %d: load %v %s (offered %.0f/s, achieved %.0f/s, errors %s, generator %s) %v",
			st.Index, st.Load, st.Verdict, st.OfferedPerSecond, st.AchievedPerSecond, pctString(st.ErrorShare), st.Generator.State, st.Failed)
	}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("%s (%d steps, %v)", res.Headline, len(res.Steps), time.Since(began).Round(time.Second))
	checkFound(t, res)
	for _, f := range []string{JSONFile, TextFile, HTMLFile, "summary.json", filepath.Join(procs.ShardsDir, "run-shard-1-of-2", "summary.json")} {
		if _, err := os.Stat(filepath.Join(res.RunDir, f)); err != nil {
			t.Error(err)
		}
	}
	checkGrew(t, res)
	for _, st := range res.Steps {
		if st.Generator.Cores == 0 || st.Generator.SampledS == 0 {
			t.Errorf("step %d: no generator health from the workers: %+v", st.Index, st.Generator)
		}
	}
}

// TestWorkerKilled kills worker 1 once the first step is judged: the
// search ends inconclusive naming the worker (not a backend failure),
// the judged step stands, and the capacity files are written.
func TestWorkerKilled(t *testing.T) {
	sc := loadScenario(t, usersScenario)
	lim := relaxed
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	wk := twoWorkers(t, sc)
	var pid int
	wk.Started = func(ws []*procs.Worker, _ time.Time) { pid = ws[1].PID }
	res, err := Run(ctx, sc, Options{Health: &lim, Workers: wk, OnStep: func(st StepResult) {
		if st.Index == 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Log(res.Headline)
	if res.Outcome != OutcomeInconclusive || res.FirstFail != 0 {
		t.Fatalf("outcome %s, first fail %v; want inconclusive without a failure: %s", res.Outcome, res.FirstFail, res.Headline)
	}
	want := "worker 1 (pid " + itoa(pid) + ") died: signal: killed"
	if !strings.Contains(res.Headline, want) || len(res.Advice) == 0 || !strings.Contains(res.Advice[0], "worker process") {
		t.Errorf("headline %q, advice %q; want %q and the worker advice", res.Headline, res.Advice, want)
	}
	if len(res.Steps) == 0 || res.Steps[0].Verdict != VerdictPass {
		t.Errorf("steps %d; want the first, passing step kept", len(res.Steps))
	}
	data, err := os.ReadFile(filepath.Join(res.RunDir, TextFile))
	if err != nil || !strings.Contains(string(data), want) {
		t.Errorf("capacity.txt does not name the dead worker (%v):\n%s", err, data)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestWorkersInterrupted cancels a search in worker processes once its
// first step is judged: the workers are stopped (each writes its
// results), the steps done so far are reported, in the files too, and
// the error says the search was interrupted.
func TestWorkersInterrupted(t *testing.T) {
	sc := loadScenario(t, usersScenario)
	lim := relaxed
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := Run(ctx, sc, Options{Health: &lim, Workers: twoWorkers(t, sc), OnStep: func(StepResult) { cancel() }})
	if outcome.Of(err) != outcome.Interrupted || res == nil {
		t.Fatalf("result %v, err %v: want a result and Interrupted", res, err)
	}
	if res.Outcome != OutcomeInterrupted || len(res.Steps) != 1 {
		t.Errorf("outcome %s with %d steps, want interrupted with the 1 step done", res.Outcome, len(res.Steps))
	}
	data, err := os.ReadFile(filepath.Join(res.RunDir, TextFile))
	if err != nil || !strings.Contains(string(data), "interrupted after 1 steps") {
		t.Errorf("capacity.txt does not say it was interrupted (%v):\n%s", err, data)
	}
	for i := range 2 {
		if _, err := os.Stat(filepath.Join(procs.ShardDir(res.RunDir, i, 2), "summary.json")); err != nil {
			t.Errorf("worker %d left no results: %v", i, err)
		}
	}
}

// displayRecorder is a live display: what Options.Progress is told.
type displayRecorder struct {
	hists  int64 // telemetry.puback counts written since the last Update
	counts []int64
	status []fleet.Status
}

func (d *displayRecorder) WriteInterval(name string, h *hdr.Histogram) error {
	if name == scenario.TelemetryPuback {
		d.hists += h.TotalCount()
	}
	return nil
}

func (d *displayRecorder) Update(st fleet.Status, _ metrics.Point) {
	d.status = append(d.status, st)
	d.counts = append(d.counts, d.hists)
	d.hists = 0
}

// TestIntervalsFeedTheDisplay: with worker processes the display gets each
// merged interval, its histograms merged and the users online and wanted
// of the workers still running summed, the stage of the first.
func TestIntervalsFeedTheDisplay(t *testing.T) {
	d := &displayRecorder{}
	iv := newIntervals(2, &sinkRecorder{})
	iv.display = d
	line := func(k, n int, online int64, stage string) procs.Status {
		s := statusLine(t, k, n, 5, online)
		s.Online, s.Target, s.Stage = online, 10, stage
		return s
	}
	iv.add(0, line(1, 10, 3, "step-1"))
	iv.add(1, line(1, 30, 4, "step-1"))
	if len(d.status) != 1 || d.status[0].Online != 7 || d.status[0].Target != 20 || d.status[0].Stage != "step-1" || d.counts[0] != 40 {
		t.Fatalf("display told %+v, histograms %v; want 7 of 20 online in step-1, 40 samples", d.status, d.counts)
	}
	iv.exited(0)
	iv.add(1, line(2, 5, 6, "step-2"))
	if n := len(d.status); n != 2 || d.status[1].Online != 6 || d.status[1].Target != 10 || d.status[1].Stage != "step-2" {
		t.Errorf("after worker 0 exited the display was told %+v; want worker 1's 6 of 10 in step-2", d.status)
	}
}
