package merge

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// t0 is the wall-clock start of the synthetic runs.
var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// spec describes one synthetic shard result directory.
type spec struct {
	runID, hash  string
	index, count int
	// base is the shard's start; seconds its length in whole seconds.
	base    time.Time
	seconds int
	// record is called once per second s (0-based) with the shard's
	// registry, before the second's tick.
	record func(s int, reg *metrics.Registry)
	// thresholds is the scenario echo's thresholds block.
	thresholds map[string]any
	end        report.EndReason
	// teardown, if set, is called after the last second, before one more
	// tick 300 ms past the stage's end: the run's teardown interval.
	teardown func(reg *metrics.Registry)
}

// writeShard writes a result directory for sp through the real writers a
// run uses: a metrics registry and collector ticking once a second into
// an hlog writer, then report.WriteDir. It returns the directory.
func writeShard(t *testing.T, sp spec) string {
	t.Helper()
	dir := t.TempDir()
	reg := metrics.NewRegistry()
	hw, err := metrics.NewHlogWriter(filepath.Join(dir, report.HdrDir), sp.base)
	if err != nil {
		t.Fatal(err)
	}
	c := metrics.NewCollector(reg, sp.base, hw)
	for s := range sp.seconds {
		if sp.record != nil {
			sp.record(s, reg)
		}
		c.Tick(sp.base.Add(time.Duration(s+1) * time.Second))
	}
	if sp.teardown != nil {
		sp.teardown(reg)
		c.Tick(sp.base.Add(time.Duration(sp.seconds)*time.Second + 300*time.Millisecond))
	}
	if err := hw.Close(); err != nil {
		t.Fatal(err)
	}
	end := sp.base.Add(time.Duration(sp.seconds) * time.Second)
	seconds := end.Sub(sp.base).Seconds()
	echo, err := json.Marshal(map[string]any{"version": 1, "name": "synthetic", "thresholds": sp.thresholds})
	if err != nil {
		t.Fatal(err)
	}
	raw := json.RawMessage(echo)
	if sp.end == "" {
		sp.end = report.EndCompleted
	}
	sum := &report.Summary{
		Schema: report.SchemaName, Version: report.SchemaVersion, Name: "synthetic",
		Scenario: &raw,
		Meta: &report.Meta{Version: "(devel)", GoVersion: "go1", Platform: "linux/amd64", Host: "h" + string(rune('a'+sp.index)),
			Cores: 2, GOMAXPROCS: 2, ScenarioHash: sp.hash, RunID: sp.runID, Shard: &report.Shard{Index: sp.index, Count: sp.count},
			StartUTC: sp.base, EndUTC: end},
		Target:    report.Target{Kind: report.TargetExternal, HTTP: "http://127.0.0.1:1", MQTT: "tcp://127.0.0.1:2"},
		Start:     sp.base,
		End:       end,
		Seconds:   seconds,
		EndReason: sp.end,
		Stages:    []report.Stage{{Name: "steady", Users: 10, Start: sp.base, End: end, From: 0, To: seconds}},
		Metrics:   map[string]report.Metric{},
		Counters:  reg.Values(),
		Series:    report.SeriesFrom(c.Series()),
	}
	for _, m := range reg.Summaries() {
		sum.Metrics[m.Name] = report.MetricFrom(m, seconds).WithSamples(reg.Latency(m.Name).ErrorSamples())
	}
	// One stage: its statistics are the whole run's.
	sum.Stages[0].Metrics, sum.Stages[0].Counters = sum.Metrics, sum.Counters
	th := scenarioThresholds(t, sp.thresholds)
	for _, v := range metrics.Evaluate(th, c.Measure(end.Sub(sp.base), nil)) {
		sum.Thresholds = append(sum.Thresholds, report.VerdictFrom(v))
	}
	if err := report.WriteDir(dir, sum, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// scenarioThresholds parses a thresholds block the way the echo is read
// back, for the shards' own verdicts.
func scenarioThresholds(t *testing.T, block map[string]any) scenario.Thresholds {
	t.Helper()
	echo, err := json.Marshal(map[string]any{"thresholds": block})
	if err != nil {
		t.Fatal(err)
	}
	raw := json.RawMessage(echo)
	th, err := thresholdsOf(&report.Summary{Scenario: &raw})
	if err != nil {
		t.Fatal(err)
	}
	return th
}
