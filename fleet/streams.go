package fleet

import (
	"context"
	"sync"
	"time"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// startStreams starts one pacing goroutine per onArrival behaviour. Each
// stream's random source is seeded from the run start and the behaviour's
// row in the table.
func (r *runner) startStreams(ctx context.Context, start time.Time) {
	seed := uint64(start.UnixNano())
	for _, b := range r.arrivals {
		curve := newRateCurve(r.sc, b.name)
		if curve == nil {
			continue
		}
		s := newSchedule(curve, b.when().process, seed+uint64(b.row))
		s.shift(r.sc.Shard)
		r.goWork(func() {
			pace(ctx, start, s, func(at time.Time) { r.handOut(b, at) })
		})
	}
}

// handOut offers an arrival of b due at intended to online users until one
// claims it: a few candidates first, then everyone, then — if b can run for
// any user — everyone again with occurrence.fallback set. The claimed work
// runs in its own goroutine, which records schedule.lag first. An arrival
// nobody takes is counted as dropped. handOut does not block.
func (r *runner) handOut(b activeBehaviour, intended time.Time) {
	o := &occurrence{intended: intended}
	var buf [pickSamples]*user
	cands := r.online.candidates(&buf)
	if cands == nil {
		r.m.dropped.inc(dropNoUserOnline)
		return
	}
	if r.offer(b, o, cands) {
		return
	}
	all := r.online.all()
	if r.offer(b, o, all) {
		return
	}
	if b.when().fallback {
		o.fallback = true
		if r.offer(b, o, all) {
			return
		}
	}
	if len(all) == 0 {
		r.m.dropped.inc(dropNoUserOnline)
		return
	}
	r.m.dropped.inc(dropNoIdleUser)
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
		r.goWork(func() {
			defer l.work.Done()
			r.m.lag.Record(time.Since(o.intended))
			_ = w(context.Background())
		})
		return true
	}
	return false
}

// dropReason is why an arrival found no user.
type dropReason int

const (
	dropNoUserOnline dropReason = iota // nobody was online
	dropNoIdleUser                     // every online user declined it
	dropReasons
)

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

// name returns the suffix of a reason's counter.
func (d dropReason) name() string {
	if d == dropNoUserOnline {
		return "no_user_online"
	}
	return "no_idle_user"
}

func (c droppedCounters) inc(why dropReason) {
	c.all.Inc()
	c.once[why].Do(func() { c.reason[why] = c.reg.Counter(scenario.ArrivalsDropped + "." + why.name()) })
	c.reason[why].Inc()
}
