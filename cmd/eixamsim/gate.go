package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// This file is the CI gate of `eixamsim run`: abort_on_fail while the run
// goes, threshold verdicts at its end, and the exit code (docs/ci.md).

// End reasons of a run (summary.json end_reason).
const (
	endCompleted   = "completed"
	endInterrupted = "interrupted"
	endAborted     = "aborted"
)

// abortError is the cancel cause of a run stopped by abort_on_fail: the
// rule that failed first, as observed when it did.
type abortError struct {
	verdict metrics.Verdict
	at      time.Duration // run time of the breach
}

func (e *abortError) Error() string {
	v := report.VerdictFrom(e.verdict)
	return fmt.Sprintf("aborted by abort_on_fail after %s: %s (observed %s)", e.at.Round(100*time.Millisecond), v.Name(), v.Observed)
}

// checkAbort judges the abort_on_fail rules of th on m, the measurements
// after elapsed run time, and returns the breach to stop the run with, or
// nil (also during abort_grace).
func checkAbort(th scenario.Thresholds, m metrics.Measurements, elapsed time.Duration) *abortError {
	if len(th.AbortOnFail) == 0 || elapsed < th.AbortGrace {
		return nil
	}
	if v, ok := metrics.FirstBreach(th, m); ok {
		return &abortError{verdict: v, at: elapsed}
	}
	return nil
}

// watchAborts checks the abort_on_fail rules of th once a second, from the
// collector's measurements since start, and at the first breach cancels
// the run with an *abortError as the cause. stop ends the watch and waits
// for it; it is a no-op without abort_on_fail.
func watchAborts(th scenario.Thresholds, c *metrics.Collector, start time.Time, cancel context.CancelCauseFunc) (stop func()) {
	if len(th.AbortOnFail) == 0 {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case now := <-t.C:
				elapsed := now.Sub(start)
				if elapsed < th.AbortGrace {
					continue
				}
				if e := checkAbort(th, c.Measure(elapsed, th.AbortOnFail), elapsed); e != nil {
					cancel(e)
					return
				}
			}
		}
	}()
	return func() { close(quit); <-done }
}

// endReason says why the run ended: aborted when abort_on_fail cancelled
// it, interrupted when a signal stopped it before its last stage ended,
// completed otherwise.
func endReason(runCtx context.Context, res fleet.Result) string {
	var ae *abortError
	switch {
	case errors.As(context.Cause(runCtx), &ae):
		return endAborted
	case !res.Completed && runCtx.Err() != nil:
		return endInterrupted
	}
	return endCompleted
}

// judge evaluates every threshold rule on the run's final measurements
// (rates over seconds, the run's length). The rule that aborted the run
// keeps the verdict it had at the breach, since that is what stopped the
// run. It never returns nil, so summary.json always has a list.
func judge(th scenario.Thresholds, c *metrics.Collector, seconds float64, abort *abortError) []report.Verdict {
	names := make([]string, 0, len(th.Metrics))
	for _, mr := range th.Metrics {
		names = append(names, mr.Metric)
	}
	m := c.Measure(time.Duration(seconds*float64(time.Second)), names)
	out := []report.Verdict{}
	for _, v := range metrics.Evaluate(th, m) {
		rv := report.VerdictFrom(v)
		if abort != nil && v.Metric == abort.verdict.Metric && v.Rule == abort.verdict.Rule {
			rv = report.VerdictFrom(abort.verdict)
			rv.Note = fmt.Sprintf("breached after %s: aborted the run (abort_on_fail)", abort.at.Round(100*time.Millisecond))
		}
		out = append(out, rv)
	}
	return out
}

// runOutcome is the error `eixamsim run` returns for a run that started,
// and so its exit code (docs/ci.md), first match wins:
//
//	1   the run or writing its results failed
//	130 a signal stopped it (results written)
//	100 abort_on_fail stopped it (results written)
//	3   no user could log in and connect: nothing was measured
//	99  a threshold failed
//	0   otherwise
func runOutcome(runCtx context.Context, sum *report.Summary, runErr, writeErr error) error {
	switch {
	case runErr != nil:
		return withCode(exitInternal, runErr)
	case writeErr != nil:
		return withCode(exitInternal, writeErr)
	case sum.EndReason == endInterrupted:
		return withCode(exitInterrupted, context.Cause(runCtx))
	case sum.EndReason == endAborted:
		return withCode(exitAborted, context.Cause(runCtx))
	case sum.Metrics["user.login"].Count == 0:
		return withCode(exitUnreachable, fmt.Errorf("no user could log in and connect; %s", describeErrors(sum)))
	}
	if failed := sum.FailedThresholds(); len(failed) > 0 {
		parts := make([]string, len(failed))
		for i, v := range failed {
			parts[i] = fmt.Sprintf("%s (observed %s)", v.Name(), v.Observed)
		}
		return withCode(exitThresholds, fmt.Errorf("%d of %d thresholds failed: %s",
			len(failed), len(sum.Thresholds), strings.Join(parts, "; ")))
	}
	return nil
}
