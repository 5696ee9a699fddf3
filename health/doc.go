// Package health tells whether a run measured the target or the simulator.
//
// A load generator that runs out of CPU, or whose goroutines wait to be
// scheduled, adds its own delay to every latency it records and silently
// sends less than the scenario planned. Its thresholds then fail, and the
// backend is blamed for the simulator's limits. This package measures the
// simulator's own health once a second and judges a run generator-bound
// when a documented limit is exceeded for a sustained time.
//
// The engine drives it:
//
//	mon := health.NewMonitor(health.DefaultLimits(), time.Now())
//	// once a second, from the engine's ticker:
//	mon.Sample(now, health.Input{ScheduleLagP99: ..., Attempts: ..., Backpressure: ...})
//	if r := mon.Live(); len(r) > 0 { /* warn once */ }
//	// at the end of the run:
//	rep := mon.Report() // for summary.json; rep.Verdict.State decides the exit code
//
// A Monitor reads the Go runtime itself (runtime/metrics: scheduler
// latency, GC pauses) and the process's CPU time (getrusage); the engine
// passes what only it knows in an Input. The verdict is a pure function of
// the samples and the Limits (Judge), so it is tested without a clock. The
// limits and the measurements they come from are in docs/health.md.
package health
