package engine

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// stagedScenario is a run whose first stage is slow: every HTTP answer
// takes 1 s more until a scheduled fault clears it at 1.5 s, so the
// requests it slows finish well inside the ramp (by 2.5 s; the backend's
// schedule starts before the fleet, so earlier still). The budget of the
// rules, 600 ms, leaves room for a loaded machine (the race detector).
const stagedScenario = `version: 1
identity: { app_id: e2e, app_secret: e2e-secret }
fleet: { users: 20, connect_rate: 200/s }
name: staged
stages:
  - { name: ramp, for: 4s, users: 20 }
  - { name: steady, for: 3s, users: 20 }
behaviours:
  login: [me]
  contacts: { rate: 20/s, mix: { list: 1 } }
target: { embedded: { http_latency: 1s, faults: ["set_faults@1500ms:none"] } }
`

// A stage-scoped rule judges the stage's intervals only: the slow ramp
// fails the whole-run rule, not the steady stage's.
func TestRunStageThresholds(t *testing.T) {
	t.Parallel()
	sc, _ := load(t, stagedScenario+`thresholds:
  http.contacts_list: ["p(99) < 600ms"]
  http.contacts_list{stage=steady}: ["p(99) < 600ms", "count >= 30", "rate >= 15/s"]
  http.contacts_list{stage=ramp}: ["max >= 1s"]
`)
	res, _, err := run(t, context.Background(), sc)
	if outcome.Of(err) != outcome.ThresholdsFailed {
		t.Fatalf("outcome %v: %v", outcome.Of(err), err)
	}
	th := res.Summary.Thresholds
	want := []struct {
		key    string
		passed bool
	}{
		{"http.contacts_list", false},
		{"http.contacts_list{stage=steady}", true},
		{"http.contacts_list{stage=steady}", true},
		{"http.contacts_list{stage=steady}", true},
		{"http.contacts_list{stage=ramp}", true},
	}
	if len(th) != len(want) {
		t.Fatalf("verdicts = %+v", th)
	}
	for i, w := range want {
		if th[i].Key() != w.key || th[i].Passed != w.passed {
			t.Errorf("verdict %d = %s passed %v (observed %s); want %s passed %v", i, th[i].Key(), th[i].Passed, th[i].Observed, w.key, w.passed)
		}
	}
	if !strings.Contains(err.Error(), "1 of 5 thresholds failed: http.contacts_list: p(99) < 600ms") {
		t.Errorf("error = %v", err)
	}

	// summary.json: each stage's statistics, adding up to the whole run.
	s := res.Summary
	if len(s.Stages) != 2 {
		t.Fatalf("stages = %+v", s.Stages)
	}
	var count, errs int64
	for _, st := range s.Stages {
		m, ok := st.Metrics[scenario.HTTPContactsList]
		if !ok || st.Seconds() <= 0 {
			t.Fatalf("stage %s: %+v", st.Name, st)
		}
		count += m.Count
		errs += m.Errors
	}
	whole := s.Metrics[scenario.HTTPContactsList]
	if count != whole.Count || errs != whole.Errors || count == 0 {
		t.Errorf("stages add up to %d ops, %d errors; the whole run has %d, %d", count, errs, whole.Count, whole.Errors)
	}
	ramp, steady := s.Stages[0], s.Stages[1]
	if ramp.From != 0 || ramp.To != steady.From || steady.To < s.Seconds-0.01 {
		t.Errorf("stage windows %v..%v, %v..%v; run %vs", ramp.From, ramp.To, steady.From, steady.To, s.Seconds)
	}
	if r := ramp.Metrics[scenario.HTTPContactsList]; r.P95 < 1000 || steady.Metrics[scenario.HTTPContactsList].P99 >= 600 {
		t.Errorf("ramp p95 %vms, steady p99 %vms; want >= 1000, < 600", r.P95, steady.Metrics[scenario.HTTPContactsList].P99)
	}
	if ramp.Metrics[scenario.HTTPMe].Count != 20 || steady.Metrics[scenario.HTTPMe].Count != 0 {
		t.Errorf("http.me per stage %d, %d; want every login in the ramp", ramp.Metrics[scenario.HTTPMe].Count, steady.Metrics[scenario.HTTPMe].Count)
	}

	// The tables show the stages.
	text, _ := os.ReadFile(filepath.Join(res.Dir, report.SummaryTextFile))
	html, _ := os.ReadFile(filepath.Join(res.Dir, report.ReportHTMLFile))
	if !strings.Contains(string(text), "per stage:") || !strings.Contains(string(text), "FAIL  http.contacts_list: p(99) < 600ms") ||
		!strings.Contains(string(text), "PASS  http.contacts_list{stage=steady}: p(99) < 600ms") {
		t.Errorf("summary.txt:\n%s", text)
	}
	if !strings.Contains(string(html), "<h2>Per stage</h2>") || !strings.Contains(string(html), "http.contacts_list{stage=steady}") {
		t.Error("report.html has no per-stage table or stage-scoped verdict")
	}
}

// abort_on_fail with a stage-scoped key checks it only while that stage
// runs: the slow ramp does not abort a run gated on the steady stage.
func TestRunStageAbortOnFail(t *testing.T) {
	t.Parallel()
	sc, _ := load(t, stagedScenario+`thresholds:
  http.contacts_list{stage=steady}: ["p(99) < 600ms"]
  http.contacts_list{stage=ramp}: ["p(99) < 600ms"]
  abort_on_fail: ["http.contacts_list{stage=steady}"]
`)
	res, _, err := run(t, context.Background(), sc)
	if outcome.Of(err) != outcome.ThresholdsFailed || res.Summary.EndReason != report.EndCompleted {
		t.Fatalf("outcome %v (%v): %v", outcome.Of(err), res.Summary.EndReason, err)
	}
	if th := res.Summary.Thresholds; !th[0].Passed || th[1].Passed {
		t.Errorf("verdicts = %+v; want steady passed, ramp failed", th)
	}
}

// The interval straddling a boundary goes to the stage holding its middle;
// the teardown to the last stage.
func TestStageClock(t *testing.T) {
	sc := &scenario.Scenario{Stages: []scenario.Stage{{Name: "a", For: 2 * time.Second}, {Name: "b", For: 3 * time.Second}}}
	c := newStageClock(sc)
	t0 := time.Unix(1_800_000_000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	if got := c.stageOf(fleet.Status{}, at(0), at(1)); got != 0 {
		t.Errorf("before any status: stage %d", got)
	}
	// The fleet started 10 ms after t0; the status says stage b, ending at 5.01 s.
	st := fleet.Status{Stage: "b", StageIndex: 1, StageEnd: at(5.01)}
	for _, tc := range []struct {
		from, to float64
		want     int
	}{
		{1, 2, 0}, {1.5, 2.5, 0}, {1.52, 2.52, 1}, {2, 3, 1}, {4, 5, 1}, {5, 6, 1}, {7, 8, 1},
	} {
		if got := c.stageOf(st, at(tc.from), at(tc.to)); got != tc.want {
			t.Errorf("interval %v..%v: stage %d; want %d", tc.from, tc.to, got, tc.want)
		}
	}
	if got := newStageClock(&scenario.Scenario{}).stageOf(st, at(0), at(1)); got != -1 {
		t.Errorf("no stages: %d", got)
	}
}

// report.Stage starts with fleet.StageTiming's fields, so the engine's
// conversion copies all of them.
func TestStageTimingFields(t *testing.T) {
	ft, rt := reflect.TypeFor[fleet.StageTiming](), reflect.TypeFor[report.Stage]()
	for i := range ft.NumField() {
		f, ok := rt.FieldByName(ft.Field(i).Name)
		if !ok || f.Type != ft.Field(i).Type || f.Index[0] != i {
			t.Errorf("report.Stage lacks fleet.StageTiming's %s (%s) at %d", ft.Field(i).Name, ft.Field(i).Type, i)
		}
	}
	now := time.Now()
	ti := fleet.StageTiming{Name: "a", Users: 3, Start: now, End: now.Add(time.Second)}
	if got := stageTiming(ti); got.Name != ti.Name || got.Users != ti.Users || !got.Start.Equal(ti.Start) || !got.End.Equal(ti.End) {
		t.Errorf("stageTiming = %+v", got)
	}
}
