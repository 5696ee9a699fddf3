package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// This file is the threshold gate of a run: abort_on_fail while the run
// goes, and the verdicts at its end (docs/ci.md).

// AbortError is the cancel cause of a run stopped by abort_on_fail (and so
// the error of an Aborted run): the rule that failed first, as observed
// when it did.
type AbortError struct {
	Verdict metrics.Verdict
	At      time.Duration // run time of the breach
}

func (e *AbortError) Error() string {
	v := report.VerdictFrom(e.Verdict)
	return fmt.Sprintf("aborted by abort_on_fail after %s: %s (observed %s)", e.At.Round(100*time.Millisecond), v.Name(), v.ObservedText())
}

// checkAbort judges the abort_on_fail rules of th on m, the measurements
// after elapsed run time during stage (the rules scoped to other stages
// are not checked), and returns the breach to stop the run with, or nil
// (also during abort_grace).
func checkAbort(th scenario.Thresholds, m metrics.Measured, stage string, base *metrics.Measured, elapsed time.Duration) *AbortError {
	if len(th.AbortOnFail) == 0 || elapsed < th.AbortGrace {
		return nil
	}
	if v, ok := metrics.FirstBreach(th, m, stage, base); ok {
		return &AbortError{Verdict: v, At: elapsed}
	}
	return nil
}

// watchAborts checks the abort_on_fail rules of sc once a second, from the
// collector's measurements since start (a stage's rules on its intervals
// so far, while the fleet's status says it runs), and at the first breach
// cancels the run with an *AbortError as the cause. stop ends the watch
// and waits for it; it is a no-op without abort_on_fail.
func watchAborts(sc *scenario.Scenario, c *metrics.Collector, start time.Time, status func() fleet.Status, base *metrics.Measured, cancel context.CancelCauseFunc) (stop func()) {
	th := sc.Thresholds
	if len(th.AbortOnFail) == 0 {
		return func() {}
	}
	names := ruleMetrics(th, true)
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
				stage := status().Stage // only its stage-scoped rules are checked: measure no other stage
				m := measuredStages(sc, c, elapsed, names, func(s string) bool { return s == stage })
				if e := checkAbort(th, m, stage, base, elapsed); e != nil {
					cancel(e)
					return
				}
			}
		}
	}()
	return func() { close(quit); <-done }
}

// endReason says why the run ended: aborted when abort_on_fail cancelled
// it, interrupted when the context stopped it before its last stage ended,
// completed otherwise.
func endReason(runCtx context.Context, res fleet.Result) report.EndReason {
	var ae *AbortError
	switch {
	case errors.As(context.Cause(runCtx), &ae):
		return report.EndAborted
	case !res.Completed && runCtx.Err() != nil:
		return report.EndInterrupted
	}
	return report.EndCompleted
}

// judge evaluates every threshold rule of sc on the run's final
// measurements (rates over seconds, the run's length; a stage's over its
// intervals), baseline rules against base. The rule that aborted the run
// keeps the verdict it had at the breach, since that is what stopped the
// run. It never returns nil, so summary.json always has a list.
func judge(sc *scenario.Scenario, c *metrics.Collector, seconds float64, base *metrics.Measured, abort *AbortError) []report.Verdict {
	th := sc.Thresholds
	m := measured(sc, c, time.Duration(seconds*float64(time.Second)), ruleMetrics(th, false))
	out := []report.Verdict{}
	for _, v := range metrics.EvaluateAll(th, m, base) {
		rv := report.VerdictFrom(v)
		if abort != nil && v.Metric == abort.Verdict.Metric && v.Stage == abort.Verdict.Stage && v.Rule == abort.Verdict.Rule {
			rv = report.VerdictFrom(abort.Verdict)
			rv.Note = fmt.Sprintf("breached after %s: aborted the run (abort_on_fail)", abort.At.Round(100*time.Millisecond))
		}
		out = append(out, rv)
	}
	return out
}
