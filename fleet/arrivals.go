package fleet

import (
	"context"
	"math"
	"math/rand/v2"
	"time"

	"github.com/eixamsim/eixamsim/scenario"
)

// segment is one stage's stretch of an arrival-rate curve: the rate goes
// linearly from `from` to `to` arrivals per second between start and end
// (from == to for a step).
type segment struct {
	start, end time.Duration
	from, to   float64
}

// area is the expected number of arrivals in the segment.
func (s segment) area() float64 { return (s.from + s.to) / 2 * (s.end - s.start).Seconds() }

// rateCurve is an open-model behaviour's arrival rate over the whole run,
// one segment per stage. Its integral N(t) is the expected number of
// arrivals by t; arrival number s is due at N⁻¹(s).
//
//	rate  ▲        ____
//	      │   ____/    \
//	      │__/          \____
//	      └──────────────────▶ t
//	        step  linear  step
type rateCurve []segment

// newRateCurve builds the curve of an open-model behaviour from the stages:
// each stage runs at its own `rates:` value for the behaviour, or the
// behaviour's rate; with `ramp: linear` the rate moves linearly from the
// previous stage's value over the stage. A stage with `users: 0` has rate
// zero: a ramp-down or cool-down is not a period in which phones act, and
// every arrival there would only be counted as dropped.
func newRateCurve(sc *scenario.Scenario, behaviour string) rateCurve {
	base, on := sc.Behaviours.RateOf(behaviour)
	if !on {
		return nil
	}
	var curve rateCurve
	prev := base.PerSecond
	var t time.Duration
	for _, st := range sc.Stages {
		target := base.PerSecond
		if r, ok := st.Rates[behaviour]; ok {
			target = r.PerSecond
		}
		from := target
		if st.Ramp == scenario.RampLinear {
			from = prev
		}
		seg := segment{start: t, end: t + st.For, from: from, to: target}
		if st.Users == 0 {
			seg.from, seg.to = 0, 0
		}
		curve = append(curve, seg)
		prev, t = target, t+st.For
	}
	return curve
}

// expected returns the number of arrivals due between a and b (offsets
// from the run's start) by the curve.
func (c rateCurve) expected(a, b time.Duration) float64 {
	n := 0.0
	for _, seg := range c {
		lo, hi := max(a, seg.start), min(b, seg.end)
		if hi <= lo || seg.end <= seg.start {
			continue
		}
		d := (seg.end - seg.start).Seconds()
		at := func(t time.Duration) float64 { return seg.from + (seg.to-seg.from)*(t-seg.start).Seconds()/d }
		n += (at(lo) + at(hi)) / 2 * (hi - lo).Seconds()
	}
	return n
}

// offset returns the offset in the segment at which its expected number of
// arrivals reaches s, for s in [0, area).
func (seg segment) offset(s float64) time.Duration {
	// Solve from·x + (to-from)/(2D)·x² = s for x in [0, D]; this form is
	// stable for rising, falling and flat rates alike.
	d := (seg.end - seg.start).Seconds()
	disc := seg.from*seg.from + 2*(seg.to-seg.from)/d*s
	x := 2 * s / (seg.from + math.Sqrt(math.Max(disc, 0)))
	if math.IsNaN(x) || math.IsInf(x, 0) {
		x = 0
	}
	return seg.start + time.Duration(math.Min(x, d)*float64(time.Second))
}

// schedule gives the intended offset from the run start of each arrival of
// an open-model stream. The whole schedule is fixed by the curve (and, for
// Poisson spacing, the stream's random source, seeded from the run seed)
// before the run, so a stalled target cannot slow it down and one seed
// gives one schedule.
type schedule struct {
	curve rateCurve
	rng   *rand.Rand // nil: evenly spaced arrivals
	// seg is the segment the next arrival falls in or after, and rem its
	// expected-arrival count from that segment's start: arrivals only move
	// forward, so each segment is passed once.
	seg int
	rem float64
}

// newSchedule returns the schedule of a curve. process "poisson" spaces
// arrivals by exponential gaps (independent phones) drawn from rng;
// anything else spaces them evenly and ignores rng.
func newSchedule(curve rateCurve, process string, rng *rand.Rand) *schedule {
	s := &schedule{curve: curve}
	if process == scenario.ArrivalsPoisson {
		s.rng = rng
		s.rem = s.gap()
	}
	return s
}

// gap is the next step of the unit-rate arrival count: 1 for even spacing,
// an Exp(1) draw for Poisson (time-changed by the curve).
func (s *schedule) gap() float64 {
	if s.rng == nil {
		return 1
	}
	return -math.Log(1 - s.rng.Float64())
}

// next returns the offset of the next arrival, or false when there is none
// left in the run.
func (s *schedule) next() (time.Duration, bool) {
	for ; s.seg < len(s.curve); s.seg++ {
		seg := s.curve[s.seg]
		if a := seg.area(); s.rem >= a { // an arrival exactly at a segment end belongs to the next one
			s.rem -= a
			continue
		}
		at := seg.offset(s.rem)
		s.rem += s.gap()
		return at, true
	}
	return 0, false
}

// lateBound is how late the pacer may start an arrival: one it reaches
// more than lateBound after its intended time is dropped as late instead,
// so a simulator short of CPU sheds load it cannot start in time (counted)
// rather than building a backlog it fires in a burst, or never.
const lateBound = time.Second

// pace walks the schedule s of a run that started at start, from the
// first arrival due at or after from (the moment the stream opened;
// earlier arrivals are not part of the run). Each arrival ends in exactly
// one call of fire(intended, late), at its intended time or as soon after
// as the pacer gets to it: late is true when that is more than lateBound
// after its intended time (count it as dropped), else hand it out.
//
// When ctx ends, the arrivals already due that the pacer had not reached
// (it was behind) are fired at once, the same way; those due later are
// not part of the run. fire must not block: it starts work in its own
// goroutine. pace returns when the schedule ends or ctx is done.
func pace(ctx context.Context, start, from time.Time, s *schedule, fire func(intended time.Time, late bool)) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		offset, ok := s.next()
		if !ok {
			return
		}
		intended := start.Add(offset)
		if intended.Before(from) {
			continue
		}
		if wait := time.Until(intended); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				drain(start, intended, s, fire)
				return
			case <-timer.C:
			}
		}
		if ctx.Err() != nil {
			drain(start, intended, s, fire)
			return
		}
		fire(intended, time.Since(intended) > lateBound)
	}
}

// drain fires the arrival due at first and every later one of s already
// due, as pace would: the run ended before the pacer got to them.
func drain(start, first time.Time, s *schedule, fire func(intended time.Time, late bool)) {
	end := time.Now()
	for at := first; !at.After(end); {
		fire(at, time.Since(at) > lateBound)
		offset, ok := s.next()
		if !ok {
			return
		}
		at = start.Add(offset)
	}
}

// shift puts a constant schedule of shard sh (nil: a whole run) at its
// phase: shard i of N starts i/N of an interval late, so that the shards'
// arrivals (each at 1/N of the rate) interleave into the evenly spaced
// arrivals of the whole run. A Poisson schedule needs no phase: the
// shards' streams are independent (their seeds differ).
func (s *schedule) shift(sh *scenario.Shard) {
	if s.rng == nil && sh != nil && sh.Count > 0 {
		s.rem += float64(sh.Index) / float64(sh.Count)
	}
}
