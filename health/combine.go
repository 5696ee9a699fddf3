package health

// Fold adds the report of another process to r, as the report of
// several processes that ran side by side: nothing adds up exactly, so
// each signal is the worst process's (the highest peaks and p99s, the
// longest time over a limit, the longest sampling), and backpressure's
// drops and attempts, late arrivals and GC time are summed, and the
// connect ramp is the slowest process's. The state (Worst), the reasons,
// the limits, the cores and the mean CPU share are the caller's to
// combine: only it knows how to name each process and which cores they
// shared. Call FinishFolding when every report is in.
func (r *Report) Fold(o Report) {
	r.SampledS = max(r.SampledS, o.SampledS)
	r.CPU.PeakPct = max(r.CPU.PeakPct, o.CPU.PeakPct)
	r.CPU.OverS = max(r.CPU.OverS, o.CPU.OverS)
	r.SchedLatency.P99MS = max(r.SchedLatency.P99MS, o.SchedLatency.P99MS)
	r.SchedLatency.PeakP99MS = max(r.SchedLatency.PeakP99MS, o.SchedLatency.PeakP99MS)
	r.SchedLatency.OverS = max(r.SchedLatency.OverS, o.SchedLatency.OverS)
	r.ScheduleLag.PeakP99MS = max(r.ScheduleLag.PeakP99MS, o.ScheduleLag.PeakP99MS)
	r.ScheduleLag.OverS = max(r.ScheduleLag.OverS, o.ScheduleLag.OverS)
	r.Backpressure.Dropped += o.Backpressure.Dropped
	r.Backpressure.Attempts += o.Backpressure.Attempts
	r.Backpressure.PeakSharePct = max(r.Backpressure.PeakSharePct, o.Backpressure.PeakSharePct)
	r.Backpressure.OverS = max(r.Backpressure.OverS, o.Backpressure.OverS)
	r.GCPause.TotalMS += o.GCPause.TotalMS
	r.GCPause.MaxMS = max(r.GCPause.MaxMS, o.GCPause.MaxMS)
	r.GCPause.PeakPct = max(r.GCPause.PeakPct, o.GCPause.PeakPct)
	r.GCPause.OverS = max(r.GCPause.OverS, o.GCPause.OverS)
	r.LateArrivals.Dropped += o.LateArrivals.Dropped
	r.LateArrivals.Arrivals += o.LateArrivals.Arrivals
	r.LateArrivals.PeakSharePct = max(r.LateArrivals.PeakSharePct, o.LateArrivals.PeakSharePct)
	r.LateArrivals.OverS = max(r.LateArrivals.OverS, o.LateArrivals.OverS)
	if o.Connect != nil && (r.Connect == nil || o.Connect.ReachedPct < r.Connect.ReachedPct) {
		c := *o.Connect // the slowest process's ramp
		r.Connect = &c
	}
}

// Worst is the state of several processes that ran side by side:
// generator-bound if any was, else not judged if any was, else healthy.
func Worst(states ...State) State {
	out := Healthy
	for _, s := range states {
		switch {
		case s == GeneratorBound:
			return GeneratorBound
		case s == NotJudged:
			out = NotJudged
		}
	}
	return out
}

// FinishFolding sets what follows from the folded totals: the shares of
// backpressure in the attempts and of late drops in the arrivals.
func (r *Report) FinishFolding() {
	if a := r.Backpressure.Attempts; a > 0 {
		r.Backpressure.SharePct = pct(float64(r.Backpressure.Dropped) / float64(a))
	}
	r.LateArrivals.finish()
}
