package merge

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// latencyNames are the metrics the synthetic shards record.
var latencyNames = []string{scenario.TelemetryPuback, scenario.SOSDelivered, scenario.HTTPMe}

// randomLatency is log-normal around 5ms, from microseconds to minutes.
func randomLatency(r *rand.Rand) time.Duration {
	d := time.Duration(math.Exp(r.NormFloat64()*2.5+math.Log(5e6))) * time.Nanosecond
	return min(d, 10*time.Minute)
}

// TestMergedPercentilesAreExact splits random latencies over 1 to 5
// shards, written through the real writers with clocks up to 450ms apart,
// and checks that the merge equals one registry that recorded every
// sample: the whole-run histograms bit for bit, every statistic of
// summary.json, the threshold's observed value, summed counters and
// users.online summed second by second.
func TestMergedPercentilesAreExact(t *testing.T) {
	t.Parallel()
	for seed := range uint64(8) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(seed, 1))
			n, secs := 1+r.IntN(5), 3+r.IntN(6)
			all := metrics.NewRegistry() // every sample of every shard
			th := map[string]any{scenario.TelemetryPuback: []string{"p(99) < 1s", "p(99.9) < 2s"}}
			var dirs []string
			var peak, disconnects int64
			for i := range n {
				sr := rand.New(rand.NewPCG(seed, uint64(i)+100))
				dirs = append(dirs, writeShard(t, spec{
					runID: "run-1", hash: "abc", index: i, count: n, seconds: secs, thresholds: th,
					base: t0.Add(time.Duration(sr.IntN(450)) * time.Millisecond),
					record: func(s int, reg *metrics.Registry) {
						for _, name := range latencyNames {
							for range sr.IntN(300) {
								d := randomLatency(sr)
								reg.Latency(name).Record(d)
								all.Latency(name).Record(d)
							}
							for range sr.IntN(3) {
								reg.Latency(name).Error("timeout")
								all.Latency(name).Error("timeout")
							}
						}
						reg.Gauge(scenario.UsersOnline).Add(int64(i + 1))
						k := int64(sr.IntN(3))
						reg.Counter(scenario.MQTTDisconnects).Add(k)
						disconnects += k
					},
				}))
				peak += int64(i+1) * int64(secs)
			}
			out := filepath.Join(t.TempDir(), "merged")
			slices.Reverse(dirs) // the order of the arguments does not matter
			res, err := Merge(dirs, Options{Out: out})
			if o := outcome.Of(err); res == nil || o != outcome.Passed && o != outcome.ThresholdsFailed {
				t.Fatalf("merge: %v", err)
			}
			sum, got := res.Summary, outcome.Of(err)
			logs, err := report.ReadHlogDir(filepath.Join(out, report.HdrDir))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range all.Summaries() {
				got := sum.Metrics[want.Name]
				w := report.MetricFrom(want, sum.Seconds)
				if fmt.Sprint(got) != fmt.Sprint(w) {
					t.Errorf("%s: merged\n%+v\nwant (one registry)\n%+v", want.Name, got, w)
				}
				h, _ := all.Latency(want.Name).Snapshot()
				if tot := logs.Total(want.Name); tot == nil || !tot.Equals(h) {
					t.Errorf("%s: the merged hlog's intervals do not add up to one histogram of every sample", want.Name)
				}
				if len(logs[want.Name]) != secs {
					t.Errorf("%s: merged log has %d intervals, want one per second (%d)", want.Name, len(logs[want.Name]), secs)
				}
			}
			h, errs := all.Latency(scenario.TelemetryPuback).Snapshot()
			wantV := metrics.Evaluate(scenarioThresholds(t, th), metrics.Measurements{
				Latencies: map[string]metrics.LatencyData{scenario.TelemetryPuback: {Hist: h, Errors: errs["timeout"]}}})
			if len(sum.Thresholds) != len(wantV) {
				t.Fatalf("%d verdicts, want %d", len(sum.Thresholds), len(wantV))
			}
			failed := false
			for i, v := range wantV {
				failed = failed || !v.Passed
				if got, want := sum.Thresholds[i], report.VerdictFrom(v); got.Value != want.Value || got.Passed != want.Passed {
					t.Errorf("verdict %s: observed %v passed %v, want %v %v", got.Name(), got.Value, got.Passed, want.Value, want.Passed)
				}
			}
			if (got == outcome.ThresholdsFailed) != failed {
				t.Errorf("merged outcome %v, but a threshold failed on every sample: %v", got, failed)
			}
			if got := sum.Counters[scenario.MQTTDisconnects]; got != disconnects {
				t.Errorf("mqtt.disconnects %d, want the sum %d", got, disconnects)
			}
			if sum.UsersOnline == nil || sum.UsersOnline.Peak != peak {
				t.Errorf("users_online %+v, want peak %d (the shards' levels summed per second)", sum.UsersOnline, peak)
			}
			if len(sum.Series) != secs {
				t.Errorf("series has %d points, want %d", len(sum.Series), secs)
			}
			if got := sum.Meta.Shards; len(got) != n || sum.Meta.Shard != nil || sum.Meta.RunID != "run-1" {
				t.Errorf("meta run %q shard %v shards %v; want run-1, no shard, %d shards", sum.Meta.RunID, sum.Meta.Shard, got, n)
			}
			if sum.EndReason != report.EndCompleted {
				t.Errorf("end reason %s", sum.EndReason)
			}
			// What was written is what was returned.
			back, err := report.ReadSummaryFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(back.Metrics) != fmt.Sprint(sum.Metrics) {
				t.Error("summary.json differs from the returned summary")
			}
			for _, f := range append(report.RenderedFiles(), report.SummaryJSONFile) {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestMergeRefuses feeds directories that must not be merged: the error
// names both directories and what differs, the outcome is bad input, and
// nothing is written.
func TestMergeRefuses(t *testing.T) {
	t.Parallel()
	shard := func(run, hash string, index, count int) string {
		return writeShard(t, spec{runID: run, hash: hash, index: index, count: count, base: t0, seconds: 2,
			record: func(_ int, reg *metrics.Registry) { reg.Latency(scenario.HTTPMe).Record(time.Millisecond) }})
	}
	a := shard("run-1", "aaaaaaaaaaaaaaaaaaaa", 0, 2)
	unsharded := writeShard(t, spec{base: t0, seconds: 1})
	if err := patchMeta(unsharded, func(m *report.Meta) { m.Shard = nil }); err != nil {
		t.Fatal(err)
	}
	cut := shard("run-1", "aaaaaaaaaaaaaaaaaaaa", 1, 2)
	if err := os.Remove(filepath.Join(cut, report.HdrDir, scenario.HTTPMe+".hlog")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		dirs []string
		out  string
		want []string
	}{
		{"other run", []string{a, shard("run-2", "aaaaaaaaaaaaaaaaaaaa", 1, 2)}, "", []string{
			"refusing to merge: " + a + ` is run "run-1" of scenario aaaaaaaaaaaa, `, ` is run "run-2" of scenario aaaaaaaaaaaa`}},
		{"other scenario", []string{a, shard("run-1", "bbbbbbbbbbbbbbbbbbbb", 1, 2)}, "", []string{
			"refusing to merge: " + a + ` is run "run-1" of scenario aaaaaaaaaaaa, `, ` is run "run-1" of scenario bbbbbbbbbbbb`}},
		{"duplicate shard", []string{a, shard("run-1", "aaaaaaaaaaaaaaaaaaaa", 0, 2)}, "", []string{"are both shard 0/2"}},
		{"same directory twice", []string{a, a}, "", []string{"are both shard 0/2"}},
		{"other shard count", []string{a, shard("run-1", "aaaaaaaaaaaaaaaaaaaa", 1, 3)}, "", []string{"is shard 0/2", "is shard 1/3"}},
		{"not a shard", []string{unsharded}, "", []string{unsharded + " is not a shard of a sharded run"}},
		{"out is an input", []string{a}, a, []string{"is one of the directories to merge"}},
		{"no out", []string{a}, "-", []string{"--out"}},
		{"a log missing", []string{a, cut}, "", []string{cut + ": hdr/http.me.hlog holds 0 values of http.me, summary.json counts 2"}},
		{"not a result directory", []string{t.TempDir()}, "", []string{"summary.json"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := c.out
			switch out {
			case "":
				out = filepath.Join(t.TempDir(), "merged")
			case "-":
				out = ""
			}
			res, err := Merge(c.dirs, Options{Out: out})
			if res != nil || outcome.Of(err) != outcome.BadInput {
				t.Fatalf("result %v, outcome %v (%v); want a refusal", res, outcome.Of(err), err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if c.out == "" {
				if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("a refused merge created %s: %v", out, err)
				}
			}
		})
	}
}

// patchMeta rewrites dir/summary.json's meta with edit.
func patchMeta(dir string, edit func(*report.Meta)) error {
	s, err := report.ReadSummaryFile(dir)
	if err != nil {
		return err
	}
	edit(s.Meta)
	return report.WriteFileAtomic(filepath.Join(dir, report.SummaryJSONFile), func(w io.Writer) error { return report.WriteJSON(w, s) })
}

// TestMergeMissingShardIsPartial merges shards 0, 1 and 3 of 4: the merge
// writes what is there, says which shard is missing, and its verdict is
// interrupted (exit 130): rules that held are not passes.
func TestMergeMissingShardIsPartial(t *testing.T) {
	t.Parallel()
	th := map[string]any{scenario.HTTPMe: []string{"p(95) < 1s"}}
	var dirs []string
	for _, i := range []int{0, 1, 3} {
		dirs = append(dirs, writeShard(t, spec{runID: "r", hash: "h", index: i, count: 4, base: t0, seconds: 2, thresholds: th,
			record: func(_ int, reg *metrics.Registry) {
				reg.Latency(scenario.UserLogin).Record(time.Millisecond)
				reg.Latency(scenario.HTTPMe).Record(2 * time.Millisecond)
			}}))
	}
	out := filepath.Join(t.TempDir(), "merged")
	res, err := Merge(dirs, Options{Out: out})
	if outcome.Of(err) != outcome.Interrupted || res == nil {
		t.Fatalf("outcome %v (%v), want interrupted with a result", outcome.Of(err), err)
	}
	if want := "partial result: shard 2 of 4 missing"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if !slices.Equal(res.Missing, []int{2}) {
		t.Errorf("missing %v, want [2]", res.Missing)
	}
	sum := res.Summary
	if sum.EndReason != report.EndInterrupted || !slices.ContainsFunc(sum.Notes, func(n string) bool { return strings.Contains(n, "partial result: shard 2 of 4 missing") }) {
		t.Errorf("end reason %s, notes %q; want interrupted and a note on the missing shard", sum.EndReason, sum.Notes)
	}
	if got := sum.Metrics[scenario.HTTPMe].Count; got != 6 {
		t.Errorf("http.me count %d, want 6 (2 seconds x 3 shards)", got)
	}
	if len(sum.Thresholds) != 1 || !sum.Thresholds[0].Passed {
		t.Fatalf("verdicts %+v", sum.Thresholds)
	}
	// The headline names the missing shard, not a stop by hand.
	if word, reason := report.Headline(sum); word != "PARTIAL" || !strings.Contains(reason, "Shard 2 of 4 missing") {
		t.Errorf("headline %s: %s; want PARTIAL naming shard 2 of 4", word, reason)
	}
	page, err := os.ReadFile(filepath.Join(out, report.ReportHTMLFile))
	if err != nil || !strings.Contains(string(page), "Shard 2 of 4 missing") || strings.Contains(string(page), "Stopped by hand") {
		t.Errorf("report.html does not name the missing shard (%v)", err)
	}
	junit, err := os.ReadFile(filepath.Join(out, report.JUnitFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(junit), "<skipped") {
		t.Errorf("junit.xml of a partial merge passes a rule instead of skipping it:\n%s", junit)
	}
}

func TestMergeKeepsErrorSamples(t *testing.T) {
	t.Parallel()
	var dirs []string
	for i := range 2 {
		dirs = append(dirs, writeShard(t, spec{runID: "r", hash: "h", index: i, count: 2, base: t0, seconds: 1,
			record: func(_ int, reg *metrics.Registry) {
				reg.Latency(scenario.UserLogin).Record(time.Millisecond)
				for j := range 2 {
					reg.Latency(scenario.HTTPMe).Fail("http_503", fmt.Errorf("shard %d: GET /v1/sdk/me: 503 (%d)", i, j))
				}
			}}))
	}
	res, err := Merge(dirs, Options{Out: filepath.Join(t.TempDir(), "merged")})
	if err != nil && outcome.Of(err) != outcome.ThresholdsFailed {
		t.Fatalf("merge: %v", err)
	}
	m := res.Summary.Metrics[scenario.HTTPMe]
	if m.ErrorsBy["http_503"] != 4 {
		t.Errorf("http_503 errors %d, want 4", m.ErrorsBy["http_503"])
	}
	want := []string{"shard 0: GET /v1/sdk/me: 503 (0)", "shard 0: GET /v1/sdk/me: 503 (1)", "shard 1: GET /v1/sdk/me: 503 (0)"}
	if got := m.ErrorSamples["http_503"]; !slices.Equal(got, want) {
		t.Errorf("samples %q, want the first %d in shard order %q", got, metrics.MaxErrorSamples, want)
	}
}

func TestMergeJudgesStageScopedRules(t *testing.T) {
	t.Parallel()
	key := scenario.HTTPMe + "{stage=steady}"
	th := map[string]any{key: []string{"count >= 12", "p(99) < 1s"}}
	var dirs []string
	for i := range 2 {
		dirs = append(dirs, writeShard(t, spec{runID: "r", hash: "h", index: i, count: 2, base: t0, seconds: 3, thresholds: th,
			record: func(_ int, reg *metrics.Registry) {
				reg.Latency(scenario.UserLogin).Record(time.Millisecond)
				reg.Latency(scenario.HTTPMe).Record(2 * time.Millisecond)
				reg.Latency(scenario.HTTPMe).Record(3 * time.Millisecond)
			}}))
	}
	res, err := Merge(dirs, Options{Out: filepath.Join(t.TempDir(), "merged")})
	if err != nil {
		t.Fatalf("merge: %v", err)
	}
	sum := res.Summary
	if len(sum.Stages) != 1 || sum.Stages[0].Metrics[scenario.HTTPMe].Count != 12 {
		t.Fatalf("merged stages %+v, want steady with 12 http.me samples", sum.Stages)
	}
	if len(sum.Thresholds) != 2 {
		t.Fatalf("verdicts %+v, want 2", sum.Thresholds)
	}
	for _, v := range sum.Thresholds {
		if v.Stage != "steady" || !v.Passed {
			t.Errorf("verdict %+v, want a passed rule of stage steady", v)
		}
	}
	if sum.Thresholds[0].Value != 12 {
		t.Errorf("count observed %v, want 12 (both shards' samples of the stage)", sum.Thresholds[0].Value)
	}
}

func TestMergeJudgesBaselineRules(t *testing.T) {
	t.Parallel()
	shards := func(ms time.Duration, th map[string]any) []string {
		var dirs []string
		for i := range 2 {
			dirs = append(dirs, writeShard(t, spec{runID: "r", hash: "h", index: i, count: 2, base: t0, seconds: 2, thresholds: th,
				record: func(_ int, reg *metrics.Registry) { reg.Latency(scenario.HTTPMe).Record(ms) }}))
		}
		return dirs
	}
	th := map[string]any{scenario.HTTPMe: []string{"p(99) < baseline * 1.1"}}
	out := filepath.Join(t.TempDir(), "merged")
	if res, err := Merge(shards(5*time.Millisecond, th), Options{Out: out}); res != nil || outcome.Of(err) != outcome.BadInput ||
		!strings.Contains(err.Error(), "--baseline DIR") {
		t.Fatalf("merge of baseline rules without a baseline: %v; want refused, naming --baseline", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("refused merge wrote %s (%v)", out, err)
	}
	// The baseline is an earlier merged run whose http.me took 10 ms.
	base, err := Merge(shards(10*time.Millisecond, nil), Options{Out: filepath.Join(t.TempDir(), "base")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := report.LoadBaseline(base.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		ms   time.Duration
		pass bool
	}{{5 * time.Millisecond, true}, {20 * time.Millisecond, false}} {
		res, err := Merge(shards(tt.ms, th), Options{Out: filepath.Join(t.TempDir(), "merged"), Baseline: b})
		if res == nil || len(res.Summary.Thresholds) != 1 {
			t.Fatalf("merge at %v: %v", tt.ms, err)
		}
		v := res.Summary.Thresholds[0]
		if v.Passed != tt.pass || (err == nil) != tt.pass {
			t.Errorf("http.me at %v against a 10 ms baseline: passed %v (%s), err %v; want passed %v", tt.ms, v.Passed, v.Observed, err, tt.pass)
		}
	}
}

// TestMergeLeavesTheTeardownOut: each shard's last interval ends 300 ms
// after the stage, with its users disconnecting; it is not a sample of
// the stage's users online, as a run's own ticker judges it.
func TestMergeLeavesTheTeardownOut(t *testing.T) {
	t.Parallel()
	var dirs []string
	for i := range 2 {
		dirs = append(dirs, writeShard(t, spec{runID: "r", hash: "h", index: i, count: 2, base: t0, seconds: 3,
			record: func(s int, reg *metrics.Registry) {
				if s == 0 {
					reg.Latency(scenario.UserLogin).Record(time.Millisecond)
					reg.Gauge(scenario.UsersOnline).Add(5)
				}
			},
			teardown: func(reg *metrics.Registry) { reg.Gauge(scenario.UsersOnline).Add(-4) }}))
	}
	res, err := Merge(dirs, Options{Out: filepath.Join(t.TempDir(), "merged")})
	if err != nil {
		t.Fatal(err)
	}
	on := res.Summary.UsersOnline
	if on == nil || len(on.Stages) != 1 || on.Stages[0].Min != 10 || on.Stages[0].Max != 10 {
		t.Errorf("users_online %+v; want the steady stage at 10..10, without the teardown's 2", on)
	}
}
