package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/outcome"
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
	if outcome.Of(r.err) != outcome.ThresholdsFailed || !strings.Contains(r.err.Error(), "1 of 2 thresholds failed: telemetry.puback: p(99) < 1ns (observed ") {
		t.Fatalf("outcome %v: %v", outcome.Of(r.err), r.err)
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

// Every percentile summary.json reports, of the whole run and of each
// stage, equals an independent reading of the metric's hlog: the file
// read with hdrhistogram-go's log reader, its intervals merged (a stage's
// are those inside its from_s..to_s), the counts expanded into the sorted
// list of values (each standing for its bucket's highest value), and the
// nearest rank max(1, ceil(q/100·n)) taken from that list in integers.
func TestRunPercentilesMatchHlogs(t *testing.T) {
	r := resultsRun(t)
	raw, err := os.ReadFile(filepath.Join(r.res.Dir, report.SummaryJSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Metrics map[string]hlogMetric `json:"metrics"`
		Stages  []struct {
			Name    string                `json:"name"`
			From    float64               `json:"from_s"`
			To      float64               `json:"to_s"`
			Metrics map[string]hlogMetric `json:"metrics"`
		} `json:"stages"`
	}
	if err := json.Unmarshal(raw, &sum); err != nil {
		t.Fatal(err)
	}
	logs, err := filepath.Glob(filepath.Join(r.res.Dir, report.HdrDir, "*.hlog"))
	if err != nil || len(logs) != len(sum.Metrics) {
		t.Fatalf("%d hlog files (%v) for %d metrics in summary.json", len(logs), err, len(sum.Metrics))
	}
	judged := 0
	for _, path := range logs {
		name := strings.TrimSuffix(filepath.Base(path), ".hlog")
		m, ok := sum.Metrics[name]
		if !ok {
			t.Errorf("%s has an hlog but no entry in summary.json", name)
			continue
		}
		ivs := readHlog(t, path)
		start := ivs[0].StartTimeMs()
		judged += checkPercentiles(t, name, m, ivs, func(*hdr.Histogram) bool { return true })
		for _, st := range sum.Stages {
			sm, ok := st.Metrics[name]
			if !ok {
				continue
			}
			in := func(h *hdr.Histogram) bool { // the interval lies in the stage's window (to the ms)
				from, to := float64(h.StartTimeMs()-start)/1000, float64(h.EndTimeMs()-start)/1000
				return from >= st.From-0.002 && to <= st.To+0.002
			}
			judged += checkPercentiles(t, name+"{stage="+st.Name+"}", sm, ivs, in)
		}
	}
	if judged == 0 {
		t.Error("no metric had samples")
	}
}

// hlogMetric is a metric's statistics as summary.json writes them.
type hlogMetric struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
}

// readHlog decodes every interval of an hlog file.
func readHlog(t *testing.T, path string) []*hdr.Histogram {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lr := hdr.NewHistogramLogReader(f)
	var out []*hdr.Histogram
	for {
		h, err := lr.NextIntervalHistogram()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if h == nil {
			break
		}
		out = append(out, h)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no interval", path)
	}
	return out
}

// checkPercentiles compares what summary.json says of metric (m) with the
// merged intervals in, and returns 1 if there were samples.
func checkPercentiles(t *testing.T, metric string, m hlogMetric, ivs []*hdr.Histogram, in func(*hdr.Histogram) bool) int {
	t.Helper()
	var values []int64 // every recorded value, sorted, as its bucket's highest value (µs)
	var lowest int64   // the smallest value's bucket's lowest value
	total := hdr.New(ivs[0].LowestTrackableValue(), ivs[0].HighestTrackableValue(), int(ivs[0].SignificantFigures()))
	for _, iv := range ivs {
		if in(iv) {
			total.Merge(iv)
		}
	}
	for _, b := range total.Distribution() {
		if b.Count > 0 && len(values) == 0 {
			lowest = b.From
		}
		for range b.Count {
			values = append(values, b.To)
		}
	}
	n := int64(len(values))
	if n != m.Count {
		t.Errorf("%s: %d values in the hlog, count %d in summary.json", metric, n, m.Count)
		return 0
	}
	if n == 0 {
		if m != (hlogMetric{}) {
			t.Errorf("%s: no sample, but summary.json says %+v", metric, m)
		}
		return 0
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	at := func(tenths int64) float64 { return ms(values[max((tenths*n+999)/1000, 1)-1]) }
	for _, c := range []struct {
		what      string
		got, want float64
	}{
		{"min", m.Min, ms(lowest)}, {"p50", m.P50, at(500)}, {"p90", m.P90, at(900)}, {"p95", m.P95, at(950)},
		{"p99", m.P99, at(990)}, {"p99.9", m.P999, at(999)}, {"max", m.Max, ms(values[n-1])},
	} {
		if c.got != c.want {
			t.Errorf("%s (n=%d): %s is %v ms in summary.json, %v ms in the hlog", metric, n, c.what, c.got, c.want)
		}
	}
	return 1
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
