package fleet

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// stream is the arrival stream of one onArrival behaviour.
type stream struct {
	r *runner
	b activeBehaviour
	// rng makes the stream's choices at hand-out: which users are offered
	// an arrival first, and what the behaviour picks in claim. Only the
	// stream's pacing goroutine uses it. The schedule has a source of its
	// own, so these choices cannot move an arrival.
	rng *rand.Rand
}

// startStreams starts one pacing goroutine per onArrival behaviour. Each
// stream opens when the first login attempt of the run has ended (see
// streamGate) and its random sources come from the run seed and the
// behaviour's row in the table.
func (r *runner) startStreams(ctx context.Context, start time.Time) {
	if r.steps != nil {
		r.startStepStreams(ctx, start)
		return
	}
	for _, b := range r.arrivals {
		curve := newRateCurve(r.sc, b.name)
		if curve == nil {
			continue
		}
		s := newSchedule(curve, b.when().process, newRand(r.seed, domainSchedule, b.row))
		s.shift(r.sc.Shard)
		st := &stream{r: r, b: b, rng: newRand(r.seed, domainStream, b.row)}
		r.pacers.Add(1)
		r.goWork(func() {
			defer r.pacers.Done()
			from, ok := r.gate.wait(ctx)
			if !ok {
				return
			}
			pace(ctx, start, from, s, st.arrive)
		})
	}
}

// streamGate opens the arrival streams once users can be online: when the
// first login attempt of the run ends, whether the user came online or
// the target refused it. Before that moment every arrival would find
// nobody online only because the run just began; after it, one that
// finds nobody online says something about the target.
type streamGate struct {
	once   sync.Once
	opened chan struct{}
	at     time.Time // when it opened; set before opened is closed
}

func newStreamGate() *streamGate { return &streamGate{opened: make(chan struct{})} }

// open opens the gate at now; later calls do nothing.
func (g *streamGate) open(now time.Time) {
	g.once.Do(func() {
		g.at = now
		close(g.opened)
	})
}

// wait returns when the gate opened, or false if ctx ended first.
func (g *streamGate) wait(ctx context.Context) (time.Time, bool) {
	select {
	case <-g.opened:
		return g.at, true
	case <-ctx.Done():
		return time.Time{}, false
	}
}

// arrive accounts for one scheduled arrival of the stream: it is counted
// in arrivals.scheduled and then either started (a user claimed it,
// arrivals.started) or dropped with a reason (arrivals.dropped). late
// arrivals are dropped without being offered.
func (st *stream) arrive(intended time.Time, late bool) {
	r := st.r
	r.m.arrivals.scheduled.Inc()
	o := &occurrence{intended: intended, rng: st.rng}
	if late {
		st.drop(o, dropLate)
		return
	}
	if why, ok := st.handOut(o); !ok {
		st.drop(o, why)
		return
	}
	r.m.arrivals.started.Inc()
}

// drop counts o as dropped for why: in arrivals.dropped and against the
// behaviour's own metric, so a gate on that metric sees arrivals it never
// got to make.
func (st *stream) drop(o *occurrence, why dropReason) {
	st.r.m.arrivals.dropped.inc(why)
	st.b.missed(o, why.name())
}

// handOut offers an arrival to online users until one claims it: a few
// candidates first, then everyone, then — if the behaviour can run for any
// user — everyone again with occurrence.fallback set. The claimed work
// runs in its own goroutine, which records schedule.lag first. It returns
// why nobody took it otherwise. handOut does not block.
func (st *stream) handOut(o *occurrence) (dropReason, bool) {
	r, b := st.r, st.b
	var buf [pickSamples]*user
	cands := r.online.candidates(&buf, st.rng)
	if cands == nil {
		return dropNoUserOnline, false
	}
	if r.offer(b, o, cands) {
		return 0, true
	}
	all := r.online.all(st.rng)
	if r.offer(b, o, all) {
		return 0, true
	}
	if b.when().fallback {
		o.fallback = true
		if r.offer(b, o, all) {
			return 0, true
		}
	}
	if len(all) == 0 {
		return dropNoUserOnline, false
	}
	return dropNoIdleUser, false
}

// offer offers o to each of users in turn and starts the work of the first
// that claims it. It reports whether one did.
func (r *runner) offer(b activeBehaviour, o *occurrence, users []*user) bool {
	for _, u := range users {
		u.mu.Lock()
		l := u.life
		if l == nil || !u.connected(l) {
			u.mu.Unlock()
			continue
		}
		w := b.claim(o, u, l)
		if w == nil {
			u.mu.Unlock()
			continue
		}
		l.work.Add(1)
		u.mu.Unlock()
		intended := o.intended
		r.goWork(func() {
			defer l.work.Done()
			r.m.lag.Record(time.Since(intended))
			_ = w(context.Background())
		})
		return true
	}
	return false
}

// arrivalCounters account for every scheduled arrival:
// arrivals.scheduled = arrivals.started + arrivals.dropped once the run
// has ended.
type arrivalCounters struct {
	scheduled, started *metrics.Counter
	dropped            droppedCounters
}

func newArrivalCounters(reg *metrics.Registry) arrivalCounters {
	return arrivalCounters{
		scheduled: reg.Counter(scenario.ArrivalsScheduled),
		started:   reg.Counter(scenario.ArrivalsStarted),
		dropped:   newDroppedCounters(reg),
	}
}

// dropReason is why an arrival was not started.
type dropReason int

const (
	dropNoUserOnline dropReason = iota // nobody was online
	dropNoIdleUser                     // every online user declined it
	dropLate                           // the simulator could not start it within lateBound
	dropReasons
)

// name returns the reason's word: the suffix of its counter and the error
// class on the behaviour's metric.
func (d dropReason) name() string { return dropNames[d].class }

// dropNames are each reason's error class and counter (scenario/metrics.go).
var dropNames = [dropReasons]struct{ class, counter string }{
	dropNoUserOnline: {scenario.DropNoUserOnline, scenario.ArrivalsDroppedNoUserOnline},
	dropNoIdleUser:   {scenario.DropNoIdleUser, scenario.ArrivalsDroppedNoIdleUser},
	dropLate:         {scenario.DropLate, scenario.ArrivalsDroppedLate},
}

// droppedCounters counts dropped arrivals: all of them in arrivals.dropped,
// and by reason in arrivals.dropped.<reason>, created at the first drop
// of that reason so that a run without drops shows none.
type droppedCounters struct {
	reg    *metrics.Registry
	all    *metrics.Counter
	once   *[dropReasons]sync.Once
	reason *[dropReasons]*metrics.Counter
}

func newDroppedCounters(reg *metrics.Registry) droppedCounters {
	return droppedCounters{
		reg:    reg,
		all:    reg.Counter(scenario.ArrivalsDropped),
		once:   new([dropReasons]sync.Once),
		reason: new([dropReasons]*metrics.Counter),
	}
}

func (c droppedCounters) inc(why dropReason) {
	c.all.Inc()
	c.once[why].Do(func() { c.reason[why] = c.reg.Counter(dropNames[why].counter) })
	c.reason[why].Inc()
}
