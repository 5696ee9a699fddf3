// Package capacity finds the load at which a target stops meeting a
// scenario's thresholds: `eixamsim capacity`.
//
// One run of the engine carries the whole search. The fleet does not
// reconnect between steps: a fleet.StageSource (Stepper) decides each
// step while the run goes, the fleet grows or shrinks to it, and every
// finished one-second interval histogram (metrics.IntervalSink) after the
// step's warm-up is merged into that step's histograms, so each step has
// exact percentiles over its hold window. Each step is judged on its own:
// the scenario's thresholds (metrics.Evaluate), the error share, whether
// achieved throughput follows offered load, and whether the simulator
// itself was the bottleneck (health.Monitor, per step). The search
// (Search) climbs geometrically to the first failure, then bisects to the
// stated resolution. A ceiling past one process runs its load in worker
// processes of the same binary (Workers, RunWorker, package procs): the
// search and the judging stay here, each step's share goes to every
// worker over a pipe, and the workers' intervals are merged exactly
// before the Stepper sees them. docs/capacity.md has the method and the
// report.
package capacity
