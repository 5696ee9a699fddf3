package outcome

import (
	"errors"
	"fmt"
)

// Outcome is how a run ended: what cmd/eixamsim maps to an exit code
// (docs/ci.md).
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
	// ended, or a merge lacks shards (a partial result).
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

var names = [...]string{"passed", "failed", "bad input", "unreachable", "thresholds failed", "aborted", "interrupted", "generator-bound", "not judged"}

func (o Outcome) String() string {
	if o < 0 || int(o) >= len(names) {
		return fmt.Sprintf("outcome(%d)", int(o))
	}
	return names[o]
}

// Error is why a run did not pass, and the outcome to report. Its message
// is what a user reads: the reason, in one line where it can be. Hints,
// when there are any, say what to check; a terminal prints them before
// the reason, so the reason stays the last line (docs/ci.md).
type Error struct {
	Outcome Outcome
	Err     error
	Hints   []string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Wrap is err as an *Error with outcome o; nil stays nil.
func Wrap(o Outcome, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Outcome: o, Err: err}
}

// Of is the outcome of a run's error: Passed for nil, the outcome of the
// *Error in its chain, or Failed for any other error.
func Of(err error) Outcome {
	if err == nil {
		return Passed
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Outcome
	}
	return Failed
}
