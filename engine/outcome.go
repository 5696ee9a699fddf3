package engine

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// Outcome is how a run ended, from the caller's side: what cmd/eixamsim
// maps to an exit code (docs/ci.md).
type Outcome int

// Outcomes, in the order the exit-code table lists them. The zero value is
// Passed.
const (
	// Passed: the run completed and every threshold passed (or there are
	// none).
	Passed Outcome = iota
	// Failed: an internal error; the run or writing its results failed.
	Failed
	// BadInput: the scenario cannot run as given (connection plan, TLS
	// files, output directory, fleet setup). Nothing ran.
	BadInput
	// Unreachable: the target could not start or did not answer, or no
	// user could log in and connect (nothing measured).
	Unreachable
	// ThresholdsFailed: the run completed and at least one threshold
	// failed.
	ThresholdsFailed
	// Aborted: an abort_on_fail threshold stopped the run.
	Aborted
	// Interrupted: the context was cancelled (a signal) before the run
	// ended.
	Interrupted
	// GeneratorBound: the run completed, but the simulator itself was the
	// bottleneck (package health): its latencies include its own delay
	// and it may have sent less than planned, so its thresholds judge the
	// simulator as much as the target and are not the verdict.
	GeneratorBound
	// NotJudged: the run completed, but too briefly for the simulator's
	// own health to be judged (health.NotJudged): nothing says its
	// latencies measure the target, so a threshold that held is no pass.
	NotJudged
)

var outcomeNames = [...]string{"passed", "failed", "bad input", "unreachable", "thresholds failed", "aborted", "interrupted", "generator-bound", "not judged"}

func (o Outcome) String() string {
	if o < 0 || int(o) >= len(outcomeNames) {
		return fmt.Sprintf("outcome(%d)", int(o))
	}
	return outcomeNames[o]
}

// Error is every error Run returns: why the run did not pass, and the
// outcome to report. Its message is what a user reads: the reason, in one
// line where it can be. Hints, when there are any, say what to check; a
// terminal prints them before the reason, so the reason stays the last
// line (docs/ci.md).
type Error struct {
	Outcome Outcome
	Err     error
	Hints   []string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// fail wraps err with outcome o; nil stays nil.
func fail(o Outcome, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Outcome: o, Err: err}
}

// OutcomeOf is the outcome of Run's error: Passed for nil, the *Error's
// outcome, or Failed for any other error.
func OutcomeOf(err error) Outcome {
	if err == nil {
		return Passed
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Outcome
	}
	return Failed
}

// outcome is the error of a run that started, first match wins:
//
//	Failed           the run or writing its results failed
//	Interrupted      the context stopped it (results written)
//	Aborted          abort_on_fail stopped it (results written)
//	Unreachable      no user could log in and connect: nothing was measured
//	GeneratorBound   the simulator was the bottleneck (its thresholds are not the verdict)
//	ThresholdsFailed a threshold failed
//	NotJudged        too short to judge the simulator (a rule that held is no pass)
//	nil              otherwise
//
// cause is the run context's cancel cause.
func outcome(sum *report.Summary, cause, runErr, writeErr error) error {
	switch {
	case runErr != nil:
		return fail(Failed, runErr)
	case writeErr != nil:
		return fail(Failed, writeErr)
	case sum.EndReason == report.EndInterrupted:
		return fail(Interrupted, cause)
	case sum.EndReason == report.EndAborted:
		return fail(Aborted, cause)
	case sum.NothingMeasured():
		msg, hints := describeErrors(sum)
		return &Error{Outcome: Unreachable, Err: fmt.Errorf("no user could log in and connect; %s", msg), Hints: hints}
	}
	failed := sum.FailedThresholds()
	if sum.GeneratorBound() {
		judged := "no threshold failed"
		if len(failed) > 0 {
			judged = fmt.Sprintf("%d of %d thresholds failed on what was measured, not judged", len(failed), len(sum.Thresholds))
		}
		reasons := make([]string, len(sum.Generator.Reasons))
		for i, r := range sum.Generator.Reasons {
			reasons[i] = r.Message
		}
		return &Error{Outcome: GeneratorBound,
			Err: fmt.Errorf("generator-bound: the simulator was the bottleneck, not the target (%s); %s",
				strings.Join(reasons, "; "), judged),
			Hints: []string{"run fewer users per process (shard the run) or on a bigger machine; docs/health.md"}}
	}
	if len(failed) > 0 {
		parts := make([]string, len(failed))
		for i, v := range failed {
			parts[i] = fmt.Sprintf("%s (observed %s)", v.Name(), v.ObservedText())
		}
		return fail(ThresholdsFailed, fmt.Errorf("%d of %d thresholds failed: %s",
			len(failed), len(sum.Thresholds), strings.Join(parts, "; ")))
	}
	if sum.GeneratorNotJudged() {
		held := ""
		if n := len(sum.Thresholds); n > 0 {
			held = fmt.Sprintf("; %d of %d thresholds held, not judged", n, n)
		}
		return &Error{Outcome: NotJudged, Err: fmt.Errorf("%s%s", sum.Generator.Verdict, held),
			Hints: []string{"lengthen the stages (--duration) so the simulator's health can be judged; docs/health.md"}}
	}
	return nil
}

// describeErrors lists the error classes of a run in which nobody
// connected, and a hint for each class that has an obvious cause.
func describeErrors(s *report.Summary) (msg string, hints []string) {
	var parts []string
	seen := map[string]bool{}
	for _, name := range s.MetricNames() {
		m := s.Metrics[name]
		for _, class := range slices.Sorted(maps.Keys(m.ErrorsBy)) {
			parts = append(parts, fmt.Sprintf("%s %s=%d", name, class, m.ErrorsBy[class]))
			if hint := errorHint(name, class); hint != "" {
				seen[hint] = true
			}
		}
	}
	if len(parts) == 0 {
		return "no errors were recorded", nil
	}
	return "errors: " + strings.Join(parts, ", "), slices.Sorted(maps.Keys(seen))
}

// errorHint explains an error class whose cause is almost always the same.
func errorHint(metric, class string) string {
	switch {
	case metric == scenario.HTTPMe && class == "http_401":
		return "the backend refused the signed identity: check identity.app_id and identity.app_secret (or the sessions file) against the backend's app configuration"
	case class == "auth_refused":
		return "the broker refused the MQTT credentials (username sdk:<appId>:<externalUserId>, password = userHash): check the app id and secret"
	case class == "tls_verify":
		return "the server's certificate is not trusted: set target.tls.ca_file (or insecure_skip_verify: true for a rehearsal)"
	case class == "connection_refused":
		return "nothing listens at the target address: check target.http and target.mqtt"
	}
	return ""
}
