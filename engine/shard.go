package engine

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// StartSlack is how far in the past Options.StartAt may be when the run
// is ready to start: later than that, the shards would not be aligned, and
// the run is refused.
const StartSlack = 3 * time.Second

var runIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

// CheckRunID reports a run id that is not a short name: 1 to 100 of
// letters, digits, '.', '_' and '-' (it goes into file names and labels).
func CheckRunID(id string) error {
	if !runIDRE.MatchString(id) {
		return fmt.Errorf("run id %q: use 1 to 100 letters, digits, '.', '_' and '-'", id)
	}
	return nil
}

// DeriveRunID is the run id of a sharded run without --run-id: the start
// time in UTC and the scenario hash's first 8 hex digits,
// "20261129T210000Z-3f2a9c1b". Shards given the same scenario and start
// time agree on it without talking to each other.
func DeriveRunID(scenarioHash string, startAt time.Time) string {
	h := scenarioHash
	if len(h) > 8 {
		h = h[:8]
	}
	return startAt.UTC().Format("20060102T150405Z") + "-" + h
}

// runSeed is the seed of a sharded run whose scenario gives none: taken
// from the run id, so that every shard derives its own from the same one.
func runSeed(runID string) uint64 {
	sum := sha256.Sum256([]byte("eixamsim run seed\x00" + runID))
	return 1 + binary.BigEndian.Uint64(sum[:8])%scenario.MaxSeed
}

// sharding is how a run takes part in a sharded run: its slice of the
// scenario, the run id, and the whole scenario (with the run's seed) that
// summary.json echoes.
type sharding struct {
	runID string
	shard *scenario.Shard // nil: a whole run
	whole *scenario.Scenario
	part  *scenario.Scenario // what this process runs
}

// shardRun settles the run id, the run's seed and the slice of sc that
// this process runs. For a whole run it only picks the seed (from the
// clock when sc has none) and keeps Options.RunID.
func shardRun(sc *scenario.Scenario, hash string, opts Options, now time.Time) (*sharding, error) {
	if opts.RunID != "" {
		if err := CheckRunID(opts.RunID); err != nil {
			return nil, err
		}
	}
	if opts.Shard == nil {
		whole := withSeed(sc, now)
		return &sharding{runID: opts.RunID, whole: whole, part: whole}, nil
	}
	if err := opts.Shard.Check(); err != nil {
		return nil, err
	}
	if sc.Target.Embedded != nil {
		return nil, errors.New("a sharded run needs an external target that every shard reaches: with the embedded backend each shard would load its own; start one with `eixamsim serve` and set target.http and target.mqtt to its addresses")
	}
	id := opts.RunID
	if id == "" {
		if opts.StartAt.IsZero() {
			return nil, errors.New("a sharded run needs a run id its shards agree on: give --run-id, or --start-at (the id is then derived from the start time and the scenario)")
		}
		id = DeriveRunID(hash, opts.StartAt)
	}
	whole := sc
	if sc.Seed == 0 {
		c := *sc
		c.Seed = runSeed(id)
		whole = &c
	}
	part, err := whole.Slice(*opts.Shard)
	if err != nil {
		return nil, err
	}
	return &sharding{runID: id, shard: part.Shard, whole: whole, part: part}, nil
}

// meta fills the run id, the shard and the run's seed into m.
func (s *sharding) meta(m *report.Meta) {
	m.RunID = s.runID
	seed := s.whole.Seed
	m.Seed = &seed
	if s.shard != nil {
		m.Shard = &report.Shard{Index: s.shard.Index, Count: s.shard.Count}
	}
}

// dirSuffix keeps the result directories of shards on one machine apart:
// "-shard-1-of-4" is added to the rendered output.dir; "" for a whole run.
func (s *sharding) dirSuffix() string {
	if s.shard == nil {
		return ""
	}
	return fmt.Sprintf("-shard-%d-of-%d", s.shard.Index, s.shard.Count)
}

// startTime is when the fleet starts: Options.StartAt, or for a sharded
// run without one the next whole second, so that the shards' one-second
// intervals line up on whole seconds of wall time; zero to start now. A
// StartAt more than StartSlack in the past is refused.
func startTime(opts Options, sharded bool, now time.Time) (time.Time, error) {
	at := opts.StartAt
	switch {
	case !at.IsZero() && now.Sub(at) > StartSlack:
		return time.Time{}, fmt.Errorf("the start time %s was %v ago: the run would not be aligned with the other shards (give a time in the future)",
			at.UTC().Format(time.RFC3339), now.Sub(at).Round(time.Second))
	case !at.IsZero():
		return at, nil
	case sharded:
		return now.Truncate(time.Second).Add(time.Second), nil
	}
	return time.Time{}, nil
}

// waitUntil waits until at, or until ctx is done (its error then).
func waitUntil(ctx context.Context, at time.Time) error {
	d := time.Until(at)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
