package health

import (
	"runtime"
	"sync"
	"time"
)

// Input is what the engine measured in one interval, read from its metrics
// registry. The zero value means nothing was attempted.
type Input struct {
	// ScheduleLagP99 is the p99 of schedule.lag in the interval: how late
	// planned sends (telemetry ticks, arrivals) started. Zero when none.
	ScheduleLagP99 time.Duration
	// Attempts is the number of planned sends the interval tried: the
	// schedule.lag count of the interval (every tick and arrival records
	// its lag before it is sent or dropped).
	Attempts int64
	// Backpressure is how many of them were dropped as "backpressure"
	// (the telemetry.puback error class): a user's in-flight window was
	// full.
	Backpressure int64
	// Arrivals is the number of open-model arrivals due in the interval
	// (arrivals.scheduled), and Late how many of them were dropped because
	// the simulator reached them more than 1 s late (arrivals.dropped.late).
	// Arrivals dropped for want of an idle user are not here: that is the
	// scenario's limit (too few users for the rate), not the simulator's.
	Arrivals, Late int64
}

// Sample is the simulator's health over one interval.
type Sample struct {
	// At is the end of the interval, since the monitor started.
	At time.Duration
	// Interval is the interval's length (about a second).
	Interval time.Duration
	// Read is the time CPU was measured over: between the monitor's read
	// that closed this interval and the previous read, or the one before
	// that when the previous read was less than half an Interval ago (a
	// late tick read just before an on-time one: the kernel's count of a
	// running thread lags by up to a scheduler tick, which over a few
	// milliseconds reads as several cores).
	Read time.Duration
	// CPU is the process's CPU time (user+sys) over Read, divided by Read
	// and by Cores: 1 is every core busy. (A tick read late reads CPU late
	// too: dividing by the ticks' due times would report more than the
	// cores.) Timing noise can push it slightly above 1.
	CPU float64
	// SchedP99 is the p99 Go scheduler latency in the interval: how long
	// runnable goroutines waited to run. Zero when nothing was scheduled.
	SchedP99 time.Duration
	// GCPause is the total stop-the-world GC pause in the interval.
	GCPause time.Duration
	// GCPauseMax is the longest single GC pause in the interval (the upper
	// bound of its runtime histogram bucket).
	GCPauseMax time.Duration
	Input
}

// BackpressureShare is Backpressure / Attempts, 0..1, zero without
// attempts. (A stalled process can close an interval between counting a
// tick and counting its drop, so the ratio is capped at 1.)
func (s Sample) BackpressureShare() float64 {
	if s.Attempts <= 0 {
		return 0
	}
	return min(1, float64(s.Backpressure)/float64(s.Attempts))
}

// LateShare is Late / Arrivals, 0..1, zero without arrivals (capped at 1
// as BackpressureShare is).
func (s Sample) LateShare() float64 {
	if s.Arrivals <= 0 {
		return 0
	}
	return min(1, float64(s.Late)/float64(s.Arrivals))
}

// GCPauseShare is the share of the interval the process was paused by GC.
func (s Sample) GCPauseShare() float64 {
	if s.Interval <= 0 {
		return 0
	}
	return float64(s.GCPause) / float64(s.Interval)
}

// Monitor samples the process's health once per call to Sample; it runs no
// goroutine. It keeps no samples, only running totals, peaks, the state of
// each limit and the stretches in which the process was saturated (for
// Ramp), so a healthy run of any length costs it the same memory. It is
// safe for concurrent use.
type Monitor struct {
	mu    sync.Mutex
	cores int
	start time.Time
	rt    *runtimeReader
	// clock and cpuTime are read together at each Sample: time.Now and
	// the process's CPU time (replaced in tests).
	clock   func() time.Time
	cpuTime func(runtimeReading) time.Duration
	first   runtimeReading // at start, for whole-run statistics
	prev    runtimeReading
	prevAt  time.Time // the previous interval's end, as Sample was told
	// the CPU time read by the previous read and the one before it, and
	// when; the first read, for the whole run's mean
	last, before, first0 cpuRead
	acc                  judge
}

// NewMonitor starts a monitor at now that judges by lim. Its cores are
// runtime.GOMAXPROCS(0), the CPU the Go runtime schedules on.
func NewMonitor(lim Limits, now time.Time) *Monitor {
	return newMonitor(lim, now, time.Now, processOrGoCPU)
}

func newMonitor(lim Limits, now time.Time, clock func() time.Time, cpuTime func(runtimeReading) time.Duration) *Monitor {
	m := &Monitor{cores: runtime.GOMAXPROCS(0), start: now, prevAt: now, rt: newRuntimeReader(), clock: clock, cpuTime: cpuTime}
	m.first = m.rt.read()
	m.prev = m.first
	m.last = cpuRead{m.clock(), m.cpuTime(m.first)}
	m.before, m.first0 = m.last, m.last
	m.acc = newJudge(lim)
	return m
}

// cpuRead is one read of the process's CPU time, and when it was made.
type cpuRead struct {
	at  time.Time
	cpu time.Duration
}

// processOrGoCPU is the process's CPU time so far: the kernel's count, or
// else the Go runtime's estimate from r.
func processOrGoCPU(r runtimeReading) time.Duration {
	if d, ok := processCPU(); ok {
		return d
	}
	return time.Duration(r.goBusyCPU * float64(time.Second))
}

// Sample ends the interval at now: it reads the runtime and the process's
// CPU, combines them with in, and judges the result. It returns the
// sample. A call with now not after the previous one returns a zero
// Sample and records nothing.
//
// now places the sample (its At and Interval, what the limits' durations
// are counted in); CPU is measured over the time between this read and an
// earlier one (Sample.Read), which is later than now when the caller was
// late.
func (m *Monitor) Sample(now time.Time, in Input) Sample {
	m.mu.Lock()
	defer m.mu.Unlock()
	wall := now.Sub(m.prevAt)
	if wall <= 0 {
		return Sample{}
	}
	cur := m.rt.read()
	rd := cpuRead{cpu: m.cpuTime(cur)}
	rd.at = m.clock()
	from := m.last
	if 2*rd.at.Sub(from.at) < wall {
		from = m.before // too short a window to measure a rate over
	}
	read := rd.at.Sub(from.at)
	if read <= 0 {
		read = wall // a clock that did not move (tests): the interval is all we have
	}
	gc := cur.gc.since(m.prev.gc)
	s := Sample{
		At:         now.Sub(m.start),
		Interval:   wall,
		CPU:        float64(rd.cpu-from.cpu) / float64(read) / float64(m.cores),
		SchedP99:   cur.sched.since(m.prev.sched).quantile(0.99),
		Read:       read,
		GCPause:    time.Duration((cur.gcPauseCPU - m.prev.gcPauseCPU) / float64(m.cores) * float64(time.Second)),
		GCPauseMax: gc.max(),
		Input:      in,
	}
	m.prev, m.prevAt = cur, now
	m.before, m.last = m.last, rd
	m.acc.add(s)
	return s
}

// Ramp hands the monitor the run's main connect ramp, to be judged with
// the samples that cover it (Limits.ConnectShare) in every later Report.
func (m *Monitor) Ramp(r Ramp) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.acc.ramp = &r
}

// Arrivals hands the monitor the run's open-model arrival totals at its
// end (arrivals.scheduled and arrivals.dropped.late, the teardown
// included): the decisive share of late drops (Limits.DecisiveLateShare)
// and the Report's counts are then over the whole run. A simulator that
// falls far behind reaches most of its late arrivals only when the run
// ends, after the last sample.
func (m *Monitor) Arrivals(scheduled, late int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.acc.totals = &[2]int64{scheduled, late}
}

// Live returns the limits exceeded without a break for at least
// Limits.LiveAfter up to the last sample (after the warm-up), for a live
// warning; nil when there are none. A progress display prints its warning
// the first time this is non-empty.
func (m *Monitor) Live() []Reason {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.acc.live()
}

// Report returns the verdict and the statistics of every sample so far,
// for summary.json. It may be called at any time.
func (m *Monitor) Report() Report {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.acc.report()
	r.Cores = m.cores
	last := m.prev
	r.SchedLatency.P99MS = ms(last.sched.since(m.first.sched).quantile(0.99))
	r.GCPause.MaxMS = ms(last.gc.since(m.first.gc).max())
	if wall := m.last.at.Sub(m.first0.at); wall > 0 {
		r.CPU.MeanPct = pct(float64(m.last.cpu-m.first0.cpu) / float64(wall) / float64(m.cores))
	}
	return r
}
