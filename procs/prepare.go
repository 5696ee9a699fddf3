package procs

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/eixamsim/eixamsim/engine"
	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/scenario"
)

// startLead is how long before the users start the workers are started
// when nobody chose the start: time for every worker to start, load the
// scenario and reach the target, measured at ~0.3 s each on 2 shared
// cores.
func startLead(n int) time.Duration { return 2*time.Second + time.Duration(n)*500*time.Millisecond }

// Prepare completes cfg for Run: what every multi-process run (`run
// --procs`, a capacity search past one process) settles before its workers
// start, for workers that run sc (its target as loaded: an embedded target
// is the parent's to start). Of cfg's fields, those left zero get:
//
//	Exe      os.Executable()
//	Dir      sc's output.dir rendered for now
//	StartAt  startLead(Count) from now, on the next whole second
//	RunID    engine.DeriveRunID of sc's hash and StartAt
//
// With an embedded target it checks that this process may open the
// backend's sockets for every worker's connections (backendFDs against
// FDLimit), then starts that one backend (cfg.Backend), its scheduled
// faults shifted by the time until StartAt. Close stops it once Run has
// returned. Every error is an *outcome.Error: Failed (no executable),
// BadInput (the result directory, the open-files limit), Unreachable (the
// backend did not start).
func Prepare(ctx context.Context, sc *scenario.Scenario, cfg Config) (Config, error) {
	if cfg.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return cfg, outcome.Wrap(outcome.Failed, err)
		}
		cfg.Exe = exe
	}
	if cfg.Dir == "" {
		dir, err := sc.Output.Render(sc.Name, time.Now())
		if err != nil {
			return cfg, outcome.Wrap(outcome.BadInput, err)
		}
		cfg.Dir = dir
	}
	if cfg.StartAt.IsZero() {
		cfg.StartAt = time.Now().Add(startLead(cfg.Count)).Truncate(time.Second).Add(time.Second)
	}
	if cfg.RunID == "" {
		cfg.RunID = engine.DeriveRunID(sc.Hash(), cfg.StartAt)
	}
	if sc.Target.Embedded == nil {
		return cfg, nil
	}
	if need, fds := backendFDs(sc), FDLimit(); need > fds {
		return cfg, outcome.Wrap(outcome.BadInput, fmt.Errorf("the embedded backend runs in this process and needs about %d file descriptors for every worker's connections, but this process may open %d: "+
			"start a backend of its own (eixamsim serve, or mosquitto) and set target.http and target.mqtt", need, fds))
	}
	b, err := startBackend(ctx, sc, time.Until(cfg.StartAt))
	if err != nil {
		return cfg, outcome.Wrap(outcome.Unreachable, err)
	}
	cfg.Backend = b
	return cfg, nil
}

// Close stops the backend Prepare started, if any. Call it once Run has
// returned.
func (cfg Config) Close() {
	if cfg.Backend != nil {
		cfg.Backend.Server.Close()
	}
}
