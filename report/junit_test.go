package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// junitSummary is a finished run with three verdicts: one pass, one
// failure on data, one failure without data.
func junitSummary() *Summary {
	return &Summary{
		Name:      "ci-gate",
		Scenario:  map[string]any{"file": "scenarios/ci-gate.yaml", "name": "ci-gate"},
		Target:    Target{Kind: "embedded"},
		Start:     time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
		Seconds:   20.5,
		EndReason: "completed",
		Thresholds: []Verdict{
			{Metric: "telemetry.puback", Rule: "p(99) < 250ms", Observed: "3.2ms", Value: 0.0032, Passed: true, Line: 40},
			{Metric: "sos.delivered", Rule: "p(95) < 2s", Observed: "2.41s", Value: 2.41, Line: 41},
			{Metric: "http.sos_cancel", Rule: `errors < 1% & "x"`, Observed: "no samples", NoData: true, Line: 42},
		},
	}
}

// TestWriteJUnit reads the report back with the schema CI systems use and
// checks what each of them shows: counts, case names, failure messages.
func TestWriteJUnit(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, junitSummary(), nil); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Errorf("no XML declaration:\n%s", out)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name      string `xml:"name,attr"`
			Tests     int    `xml:"tests,attr"`
			Failures  int    `xml:"failures,attr"`
			Errors    int    `xml:"errors,attr"`
			Time      string `xml:"time,attr"`
			Timestamp string `xml:"timestamp,attr"`
			Props     []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Cases []struct {
				Name      string `xml:"name,attr"`
				Classname string `xml:"classname,attr"`
				File      string `xml:"file,attr"`
				Line      int    `xml:"line,attr"`
				Out       string `xml:"system-out"`
				Failure   *struct {
					Message string `xml:"message,attr"`
					Type    string `xml:"type,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not valid XML: %v\n%s", err, out)
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%d test suites, want 1", len(doc.Suites))
	}
	if doc.Tests != 3 || doc.Failures != 2 {
		t.Errorf("testsuites tests=%d failures=%d; want 3, 2", doc.Tests, doc.Failures)
	}
	s := doc.Suites[0]
	if s.Name != "eixamsim ci-gate" || s.Tests != 3 || s.Failures != 2 || s.Errors != 0 || s.Time != "20.500" || s.Timestamp != "2026-03-04T05:06:07" {
		t.Errorf("suite = %q tests=%d failures=%d errors=%d time=%s at %s", s.Name, s.Tests, s.Failures, s.Errors, s.Time, s.Timestamp)
	}
	if len(s.Props) < 2 || s.Props[1].Name != "end_reason" || s.Props[1].Value != "completed" {
		t.Errorf("properties = %+v", s.Props)
	}
	want := []struct {
		name, message string // message "" = passed
	}{
		{"telemetry.puback: p(99) < 250ms", ""},
		{"sos.delivered: p(95) < 2s", "observed 2.41s, want p(95) < 2s"},
		{`http.sos_cancel: errors < 1% & "x"`, `no samples: http.sos_cancel measured nothing to judge errors < 1% & "x" by`},
	}
	for i, c := range s.Cases {
		w := want[i]
		if c.Name != w.name || c.Classname != "eixamsim.ci-gate" || c.File != "scenarios/ci-gate.yaml" || c.Line != 40+i {
			t.Errorf("case %d = %q %q %s:%d", i, c.Name, c.Classname, c.File, c.Line)
		}
		switch {
		case w.message == "" && c.Failure != nil:
			t.Errorf("case %q failed: %+v", c.Name, c.Failure)
		case w.message != "" && (c.Failure == nil || c.Failure.Message != w.message || c.Failure.Type != "threshold"):
			t.Errorf("case %q failure = %+v; want message %q", c.Name, c.Failure, w.message)
		}
		if !strings.HasPrefix(c.Out, "observed ") {
			t.Errorf("case %q system-out = %q", c.Name, c.Out)
		}
	}
	if f := s.Cases[1].Failure; f == nil || !strings.Contains(f.Text, "rule at   scenarios/ci-gate.yaml:41") {
		t.Errorf("failure text does not locate the rule: %+v", f)
	}
	// The raw text escapes what XML needs escaped.
	if !strings.Contains(out, `name="sos.delivered: p(95) &lt; 2s"`) {
		t.Errorf("rule not escaped in the case name:\n%s", out)
	}
}

// TestWriteJUnitNoThresholds: a scenario without thresholds gives a valid,
// empty suite.
func TestWriteJUnitNoThresholds(t *testing.T) {
	s := junitSummary()
	s.Thresholds = nil
	s.Scenario = nil
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, s, nil); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Tests int        `xml:"tests,attr"`
			Cases []struct{} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil || len(doc.Suites) != 1 || doc.Suites[0].Tests != 0 || len(doc.Suites[0].Cases) != 0 {
		t.Errorf("empty report = %+v, %v:\n%s", doc, err, buf.String())
	}
}

// skipDoc is what a junit.xml says of failures and skipped cases.
type skipDoc struct {
	Skipped int `xml:"skipped,attr"`
	Suites  []struct {
		Skipped  int `xml:"skipped,attr"`
		Failures int `xml:"failures,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
			Failure *struct{} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// In a run that did not complete, a rule that held was not judged on a
// whole run: its case is skipped with the reason; a failed rule stays a
// failure.
func TestWriteJUnitInterruptedSkipsRulesThatHeld(t *testing.T) {
	s := junitSummary()
	s.EndReason = EndInterrupted
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, s, nil); err != nil {
		t.Fatal(err)
	}
	var doc skipDoc
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil || len(doc.Suites) != 1 {
		t.Fatalf("%v:\n%s", err, buf.String())
	}
	suite := doc.Suites[0]
	passed, failed := 0, 0
	for _, v := range s.Thresholds {
		if v.Passed {
			passed++
		} else {
			failed++
		}
	}
	if passed == 0 || failed == 0 {
		t.Fatalf("junitSummary needs a passed and a failed rule, has %d and %d", passed, failed)
	}
	if suite.Skipped != passed || doc.Skipped != passed || suite.Failures != failed {
		t.Errorf("skipped %d (top %d), failures %d; want %d skipped, %d failures", suite.Skipped, doc.Skipped, suite.Failures, passed, failed)
	}
	for i, c := range suite.Cases {
		v := s.Thresholds[i]
		switch {
		case v.Passed && (c.Skipped == nil || !strings.Contains(c.Skipped.Message, "interrupted")):
			t.Errorf("%s held: want <skipped> naming the interruption, got %+v", c.Name, c.Skipped)
		case !v.Passed && (c.Failure == nil || c.Skipped != nil):
			t.Errorf("%s failed: want <failure> and no <skipped>", c.Name)
		}
	}
}

// abortedSummary is a run that abort_on_fail stopped after 3 s, before any
// SOS went out, judged by real rules on what it measured: telemetry's p99
// breached (the abort), no sos.delivered sample yet.
func abortedSummary(t *testing.T) *Summary {
	t.Helper()
	telemetry := hdr.New(1, 3_600_000_000, 3)
	for v := int64(1); v <= 100; v++ {
		_ = telemetry.RecordValue(v * 100) // 0.1 .. 10 ms
	}
	m := metrics.Measurements{Elapsed: 3 * time.Second, Latencies: map[string]metrics.LatencyData{
		scenario.TelemetryPuback: {Hist: telemetry},
		scenario.UserLogin:       {Hist: telemetry},
	}}
	s := &Summary{Name: "ci-gate", Target: Target{Kind: "embedded"}, Seconds: 3, EndReason: EndAborted}
	for _, r := range []struct{ metric, rule string }{
		{scenario.TelemetryPuback, "p(99) < 1ms"},   // continuous, failed: the breach
		{scenario.SOSDelivered, "count > 0"},        // end-only, failed: nothing delivered in 3 s
		{scenario.SOSDelivered, "p(95) < 2s"},       // continuous, no data: failed
		{scenario.TelemetryPuback, "rate > 1000/s"}, // end-only, failed
		{scenario.UserLogin, "count > 0"},           // end-only, held
	} {
		rule, err := scenario.ParseRule(scenario.KindLatency, r.rule)
		if err != nil {
			t.Fatal(err)
		}
		s.Thresholds = append(s.Thresholds, VerdictFrom(metrics.Judge(r.metric, rule, m)))
	}
	return s
}

// After an abort, a rule judged only at the end of a whole run (count > 0,
// a rate) is not judged, whatever it observed on the 3 s that ran: junit
// skips it saying why, summary.txt and report.html mark it SKIP, and it is
// not among the failed thresholds. A continuous rule that failed stays a
// failure; the same verdicts in a completed run fail.
func TestAbortedRunDoesNotJudgeEndOnlyRules(t *testing.T) {
	s := abortedSummary(t)
	wantMarks := []string{"FAIL", "SKIP", "FAIL", "SKIP", "SKIP"}
	if got := len(s.FailedThresholds()); got != 2 {
		t.Errorf("%d failed thresholds, want 2 (the continuous ones): %+v", got, s.FailedThresholds())
	}
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, s, nil); err != nil {
		t.Fatal(err)
	}
	var doc skipDoc
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil || len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != len(wantMarks) {
		t.Fatalf("%v:\n%s", err, buf.String())
	}
	suite := doc.Suites[0]
	if suite.Failures != 2 || suite.Skipped != 3 {
		t.Errorf("junit: %d failures, %d skipped; want 2 and 3:\n%s", suite.Failures, suite.Skipped, buf.String())
	}
	for i, c := range suite.Cases {
		v := s.Thresholds[i]
		switch {
		case wantMarks[i] == "FAIL" && (c.Failure == nil || c.Skipped != nil):
			t.Errorf("%s: want <failure>", c.Name)
		case wantMarks[i] == "SKIP" && !v.Passed && (c.Failure != nil || c.Skipped == nil || !strings.Contains(c.Skipped.Message, "judged only at the end of a whole run, and the run was aborted after 3s")):
			t.Errorf("%s observed %s: want <skipped> saying it is judged only at the end, got %+v", c.Name, v.Observed, c.Skipped)
		}
	}
	var txt bytes.Buffer
	if err := WriteText(&txt, s); err != nil {
		t.Fatal(err)
	}
	pg, err := buildPage(s, Histograms{})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range s.Thresholds {
		line := "  " + wantMarks[i] + "  " + v.Key() + ": " + v.Rule + " (observed " + v.Observed
		if !strings.Contains(txt.String(), line) {
			t.Errorf("summary.txt lacks %q:\n%s", line, txt.String())
		}
		if got := pg.Thresholds[i].Mark; got != wantMarks[i] {
			t.Errorf("report.html marks %s %s, want %s", v.Name(), got, wantMarks[i])
		}
	}
	if !strings.Contains(txt.String(), "SKIP  sos.delivered: count > 0 (observed 0; judged only at the end of a whole run)") {
		t.Errorf("summary.txt does not say why count > 0 is skipped:\n%s", txt.String())
	}

	// Completed, the same verdicts are judged: four fail.
	s.EndReason = EndCompleted
	if got := len(s.FailedThresholds()); got != 4 {
		t.Errorf("completed: %d failed thresholds, want 4", got)
	}
}

// A run that failed (its results not all written) fails in junit.xml too:
// a first case "eixamsim: run" with an <error> saying why, counted in the
// suite's tests and errors, even though no rule failed; without a failure
// there is no such case.
func TestWriteJUnitRunFailed(t *testing.T) {
	s := junitSummary()
	s.Thresholds = s.Thresholds[:1] // one rule, and it held
	for _, failed := range []error{nil, errors.New("write results/report.html: no space left on device\nwrite results/summary.txt: no space left on device")} {
		var buf bytes.Buffer
		if err := WriteJUnit(&buf, s, failed); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Tests  int `xml:"tests,attr"`
			Errors int `xml:"errors,attr"`
			Suites []struct {
				Cases []struct {
					Name  string `xml:"name,attr"`
					Error *struct {
						Message string `xml:"message,attr"`
						Type    string `xml:"type,attr"`
						Text    string `xml:",chardata"`
					} `xml:"error"`
				} `xml:"testcase"`
			} `xml:"testsuite"`
		}
		if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil || len(doc.Suites) != 1 {
			t.Fatalf("%v:\n%s", err, buf.String())
		}
		cases := doc.Suites[0].Cases
		if failed == nil {
			if doc.Tests != 1 || doc.Errors != 0 || len(cases) != 1 || cases[0].Error != nil {
				t.Errorf("a run that did not fail: %d tests, %d errors:\n%s", doc.Tests, doc.Errors, buf.String())
			}
			continue
		}
		want := "the run failed: write results/report.html: no space left on device; write results/summary.txt: no space left on device"
		if doc.Tests != 2 || doc.Errors != 1 || len(cases) != 2 || cases[0].Name != "eixamsim: run" || cases[0].Error == nil ||
			cases[0].Error.Message != want || cases[0].Error.Text != failed.Error() {
			t.Errorf("a failed run: %d tests, %d errors, cases %+v; want the first to say %q:\n%s", doc.Tests, doc.Errors, cases, want, buf.String())
		}
	}
}
