package fleet

import (
	"context"
	"sync"
	"time"

	"github.com/eixamsim/eixamsim/scenario"
)

// Step is one load level of a run whose stages are decided while it runs
// (Config.Steps): how many users are online and, for open-model
// behaviours, the fleet-wide arrival rates.
type Step struct {
	// Name names the step in the status and the stage timings.
	Name string
	// Users is the online-users target, 0..scenario fleet.users. The
	// controller starts or stops users, in index order, at the scenario's
	// fleet.connect_rate until it is met; users already online stay online.
	Users int
	// Rates are the open-model behaviours' rates during the step, by
	// behaviour name; a behaviour missing here keeps the scenario's rate.
	// A behaviour whose scenario rate is off has no stream: a rate here
	// does not create one.
	Rates map[string]scenario.Rate
}

// StageSource decides the stages of a run while it runs. The controller
// calls Next for the first step, brings the fleet to it, calls Settled,
// then calls Next again, and so on until Next returns false: one goroutine
// calls both, in that order.
type StageSource interface {
	// Next returns the next step; it may block (until the previous one has
	// been measured and judged) and must return when ctx is done. false
	// ends the run.
	Next(ctx context.Context) (Step, bool)
	// Settled says that step number i (from 0) has its users online —
	// users.online reached the step's target, or a login attempt's bound
	// passed first, or ctx ended: its load is on from at.
	Settled(i int, at time.Time)
}

// controlSteps is the closed model of a run with Config.Steps: the fleet
// grows or shrinks from one step to the next (never from zero), paced at
// fleet.connect_rate, and the open-model streams switch to each step's
// rates when it starts (see startStepStreams).
func (r *runner) controlSteps(ctx context.Context, start time.Time) ([]StageTiming, bool) {
	var timings []StageTiming
	started := 0
	interval := time.Duration(float64(time.Second) / r.sc.Fleet.ConnectRate.PerSecond)
	budgetEnd := start.Add(r.sc.Duration())
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	endLast := func() {
		if n := len(timings); n > 0 {
			timings[n-1].End = time.Now()
		}
	}
	for i := 0; ; i++ {
		st, ok := r.steps.Next(ctx)
		endLast()
		if !ok || ctx.Err() != nil {
			return timings, ctx.Err() == nil
		}
		target := min(max(st.Users, 0), len(r.users))
		now := time.Now()
		timings = append(timings, StageTiming{Name: st.Name, Users: target, Start: now})
		r.status.Store(&Status{Stage: st.Name, StageIndex: 0, StageEnd: budgetEnd, Target: target})
		r.board.set(i, now, st.Rates)
		next := now
		for started != target && ctx.Err() == nil {
			if d := time.Until(next); d > 0 {
				timer.Reset(d)
				select {
				case <-ctx.Done():
					continue
				case <-timer.C:
				}
			}
			if started < target {
				r.users[started].start()
				started++
			} else {
				started--
				u := r.users[started]
				r.goWork(u.stop)
			}
			next = maxTime(next, time.Now().Add(-interval)).Add(interval)
		}
		r.awaitOnline(ctx, target, timer)
		r.steps.Settled(i, time.Now())
	}
}

// settlePoll is how often awaitOnline looks at users.online.
const settlePoll = 20 * time.Millisecond

// awaitOnline waits until users.online is target — the users a step
// started have logged in and connected, those it stopped have
// disconnected — for at most one login attempt's bound (users the target
// refuses do not hold the step up for longer), or until ctx ends.
func (r *runner) awaitOnline(ctx context.Context, target int, timer *time.Timer) {
	deadline := time.Now().Add(r.loginTimeout)
	for r.m.online.Value() != int64(target) && time.Now().Before(deadline) {
		timer.Reset(settlePoll)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
	}
}

// stepBoard publishes the step in progress to the arrival streams of a
// run with Config.Steps. Safe for concurrent use.
type stepBoard struct {
	run context.Context // the streams' context; each step's derives from it

	mu      sync.Mutex
	cur     *boardStep
	changed chan struct{} // closed (and replaced) at each set
}

// boardStep is one step as the streams see it.
type boardStep struct {
	index int
	at    time.Time // when the step started
	rates map[string]scenario.Rate
	ctx   context.Context // done when the next step starts or the run ends
	stop  context.CancelFunc
}

func newStepBoard(run context.Context) *stepBoard {
	return &stepBoard{run: run, changed: make(chan struct{})}
}

// set makes step i, started at at, the step in progress.
func (b *stepBoard) set(i int, at time.Time, rates map[string]scenario.Rate) {
	ctx, stop := context.WithCancel(b.run)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur != nil {
		b.cur.stop()
	}
	b.cur = &boardStep{index: i, at: at, rates: rates, ctx: ctx, stop: stop}
	close(b.changed)
	b.changed = make(chan struct{})
}

// after returns the step in progress once its index is above last, or
// false when ctx ends first.
func (b *stepBoard) after(ctx context.Context, last int) (*boardStep, bool) {
	for {
		b.mu.Lock()
		cur, changed := b.cur, b.changed
		b.mu.Unlock()
		if cur != nil && cur.index > last {
			return cur, true
		}
		select {
		case <-ctx.Done():
			return nil, false
		case <-changed:
		}
	}
}

// close ends the step in progress.
func (b *stepBoard) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur != nil {
		b.cur.stop()
	}
}

// stepHorizon is how far ahead a step's arrival curve reaches: a step
// ends when the next one starts, which the curve cannot know.
const stepHorizon = 24 * time.Hour

// startStepStreams starts one pacing goroutine per open-model behaviour of
// a run with Config.Steps. At each step it builds the step's curve — the
// step's rate, constant from the step's start — with offsets from the run
// start, so within a step the schedule is a pure function of time and the
// stream's random source; the source carries on from step to step.
func (r *runner) startStepStreams(ctx context.Context, start time.Time) {
	r.board = newStepBoard(ctx)
	for _, b := range r.arrivals {
		base, on := r.sc.Behaviours.RateOf(b.name)
		if !on {
			continue
		}
		rng := newRand(r.seed, domainSchedule, b.row)
		st := &stream{r: r, b: b, rng: newRand(r.seed, domainStream, b.row)}
		r.pacers.Add(1)
		r.goWork(func() {
			defer r.pacers.Done()
			open, ok := r.gate.wait(ctx)
			if !ok {
				return
			}
			last := -1
			for {
				bs, ok := r.board.after(ctx, last)
				if !ok {
					return
				}
				last = bs.index
				rate := base.PerSecond
				if v, ok := bs.rates[b.name]; ok {
					rate = v.PerSecond
				}
				if rate <= 0 {
					<-bs.ctx.Done()
					continue
				}
				off := bs.at.Sub(start)
				curve := rateCurve{{start: off, end: off + stepHorizon, from: rate, to: rate}}
				s := newSchedule(curve, b.when().process, rng)
				pace(bs.ctx, start, maxTime(open, bs.at), s, st.arrive)
			}
		})
	}
}
