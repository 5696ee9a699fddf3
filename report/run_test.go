package report

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/health"
	"github.com/eixamsim/eixamsim/metrics"
)

// seed is the simulated run's seed, in its metadata.
var seed uint64 = 42

// leakedHash stands for a userHash in an error message: no file of the run
// may carry it.
const leakedHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// emptyMetric is a metric of the simulated run with one error and no
// success.
const emptyMetric = "mqtt.reconnect"

// testRun is a result directory made by the real metrics pipeline
// (Registry -> Collector -> HlogWriter) from seeded random latencies, with
// the exact values recorded kept aside to check percentiles against.
type testRun struct {
	dir      string
	sum      *Summary
	recorded map[string][]int64 // µs, per metric, every value recorded
	perTick  map[string][]int64 // count recorded in each interval
	hs       Histograms         // hdr/ as ReadHlogDir read it; read only
}

// testScenario stands in for the resolved scenario echo; its keys are in
// deliberately non-alphabetical order, like the real one.
type testScenario struct {
	Version    int               `json:"version"`
	Name       string            `json:"name"`
	Fleet      map[string]any    `json:"fleet"`
	Stages     []map[string]any  `json:"stages"`
	Thresholds map[string]any    `json:"thresholds"`
	Identity   map[string]string `json:"identity"`
}

var (
	sharedOnce sync.Once
	shared     *testRun
	sharedErr  error
)

// makeRun returns the package's one simulated run (made on first use; its
// directory is removed by TestMain). Tests must not change its files: use
// copyRun for that.
func makeRun(t testing.TB) *testRun {
	t.Helper()
	sharedOnce.Do(func() {
		var dir string
		if dir, sharedErr = os.MkdirTemp("", "eixamsim-report-test-"); sharedErr == nil {
			shared, sharedErr = simulateRun(dir)
		}
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// copyRun is makeRun in a directory of the test's own.
func copyRun(t testing.TB) *testRun {
	t.Helper()
	src := makeRun(t)
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(src.dir)); err != nil {
		t.Fatal(err)
	}
	cp := *src
	cp.dir = dir
	return &cp
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// simulateRun simulates a 40 s run into dir: 3 stages, a users.online
// gauge, three latency metrics (one sparse, one with errors), one interval
// per second, through the real pipeline and writers.
func simulateRun(dir string) (*testRun, error) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const seconds = 40
	reg := metrics.NewRegistry()
	hw, err := metrics.NewHlogWriter(filepath.Join(dir, HdrDir), start)
	if err != nil {
		return nil, err
	}
	c := metrics.NewCollector(reg, start, hw)
	rng := rand.New(rand.NewPCG(1, 2))
	run := &testRun{dir: dir, recorded: map[string][]int64{}, perTick: map[string][]int64{}}
	record := func(name string, us int64) {
		reg.Latency(name).Record(time.Duration(us) * time.Microsecond)
		run.recorded[name] = append(run.recorded[name], us)
	}
	online := reg.Gauge("users.online")
	drops := reg.Counter("arrivals.dropped")
	for sec := 0; sec < seconds; sec++ {
		before := map[string]int{}
		for n, v := range run.recorded {
			before[n] = len(v)
		}
		switch {
		case sec < 5:
			online.Add(20)
		case sec >= 35:
			online.Add(-20)
		}
		for i := 0; i < 50+rng.IntN(50); i++ {
			record("telemetry.puback", 500+int64(rng.ExpFloat64()*2000))
		}
		if sec%3 == 0 {
			record("sos.delivered", 1000+rng.Int64N(400_000))
		}
		for i := 0; i < 20; i++ {
			record("http.me", 200+rng.Int64N(5000))
		}
		if sec >= 10 && sec < 14 {
			reg.Latency("http.me").Fail("http_503", fmt.Errorf("GET /v1/sdk/me?hash=%s: 503 Service Unavailable", leakedHash))
			drops.Inc()
		}
		if sec == 20 {
			reg.Latency("http.me").Fail("timeout", errors.New("context deadline exceeded"))
		}
		if sec == 30 {
			reg.Latency(emptyMetric).Error("auth_refused")
		}
		for _, n := range []string{"telemetry.puback", "sos.delivered", "http.me"} {
			run.perTick[n] = append(run.perTick[n], int64(len(run.recorded[n])-before[n]))
		}
		c.Tick(start.Add(time.Duration(sec+1) * time.Second))
	}
	if err := hw.Close(); err != nil {
		return nil, err
	}
	end := start.Add(seconds * time.Second)
	s := &Summary{
		Schema: SchemaName, Version: SchemaVersion, Name: "unit",
		Scenario: testScenario{
			Version: 1, Name: "unit",
			Fleet:      map[string]any{"users": 100, "connect_rate": "20/s"},
			Stages:     []map[string]any{{"name": "up", "for": "5s", "users": 100}, {"name": "steady", "for": "30s", "users": 100}, {"name": "down", "for": "5s", "users": 0}},
			Thresholds: map[string]any{"telemetry.puback": []string{"p(99) < 1s"}},
			Identity:   map[string]string{"app_id": "a", "app_secret": "[redacted]"},
		},
		Target:    Target{Kind: TargetEmbedded, HTTP: "http://127.0.0.1:1", MQTT: "tcp://127.0.0.1:2"},
		Start:     start,
		End:       end,
		Seconds:   seconds,
		EndReason: EndCompleted,
		Stages: []Stage{
			{Name: "up", Users: 100, Start: start, End: start.Add(5 * time.Second)},
			{Name: "steady", Users: 100, Start: start.Add(5 * time.Second), End: start.Add(35 * time.Second)},
			{Name: "down", Users: 0, Start: start.Add(35 * time.Second), End: end},
		},
		Metrics:    map[string]Metric{},
		Counters:   reg.Values(),
		Thresholds: []Verdict{{Metric: "telemetry.puback", Rule: "p(99) < 1s", Observed: "12ms", Value: 12, Unit: UnitMs, Passed: true}},
		Series:     SeriesFrom(c.Series()),
		Meta: &Meta{Version: "v1.2.3", Revision: "0123abcd", GoVersion: "go1.26.8", Platform: "linux/amd64", Host: "ci-runner",
			Cores: 2, GOMAXPROCS: 2, Seed: &seed, ScenarioHash: "sha256:5e1f", StartUTC: start.UTC(), EndUTC: end.UTC(),
			CommandLine: []string{"eixamsim", "run", "--set", "identity.app_secret=[redacted]", "unit.yaml"}},
		UsersOnline: &Online{Peak: 100, Stages: []StageOnline{
			{Name: "up", Target: 100, Min: 20, Max: 100, Samples: 5},
			{Name: "steady", Target: 100, Min: 100, Max: 100, Samples: 30},
			{Name: "down", Target: 0, Min: 0, Max: 100, Samples: 5},
		}},
		Generator: &health.Report{
			Verdict: health.Verdict{State: health.Healthy},
			Cores:   2, SampledS: 40,
			CPU:          health.CPUStats{MeanPct: 41, PeakPct: 77, LimitPct: 90},
			SchedLatency: health.SchedStats{P99MS: 12, PeakP99MS: 42, LimitMS: 20, OverS: 6},
			ScheduleLag:  health.LagStats{PeakP99MS: 3, LimitMS: 100},
			Backpressure: health.BackpressureStats{Attempts: 2277, LimitPct: 1},
			GCPause:      health.GCStats{TotalMS: 4, MaxMS: 0.3, PeakPct: 0.2, LimitPct: 5},
		},
	}
	for _, m := range reg.Summaries() {
		s.Metrics[m.Name] = MetricFrom(m, seconds).WithSamples(reg.Latency(m.Name).ErrorSamples())
	}
	// Per-stage statistics: everything in the steady stage, nothing around it.
	for i := range s.Stages {
		st := &s.Stages[i]
		st.From, st.To = st.Start.Sub(start).Seconds(), st.End.Sub(start).Seconds()
		st.Metrics, st.Counters = map[string]Metric{}, map[string]int64{}
		for name, m := range s.Metrics {
			if st.Name != "steady" {
				m = Metric{ErrorsBy: map[string]int64{}}
			}
			m.ErrorSamples = nil
			st.Metrics[name] = m
		}
	}
	baseline, limit := 11.0, 12.1
	s.Thresholds = append(s.Thresholds, Verdict{Metric: "telemetry.puback", Stage: "steady", Rule: "p(99) < baseline * 1.1", Observed: "12ms", Value: 12, Unit: UnitMs,
		Baseline: "11ms × 1.1 = 12.1ms", BaselineValue: &baseline, LimitValue: &limit, Passed: true})
	if err := WriteDir(dir, s, nil); err != nil {
		return nil, err
	}
	run.sum = s
	if run.hs, err = ReadHlogDir(filepath.Join(dir, HdrDir)); err != nil {
		return nil, err
	}
	return run, nil
}

// exactPercentile is the textbook nearest-rank percentile of values.
func exactPercentile(values []int64, q float64) int64 {
	v := append([]int64(nil), values...)
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	return v[nearestRank(q, int64(len(v)))-1]
}

// nearestRank is max(1, ceil(q/100 · n)) in integers, for q in tenths of
// a percent (50, 99.9): exact, and sharing nothing with metrics.Rank.
func nearestRank(q float64, n int64) int64 {
	tenths := int64(math.Round(q * 10))
	return min(max((tenths*n+999)/1000, 1), n)
}
