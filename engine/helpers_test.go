package engine

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/health"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// header is the common start of the test scenarios: 20 users against the
// embedded backend, lines 1-4.
const header = `version: 1
identity: { app_id: e2e, app_secret: e2e-secret }
fleet: { users: 20, connect_rate: 200/s }
behaviours: { login: [me] }
`

// load parses a scenario written in the test, in a file of its own in a
// temporary directory (so verdicts can name its lines), with results in
// out beside it.
func load(t *testing.T, yaml string) (sc *scenario.Scenario, out string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "scenario.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	out = filepath.Join(dir, "results")
	sc, err := scenario.Load(path, scenario.Options{OutDir: &out})
	if err != nil {
		t.Fatal(err)
	}
	return sc, out
}

// run runs sc in the test with a recording progress and a deadline. The
// simulator's health is not checked (unchecked): the tests that use it are
// about the thresholds and the results, on runs too short for the default
// limits to judge.
func run(t *testing.T, ctx context.Context, sc *scenario.Scenario) (*Result, *recorder, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	rec := &recorder{}
	res, err := Run(ctx, sc, Options{Progress: rec, Started: rec.started, Health: &unchecked})
	return res, rec, err
}

// unchecked are health limits that check nothing and judge from the first
// sample: a short run is healthy, whatever the machine's load, rather than
// not judged (Options.Health).
var unchecked = health.Limits{}

// recorder is a Progress and Started hook that remembers what it saw.
type recorder struct {
	mu        sync.Mutex
	live      *Live
	intervals map[string]int64 // values per metric over every interval
	updates   []metrics.Point
	statuses  []fleet.Status
}

func (r *recorder) started(l Live) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live = &l
	return nil
}

func (r *recorder) WriteInterval(metric string, h *hdr.Histogram) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.intervals == nil {
		r.intervals = map[string]int64{}
	}
	r.intervals[metric] += h.TotalCount()
	return nil
}

func (r *recorder) Update(st fleet.Status, p metrics.Point) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updates = append(r.updates, p)
	r.statuses = append(r.statuses, st)
}

// filesContaining lists the files under dir that contain needle.
func filesContaining(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, needle) {
			hits = append(hits, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}
