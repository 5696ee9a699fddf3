// Package outcome is how a run ended, from the caller's side: the
// outcomes cmd/eixamsim maps to exit codes (docs/ci.md), the *Error that
// carries one, and Judge, which decides the verdict of a run that started
// from what it measured. engine judges its runs by it, merge the run its
// shards make together, so one run and its merge can never disagree on
// the order (interrupted before thresholds, thresholds before not judged).
//
// It imports report and scenario only: no fleet, target or broker.
package outcome
