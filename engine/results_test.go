package engine

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// The tests in this file share one short real run of every behaviour
// against the embedded backend and read what it left behind.

// resultsSecret is the scenario's app secret: no file may contain it.
const resultsSecret = "x9-results-s3cret-q7"

const resultsScenario = `version: 1
name: results
description: every behaviour, 4 s
target: { embedded: { ack_delay: 200ms } }
identity: { app_id: results-app, app_secret: ` + resultsSecret + `, user_id: "r-{{.N}}" }
fleet: { users: 20, connect_rate: 200/s }
stages:
  - { name: up, for: 1s, users: 20 }
  - { name: steady, for: 2s, users: 20 }
  - { name: down, for: 1s, users: 0 }
behaviours:
  login: [me, sos_rehydrate]
  telemetry: { every: 500ms, device_id: true }
  sos: { rate: 300/min, hold: 500ms, end: mixed }
  contacts: { rate: 10/s }
  devices: { rate: 5/s }
thresholds:
  telemetry.puback: ["count > 0", "p(99) < 1ns"]
`

type sharedRun struct {
	res *Result
	rec *recorder
	err error
}

var shared struct {
	once sync.Once
	run  sharedRun
}

// resultsRun runs resultsScenario once and returns what it left.
func resultsRun(t *testing.T) sharedRun {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a 4 s scenario; skipped with -short")
	}
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "eixamsim-engine-")
		if err != nil {
			shared.run.err = err
			return
		}
		sharedDir = dir
		path := filepath.Join(dir, "results.yaml")
		if err := os.WriteFile(path, []byte(resultsScenario), 0o644); err != nil {
			shared.run.err = err
			return
		}
		out := filepath.Join(dir, "out")
		sc, err := scenario.Load(path, scenario.Options{OutDir: &out})
		if err != nil {
			shared.run.err = err
			return
		}
		shared.run.res, shared.run.rec, shared.run.err = run(t, context.Background(), sc)
	})
	r := shared.run
	if r.res == nil {
		t.Fatalf("run: %v", r.err)
	}
	return r
}

var sharedDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}

func TestRunOutcomeAndSummary(t *testing.T) {
	r := resultsRun(t)
	// p(99) < 1ns fails on purpose: the outcome names it.
	if OutcomeOf(r.err) != ThresholdsFailed || !strings.Contains(r.err.Error(), "1 of 2 thresholds failed: telemetry.puback: p(99) < 1ns (observed ") {
		t.Fatalf("outcome %v: %v", OutcomeOf(r.err), r.err)
	}
	s := r.res.Summary
	if s.Version != report.SchemaVersion || s.EndReason != report.EndCompleted || s.Target.Kind != report.TargetEmbedded {
		t.Errorf("v%d %q %q", s.Version, s.EndReason, s.Target.Kind)
	}
	if len(s.Stages) != 3 || s.Stages[2].Name != "down" || s.Stages[1].Users != 20 || !s.Stages[1].Start.Before(s.Stages[1].End) {
		t.Errorf("stages %+v", s.Stages)
	}
	v := s.Thresholds
	if len(v) != 2 || !v[0].Passed || v[1].Passed || v[1].Unit != report.UnitMs || v[1].Value <= 0 || v[1].Line != 18 {
		t.Errorf("verdicts %+v", v)
	}
	for _, name := range []string{scenario.TelemetryPuback, scenario.SOSDelivered, scenario.HTTPMe, scenario.UserLogin, scenario.HTTPContactsList, scenario.HTTPDevicesList} {
		if s.Metrics[name].Count == 0 {
			t.Errorf("%s measured nothing", name)
		}
	}
	// The summary returned is the one written.
	onDisk, err := report.ReadSummaryFile(r.res.Dir)
	if err != nil || onDisk.Metrics[scenario.TelemetryPuback].Count != s.Metrics[scenario.TelemetryPuback].Count {
		t.Errorf("summary.json: %v", err)
	}
}

func TestRunWritesEveryResultFileAndNoSecret(t *testing.T) {
	r := resultsRun(t)
	dir := r.res.Dir
	for _, f := range []string{"summary.json", "summary.txt", "report.html", "junit.xml", "hdr/telemetry.puback.hlog", "hdr/sos.delivered.hlog", "hdr/http.me.hlog"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp") {
			t.Errorf("temporary file left behind: %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	needles := map[string]string{"the app secret": resultsSecret}
	for n := range 20 {
		id := fmt.Sprintf("r-%d", n)
		needles["the userHash of "+id] = contract.Sign([]byte(resultsSecret), id)
	}
	for what, needle := range needles {
		if hits := filesContaining(t, dir, []byte(needle)); len(hits) > 0 {
			t.Errorf("%v contain %s", hits, what)
		}
	}
}

func TestRunSummaryMatchesHlogs(t *testing.T) {
	r := resultsRun(t)
	s := r.res.Summary
	hs, err := report.ReadHlogDir(filepath.Join(r.res.Dir, report.HdrDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{scenario.TelemetryPuback, scenario.SOSDelivered, scenario.HTTPMe, scenario.UserLogin} {
		m := s.Metrics[name]
		total := hs.Total(name)
		if total == nil || total.TotalCount() != m.Count {
			t.Errorf("%s: hlog and summary.json disagree on the count (%d)", name, m.Count)
			continue
		}
		if got := float64(total.ValueAtQuantile(99)) / 1000; got != m.P99 {
			t.Errorf("%s: hlog p99 %v ms, summary.json %v ms", name, got, m.P99)
		}
	}
}

func TestRunFeedsProgressAndStarted(t *testing.T) {
	r := resultsRun(t)
	rec := r.rec
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.live == nil || rec.live.Dir != r.res.Dir || rec.live.Registry == nil || rec.live.Target.Kind != report.TargetEmbedded {
		t.Fatalf("Started saw %+v", rec.live)
	}
	// A 4 s run ticks 3 or 4 times before its last interval, which the
	// engine closes itself after the fleet stopped.
	if n := len(rec.updates); n < 3 || n > 5 {
		t.Errorf("%d progress updates in a 4 s run", n)
	}
	var online bool
	for _, st := range rec.statuses {
		online = online || (st.Online == 20 && st.Stage == "steady")
	}
	if !online {
		t.Errorf("no update saw 20 users online in the steady stage: %+v", rec.statuses)
	}
	// The progress saw the same intervals as the hlogs, but the last.
	tel := rec.intervals[scenario.TelemetryPuback]
	if total := r.res.Summary.Metrics[scenario.TelemetryPuback].Count; tel == 0 || tel > total {
		t.Errorf("progress saw %d telemetry values of %d", tel, total)
	}
}

func TestRunReportHTML(t *testing.T) {
	r := resultsRun(t)
	page, err := os.ReadFile(filepath.Join(r.res.Dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	refs := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*https?:|url\(\s*["']?\s*https?:|<script|<link`)
	if m := refs.Find(page); m != nil {
		t.Errorf("report.html references %q", m)
	}
	if bytes.Contains(page, []byte("No data was recorded")) {
		t.Error("report.html has an empty chart")
	}
	for _, id := range []string{"users", "throughput", "errors", "latency-telemetry.puback", "latency-sos.delivered", "latency-http.me", "distribution"} {
		i := bytes.Index(page, []byte(`id="`+id+`"`))
		if i < 0 {
			t.Errorf("no chart %s", id)
			continue
		}
		fig := page[i:]
		fig = fig[:bytes.Index(fig, []byte("</figure>"))]
		if !bytes.Contains(fig, []byte(`<svg class="chart"`)) || bytes.Count(fig, []byte("<path")) < 5 {
			t.Errorf("chart %s has no plot", id)
		}
	}
	for _, want := range []string{"FAILED", "results-app", "[redacted]"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}
