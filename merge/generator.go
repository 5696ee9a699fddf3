package merge

import (
	"fmt"

	"github.com/eixamsim/eixamsim/health"
)

// generator merges the shards' health reports. Each shard ran in its own
// process, so nothing adds up exactly; the merged report is the worst
// shard per signal: the highest peaks and the longest time over a limit,
// CPU's mean share averaged over the shards (weighted by the time each
// sampled), backpressure's counts summed, GC time summed. Cores is the
// shards' machines' cores together, each machine once (perHost). The run
// is generator-bound if any shard was, else not judged if any shard was
// (health.Worst); each of its reasons names its shard. bound lists the
// generator-bound shards' indexes.
func generator(shards []*shard) (rep *health.Report, bound []int) {
	var out health.Report
	out.State = health.Healthy
	var cpuWeighted, sampled float64
	found := false
	for _, s := range shards {
		g := s.sum.Generator
		if g == nil {
			continue
		}
		if !found {
			out.CPU.LimitPct, out.SchedLatency.LimitMS = g.CPU.LimitPct, g.SchedLatency.LimitMS
			out.ScheduleLag.LimitMS, out.Backpressure.LimitPct, out.GCPause.LimitPct = g.ScheduleLag.LimitMS, g.Backpressure.LimitPct, g.GCPause.LimitPct
			out.LateArrivals.LimitPct, out.LateArrivals.DecisivePct = g.LateArrivals.LimitPct, g.LateArrivals.DecisivePct
		}
		found = true
		out.State = health.Worst(out.State, g.State)
		if g.State == health.GeneratorBound {
			bound = append(bound, s.index())
		}
		cpuWeighted += g.CPU.MeanPct * g.SampledS
		sampled += g.SampledS
		out.Fold(*g)
	}
	if !found {
		return nil, nil
	}
	for _, s := range shards { // the reasons of the verdict: those of the shards that share it
		if g := s.sum.Generator; g != nil && g.State == out.State {
			for _, r := range g.Reasons {
				r.Message = fmt.Sprintf("shard %d: %s", s.index(), r.Message)
				out.Reasons = append(out.Reasons, r)
			}
		}
	}
	out.Cores = perHost(shards, func(s *shard) int {
		if s.sum.Generator == nil {
			return 0
		}
		return s.sum.Generator.Cores
	})
	if sampled > 0 {
		out.CPU.MeanPct = cpuWeighted / sampled
	}
	out.FinishFolding()
	return &out, bound
}
