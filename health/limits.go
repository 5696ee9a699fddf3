package health

import "time"

// Limits are the levels past which a run is generator-bound. A limit left
// at zero is not checked. Every per-second limit must be exceeded without
// a break for Sustain before it counts, so a short spike (the connect
// burst, one GC) never condemns a run; a run whose samples past Warmup
// cover less than Sustain is therefore not judged, unless the evidence
// needs no sustained signal (DecisiveLateShare, ConnectShare). The
// defaults, and the measurements behind them, are in docs/health.md.
type Limits struct {
	// Warmup is how long after the monitor starts samples are not judged
	// (they still count in the peaks of the Report). Zero judges every
	// sample.
	Warmup time.Duration
	// Sustain is how long a limit must be exceeded, in samples over it
	// with never two in a row under it, to make the run generator-bound.
	// Zero: a single sample suffices.
	Sustain time.Duration
	// LiveAfter is how long a limit must be exceeded, so far, for Live to
	// report it. It is shorter than Sustain so the warning comes while the
	// run works. Zero: Live reports a limit as soon as one sample is over.
	LiveAfter time.Duration

	// CPU is the process's CPU use (user+sys) as a share of its cores
	// (GOMAXPROCS), 0..1, at or above which the process has no CPU to
	// spare.
	CPU float64
	// SchedP99 is the Go scheduler latency (a runnable goroutine waiting
	// to run) above which the interval's p99 is a breach. Every timer,
	// PUBACK and response waits this long before it is measured.
	SchedP99 time.Duration
	// ScheduleLagP99 is the schedule.lag (a planned send started late)
	// above which the interval's p99 is a breach.
	ScheduleLagP99 time.Duration
	// BackpressureShare is the share of the interval's attempts (0..1)
	// dropped as "backpressure" above which the interval is a breach,
	// provided there were at least MinAttempts and the process was busy:
	// it used at least BackpressureMinCPU of its cores, or its scheduler
	// latency was over SchedP99 (a process starved by other work on the
	// machine uses little CPU). Without that condition an idle simulator
	// in front of a slow backend would blame itself: its users' in-flight
	// windows fill because PUBACKs come late.
	BackpressureShare float64
	// BackpressureMinCPU is the CPU share (0..1) at which backpressure
	// counts as the simulator's doing. Zero: any CPU.
	BackpressureMinCPU float64
	// MinAttempts is the fewest attempts in an interval for its
	// backpressure share to be judged. Zero: any number but zero.
	MinAttempts int64
	// GCPauseShare is the share of the interval's wall time (0..1) the
	// process spent stopped for garbage collection above which the
	// interval is a breach.
	GCPauseShare float64
	// LateShare is the share of the interval's open-model arrivals (0..1)
	// dropped because the simulator reached them more than 1 s late
	// (arrivals.dropped.late) above which the interval is a breach,
	// provided there were at least MinAttempts arrivals. Nothing but the
	// simulator's own lateness drops an arrival as late, so no busy
	// condition applies.
	LateShare float64
	// DecisiveLateShare is the share of the run's arrivals (0..1; its
	// totals when given, Monitor.Arrivals, else the samples'), at least
	// MinAttempts of them, dropped late at or above which the
	// run is generator-bound however short it is: that much of the
	// planned load was never sent because the simulator fell more than
	// 1 s behind, which needs no sustained signal to prove (a healthy
	// simulator drops none late).
	DecisiveLateShare float64
	// ConnectShare is the share of fleet.connect_rate (0..1) under which a
	// main connect ramp (Monitor.Ramp) is generator-bound when the process
	// was saturated for at least half of the ramp: its CPU at or over CPU,
	// or its scheduler latency over SchedP99. The ramp is judged warm-up
	// included: the warm-up exists to forgive a connect burst, not one the
	// simulator could not keep up with. A slow target slows the ramp too,
	// but leaves the process idle.
	ConnectShare float64
}

// DefaultLimits returns the limits eixamsim judges a run by. They were
// chosen from a healthy and an overloaded run on 2 cores, with margin
// (docs/health.md).
func DefaultLimits() Limits {
	return Limits{
		Warmup:             5 * time.Second,
		Sustain:            5 * time.Second,
		LiveAfter:          3 * time.Second,
		CPU:                0.90,
		SchedP99:           20 * time.Millisecond,
		ScheduleLagP99:     100 * time.Millisecond,
		BackpressureShare:  0.01,
		BackpressureMinCPU: 0.60,
		MinAttempts:        100,
		GCPauseShare:       0.05,
		LateShare:          0.01,
		DecisiveLateShare:  0.10,
		ConnectShare:       0.50,
	}
}
