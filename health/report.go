package health

// Report is the simulator's health over a run, for summary.json: the
// verdict and, per signal, the whole-run value, the worst second, the
// limit, and the time spent over it (after the warm-up; stretches of any
// length). A limit of zero was not checked.
type Report struct {
	Verdict
	// Cores is GOMAXPROCS, the cores the CPU share is a share of.
	Cores int `json:"cores"`
	// SampledS is the time the samples cover, in seconds.
	SampledS     float64           `json:"sampled_s"`
	CPU          CPUStats          `json:"cpu"`
	SchedLatency SchedStats        `json:"sched_latency"`
	ScheduleLag  LagStats          `json:"schedule_lag"`
	Backpressure BackpressureStats `json:"backpressure"`
	GCPause      GCStats           `json:"gc_pause"`
	LateArrivals LateStats         `json:"late_arrivals"`
	// Connect is how the main connect ramp was judged; nil when the run
	// had none (Monitor.Ramp).
	Connect *RampStats `json:"connect,omitempty"`
}

// CPUStats is the process's CPU use (user+sys) as a percentage of Cores.
type CPUStats struct {
	MeanPct  float64 `json:"mean_pct"`
	PeakPct  float64 `json:"peak_pct"` // the busiest interval
	LimitPct float64 `json:"limit_pct"`
	OverS    float64 `json:"over_s"`
}

// SchedStats is the Go scheduler latency: how long runnable goroutines
// waited for a core.
type SchedStats struct {
	P99MS     float64 `json:"p99_ms"`      // over the whole run
	PeakP99MS float64 `json:"peak_p99_ms"` // the worst interval's p99
	LimitMS   float64 `json:"limit_ms"`
	OverS     float64 `json:"over_s"`
}

// LagStats is schedule.lag as the engine passed it per interval (its
// whole-run statistics are in the run's metrics).
type LagStats struct {
	PeakP99MS float64 `json:"peak_p99_ms"` // the worst interval's p99
	LimitMS   float64 `json:"limit_ms"`
	OverS     float64 `json:"over_s"`
}

// BackpressureStats counts planned sends dropped because a user's
// in-flight window was full.
type BackpressureStats struct {
	Dropped      int64   `json:"dropped"`
	Attempts     int64   `json:"attempts"`
	SharePct     float64 `json:"share_pct"`      // Dropped / Attempts over the run
	PeakSharePct float64 `json:"peak_share_pct"` // the worst interval
	LimitPct     float64 `json:"limit_pct"`
	OverS        float64 `json:"over_s"`
}

// LateStats counts open-model arrivals dropped because the simulator
// reached them more than 1 s late (arrivals.dropped.late), out of the
// arrivals due: over the whole run when the monitor was given its totals
// (Monitor.Arrivals), else while it sampled. DecisivePct is the whole-run
// share that makes a run generator-bound however short
// (Limits.DecisiveLateShare).
type LateStats struct {
	Dropped      int64   `json:"dropped"`
	Arrivals     int64   `json:"arrivals"`
	SharePct     float64 `json:"share_pct"`      // Dropped / Arrivals over the run
	PeakSharePct float64 `json:"peak_share_pct"` // the worst interval
	LimitPct     float64 `json:"limit_pct"`
	DecisivePct  float64 `json:"decisive_pct"`
	OverS        float64 `json:"over_s"`
}

// GCStats is the stop-the-world time of the garbage collector.
type GCStats struct {
	TotalMS  float64 `json:"total_ms"`
	MaxMS    float64 `json:"max_ms"`   // the longest single pause
	PeakPct  float64 `json:"peak_pct"` // the worst interval's share of wall time
	LimitPct float64 `json:"limit_pct"`
	OverS    float64 `json:"over_s"`
}

// finish sets the share from the counts.
func (l *LateStats) finish() {
	if l.Arrivals > 0 {
		l.SharePct = pct(min(1, float64(l.Dropped)/float64(l.Arrivals)))
	}
}

// report fills everything the samples give; the Monitor adds the whole-run
// values only the runtime's cumulative counters give.
func (j *judge) report() Report {
	tr := func(s Signal) tracker {
		for i, c := range j.checks {
			if c.signal == s {
				return j.tr[i]
			}
		}
		return tracker{}
	}
	cpu, sched, lag, bp, gc, late := tr(SignalCPU), tr(SignalSchedLatency), tr(SignalScheduleLag), tr(SignalBackpressure), tr(SignalGCPause), tr(SignalLateArrivals)
	r := Report{
		Verdict:      j.verdict(),
		SampledS:     j.sampled.Seconds(),
		CPU:          CPUStats{PeakPct: pct(cpu.peak), LimitPct: pct(j.lim.CPU), OverS: cpu.over.Seconds()},
		SchedLatency: SchedStats{PeakP99MS: sched.peak, LimitMS: ms(j.lim.SchedP99), OverS: sched.over.Seconds()},
		ScheduleLag:  LagStats{PeakP99MS: lag.peak, LimitMS: ms(j.lim.ScheduleLagP99), OverS: lag.over.Seconds()},
		Backpressure: BackpressureStats{Dropped: j.backpressure, Attempts: j.attempts, PeakSharePct: pct(bp.peak),
			LimitPct: pct(j.lim.BackpressureShare), OverS: bp.over.Seconds()},
		GCPause: GCStats{TotalMS: ms(j.gcPause), PeakPct: pct(gc.peak), LimitPct: pct(j.lim.GCPauseShare), OverS: gc.over.Seconds()},
		LateArrivals: LateStats{PeakSharePct: pct(late.peak),
			LimitPct: pct(j.lim.LateShare), DecisivePct: pct(j.lim.DecisiveLateShare), OverS: late.over.Seconds()},
		Connect: j.rampStats(),
	}
	if j.attempts > 0 {
		r.Backpressure.SharePct = pct(float64(j.backpressure) / float64(j.attempts))
	}
	r.LateArrivals.Arrivals, r.LateArrivals.Dropped = j.arrivalCounts()
	r.LateArrivals.finish()
	return r
}
