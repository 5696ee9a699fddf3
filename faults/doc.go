// Package faults describes the faults the reference backend injects on
// purpose, so that a run can rehearse a bad day and tests can check that
// the simulator measures what was injected: added-latency distributions
// (Latency), the set of faults in force (Set), faults scheduled at a
// time of the run (ScheduledFault), and a capacity model with a known
// limit (Capacity: service rates with bounded queues). It parses and prints their text forms,
// validates them and draws samples; it does no I/O and holds no state.
//
// Both the scenario package (target.embedded) and the reference backend
// (refbackend, `eixamsim serve`) read these forms, so the syntax lives
// here once and the scenario does not depend on the backend.
package faults
