package health

import (
	"fmt"
	"strings"
	"time"
)

// State is a run's health verdict.
type State string

const (
	// Healthy: no limit was exceeded for Limits.Sustain; the run measured
	// the target.
	Healthy State = "healthy"
	// GeneratorBound: the simulator was the bottleneck for at least
	// Limits.Sustain, or decisively (a tenth of the arrivals dropped late,
	// a connect ramp it could not keep up with); its latencies include its
	// own delay and it may have sent less than planned.
	GeneratorBound State = "generator_bound"
	// NotJudged: the samples past Limits.Warmup cover less than
	// Limits.Sustain, so no limit could have been exceeded for long enough
	// to count, and nothing decisive was seen either: the run was too short
	// to tell whether the simulator kept up.
	NotJudged State = "not_judged"
)

// Signal names one health signal, as in summary.json.
type Signal string

const (
	SignalCPU          Signal = "cpu"           // process CPU share of its cores
	SignalSchedLatency Signal = "sched_latency" // Go scheduler latency p99
	SignalScheduleLag  Signal = "schedule_lag"  // schedule.lag p99
	SignalBackpressure Signal = "backpressure"  // share of attempts dropped as backpressure
	SignalGCPause      Signal = "gc_pause"      // share of wall time paused by GC
	SignalLateArrivals Signal = "late_arrivals" // share of arrivals dropped more than 1 s late
	SignalConnect      Signal = "connect"       // connect ramp reached under the rate asked while saturated
	// SignalDuration is the reason of a NotJudged verdict: the time judged.
	SignalDuration Signal = "duration"
)

// Verdict is the judgement of a run: Healthy; GeneratorBound with one
// reason per limit that was exceeded for long enough (or decisively); or
// NotJudged with one reason (SignalDuration) saying why.
type Verdict struct {
	State   State    `json:"verdict"`
	Reasons []Reason `json:"reasons,omitempty"`
}

// String is one line for people: "healthy", or "generator-bound: " or
// "not judged: " and the reasons.
func (v Verdict) String() string {
	msgs := make([]string, len(v.Reasons))
	for i, r := range v.Reasons {
		msgs[i] = r.Message
	}
	switch v.State {
	case GeneratorBound:
		return "generator-bound: " + strings.Join(msgs, "; ")
	case NotJudged:
		return "not judged: " + strings.Join(msgs, "; ")
	}
	return string(Healthy)
}

// Reason is one limit exceeded without a break: the longest such stretch.
// Latency signals fill the _ms fields, shares the _pct fields.
type Reason struct {
	Signal Signal `json:"signal"`
	// Message says it in one line, e.g. "Go scheduler latency p99 over
	// 20ms for 14s from 3s (peak 180ms)".
	Message  string  `json:"message"`
	LimitMS  float64 `json:"limit_ms,omitempty"`
	PeakMS   float64 `json:"peak_ms,omitempty"`
	LimitPct float64 `json:"limit_pct,omitempty"`
	PeakPct  float64 `json:"peak_pct,omitempty"`
	// StartS is when the stretch began, in seconds since the monitor
	// started; SustainedS how long it lasted.
	StartS     float64 `json:"start_s"`
	SustainedS float64 `json:"sustained_s"`
}

// Judge returns the verdict on samples (in time order) under lim. It is
// what a Monitor's Report says for the same samples.
func Judge(samples []Sample, lim Limits) Verdict {
	j := newJudge(lim)
	for _, s := range samples {
		j.add(s)
	}
	return j.verdict()
}

// tickSlack absorbs the jitter of a once-a-second ticker when a stretch
// of samples is compared with a duration: five ticks may span 4.999 s.
const tickSlack = 100 * time.Millisecond

// check is one limit: how to read its value from a sample and whether the
// sample exceeds it. Latency values are in milliseconds, shares in 0..1.
type check struct {
	signal  Signal
	latency bool // the value is a duration in ms, else a share
	what    string
	limit   func(Limits) float64 // zero: not checked
	value   func(Sample, Limits) float64
	over    func(Sample, Limits) bool
}

// checks is the table of limits, in the order reasons are reported.
func checks() []check {
	return []check{
		{SignalCPU, false, "process CPU at or over",
			func(l Limits) float64 { return l.CPU },
			func(s Sample, _ Limits) float64 { return s.CPU },
			func(s Sample, l Limits) bool { return s.CPU >= l.CPU }},
		{SignalSchedLatency, true, "Go scheduler latency p99 over",
			func(l Limits) float64 { return ms(l.SchedP99) },
			func(s Sample, _ Limits) float64 { return ms(s.SchedP99) },
			func(s Sample, l Limits) bool { return s.SchedP99 > l.SchedP99 }},
		{SignalScheduleLag, true, "schedule.lag p99 over",
			func(l Limits) float64 { return ms(l.ScheduleLagP99) },
			func(s Sample, _ Limits) float64 { return ms(s.ScheduleLagP99) },
			func(s Sample, l Limits) bool { return s.ScheduleLagP99 > l.ScheduleLagP99 }},
		{SignalBackpressure, false, "ticks dropped as backpressure over",
			func(l Limits) float64 { return l.BackpressureShare },
			func(s Sample, l Limits) float64 { // too few attempts make no share
				if s.Attempts < max(1, l.MinAttempts) {
					return 0
				}
				return s.BackpressureShare()
			},
			func(s Sample, l Limits) bool {
				busy := s.CPU >= l.BackpressureMinCPU || (l.SchedP99 > 0 && s.SchedP99 > l.SchedP99)
				return busy && s.Attempts >= max(1, l.MinAttempts) && s.BackpressureShare() > l.BackpressureShare
			}},
		{SignalGCPause, false, "time paused by GC over",
			func(l Limits) float64 { return l.GCPauseShare },
			func(s Sample, _ Limits) float64 { return s.GCPauseShare() },
			func(s Sample, l Limits) bool { return s.GCPauseShare() > l.GCPauseShare }},
		{SignalLateArrivals, false, "arrivals dropped more than 1s late over",
			func(l Limits) float64 { return l.LateShare },
			func(s Sample, l Limits) float64 {
				if s.Arrivals < max(1, l.MinAttempts) {
					return 0
				}
				return s.LateShare()
			},
			func(s Sample, l Limits) bool {
				return s.Arrivals >= max(1, l.MinAttempts) && s.LateShare() > l.LateShare
			}},
	}
}

// stretch is a run of consecutive samples over a limit.
type stretch struct {
	start, length time.Duration
	peak          float64
}

// tracker follows one limit over the samples. A stretch over the limit
// survives one sample under it (a signal hovering at the limit, 91 %, 89 %,
// 95 %, is one stretch), but that sample does not add to its length; two
// in a row end it.
type tracker struct {
	cur     stretch
	active  bool
	under   bool // the last judged sample of the active stretch was under
	longest stretch
	over    time.Duration // judged time over the limit, in stretches of any length
	peak    float64       // the largest value of any sample, judged or not
}

func (t *tracker) add(s Sample, v float64, judged, over bool) {
	t.peak = max(t.peak, v)
	if !judged {
		return
	}
	switch {
	case over && !t.active:
		t.active = true
		t.cur = stretch{start: s.At - s.Interval}
	case !over && t.active && !t.under:
		t.under = true
		return
	case !over:
		t.end()
		return
	}
	t.under = false
	t.cur.length += s.Interval
	t.cur.peak = max(t.cur.peak, v)
	t.over += s.Interval
}

func (t *tracker) end() {
	if t.active && t.cur.length > t.longest.length {
		t.longest = t.cur
	}
	t.active, t.under = false, false
}

// judge folds samples into the state of every limit and the totals a
// Report needs.
type judge struct {
	lim    Limits
	checks []check
	tr     []tracker

	sampled                time.Duration
	judged                 time.Duration // sampled past the warm-up
	attempts, backpressure int64
	arrivals, late         int64     // over the samples
	totals                 *[2]int64 // the run's arrivals and late drops, when given (Monitor.Arrivals)
	gcPause                time.Duration
	saturated              spans // for the ramp
	ramp                   *Ramp // nil: none was given
}

func newJudge(lim Limits) judge {
	cs := checks()
	return judge{lim: lim, checks: cs, tr: make([]tracker, len(cs))}
}

func (j *judge) add(s Sample) {
	if s.Interval <= 0 {
		return
	}
	j.sampled += s.Interval
	j.attempts += s.Attempts
	j.backpressure += s.Backpressure
	j.arrivals += s.Arrivals
	j.late += s.Late
	j.gcPause += s.GCPause
	if j.lim.saturated(s) {
		j.saturated.add(s.At-s.Interval, s.At)
	}
	judged := s.At-s.Interval >= j.lim.Warmup-tickSlack
	if judged {
		j.judged += s.Interval
	}
	for i, c := range j.checks {
		on := c.limit(j.lim) > 0
		j.tr[i].add(s, c.value(s, j.lim), judged && on, on && c.over(s, j.lim))
	}
}

// verdict judges the samples so far, closing any stretch in progress:
// generator-bound by any limit exceeded for Sustain, by the decisive share
// of late arrivals or by the connect ramp; else not judged when the
// samples past the warm-up are too few for any limit to have counted;
// else healthy.
func (j *judge) verdict() Verdict {
	v := Verdict{State: Healthy}
	late := false
	for i, c := range j.checks {
		t := j.tr[i] // a copy: the stretch in progress stays open
		t.end()
		if t.longest.length > 0 && t.longest.length+tickSlack >= j.lim.Sustain {
			v.Reasons = append(v.Reasons, j.reason(c, t.longest))
			late = late || c.signal == SignalLateArrivals
		}
	}
	if r, ok := j.decisiveLate(); ok && !late {
		v.Reasons = append(v.Reasons, r)
	}
	if r, ok := j.rampReason(); ok {
		v.Reasons = append(v.Reasons, r)
	}
	switch {
	case len(v.Reasons) > 0:
		v.State = GeneratorBound
	case j.judged == 0 || j.judged+tickSlack < j.lim.Sustain:
		v.State, v.Reasons = NotJudged, []Reason{j.tooShort()}
	}
	return v
}

// decisiveLate is the reason of a run in which at least
// DecisiveLateShare of the arrivals (arrivalCounts) were dropped late,
// whatever its length.
func (j *judge) decisiveLate() (Reason, bool) {
	lim := j.lim.DecisiveLateShare
	arrivals, late := j.arrivalCounts()
	if lim <= 0 || arrivals < max(1, j.lim.MinAttempts) {
		return Reason{}, false
	}
	share := min(1, float64(late)/float64(arrivals))
	if share < lim {
		return Reason{}, false
	}
	return Reason{Signal: SignalLateArrivals, LimitPct: pct(lim), PeakPct: pct(share), SustainedS: j.sampled.Seconds(),
		Message: fmt.Sprintf("%s of the arrivals dropped more than 1s late (%d of %d): the simulator did not send the planned load (%s or more decides, however short the run)",
			fmtPct(share), late, arrivals, fmtPct(lim))}, true
}

// arrivalCounts are the run's arrivals and late drops: the totals when
// the monitor was given them, else the samples' sums.
func (j *judge) arrivalCounts() (arrivals, late int64) {
	if j.totals != nil {
		return j.totals[0], j.totals[1]
	}
	return j.arrivals, j.late
}

// tooShort is the reason of a NotJudged verdict.
func (j *judge) tooShort() Reason {
	need := j.lim.Warmup + j.lim.Sustain
	return Reason{Signal: SignalDuration, StartS: j.lim.Warmup.Seconds(), SustainedS: j.judged.Seconds(),
		Message: fmt.Sprintf("the run was too short to judge the simulator's health: %s sampled, %s of it after the %s warm-up, "+
			"and a limit counts only when exceeded for %s (a run needs %s of stages)", j.sampled.Round(time.Second),
			j.judged.Round(time.Second), j.lim.Warmup, j.lim.Sustain, need)}
}

// live returns the limits over right now for at least LiveAfter.
func (j *judge) live() []Reason {
	var out []Reason
	for i, c := range j.checks {
		t := j.tr[i]
		if t.active && t.cur.length+tickSlack >= j.lim.LiveAfter {
			out = append(out, j.reason(c, t.cur))
		}
	}
	return out
}

func (j *judge) reason(c check, s stretch) Reason {
	r := Reason{Signal: c.signal, StartS: s.start.Seconds(), SustainedS: s.length.Seconds()}
	lim := c.limit(j.lim)
	var limit, peak string
	if c.latency {
		r.LimitMS, r.PeakMS = lim, s.peak
		limit, peak = fmtMS(lim), fmtMS(s.peak)
	} else {
		r.LimitPct, r.PeakPct = pct(lim), pct(s.peak)
		limit, peak = fmtPct(lim), fmtPct(s.peak)
	}
	r.Message = fmt.Sprintf("%s %s for %s from %s (peak %s)", c.what, limit,
		s.length.Round(time.Second), s.start.Round(time.Second), peak)
	return r
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// pct is a share 0..1 as a percentage, to 0.1.
func pct(share float64) float64 { return float64(int64(share*1000+0.5)) / 10 }

func fmtMS(v float64) string {
	return time.Duration(v * float64(time.Millisecond)).Round(time.Millisecond / 10).String()
}
func fmtPct(v float64) string { return fmt.Sprintf("%.4g%%", pct(v)) }
