// Package progress shows a run's live state on a terminal or in a CI log:
// mpb bars on a terminal (stage, users online against the target, rates,
// rolling p99s), a compact status line every ten seconds otherwise, and
// nothing but warnings and printed lines when it is off. A Display is the
// engine's progress sink (engine.Options.Progress) for a run, the
// combined sink of `run --procs` (procs.Config.Progress), and the place a
// capacity search prints its steps and warnings while the bars show
// (Println, Warn).
package progress
