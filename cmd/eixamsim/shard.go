package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/eixamsim/eixamsim/engine"
	"github.com/eixamsim/eixamsim/scenario"
)

// jobIndexEnv is where a Kubernetes Indexed Job puts each pod's index.
const jobIndexEnv = "JOB_COMPLETION_INDEX"

// shardFlags are the options of `eixamsim run` for one shard of a sharded
// run (docs/distributed.md).
type shardFlags struct {
	shard   string // INDEX/COUNT
	shards  int    // COUNT, the index from JOB_COMPLETION_INDEX
	startAt string // RFC 3339 time, or +DURATION from now
	runID   string
	// getenv reads JOB_COMPLETION_INDEX; os.LookupEnv outside tests.
	getenv func(string) (string, bool)
}

func (s *shardFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&s.shard, "shard", "", "run shard `INDEX/COUNT` of the scenario (0-based, e.g. 0/4): its slice of the users, stages and rates; the shards together are the whole run (docs/distributed.md)")
	fl.IntVar(&s.shards, "shards", 0, "run one of `COUNT` shards, the index taken from $"+jobIndexEnv+" (as a Kubernetes Indexed Job sets it)")
	fl.StringVar(&s.startAt, "start-at", "", "start the users at `TIME` (RFC 3339, e.g. 2026-11-29T21:00:00Z, or +30s from now, rounded up to a whole second), after the target checks: aligns the shards")
	fl.StringVar(&s.runID, "run-id", "", "the `ID` every shard of the run shares (default with shards: derived from --start-at and the scenario)")
}

// apply puts the shard options into opts; now is the time +DURATION
// counts from.
func (s *shardFlags) apply(fl *pflag.FlagSet, opts *engine.Options, now time.Time) error {
	switch {
	case fl.Changed("shard") && fl.Changed("shards"):
		return usageError("run: give --shard INDEX/COUNT or --shards COUNT (index from $%s), not both", jobIndexEnv)
	case fl.Changed("shard"):
		sh, err := scenario.ParseShard(s.shard)
		if err != nil {
			return usageError("run: --shard: %v", err)
		}
		opts.Shard = &sh
	case fl.Changed("shards"):
		sh, err := s.fromJobIndex()
		if err != nil {
			return usageError("run: --shards: %v", err)
		}
		opts.Shard = &sh
	}
	if fl.Changed("start-at") {
		at, err := parseStartAt(s.startAt, now)
		if err != nil {
			return usageError("run: --start-at: %v", err)
		}
		opts.StartAt = at
	}
	if fl.Changed("run-id") {
		if err := engine.CheckRunID(s.runID); err != nil {
			return usageError("run: --run-id: %v", err)
		}
		opts.RunID = s.runID
	}
	return nil
}

// fromJobIndex is shard $JOB_COMPLETION_INDEX of --shards.
func (s *shardFlags) fromJobIndex() (scenario.Shard, error) {
	v, ok := s.getenv(jobIndexEnv)
	if !ok || strings.TrimSpace(v) == "" {
		return scenario.Shard{}, fmt.Errorf("$%s is not set: it gives the shard's index (a Kubernetes Indexed Job sets it); elsewhere use --shard INDEX/COUNT", jobIndexEnv)
	}
	i, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return scenario.Shard{}, fmt.Errorf("$%s is %q, not a whole number", jobIndexEnv, v)
	}
	sh := scenario.Shard{Index: i, Count: s.shards}
	if err := sh.Check(); err != nil {
		return scenario.Shard{}, fmt.Errorf("$%s=%d: %w", jobIndexEnv, i, err)
	}
	return sh, nil
}

// parseStartAt reads an RFC 3339 time, or "+DURATION" from now; either is
// rounded up to a whole second, so the shards' intervals fall on whole
// seconds of wall time.
func parseStartAt(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	var at time.Time
	if rest, ok := strings.CutPrefix(s, "+"); ok {
		d, err := scenario.ParseDuration(rest)
		if err != nil || d < 0 {
			return time.Time{}, fmt.Errorf("%q: want +DURATION such as +30s, or a time such as 2026-11-29T21:00:00Z", s)
		}
		at = now.Add(d)
	} else {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q: want a time such as 2026-11-29T21:00:00Z (RFC 3339, with its zone), or +DURATION such as +30s", s)
		}
		at = t
	}
	if r := at.Truncate(time.Second); !r.Equal(at) {
		at = r.Add(time.Second)
	}
	return at, nil
}
