package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests in this file share one short real run (in-process, through
// execute, against the embedded backend) and read the result directory it
// left behind; the Prometheus endpoint is scraped while it runs.

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
  telemetry: { every: 500ms }
  sos: { rate: 300/min, hold: 500ms, end: mixed }
  contacts: { rate: 10/s }
  devices: { rate: 5/s }
thresholds:
  telemetry.puback: ["count > 0"]
`

// sharedResult is the one run of this file.
type sharedResult struct {
	dir            string
	err            error
	stdout, stderr string
	scrapes        []string // /metrics bodies fetched during the run
}

var resultsRun struct {
	once sync.Once
	r    sharedResult
}

// runResults runs resultsScenario once and returns what it left.
func runResults(t *testing.T) *sharedResult {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a 4 s scenario; skipped with -short")
	}
	resultsRun.once.Do(func() {
		r := &resultsRun.r
		base, err := os.MkdirTemp("", "eixamsim-results-")
		if err != nil {
			r.err = err
			return
		}
		path := filepath.Join(base, "results.yaml")
		if r.err = os.WriteFile(path, []byte(resultsScenario), 0o644); r.err != nil {
			return
		}
		r.dir = filepath.Join(base, "out")
		var stdout, stderr syncBuffer
		done := make(chan error, 1)
		go func() {
			done <- execute(context.Background(), []string{"run", path, "--out", r.dir, "--metrics-addr", "127.0.0.1:0"}, &stdout, &stderr)
		}()
		r.scrapes, r.err = scrapeWhileRunning(&stderr, done)
		r.stdout, r.stderr = stdout.String(), stderr.String()
	})
	r := &resultsRun.r
	if !completedErr(r.err) {
		t.Fatalf("run: %v\nstderr:\n%s", r.err, r.stderr)
	}
	return r
}

var metricsURLRe = regexp.MustCompile(`Prometheus metrics at (http://\S+)`)

// scrapeWhileRunning scrapes the endpoint named on stderr every 300 ms
// until the run ends, and returns the bodies and the run's error.
func scrapeWhileRunning(stderr *syncBuffer, done <-chan error) ([]string, error) {
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var bodies []string
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return bodies, err
		case <-tick.C:
		}
		m := metricsURLRe.FindStringSubmatch(stderr.String())
		if m == nil {
			continue
		}
		resp, err := client.Get(m[1])
		if err != nil {
			continue // the run may be stopping the server
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			bodies = append(bodies, string(b))
		}
	}
}

// TestRunPrints checks what `eixamsim run` prints; what it writes is the
// engine's (engine/results_test.go).
func TestRunPrints(t *testing.T) {
	r := runResults(t)
	// summary.txt is the table the run printed.
	txt, _ := os.ReadFile(filepath.Join(r.dir, "summary.txt"))
	if !strings.Contains(r.stdout, string(txt)) {
		t.Errorf("stdout does not show summary.txt:\n%s\n---\n%s", r.stdout, txt)
	}
	// No terminal: no bars, and a 4 s run is too short for a 10 s line.
	if strings.Contains(r.stderr, "users online") {
		t.Errorf("status line before 10 s:\n%s", r.stderr)
	}
	for _, want := range []string{
		`eixamsim: running "results": 20 users for 4s against embedded (http://127.0.0.1:`,
		"eixamsim: results in " + r.dir + "\n",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stdout+r.stderr, resultsSecret) {
		t.Error("the run printed the secret")
	}
	// summary.json's meta has the command line as typed.
	s := readSummary(t, r.dir)
	if m := s.Meta; m == nil || len(m.CommandLine) < 3 || m.CommandLine[0] != "eixamsim" || m.CommandLine[1] != "run" || m.Version == "" {
		t.Errorf("meta = %+v", s.Meta)
	}
}

func TestReportCommandRerendersTheSameFiles(t *testing.T) {
	r := runResults(t)
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(r.dir)); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"summary.txt", "report.html"} {
		os.Remove(filepath.Join(dir, f))
	}
	var stdout, stderr bytes.Buffer
	if code := exitCode(execute(context.Background(), []string{"report", dir}, &stdout, &stderr), &stderr); code != exitOK {
		t.Fatalf("report: exit %d: %s", code, stderr.String())
	}
	if want := "eixamsim: wrote " + filepath.Join(dir, "summary.txt") + ", " + filepath.Join(dir, "report.html") +
		" and " + filepath.Join(dir, "junit.xml") + "\n"; stdout.String() != want {
		t.Errorf("report said %q; want %q", stdout.String(), want)
	}
	for _, f := range []string{"summary.txt", "report.html", "summary.json", "junit.xml"} {
		want, _ := os.ReadFile(filepath.Join(r.dir, f))
		got, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s re-rendered differs from the run's (%d vs %d bytes, %v)", f, len(got), len(want), err)
		}
	}
	// Usage errors.
	for _, args := range [][]string{{}, {dir, dir}, {filepath.Join(dir, "missing")}} {
		err := execute(context.Background(), append([]string{"report"}, args...), io.Discard, io.Discard)
		if code := exitCode(err, io.Discard); code != exitUsage {
			t.Errorf("report %v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

// promValue finds one sample's value in a Prometheus text body.
func promValue(body, series string) (float64, bool) {
	for _, line := range strings.Split(withoutRunLabels(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

func TestRunServesPrometheusMetrics(t *testing.T) {
	r := runResults(t)
	if len(r.scrapes) < 3 {
		t.Fatalf("%d scrapes during the run", len(r.scrapes))
	}
	// Counts only grow between scrapes, and some scrape sees the fleet
	// online with telemetry flowing.
	var last float64
	var sawOnline, sawStage bool
	for _, body := range r.scrapes {
		if !strings.Contains(body, `run_id="`) || !strings.Contains(body, `shard="0"`) || !strings.Contains(body, `instance="`) {
			t.Errorf("a scrape's series lack run_id, shard or instance:\n%s", body)
		}
		body = withoutRunLabels(body)
		n, _ := promValue(body, "eixamsim_telemetry_puback_seconds_count")
		if n < last {
			t.Errorf("telemetry count went down: %v -> %v", last, n)
		}
		last = n
		if v, ok := promValue(body, "eixamsim_users_online"); ok && v == 20 {
			sawOnline = true
		}
		sawStage = sawStage || strings.Contains(body, `eixamsim_stage_info{index="1",stage="steady"} 1`)
	}
	if last == 0 || !sawOnline || !sawStage {
		t.Errorf("scrapes never showed telemetry (%v), 20 users online (%v) or the steady stage (%v):\n%s", last, sawOnline, sawStage, r.scrapes[len(r.scrapes)-1])
	}
	body := withoutRunLabels(r.scrapes[len(r.scrapes)-1])
	for _, want := range []string{
		"# TYPE eixamsim_telemetry_puback_seconds histogram",
		`eixamsim_telemetry_puback_seconds_bucket{le="+Inf"}`,
		"eixamsim_mqtt_disconnects_total ",
		"eixamsim_users_online ",
		"eixamsim_users_target ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if strings.Contains(body, "go_goroutines") || strings.Contains(body, "process_cpu") {
		t.Error("the endpoint serves the default registry's metrics")
	}
}

// runLabelRE matches the labels every series carries (prom.Info).
var runLabelRE = regexp.MustCompile(`(instance|run_id|shard)="[^"]*",?`)

// withoutRunLabels is a scrape with the run_id, shard and instance labels
// taken out, so its lines read as a series' own labels.
func withoutRunLabels(body string) string {
	body = runLabelRE.ReplaceAllString(body, "")
	return strings.NewReplacer(",}", "}", "{}", "").Replace(body)
}
