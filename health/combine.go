package health

// Fold adds the report of another process to r, as the report of
// several processes that ran side by side: nothing adds up exactly, so
// each signal is the worst process's (the highest peaks and p99s, the
// longest time over a limit, the longest sampling), and backpressure's
// drops and attempts and GC time are summed. The state, the reasons, the
// cores and the mean CPU share are the caller's to combine: only it knows
// how to name each process and which cores they shared. Call
// FinishFolding when every report is in.
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
}

// FinishFolding sets what follows from the folded totals: backpressure's
// share of the attempts.
func (r *Report) FinishFolding() {
	if a := r.Backpressure.Attempts; a > 0 {
		r.Backpressure.SharePct = pct(float64(r.Backpressure.Dropped) / float64(a))
	}
}
