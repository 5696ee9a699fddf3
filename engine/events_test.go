package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// TestRunEvents: an incident's result reaches summary.json, summary.txt
// and report.html, and thresholds judge its recovery.
func TestRunEvents(t *testing.T) {
	sc, out := load(t, `version: 1
name: events
duration: 3s
identity: { app_id: e2e, app_secret: e2e-secret }
fleet: { users: 10, connect_rate: 1000/s }
behaviours: { login: [me, sos_rehydrate] }
events:
  - { name: drop, at: 1s, leave: 50%, how: clean, back: 200ms..800ms }
thresholds:
  event.drop.recovery: ["p(99) < 1m", "max < 1ns"]
`)
	res, _, err := run(t, t.Context(), sc)
	if outcome.Of(err) != outcome.ThresholdsFailed || !strings.Contains(err.Error(), "event.drop.recovery: max < 1ns") {
		t.Fatalf("outcome %v: %v", outcome.Of(err), err)
	}
	s := res.Summary
	if len(s.Events) != 1 {
		t.Fatalf("events %+v", s.Events)
	}
	e := s.Events[0]
	if e.Name != "drop" || e.AtS == nil || *e.AtS < 1 || e.Affected == 0 || e.Back != e.Affected || e.Recovery["100"] == nil {
		t.Errorf("event %+v", e)
	}
	if m := s.Metrics[scenario.EventRecovery("drop")]; m.Count != int64(e.Back) {
		t.Errorf("event.drop.recovery has %d samples, %d users came back", m.Count, e.Back)
	}
	if v := s.Thresholds; len(v) != 2 || !v[0].Passed || v[1].Passed {
		t.Errorf("verdicts %+v", v)
	}
	if got := s.Counters[scenario.UsersLeftClean]; got != int64(e.Affected) {
		t.Errorf("users.left.clean = %d, want %d", got, e.Affected)
	}
	onDisk, err := report.ReadSummaryFile(res.Dir)
	if err != nil || len(onDisk.Events) != 1 || onDisk.Events[0].Affected != e.Affected {
		t.Errorf("summary.json events: %+v, %v", onDisk.Events, err)
	}
	text, _ := os.ReadFile(filepath.Join(out, report.SummaryTextFile))
	html, _ := os.ReadFile(filepath.Join(out, report.ReportHTMLFile))
	if !strings.Contains(string(text), "events:\n  drop at ") || !strings.Contains(string(html), "Red lines: events drop at") {
		t.Errorf("summary.txt or report.html lacks the event:\n%s", text)
	}
}
