package merge

import (
	"fmt"
	"strings"

	"github.com/eixamsim/eixamsim/engine"
	"github.com/eixamsim/eixamsim/report"
)

// verdict is the merged run's outcome, in the order a run's is chosen
// (engine): partial or interrupted, aborted, nothing measured,
// generator-bound, thresholds failed, not judged; nil when it passed.
func verdict(sum *report.Summary, shards []*shard, missing []int) error {
	count := shards[0].sum.Meta.Shard.Count
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
		return &engine.Error{Outcome: engine.Interrupted,
			Err: fmt.Errorf("partial result: shard %s of %d missing; merged what was there", indexes(missing), count)}
	case sum.EndReason == report.EndInterrupted:
		return &engine.Error{Outcome: engine.Interrupted,
			Err: fmt.Errorf("shard %s was interrupted", indexes(byReason(report.EndInterrupted)))}
	case sum.EndReason == report.EndAborted:
		return &engine.Error{Outcome: engine.Aborted,
			Err: fmt.Errorf("shard %s was aborted by abort_on_fail", indexes(byReason(report.EndAborted)))}
	case sum.NothingMeasured():
		return &engine.Error{Outcome: engine.Unreachable, Err: fmt.Errorf("no user of any shard could log in and connect")}
	}
	failed := sum.FailedThresholds()
	if sum.GeneratorBound() {
		judged := "no threshold failed"
		if len(failed) > 0 {
			judged = fmt.Sprintf("%d of %d thresholds failed on what was measured, not judged", len(failed), len(sum.Thresholds))
		}
		reasons := make([]string, len(sum.Generator.Reasons))
		for i, r := range sum.Generator.Reasons {
			reasons[i] = r.Message
		}
		return &engine.Error{Outcome: engine.GeneratorBound,
			Err: fmt.Errorf("generator-bound: the simulator was the bottleneck, not the target (%s); %s",
				strings.Join(reasons, "; "), judged)}
	}
	if len(failed) > 0 {
		parts := make([]string, len(failed))
		for i, v := range failed {
			parts[i] = fmt.Sprintf("%s (observed %s)", v.Name(), v.Observed)
		}
		return &engine.Error{Outcome: engine.ThresholdsFailed,
			Err: fmt.Errorf("%d of %d thresholds failed: %s", len(failed), len(sum.Thresholds), strings.Join(parts, "; "))}
	}
	if sum.GeneratorNotJudged() {
		held := ""
		if n := len(sum.Thresholds); n > 0 {
			held = fmt.Sprintf("; %d of %d thresholds held, not judged", n, n)
		}
		return &engine.Error{Outcome: engine.NotJudged, Err: fmt.Errorf("%s%s", sum.Generator.Verdict, held)}
	}
	return nil
}
