package fleet

import (
	"context"
	"math"
	"math/rand/v2"
	"time"
)

// schedule gives the intended offset from the run start of each arrival of
// an open-model stream. It is a pure function of the arrival number (and,
// for Poisson spacing, of a seeded random source), so the whole schedule is
// fixed before the run and a stalled target cannot slow it down.
type schedule interface {
	// offset returns when arrival k (k = 0, 1, …) is due.
	offset(k int) time.Duration
}

// constantSchedule spaces arrivals evenly: arrival k is due at k/rate.
type constantSchedule struct{ perSecond float64 }

func (s constantSchedule) offset(k int) time.Duration {
	return time.Duration(float64(k) / s.perSecond * float64(time.Second))
}

// poissonSchedule spaces arrivals by exponential gaps with mean 1/rate, the
// arrivals of independent phones. Offsets are generated in order and cached
// one step at a time, so offset must be called with k = 0, 1, 2, ….
type poissonSchedule struct {
	perSecond float64
	rng       *rand.Rand
	next      time.Duration
	k         int
}

func newPoissonSchedule(perSecond float64, seed uint64) *poissonSchedule {
	return &poissonSchedule{perSecond: perSecond, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (s *poissonSchedule) offset(k int) time.Duration {
	for s.k <= k {
		gap := -math.Log(1-s.rng.Float64()) / s.perSecond
		s.next += time.Duration(gap * float64(time.Second))
		s.k++
	}
	return s.next
}

// newSchedule returns the schedule for a rate and an arrival process name
// ("constant" or "poisson").
func newSchedule(perSecond float64, process string, seed uint64) schedule {
	if process == "poisson" {
		return newPoissonSchedule(perSecond, seed)
	}
	return constantSchedule{perSecond: perSecond}
}

// pace calls fire(intended) for every arrival of s due before end, each at
// its intended time, from start. fire must not block: it starts work in its
// own goroutine. pace returns when end is reached or ctx is done.
func pace(ctx context.Context, start, end time.Time, s schedule, fire func(intended time.Time)) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for k := 0; ; k++ {
		intended := start.Add(s.offset(k))
		if !intended.Before(end) {
			return
		}
		if wait := time.Until(intended); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		fire(intended)
	}
}
