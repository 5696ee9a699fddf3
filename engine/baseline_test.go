package engine

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// baselineScenario is a short run against a backend answering every HTTP
// request 50 ms late, with SCENARIO_EXTRA appended.
const baselineScenario = `version: 1
identity: { app_id: e2e, app_secret: e2e-secret }
fleet: { users: 10, connect_rate: 200/s }
name: base
stages:
  - { name: ramp, for: 1s, users: 10 }
  - { name: steady, for: 2s, users: 10 }
target: { embedded: { http_latency: 50ms } }
`

// Baseline rules compare with the same aggregation of a real earlier run's
// result directory: the verdict shows both values; a metric the baseline
// lacks fails the rule with "no samples" and a note.
func TestRunBaseline(t *testing.T) {
	t.Parallel()
	// The baseline: contacts listed only.
	sc, _ := load(t, baselineScenario+`behaviours:
  login: [me]
  contacts: { rate: 20/s, mix: { list: 1 } }
`)
	first, _, err := run(t, context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	base, err := report.LoadBaseline(first.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := base.Measured.Stages["steady"]; !ok {
		t.Fatalf("baseline stages = %v", base.Measured.Stages)
	}

	// The same backend: within 50 %, not twice as fast; creates are new.
	// (Medians: 50 ms of the backend's, where a tail moves with the load
	// on the machine.)
	sc, _ = load(t, baselineScenario+`behaviours:
  login: [me]
  contacts: { rate: 20/s, mix: { list: 1, create: 1 } }
thresholds:
  http.contacts_list: ["p(50) < baseline * 1.5 + 20ms", "p(50) < baseline * 0.5", "errors <= baseline", "rate >= baseline * 0.3"]
  http.contacts_list{stage=steady}: ["p(50) < baseline * 2"]
  http.contacts_create: ["p(99) < baseline * 2"]
`)
	if _, _, err := run(t, context.Background(), sc); outcome.Of(err) != outcome.BadInput || !strings.Contains(err.Error(), "compares with a baseline run: give one with --baseline DIR") {
		t.Fatalf("without a baseline: %v, %v", outcome.Of(err), err)
	}
	res, err := Run(context.Background(), sc, Options{Baseline: base})
	if outcome.Of(err) != outcome.ThresholdsFailed {
		t.Fatalf("outcome %v: %v", outcome.Of(err), err)
	}
	th := res.Summary.Thresholds
	passed := []bool{true, false, true, true, true, false}
	if len(th) != len(passed) {
		t.Fatalf("verdicts = %+v", th)
	}
	for i, p := range passed {
		if th[i].Passed != p {
			t.Errorf("verdict %d %s: %s passed %v (observed %s); want %v", i, th[i].Key(), th[i].Rule, th[i].Passed, th[i].ObservedText(), p)
		}
	}
	// p(50) < baseline * 1.5 + 20ms: the baseline's p50, exactly the one
	// its summary.json has (from the same histogram), and the limit.
	v := th[0]
	if v.BaselineValue == nil || v.LimitValue == nil || math.Abs(*v.BaselineValue-first.Summary.Metrics[scenario.HTTPContactsList].P50) > 1e-9 ||
		*v.BaselineValue < 50 || math.Abs(*v.LimitValue-(*v.BaselineValue*1.5+20)) > 1e-9 {
		t.Errorf("verdict = %+v; want the baseline's p50 %v ms (>= 50 ms) and 1.5 x it + 20 ms", v, first.Summary.Metrics[scenario.HTTPContactsList].P50)
	} else if !strings.Contains(v.Baseline, " × 1.5 + 20ms = ") {
		t.Errorf("baseline text %q", v.Baseline)
	}
	// The baseline never created a contact.
	if v := th[5]; v.Baseline != "no samples" || v.NoData || v.BaselineValue != nil {
		t.Errorf("create verdict = %+v; want baseline no samples", v)
	}
	lacks := false
	for _, n := range res.Summary.Notes {
		lacks = lacks || strings.Contains(n, "http.contacts_create: p(99) < baseline * 2: the baseline "+first.Dir+" has no samples of http.contacts_create")
	}
	if !lacks {
		t.Errorf("notes = %q", res.Summary.Notes)
	}
	text, _ := os.ReadFile(filepath.Join(res.Dir, report.SummaryTextFile))
	if !strings.Contains(string(text), "http.contacts_list: p(50) < baseline * 0.5 (observed ") || !strings.Contains(string(text), ", baseline ") {
		t.Errorf("summary.txt:\n%s", text)
	}
}
