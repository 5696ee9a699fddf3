// Package procs runs one scenario as several worker processes of the same
// binary on one machine (`eixamsim run --procs N|auto`): each worker is a
// shard of the run (docs/distributed.md), they start together at one
// aligned time, report their live state to the parent once a second
// (Status lines on a pipe), and the parent merges their result
// directories exactly with package merge into the run's one result
// directory and verdict. A capacity search past one process runs its
// load the same way. Prepare settles, for both, what a multi-process run
// needs before its workers start; Run runs them.
//
// One process holds at most as many connections as its open-files limit
// allows (about 19,900 users here); Auto picks the worker count from the
// scenario's connection plan and that limit.
package procs
