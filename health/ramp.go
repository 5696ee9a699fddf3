package health

import (
	"fmt"
	"strings"
	"time"
)

// Ramp is a run's main connect ramp as the engine measured it (summary.json
// connect): users came online at ReachedPerS against the AskedPerS of
// fleet.connect_rate, between From and To since the monitor started.
type Ramp struct {
	From, To               time.Duration
	AskedPerS, ReachedPerS float64
}

// rampSaturatedShare is the share of a ramp the process must have been
// saturated for to take the blame for a slow ramp: at least half of it, so
// that one busy second of a ramp slowed by the target does not.
const rampSaturatedShare = 0.5

// saturated reports whether the process had no capacity to spare in s: its
// CPU at the CPU limit, or its goroutines waiting for a core past SchedP99.
func (l Limits) saturated(s Sample) bool {
	return (l.CPU > 0 && s.CPU >= l.CPU) || (l.SchedP99 > 0 && s.SchedP99 > l.SchedP99)
}

// span is [from, to) since the monitor started.
type span struct{ from, to time.Duration }

// spans are the stretches in which the process was saturated, in time
// order, adjacent samples joined into one stretch: a healthy run keeps
// none, an overloaded one a few.
type spans []span

func (ss *spans) add(from, to time.Duration) {
	if n := len(*ss); n > 0 && from-(*ss)[n-1].to <= tickSlack {
		(*ss)[n-1].to = to
		return
	}
	*ss = append(*ss, span{from, to})
}

// within is the time of ss inside [from, to).
func (ss spans) within(from, to time.Duration) time.Duration {
	var d time.Duration
	for _, s := range ss {
		if lo, hi := max(s.from, from), min(s.to, to); hi > lo {
			d += hi - lo
		}
	}
	return d
}

// RampStats is how the main connect ramp was judged: its length, the time
// the process was saturated in it, and the rate reached as a share of the
// rate asked against its limit (Limits.ConnectShare).
type RampStats struct {
	Seconds    float64 `json:"seconds"`
	SaturatedS float64 `json:"saturated_s"`
	ReachedPct float64 `json:"reached_pct"`
	LimitPct   float64 `json:"limit_pct"`
}

// rampStats is the ramp's statistics; nil without a ramp to judge.
func (j *judge) rampStats() *RampStats {
	r := j.ramp
	if r == nil || r.AskedPerS <= 0 || r.To <= r.From {
		return nil
	}
	return &RampStats{Seconds: (r.To - r.From).Seconds(), SaturatedS: j.saturated.within(r.From, r.To).Seconds(),
		ReachedPct: pct(r.ReachedPerS / r.AskedPerS), LimitPct: pct(j.lim.ConnectShare)}
}

// rampReason is the reason of a connect ramp that reached under
// ConnectShare of the rate asked while the process was saturated for at
// least half of it.
func (j *judge) rampReason() (Reason, bool) {
	st := j.rampStats()
	if st == nil || j.lim.ConnectShare <= 0 {
		return Reason{}, false
	}
	r := *j.ramp
	share := r.ReachedPerS / r.AskedPerS
	sat := j.saturated.within(r.From, r.To)
	if share >= j.lim.ConnectShare || float64(sat) < rampSaturatedShare*float64(r.To-r.From) {
		return Reason{}, false
	}
	return Reason{Signal: SignalConnect, LimitPct: pct(j.lim.ConnectShare), PeakPct: pct(share),
		StartS: r.From.Seconds(), SustainedS: sat.Seconds(),
		Message: fmt.Sprintf("users came online at %.0f/s, %s of the %.0f/s asked, while the process was saturated (%s) for %s of the %s ramp from %s",
			r.ReachedPerS, fmtPct(share), r.AskedPerS, j.lim.saturation(), sat.Round(100*time.Millisecond),
			(r.To - r.From).Round(100*time.Millisecond), r.From.Round(100*time.Millisecond))}, true
}

// saturation says what saturated means under l.
func (l Limits) saturation() string {
	var parts []string
	if l.CPU > 0 {
		parts = append(parts, "CPU at or over "+fmtPct(l.CPU))
	}
	if l.SchedP99 > 0 {
		parts = append(parts, "scheduler latency p99 over "+l.SchedP99.String())
	}
	return strings.Join(parts, " or ")
}
