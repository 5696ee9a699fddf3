package outcome

import (
	"errors"
	"strings"
	"testing"

	"github.com/eixamsim/eixamsim/health"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// TestJudgeTable is the outcome of a run that started, in precedence
// order.
func TestJudgeTable(t *testing.T) {
	interrupted := errors.New("interrupted")
	aborted := errors.New("aborted by abort_on_fail after 3s")
	logins := func(n int64) map[string]report.Metric {
		return map[string]report.Metric{scenario.UserLogin: {Count: n}}
	}
	passed := []report.Verdict{{Metric: scenario.HTTPMe, Rule: "p(95) < 1s", Passed: true}}
	failed := []report.Verdict{{Metric: scenario.HTTPMe, Rule: "p(95) < 1s", Observed: "2s"}}
	bound := &health.Report{Verdict: health.Verdict{State: health.GeneratorBound, Reasons: []health.Reason{{Signal: health.SignalCPU, Message: "process CPU at or over 90%"}}}}
	short := &health.Report{Verdict: health.Verdict{State: health.NotJudged, Reasons: []health.Reason{{Signal: health.SignalDuration, Message: "the run was too short"}}}}
	tests := []struct {
		name     string
		cause    error
		sum      report.Summary
		runErr   error
		writeErr error
		want     Outcome
	}{
		// A failed write beats everything: results may be missing.
		{"write failed", interrupted, report.Summary{EndReason: report.EndInterrupted}, nil, errors.New("disk full"), Failed},
		// The fleet failed.
		{"run failed", nil, report.Summary{EndReason: report.EndCompleted, Metrics: logins(5)}, errors.New("boom"), nil, Failed},
		// Ctrl-C wins over failed thresholds.
		{"interrupted", interrupted, report.Summary{EndReason: report.EndInterrupted, Metrics: logins(5), Thresholds: failed}, nil, nil, Interrupted},
		// A merge that lacks shards: partial, whatever the rest says.
		{"partial", errors.New("partial result: shard 1 of 2 missing"), report.Summary{EndReason: report.EndInterrupted, Metrics: logins(0), Thresholds: failed, Generator: bound}, nil, nil, Interrupted},
		// abort_on_fail, even with no login measured.
		{"aborted", aborted, report.Summary{EndReason: report.EndAborted, Metrics: logins(0), Thresholds: failed}, nil, nil, Aborted},
		// Nothing measured: the target, not the thresholds.
		{"no login", nil, report.Summary{EndReason: report.EndCompleted, Metrics: logins(0), Thresholds: failed}, nil, nil, Unreachable},
		// The simulator was the bottleneck: not the backend's failure.
		{"generator-bound", nil, report.Summary{EndReason: report.EndCompleted, Metrics: logins(5), Thresholds: failed, Generator: bound}, nil, nil, GeneratorBound},
		{"generator-bound, passed", nil, report.Summary{EndReason: report.EndCompleted, Metrics: logins(5), Thresholds: passed, Generator: bound}, nil, nil, GeneratorBound},
		// Interrupted and nothing measured win over generator-bound.
		{"interrupted, generator-bound", interrupted, report.Summary{EndReason: report.EndInterrupted, Metrics: logins(5), Generator: bound}, nil, nil, Interrupted},
		{"no login, generator-bound", nil, report.Summary{EndReason: report.EndCompleted, Metrics: logins(0), Generator: bound}, nil, nil, Unreachable},
		{"healthy", nil, report.Summary{EndReason: report.EndCompleted, Metrics: logins(5), Thresholds: passed, Generator: &health.Report{Verdict: health.Verdict{State: health.Healthy}}}, nil, nil, Passed},
		// Too short to judge the simulator: no pass, with or without
		// rules; a failed rule still failed.
		{"not judged", nil, report.Summary{EndReason: report.EndCompleted, Metrics: logins(5), Thresholds: passed, Generator: short}, nil, nil, NotJudged},
		{"not judged, no thresholds", nil, report.Summary{EndReason: report.EndCompleted, Metrics: logins(5), Generator: short}, nil, nil, NotJudged},
		{"not judged, failed", nil, report.Summary{EndReason: report.EndCompleted, Metrics: logins(5), Thresholds: failed, Generator: short}, nil, nil, ThresholdsFailed},
		{"interrupted, not judged", interrupted, report.Summary{EndReason: report.EndInterrupted, Metrics: logins(5), Generator: short}, nil, nil, Interrupted},
		// A failed rule.
		{"thresholds failed", nil, report.Summary{EndReason: report.EndCompleted, Metrics: logins(5), Thresholds: failed}, nil, nil, ThresholdsFailed},
		// All passed.
		{"passed", nil, report.Summary{EndReason: report.EndCompleted, Metrics: logins(5), Thresholds: passed}, nil, nil, Passed},
		// No thresholds at all is a pass.
		{"no thresholds", nil, report.Summary{EndReason: report.EndCompleted, Metrics: logins(5)}, nil, nil, Passed},
	}
	for _, tc := range tests {
		err := Judge(Facts{Summary: &tc.sum, Stop: tc.cause, RunErr: tc.runErr, WriteErr: tc.writeErr})
		if got := Of(err); got != tc.want {
			t.Errorf("%s: %v (%v), want %v", tc.name, got, err, tc.want)
		}
	}
	if Of(errors.New("other")) != Failed {
		t.Error("a foreign error is not Failed")
	}
}

// TestJudgeSays checks the reasons a verdict gives: the stop as it was
// given, every failed rule with what it was compared with, what failed
// when nobody connected (and what to check), and never an empty reason.
func TestJudgeSays(t *testing.T) {
	logins := map[string]report.Metric{scenario.UserLogin: {Count: 5}}
	tests := []struct {
		name  string
		facts Facts
		want  string
		hint  string
	}{
		{"stop as given", Facts{Summary: &report.Summary{EndReason: report.EndInterrupted}, Stop: errors.New("shard 1 was interrupted")},
			"shard 1 was interrupted", ""},
		{"no stop given", Facts{Summary: &report.Summary{EndReason: report.EndAborted}}, "aborted", ""},
		{"baseline rule", Facts{Summary: &report.Summary{EndReason: report.EndCompleted, Metrics: logins,
			Thresholds: []report.Verdict{{Metric: scenario.HTTPMe, Rule: "p(99) < baseline * 1.1", Observed: "412ms", Baseline: "380ms × 1.1 = 418ms"}}}},
			"1 of 1 thresholds failed: http.me: p(99) < baseline * 1.1 (observed 412ms, baseline 380ms × 1.1 = 418ms)", ""},
		{"nobody connected", Facts{Summary: &report.Summary{EndReason: report.EndCompleted,
			Metrics: map[string]report.Metric{scenario.UserLogin: {}, scenario.HTTPMe: {Errors: 5, ErrorsBy: map[string]int64{"http_401": 5}}}}},
			"no user could log in and connect; errors: http.me http_401=5", "identity.app_secret"},
	}
	for _, tc := range tests {
		err := Judge(tc.facts)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
			continue
		}
		var e *Error
		if !errors.As(err, &e) || tc.hint != "" && (len(e.Hints) != 1 || !strings.Contains(e.Hints[0], tc.hint)) {
			t.Errorf("%s: hints %q, want one naming %s", tc.name, e.Hints, tc.hint)
		}
	}
}
