package merge

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/health"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// patchSummary rewrites dir/summary.json with edit.
func patchSummary(t *testing.T, dir string, edit func(*report.Summary)) {
	t.Helper()
	s, err := report.ReadSummaryFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	edit(s)
	if err := report.WriteFileAtomic(filepath.Join(dir, report.SummaryJSONFile), func(w io.Writer) error { return report.WriteJSON(w, s) }); err != nil {
		t.Fatal(err)
	}
}

// oneShard writes shard index of 2 of run "r", starting at base, for
// seconds, with a login and a telemetry ack each second.
func oneShard(t *testing.T, index int, base time.Time, seconds int, end report.EndReason) string {
	t.Helper()
	return writeShard(t, spec{runID: "r", hash: "h", index: index, count: 2, base: base, seconds: seconds, end: end,
		record: func(_ int, reg *metrics.Registry) {
			reg.Latency(scenario.UserLogin).Record(time.Millisecond)
			reg.Latency(scenario.TelemetryPuback).Record(2 * time.Millisecond)
			reg.Counter(scenario.MQTTDisconnects).Add(1)
		}})
}

// refused merges dirs and checks that the merge is refused with an error
// saying each of want, and that nothing was written.
func refused(t *testing.T, dirs []string, want ...string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "merged")
	res, err := Merge(dirs, Options{Out: out})
	if res != nil || outcome.Of(err) != outcome.BadInput {
		t.Fatalf("result %v, outcome %v (%v); want a refusal", res, outcome.Of(err), err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused merge wrote %s (%v)", out, err)
	}
}

// TestMergeRefusesShardsThatDidNotOverlap: shards that ran one after
// another, or with starts far apart, are not one run; a shard aborted
// early that started with the others is.
func TestMergeRefusesShardsThatDidNotOverlap(t *testing.T) {
	t.Parallel()
	a := oneShard(t, 0, t0, 10, "")
	after := oneShard(t, 1, t0.Add(13*time.Second), 10, "")
	refused(t, []string{a, after}, "the shards did not run at the same time", "together 0s of the 23s",
		filepath.Join(a, report.SummaryJSONFile)+" ran 2026-11-24T10:00:00.000Z to 2026-11-24T10:00:10.000Z",
		filepath.Join(after, report.SummaryJSONFile)+" ran 2026-11-24T10:00:13.000Z to 2026-11-24T10:00:23.000Z")
	late := oneShard(t, 1, t0.Add(3*time.Second), 10, "")
	refused(t, []string{a, late}, "together 7s of the 13s")

	aborted := oneShard(t, 1, t0.Add(200*time.Millisecond), 3, report.EndAborted)
	res, err := Merge([]string{a, aborted}, Options{Out: filepath.Join(t.TempDir(), "merged")})
	if res == nil || outcome.Of(err) != outcome.Aborted {
		t.Fatalf("a shard aborted early: %v (%v), want the merge aborted", outcome.Of(err), err)
	}
}

// TestMergeRefusesImpossibleValues: a summary.json that no run writes is
// refused with the file named.
func TestMergeRefusesImpossibleValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(*report.Summary)
		want string
	}{
		{"start hours back", func(s *report.Summary) { s.Start = s.Start.Add(-3 * time.Hour) },
			"the run starts at 2026-11-24T07:00:00.000Z but its interval logs at 2026-11-24T10:00:00.000Z"},
		{"end far in the future", func(s *report.Summary) { s.End = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) },
			"the run ends in the future (9999-01-01T00:00:00.000Z"},
		{"end before start", func(s *report.Summary) { s.End = s.Start.Add(-time.Second) },
			"the run ends (2026-11-24T09:59:59.000Z) before it starts (2026-11-24T10:00:00.000Z)"},
		{"negative counter", func(s *report.Summary) { s.Counters[scenario.MQTTDisconnects] = -5 },
			"counters.mqtt.disconnects is -5: a count cannot be negative"},
		{"negative count", func(s *report.Summary) {
			m := s.Metrics[scenario.UserLogin]
			m.Count = -2
			s.Metrics[scenario.UserLogin] = m
		}, "metrics.user.login.count is -2"},
		{"negative errors", func(s *report.Summary) {
			m := s.Metrics[scenario.TelemetryPuback]
			m.ErrorsBy = map[string]int64{"timeout": -1}
			s.Metrics[scenario.TelemetryPuback] = m
		}, "metrics.telemetry.puback.errors_by_class.timeout is -1"},
		{"negative stage counter", func(s *report.Summary) { s.Stages[0].Counters = map[string]int64{scenario.MQTTDisconnects: -1} },
			"stages[0].counters.mqtt.disconnects is -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			good := oneShard(t, 0, t0, 3, "")
			bad := oneShard(t, 1, t0, 3, "")
			patchSummary(t, bad, tc.edit)
			refused(t, []string{good, bad}, "refusing to merge: "+filepath.Join(bad, report.SummaryJSONFile)+": "+tc.want)
		})
	}
}

// TestMergeOutIsNeverAnInput: --out that reaches an input through a
// symlink or a relative path, or whose hdr/ is an input's, is refused and
// the input is left as it was.
func TestMergeOutIsNeverAnInput(t *testing.T) {
	t.Parallel()
	a := oneShard(t, 0, t0, 3, "")
	b := oneShard(t, 1, t0, 3, "")
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(a, link); err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, a)
	if err != nil {
		t.Fatal(err)
	}
	hdrLinked := filepath.Join(t.TempDir(), "merged")
	if err := os.MkdirAll(hdrLinked, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(b, report.HdrDir), filepath.Join(hdrLinked, report.HdrDir)); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"a symlink": link, "a relative path": rel, "hdr/ a symlink": hdrLinked} {
		res, err := Merge([]string{a, b}, Options{Out: out})
		if res != nil || outcome.Of(err) != outcome.BadInput || !strings.Contains(err.Error(), "is one of the directories to merge") {
			t.Errorf("--out %s: %v (%v); want a refusal", name, outcome.Of(err), err)
		}
	}
	for _, d := range []string{a, b} {
		if _, err := readShard(d); err != nil {
			t.Errorf("an input was changed: %v", err)
		}
	}
}

// TestMergeRefusesOtherThresholds: the scenario hash leaves the
// thresholds out, so the merge compares them itself.
func TestMergeRefusesOtherThresholds(t *testing.T) {
	t.Parallel()
	shard := func(index int, rule string) string {
		return writeShard(t, spec{runID: "r", hash: "h", index: index, count: 2, base: t0, seconds: 2,
			thresholds: map[string]any{scenario.HTTPMe: []string{rule}},
			record:     func(_ int, reg *metrics.Registry) { reg.Latency(scenario.HTTPMe).Record(time.Millisecond) }})
	}
	a, b := shard(0, "p(99) < 1s"), shard(1, "p(99) < 5s")
	refused(t, []string{a, b}, a+" and "+b+" judge by different thresholds")
}

// TestMergeCountsEachHostOnce: two shards on one 2-core host are 2 cores,
// not 4, in meta and in the generator report; shards on two hosts add up.
func TestMergeCountsEachHostOnce(t *testing.T) {
	t.Parallel()
	merged := func(hosts ...string) *report.Summary {
		t.Helper()
		var dirs []string
		for i, h := range hosts {
			d := oneShard(t, i, t0, 2, "")
			patchSummary(t, d, func(s *report.Summary) {
				s.Meta.Host, s.Meta.Cores, s.Meta.GOMAXPROCS = h, 2, 2
				s.Generator = &health.Report{Cores: 2, SampledS: 2}
				s.Generator.State = health.Healthy
			})
			dirs = append(dirs, d)
		}
		res, err := Merge(dirs, Options{Out: filepath.Join(t.TempDir(), "merged")})
		if res == nil {
			t.Fatalf("merge: %v", err)
		}
		return res.Summary
	}
	one := merged("vm", "vm")
	if one.Meta.Host != "vm" || one.Meta.Cores != 2 || one.Meta.GOMAXPROCS != 2 || one.Generator.Cores != 2 {
		t.Errorf("one host: host %q, cores %d, GOMAXPROCS %d, generator cores %d; want vm and 2 of each",
			one.Meta.Host, one.Meta.Cores, one.Meta.GOMAXPROCS, one.Generator.Cores)
	}
	two := merged("vm-a", "vm-b")
	if two.Meta.Cores != 4 || two.Generator.Cores != 4 {
		t.Errorf("two hosts: cores %d, generator cores %d; want 4 and 4", two.Meta.Cores, two.Generator.Cores)
	}
}
