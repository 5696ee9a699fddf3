package compare_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/compare"
	"github.com/eixamsim/eixamsim/engine"
	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/scenario"
)

// The tests in this file compare real result directories, made by short
// runs against the embedded backend through engine.Run: two with the same
// settings and one whose backend answers HTTP 250 ms more slowly. Each run
// logs 100 users in twice (200 GET /v1/sdk/me); the injected latency
// (50 ms, 300 ms) dwarfs the machine's own overhead, so a loaded 2-core
// machine moves p50 by well under the 2 % floor, and a BASE request would
// have to be held up by 250 ms to overlap the slow ones.

// runScenario is the scenario of every run; %LAT% is the injected latency.
const runScenario = `version: 1
name: compare-test
target: { embedded: { http_latency: "%LAT%" } }
identity: { app_id: cmp, app_secret: cmp-secret }
fleet: { users: 100, connect_rate: 100/s }
stages:
  - { name: up, for: 2s, users: 100 }
  - { name: down, for: 1s, users: 0 }
  - { name: up2, for: 2s, users: 100 }
  - { name: down2, for: 1s, users: 0 }
behaviours:
  login: [me]
  telemetry: { every: 1s }
`

var runs struct {
	once sync.Once
	// base and same ran with 50 ms, slow with 300 ms.
	base, same, slow string
	err              error
}

// resultDirs runs the three runs once for the package's tests.
func resultDirs(t *testing.T) (base, same, slow string) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the simulator three times; skipped with -short")
	}
	runs.once.Do(func() {
		dir, err := os.MkdirTemp("", "eixamsim-compare-test-")
		if err != nil {
			runs.err = err
			return
		}
		runs.base, runs.same, runs.slow = filepath.Join(dir, "base"), filepath.Join(dir, "same"), filepath.Join(dir, "slow")
		for _, r := range []struct{ out, lat string }{{runs.base, "50ms"}, {runs.same, "50ms"}, {runs.slow, "300ms"}} {
			if runs.err = runOnce(dir, r.out, r.lat); runs.err != nil {
				return
			}
		}
	})
	if runs.err != nil {
		t.Fatal(runs.err)
	}
	return runs.base, runs.same, runs.slow
}

func runOnce(dir, out, latency string) error {
	path := filepath.Join(dir, "scenario-"+latency+".yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(runScenario, "%LAT%", latency)), 0o644); err != nil {
		return err
	}
	sc, err := scenario.Load(path, scenario.Options{OutDir: &out})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err = engine.Run(ctx, sc, engine.Options{})
	if outcome.Of(err) == outcome.NotJudged {
		return nil // a 6 s run is too short to judge the simulator (docs/health.md); its results are whole
	}
	return err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if runs.base != "" {
		os.RemoveAll(filepath.Dir(runs.base))
	}
	os.Exit(code)
}

func load(t *testing.T, dir string) *compare.Run {
	t.Helper()
	r, err := compare.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func metric(t *testing.T, r *compare.Result, name string) compare.MetricDiff {
	t.Helper()
	for _, m := range r.Metrics {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("no metric %s in %+v", name, r.Metrics)
	return compare.MetricDiff{}
}

func p50(t *testing.T, m compare.MetricDiff) compare.PercentileDiff {
	t.Helper()
	for _, p := range m.Percentiles {
		if p.Q == 50 {
			return p
		}
	}
	t.Fatalf("%s has no p50", m.Name)
	return compare.PercentileDiff{}
}

// Six times the HTTP latency is flagged: http.me slower, p50 about
// +250 ms, significant, with a tiny p-value and (nearly) every NEW value
// above every BASE one; the scenario warning names the key that differs.
func TestCompareFlagsASlowerBackend(t *testing.T) {
	base, _, slow := resultDirs(t)
	b, n := load(t, base), load(t, slow)
	r := compare.Compare(b, n, compare.Options{})
	m := metric(t, r, scenario.HTTPMe)
	if m.Verdict != compare.Slower {
		t.Errorf("http.me verdict = %q, want %q", m.Verdict, compare.Slower)
	}
	p := p50(t, m)
	if p.Delta.Delta < 200 || p.Delta.Delta > 300 || !p.Significant {
		t.Errorf("http.me p50 = %+v, want about +250 ms and significant", p)
	}
	// The test runs over every recorded sample of each side (about 200: a
	// login retried on a loaded machine can add or lose one).
	nb, nn := b.Summary.Metrics[scenario.HTTPMe].Count, n.Summary.Metrics[scenario.HTTPMe].Count
	if m.Test == nil || m.Test.P > 1e-9 || m.Test.CliffsDelta < 0.9 || m.Test.NBase != nb || m.Test.NNew != nn || nb < 180 || nn < 180 {
		t.Errorf("http.me test = %+v, want p < 1e-9, Cliff's delta > 0.9 over every sample (%d and %d, about 200 each)", m.Test, nb, nn)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], `target.embedded.http_latency: "50ms" -> "300ms"`) {
		t.Errorf("warnings = %q, want one naming http_latency", r.Warnings)
	}
}

// Two runs of the same settings are within noise at p50 for http.me, and
// the scenarios are not said to differ (their hashes do: output.dir).
func TestCompareSameSettingsWithinNoise(t *testing.T) {
	base, same, _ := resultDirs(t)
	r := compare.Compare(load(t, base), load(t, same), compare.Options{})
	m := metric(t, r, scenario.HTTPMe)
	if p := p50(t, m); p.Significant {
		t.Errorf("http.me p50 = %+v: significant between two runs of the same settings", p)
	}
	if m.Verdict == compare.Slower || m.Verdict == compare.Faster {
		t.Errorf("http.me verdict = %q (test %+v)", m.Verdict, m.Test)
	}
	if len(r.Warnings) != 0 {
		t.Errorf("warnings = %q, want none", r.Warnings)
	}
}

// Rules on real runs: a relative p(50) rule breaks against the slow run
// and holds against the same settings; an absolute one likewise; a rule
// on a metric neither run has is an error.
func TestRulesOnRealRuns(t *testing.T) {
	base, same, slow := resultDirs(t)
	rules, err := compare.ParseRules([]string{
		scenario.HTTPMe + ": p(50) > +50%",
		scenario.HTTPMe + ": avg > +20ms",
		scenario.HTTPMe + ": p(75) > +50%", // a percentile compare does not show by default
		scenario.HTTPMe + ": errors > +1pp",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		new    string
		broken []bool
	}{
		{"slow", slow, []bool{true, true, true, false}},
		{"same", same, []bool{false, false, false, false}},
	} {
		r := compare.Compare(load(t, base), load(t, tc.new), compare.Options{ExtraPercentiles: compare.RulePercentiles(rules)})
		if err := r.Judge(rules, false); err != nil {
			t.Fatal(err)
		}
		for i, rr := range r.Rules {
			if rr.Broken != tc.broken[i] {
				t.Errorf("%s: %s broken = %v (observed %s), want %v", tc.name, rr.Rule, rr.Broken, rr.Observed, tc.broken[i])
			}
		}
	}
	r := compare.Compare(load(t, base), load(t, same), compare.Options{})
	unknown, _ := compare.ParseRules([]string{"http.nope: p(99) > +10%"})
	if err := r.Judge(unknown, false); err == nil || !strings.Contains(err.Error(), "http.nope") {
		t.Errorf("rule on an unknown metric: err = %v", err)
	}
}

// The files: compare.json, compare.txt and a self-contained compare.html
// with overlaid charts whose points carry <title> hover values.
func TestWriteDir(t *testing.T) {
	base, _, slow := resultDirs(t)
	r := compare.Compare(load(t, base), load(t, slow), compare.Options{})
	out := t.TempDir()
	if err := compare.WriteDir(out, r); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(out, compare.HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	for _, want := range []string{`id="m-http.me"`, "<svg", "<title>BASE p50", "<title>NEW p50", "slower"} {
		if !strings.Contains(html, want) {
			t.Errorf("compare.html lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "http://", "https://", "<link"} {
		if strings.Contains(html, bad) {
			t.Errorf("compare.html has %q: not self-contained", bad)
		}
	}
	txt, _ := os.ReadFile(filepath.Join(out, compare.TextFile))
	if !strings.Contains(string(txt), scenario.HTTPMe+": SLOWER") {
		t.Errorf("compare.txt lacks the verdict:\n%s", txt)
	}
	js, _ := os.ReadFile(filepath.Join(out, compare.JSONFile))
	if !strings.Contains(string(js), `"schema": "eixamsim/compare"`) {
		t.Errorf("compare.json lacks its schema")
	}
}

// A result directory of schema version 1 compares (with itself: every
// metric within noise, nothing only on one side).
func TestCompareSchemaVersion1(t *testing.T) {
	dir := filepath.Join("..", "report", "testdata", "v1")
	r := compare.Compare(load(t, dir), load(t, dir), compare.Options{})
	if len(r.Metrics) == 0 || len(r.OnlyBase)+len(r.OnlyNew) != 0 {
		t.Fatalf("metrics %d, only in one %v %v", len(r.Metrics), r.OnlyBase, r.OnlyNew)
	}
	for _, m := range r.Metrics {
		if m.Verdict != compare.WithinNoise && m.Verdict != compare.NoSamples {
			t.Errorf("%s against itself: %s", m.Name, m.Verdict)
		}
	}
}

// Metrics present in one run only are listed, not dropped; a directory
// without summary.json is not a result directory.
func TestOnlyInOneRunAndNotAResultDir(t *testing.T) {
	base, _, _ := resultDirs(t)
	other := t.TempDir()
	if err := os.CopyFS(other, os.DirFS(base)); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(other, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	renamed := strings.ReplaceAll(string(raw), `"`+scenario.MQTTSubscribe+`"`, `"mqtt.subscribe_v2"`)
	if err := os.WriteFile(filepath.Join(other, "summary.json"), []byte(renamed), 0o644); err != nil {
		t.Fatal(err)
	}
	r := compare.Compare(load(t, base), load(t, other), compare.Options{})
	if len(r.OnlyBase) != 1 || r.OnlyBase[0] != scenario.MQTTSubscribe || len(r.OnlyNew) != 1 || r.OnlyNew[0] != "mqtt.subscribe_v2" {
		t.Errorf("only in base %v, only in new %v", r.OnlyBase, r.OnlyNew)
	}
	if _, err := compare.Load(t.TempDir()); !errors.Is(err, compare.ErrNotResultDir) {
		t.Errorf("empty directory: err = %v, want ErrNotResultDir", err)
	}
}
