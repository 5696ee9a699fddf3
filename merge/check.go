package merge

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/eixamsim/eixamsim/report"
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
	if err := sameThresholds(shards); err != nil {
		return nil, err
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

// sameThresholds refuses shards whose scenarios judge by different
// thresholds: the merged run is judged by one set of rules, and the
// scenario hash that makes shards one scenario leaves the thresholds out
// (it covers the load only).
func sameThresholds(shards []*shard) error {
	first, err := thresholdsEcho(shards[0].sum)
	if err != nil {
		return fmt.Errorf("%s: %w", shards[0].file(), err)
	}
	for _, s := range shards[1:] {
		th, err := thresholdsEcho(s.sum)
		if err != nil {
			return fmt.Errorf("%s: %w", s.file(), err)
		}
		if !bytes.Equal(first, th) {
			return fmt.Errorf("refusing to merge: %s and %s judge by different thresholds (their scenarios' thresholds blocks differ): one run has one set of rules",
				shards[0].dir, s.dir)
		}
	}
	return nil
}

// minOverlap is the share of the run that every shard must have run at
// the same time as every other; overlapSlack the least slack it gives a
// short run (the starts and stage ends of shards started together differ
// by a few milliseconds, a loaded machine's by more).
const (
	minOverlap   = 0.9
	overlapSlack = time.Second
)

// checkOverlap refuses shards that did not run together: from the latest
// start to the earliest end of a shard that completed (of any shard when
// none did: a shard interrupted or aborted may stop before the others),
// ends counted at each shard's last stage end, must cover at least
// minOverlap of the merged run, from the earliest start to the latest
// end (less overlapSlack at most). Shards run one after another would
// otherwise merge into a run twice as long with half the users online.
func checkOverlap(shards []*shard) error {
	var first, last, lastStart, firstEnd time.Time
	completed := slices.ContainsFunc(shards, func(s *shard) bool { return s.sum.EndReason == report.EndCompleted })
	for i, s := range shards {
		from, to := s.window()
		if i == 0 || from.Before(first) {
			first = from
		}
		if i == 0 || to.After(last) {
			last = to
		}
		if i == 0 || from.After(lastStart) {
			lastStart = from
		}
		if (!completed || s.sum.EndReason == report.EndCompleted) && (firstEnd.IsZero() || to.Before(firstEnd)) {
			firstEnd = to
		}
	}
	run, together := last.Sub(first), firstEnd.Sub(lastStart)
	if run-together <= max(time.Duration((1-minOverlap)*float64(run)), overlapSlack) {
		return nil
	}
	ran := make([]string, len(shards))
	for i, s := range shards {
		from, to := s.window()
		ran[i] = fmt.Sprintf("%s ran %s to %s (%s)", s.file(), stamp(from), stamp(to), s.sum.EndReason)
	}
	return fmt.Errorf("refusing to merge: the shards did not run at the same time: together %v of the %v from the first start to the last end, at least %.0f%% needed: %s",
		max(together, 0).Round(time.Millisecond), run.Round(time.Millisecond), 100*minOverlap, strings.Join(ran, "; "))
}
