package merge

import (
	"fmt"

	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/report"
)

// verdict is the merged run's outcome, judged as a run's is
// (outcome.Judge) on the merged summary; nil when it passed.
func verdict(sum *report.Summary, shards []*shard, missing []int) error {
	return outcome.Judge(outcome.Facts{Summary: sum, Stop: stopped(shards, missing)})
}

// stopped says why the merged run ended early, naming the shards: the
// shards missing (a partial result, which endReason makes interrupted),
// else those interrupted, else those aborted by abort_on_fail; nil when
// every shard completed.
func stopped(shards []*shard, missing []int) error {
	byReason := func(r report.EndReason) []int {
		var out []int
		for _, s := range shards {
			if s.sum.EndReason == r {
				out = append(out, s.index())
			}
		}
		return out
	}
	switch {
	case len(missing) > 0:
		return fmt.Errorf("partial result: shard %s of %d missing; merged what was there", indexes(missing), shards[0].sum.Meta.Shard.Count)
	case len(byReason(report.EndInterrupted)) > 0:
		return fmt.Errorf("shard %s was interrupted", indexes(byReason(report.EndInterrupted)))
	case len(byReason(report.EndAborted)) > 0:
		return fmt.Errorf("shard %s was aborted by abort_on_fail", indexes(byReason(report.EndAborted)))
	}
	return nil
}
