package engine

import (
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/eixamsim/eixamsim/health"
	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// warnings records Options.Warn.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) add(msg string) { w.mu.Lock(); w.msgs = append(w.msgs, msg); w.mu.Unlock() }
func (w *warnings) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.msgs)
}

// TestRunIntoAUsedDirectory runs into a directory a previous run (of
// another scenario) left: its files are replaced, stale hlogs and
// temporary files removed, unknown files kept. The same run checks that a
// fault scheduled after the end is said, and that users.online is judged
// and summarised without the teardown.
func TestRunIntoAUsedDirectory(t *testing.T) {
	t.Parallel()
	sc, _ := load(t, header+`name: reuse
target: { embedded: { faults: ["kick@30s:25%"] } }
stages:
  - { name: up, for: 1s, users: 20 }
  - { name: steady, for: 2s, users: 20 }
thresholds:
  users.online: ["min >= 10", "max >= 20"]
`)
	dir := t.TempDir()
	stale := map[string]string{
		"hdr/telemetry.puback.hlog": "#[stale]\n",
		"hdr/old.metric.hlog.tmp":   "#[stale]\n",
		"summary.json":              "{}",
		".report.html.tmp-123456":   "<html>",
		"notes.txt":                 "mine",
		"hdr/README":                "mine too",
	}
	for name, content := range stale {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var warned warnings
	res, err := Run(context.Background(), sc, Options{Dir: dir, Warn: warned.add, Health: &unchecked})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, gone := range []string{"hdr/telemetry.puback.hlog", "hdr/old.metric.hlog.tmp", ".report.html.tmp-123456"} {
		if _, err := os.Stat(filepath.Join(dir, gone)); !os.IsNotExist(err) {
			t.Errorf("%s of the previous run is still there (%v)", gone, err)
		}
	}
	for _, kept := range []string{"notes.txt", "hdr/README"} {
		if b, err := os.ReadFile(filepath.Join(dir, kept)); err != nil || len(b) == 0 {
			t.Errorf("%s, not ours, was touched: %v", kept, err)
		}
	}
	if s, err := report.ReadSummaryFile(dir); err != nil || s.Name != "reuse" {
		t.Errorf("summary.json is not this run's: %v", err)
	}

	// The fault at 30 s of a 3 s run: a warning and a note.
	w := warned.list()
	if len(w) != 1 || !strings.Contains(w[0], "kick@30s") || !strings.Contains(w[0], "never fires") {
		t.Errorf("warnings %q; want one about kick@30s never firing", w)
	}
	if !slices.Contains(res.Summary.Notes, w[0]) {
		t.Errorf("notes %q lack the warning", res.Summary.Notes)
	}

	// users.online: the teardown's 0 is neither a threshold sample nor in
	// the per-stage summary.
	for _, v := range res.Summary.Thresholds {
		if !v.Passed {
			t.Errorf("%s failed (observed %s): the teardown was judged", v.Name(), v.Observed)
		}
	}
	on := res.Summary.UsersOnline
	if on == nil || on.Peak != 20 || len(on.Stages) == 0 {
		t.Fatalf("users_online = %+v; want a peak of 20 and the stages", on)
	}
	for _, st := range on.Stages {
		if st.Min == 0 && st.Name == "steady" {
			t.Errorf("steady stage min 0: the teardown was sampled (%+v)", on.Stages)
		}
	}
	if m := res.Summary.Meta; m == nil || m.GoVersion == "" || m.Cores < 1 || m.StartUTC.Location().String() != "UTC" ||
		m.Seed == nil || *m.Seed == 0 || *m.Seed > scenario.MaxSeed || m.ScenarioHash != sc.Hash() {
		t.Errorf("meta = %+v", m)
	}
	if sc.Seed != 0 {
		t.Error("Run changed the caller's scenario")
	}
	if g := res.Summary.Generator; g == nil || g.State != health.Healthy || g.SampledS <= 0 {
		t.Errorf("a short run with no health limit: generator = %+v", g)
	}
}

// TestRunGeneratorBound judges a short run by limits no process can keep
// (any CPU at all is too much): the run is generator-bound, which wins over
// a failed threshold; the warning comes once; rules that held are skipped
// in junit.xml.
func TestRunGeneratorBound(t *testing.T) {
	t.Parallel()
	sc, _ := load(t, `version: 1
identity: { app_id: e2e, app_secret: e2e-secret }
fleet: { users: 20, connect_rate: 200/s }
name: bound
duration: 3s
behaviours: { login: [me], telemetry: { every: 100ms } }
thresholds:
  telemetry.puback: ["count > 0", "p(99) < 1ns"]
`)
	var warned warnings
	tiny := health.Limits{CPU: 1e-9}
	res, err := Run(context.Background(), sc, Options{Warn: warned.add, Health: &tiny})
	if outcome.Of(err) != outcome.GeneratorBound || res == nil {
		t.Fatalf("outcome %v: %v", outcome.Of(err), err)
	}
	for _, want := range []string{"generator-bound", "process CPU", "1 of 2 thresholds failed on what was measured"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if w := warned.list(); len(w) != 1 || !strings.Contains(w[0], "bottleneck") {
		t.Errorf("warnings %q; want one saying the simulator is the bottleneck", w)
	}
	if !res.Summary.GeneratorBound() || len(res.Summary.Generator.Reasons) == 0 || res.Summary.Generator.Reasons[0].Signal != health.SignalCPU {
		t.Errorf("generator = %+v", res.Summary.Generator)
	}
	raw, err := os.ReadFile(filepath.Join(res.Dir, report.JUnitFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Skipped  int `xml:"skipped,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil || doc.Skipped != 1 || doc.Failures != 1 {
		t.Errorf("junit.xml: %d skipped, %d failures (%v); want 1 and 1", doc.Skipped, doc.Failures, err)
	}
}

// TestConnectRateReached: 20 users asked at 5/s take ~4 s to come online;
// the summary says the rate reached against the rate asked.
func TestConnectRateReached(t *testing.T) {
	t.Parallel()
	sc, _ := load(t, strings.Replace(header, "connect_rate: 200/s", "connect_rate: 5/s", 1)+`name: connect
stages:
  - { name: up, for: 6s, users: 20 }
`)
	res, err := Run(context.Background(), sc, Options{Dir: t.TempDir(), Health: &unchecked})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	c := res.Summary.Connect
	if c == nil || c.Stage != "up" || !c.Reached || c.AskedPerS != 5 || c.ToUsers != 20 || c.ReachedPerS < 3.5 || c.ReachedPerS > 5.5 {
		t.Fatalf("connect = %+v; want stage up reached at about 5/s of 5/s asked", c)
	}
	var b strings.Builder
	report.WriteText(&b, res.Summary)
	if !strings.Contains(b.String(), "connect rate: 0 → 20 users online in") {
		t.Errorf("summary.txt lacks the connect rate:\n%s", b.String())
	}
}
