// Package engine runs one resolved scenario from code and returns its
// summary: the connection-plan check, the target (the embedded reference
// backend, or a reachability check of an external one), the result
// directory, the metrics registry, the hlog writer, the collector and its
// one-second ticker, the abort_on_fail watch, the threshold verdicts, and
// the result files.
//
// It prints nothing and never exits: live progress goes to the Progress
// the caller passes, and how the run ended comes back as an
// *outcome.Error whose Outcome the caller maps to an exit code
// (cmd/eixamsim does). Run is
// re-entrant: a run leaves no listener or open file behind, and no
// goroutine but the fleet's work still running 20 s after the stop (which
// the fleet warns of and lets finish, still recording), so one process may
// run scenarios one after another (capacity search) or side by side.
package engine
