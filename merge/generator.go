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
// shards' cores together. The run is generator-bound if any shard was;
// each of its reasons names its shard. bound lists those shards' indexes.
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
		}
		found = true
		if g.State == health.GeneratorBound {
			out.State = health.GeneratorBound
			bound = append(bound, s.index())
			for _, r := range g.Reasons {
				r.Message = fmt.Sprintf("shard %d: %s", s.index(), r.Message)
				out.Reasons = append(out.Reasons, r)
			}
		}
		out.Cores += g.Cores
		out.SampledS = max(out.SampledS, g.SampledS)
		cpuWeighted += g.CPU.MeanPct * g.SampledS
		sampled += g.SampledS
		out.CPU.PeakPct = max(out.CPU.PeakPct, g.CPU.PeakPct)
		out.CPU.OverS = max(out.CPU.OverS, g.CPU.OverS)
		out.SchedLatency.P99MS = max(out.SchedLatency.P99MS, g.SchedLatency.P99MS)
		out.SchedLatency.PeakP99MS = max(out.SchedLatency.PeakP99MS, g.SchedLatency.PeakP99MS)
		out.SchedLatency.OverS = max(out.SchedLatency.OverS, g.SchedLatency.OverS)
		out.ScheduleLag.PeakP99MS = max(out.ScheduleLag.PeakP99MS, g.ScheduleLag.PeakP99MS)
		out.ScheduleLag.OverS = max(out.ScheduleLag.OverS, g.ScheduleLag.OverS)
		out.Backpressure.Dropped += g.Backpressure.Dropped
		out.Backpressure.Attempts += g.Backpressure.Attempts
		out.Backpressure.PeakSharePct = max(out.Backpressure.PeakSharePct, g.Backpressure.PeakSharePct)
		out.Backpressure.OverS = max(out.Backpressure.OverS, g.Backpressure.OverS)
		out.GCPause.TotalMS += g.GCPause.TotalMS
		out.GCPause.MaxMS = max(out.GCPause.MaxMS, g.GCPause.MaxMS)
		out.GCPause.PeakPct = max(out.GCPause.PeakPct, g.GCPause.PeakPct)
		out.GCPause.OverS = max(out.GCPause.OverS, g.GCPause.OverS)
	}
	if !found {
		return nil, nil
	}
	if sampled > 0 {
		out.CPU.MeanPct = cpuWeighted / sampled
	}
	if out.Backpressure.Attempts > 0 {
		out.Backpressure.SharePct = 100 * float64(out.Backpressure.Dropped) / float64(out.Backpressure.Attempts)
	}
	return &out, bound
}
