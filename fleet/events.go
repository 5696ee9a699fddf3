package fleet

import (
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eixamsim/eixamsim/errclass"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// eventRun is one incident in a run.
type eventRun struct {
	ev       scenario.Event
	rng      *rand.Rand // who leaves and when each comes back; used only by fire
	recovery *metrics.Latency
	every    []time.Duration // the periods of the per-user telemetry ticks
	sos      rateCurve       // the SOS arrival rate (nil without)
	start    time.Time       // the run's start, for sos

	open               atomic.Bool // fired and not everyone back yet
	logins, reconnects atomic.Int64
	mu                 sync.Mutex
	at                 time.Time
	affected           int
	backs              []time.Duration // each return, from the event
	lastBack           time.Time
	errorsBy           map[string]int64
	unsent             int64
	online             int     // users connected at the event
	sosDue             float64 // SOS arrivals due during the absences, all users
}

// newEvents prepares the scenario's incidents.
func newEvents(sc *scenario.Scenario, seed uint64, reg *metrics.Registry) []*eventRun {
	var out []*eventRun
	var every []time.Duration
	if t := sc.Behaviours.Telemetry; t != nil && t.Every > 0 {
		every = append(every, t.Every)
	}
	for i, ev := range sc.Events {
		out = append(out, &eventRun{ev: ev, rng: newRand(seed, domainEvent, i), recovery: reg.Latency(scenario.EventRecovery(ev.Name)),
			every: every, sos: newRateCurve(sc, scenario.BehaviourSOS), errorsBy: map[string]int64{}})
	}
	return out
}

// scheduleEvents arms each incident's timer from the run's start; the
// returned function stops those not fired yet and waits for any firing.
func (r *runner) scheduleEvents(start time.Time) (stop func()) {
	var (
		mu      sync.Mutex
		stopped bool
		firing  sync.WaitGroup
		timers  []*time.Timer
	)
	for _, e := range r.events {
		e.start = start
		timers = append(timers, time.AfterFunc(time.Until(start.Add(e.ev.At)), func() {
			mu.Lock()
			if stopped {
				mu.Unlock()
				return
			}
			firing.Add(1)
			mu.Unlock()
			defer firing.Done()
			r.fire(e)
		}))
	}
	return func() {
		mu.Lock()
		stopped = true
		mu.Unlock()
		for _, t := range timers {
			t.Stop()
		}
		firing.Wait()
	}
}

// fire makes the event's share of the online users leave its way, each
// to come back at a time drawn from its back window. Who leaves is drawn
// from the event's own source over the online users in index order, so
// the same users online give the same choice.
func (r *runner) fire(e *eventRun) {
	now := time.Now()
	users := r.online.all(rand.New(rand.NewPCG(0, 0)))
	slices.SortFunc(users, func(a, b *user) int { return a.index - b.index })
	e.rng.Shuffle(len(users), func(i, j int) { users[i], users[j] = users[j], users[i] })
	n := int(math.Round(e.ev.Leave * float64(len(users))))
	e.mu.Lock()
	e.at, e.online = now, len(users)
	e.open.Store(true)
	e.mu.Unlock()
	affected := 0
	for _, u := range users[:n] {
		backAt := e.ev.Back.Min + time.Duration(e.rng.Int64N(int64(e.ev.Back.Max-e.ev.Back.Min)+1))
		if u.leaveIn(e, time.Until(now.Add(backAt))) {
			affected++
		}
	}
	e.mu.Lock()
	e.affected = affected
	if affected == len(e.backs) {
		e.open.Store(false)
	}
	e.mu.Unlock()
	r.log.Debug("event", "name", e.ev.Name, "online", len(users), "affected", affected)
}

// leaveIn makes the user leave in incident e, if it is online, to come
// back after away. It reports whether it left.
func (u *user) leaveIn(e *eventRun, away time.Duration) bool {
	u.mu.Lock()
	l := u.life
	if l == nil || !u.connected(l) {
		u.mu.Unlock()
		return false
	}
	u.leaveLocked(l, e.ev.How, max(away, 0), e)
	return true
}

// back records a user online again after incident e, away for away.
func (e *eventRun) back(_ *user, now time.Time, away time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	since := now.Sub(e.at)
	e.backs = append(e.backs, since)
	e.lastBack = now
	e.unsent += e.ticksIn(away)
	e.sosDue += e.sos.expected(now.Add(-away).Sub(e.start), now.Sub(e.start))
	if len(e.backs) >= e.affected && e.affected > 0 {
		e.open.Store(false)
	}
	e.recovery.Record(since)
}

// ticksIn is how many per-user telemetry ticks fall due in d.
func (e *eventRun) ticksIn(d time.Duration) int64 {
	var n int64
	for _, every := range e.every {
		n += int64(d / every)
	}
	return n
}

// failed counts a failed attempt of an affected user to come back.
func (e *eventRun) failed(class string) {
	e.mu.Lock()
	e.errorsBy[class]++
	e.mu.Unlock()
}

// countAttempt counts a login or reconnect attempt of u's life l in every
// incident still recovering.
func (u *user) countAttempt(l *life) {
	if len(u.r.events) == 0 {
		return
	}
	u.mu.Lock()
	reconnect := l.everOnline
	u.mu.Unlock()
	for _, e := range u.r.events {
		if !e.open.Load() {
			continue
		}
		if reconnect {
			e.reconnects.Add(1)
		} else {
			e.logins.Add(1)
		}
	}
}

// eventResults closes the incidents at the run's end: users still away are
// never back (an error of the recovery metric), and their absence so far
// counts in the telemetry that fell due.
func (r *runner) eventResults(end time.Time) []metrics.Event {
	away := map[*eventRun][]time.Duration{}
	for _, u := range r.users {
		u.mu.Lock()
		if ev := u.awayEvent; ev != nil {
			away[ev] = append(away[ev], end.Sub(u.awaySince))
		}
		u.mu.Unlock()
	}
	var out []metrics.Event
	for _, e := range r.events {
		e.mu.Lock()
		res := metrics.Event{Name: e.ev.Name, At: e.at, Affected: e.affected, Back: len(e.backs), ErrorsBy: maps.Clone(e.errorsBy),
			Recovery: map[string]*float64{}}
		res.NeverBack = e.affected - len(e.backs)
		for range res.NeverBack {
			e.recovery.Error(errclass.NeverBack)
		}
		res.TelemetryUnsent = e.unsent
		sosDue := e.sosDue
		for _, d := range away[e] {
			res.TelemetryUnsent += e.ticksIn(d)
			sosDue += e.sos.expected(end.Add(-d).Sub(e.start), end.Sub(e.start))
		}
		if e.online > 0 {
			res.SOSNotRaised = sosDue / float64(e.online)
		}
		backs := slices.Clone(e.backs)
		slices.Sort(backs)
		for _, share := range metrics.RecoveryShares {
			res.Recovery[share] = nil
		}
		if e.affected > 0 {
			for _, share := range metrics.RecoveryShares {
				p := map[string]float64{"50": 0.5, "90": 0.9, "99": 0.99, "100": 1}[share]
				k := int(math.Ceil(p * float64(e.affected)))
				if k >= 1 && k <= len(backs) {
					s := backs[k-1].Seconds()
					res.Recovery[share] = &s
				}
			}
		}
		if !e.at.IsZero() {
			atS := e.at.Sub(e.start).Seconds()
			res.AtS = &atS
			last := end
			if res.NeverBack == 0 && !e.lastBack.IsZero() {
				last = e.lastBack
			}
			if res.Affected == 0 {
				last = e.at
			}
			res.Window = last.Sub(e.at).Seconds()
			if res.Window > 0 {
				res.LoginsPerS = float64(e.logins.Load()) / res.Window
				res.ReconnectsPerS = float64(e.reconnects.Load()) / res.Window
			}
		}
		e.mu.Unlock()
		out = append(out, res)
	}
	return out
}
