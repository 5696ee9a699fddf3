package procs

import (
	"fmt"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/scenario"
)

// Auto is the number of worker processes `--procs auto` runs sc with: the
// fewest whose largest slice (shard 0: the remainder of a split goes to
// the lowest indexes) fits one process's open-files limit fdLimit, by the
// same connection plan each worker checks before it runs
// (fleet.NewPlan: one MQTT connection per online user, the HTTP pool,
// and some slack):
//
//	N = max(1, ceil(connections / (fdLimit - slack))), then raised until
//	    shard 0's plan fits
//
// It is not capped by the cores: a Go process already uses every core, so
// more processes than the limit needs only cost memory, and fewer cannot
// hold the connections. The embedded backend is not counted: with --procs
// it runs in the parent (see backendFDs).
func Auto(sc *scenario.Scenario, fdLimit int) (int, error) {
	whole := fleet.NewPlan(external(sc), false)
	usable := fdLimit - (whole.FDs - whole.Connections) // the slack
	if usable < 1 {
		return 0, fmt.Errorf("--procs auto: the open-files limit %d leaves no room for connections", fdLimit)
	}
	n := max(1, (whole.Connections+usable-1)/usable)
	// Bounded: each step adds a process, and a slice's HTTP pool shrinks
	// with its users, so a few steps past the estimate always fit.
	for tries := 0; tries < 64 && n <= scenario.MaxShards; tries, n = tries+1, n+1 {
		if n == 1 {
			if whole.FDs <= fdLimit {
				return 1, nil
			}
			continue
		}
		part, err := external(sc).Slice(scenario.Shard{Index: 0, Count: n})
		if err != nil {
			return 0, fmt.Errorf("--procs auto: %d processes: %w", n, err)
		}
		if fleet.NewPlan(part, false).FDs <= fdLimit {
			return n, nil
		}
	}
	return 0, fmt.Errorf("--procs auto: no process count up to %d fits %d connections in %d open files each", n, whole.Connections, fdLimit)
}

// backendFDs is the file descriptors the embedded backend needs when the
// parent runs it for every worker: one accepted socket per connection of
// the whole run, plus slack.
func backendFDs(sc *scenario.Scenario) int {
	p := fleet.NewPlan(sc, true)
	return p.ServerSockets + (p.FDs - p.Connections - p.ServerSockets)
}

// external is sc as the workers see it, for planning: against an
// external target (the parent's backend stands in for the embedded one),
// with a seed (a slice needs one; the count of users does not depend on
// it).
func external(sc *scenario.Scenario) *scenario.Scenario {
	c := *sc
	if c.Target.Embedded != nil {
		c.Target = scenario.Target{HTTP: "http://127.0.0.1:0", MQTT: "tcp://127.0.0.1:0"}
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	return &c
}
