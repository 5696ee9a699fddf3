package merge

import (
	"fmt"
	"slices"
)

// checkShards checks that shards are distinct shards of one run of one
// scenario, sorts them by index, and returns the indexes of the run's
// shards that are not among them.
func checkShards(shards []*shard) (missing []int, err error) {
	for _, s := range shards {
		if s.sum.Meta == nil || s.sum.Meta.Shard == nil {
			return nil, fmt.Errorf("refusing to merge: %s is not a shard of a sharded run (its summary.json has no meta.shard)", s.dir)
		}
		if sh := s.sum.Meta.Shard; sh.Count < 1 || sh.Index < 0 || sh.Index >= sh.Count {
			return nil, fmt.Errorf("refusing to merge: %s says it is shard %d of %d", s.dir, sh.Index, sh.Count)
		}
	}
	first := shards[0]
	for _, s := range shards[1:] {
		a, b := first.sum.Meta, s.sum.Meta
		if a.RunID != b.RunID || a.ScenarioHash != b.ScenarioHash {
			return nil, fmt.Errorf("refusing to merge: %s is run %q of scenario %s, %s is run %q of scenario %s",
				first.dir, a.RunID, shortHash(a.ScenarioHash), s.dir, b.RunID, shortHash(b.ScenarioHash))
		}
		if a.Shard.Count != b.Shard.Count {
			return nil, fmt.Errorf("refusing to merge: %s is shard %d/%d, %s is shard %d/%d: one run has one shard count",
				first.dir, a.Shard.Index, a.Shard.Count, s.dir, b.Shard.Index, b.Shard.Count)
		}
	}
	slices.SortStableFunc(shards, func(a, b *shard) int { return a.index() - b.index() })
	for i := 1; i < len(shards); i++ {
		if shards[i].index() == shards[i-1].index() {
			return nil, fmt.Errorf("refusing to merge: %s and %s are both shard %d/%d",
				shards[i-1].dir, shards[i].dir, shards[i].index(), first.sum.Meta.Shard.Count)
		}
	}
	have := map[int]bool{}
	for _, s := range shards {
		have[s.index()] = true
	}
	for i := range first.sum.Meta.Shard.Count {
		if !have[i] {
			missing = append(missing, i)
		}
	}
	return missing, nil
}

// shortHash is the first 12 hex digits of a scenario hash, as people
// compare them; "(none)" for a run that recorded none.
func shortHash(h string) string {
	switch {
	case h == "":
		return "(none)"
	case len(h) > 12:
		return h[:12]
	}
	return h
}
