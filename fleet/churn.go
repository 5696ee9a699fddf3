package fleet

import (
	"errors"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// churn is fleet.churn in a run: users of a stage leave and come back. A
// user's life arms its leave when it comes online (armLeave); leaving
// detaches the life and ends its connection the drawn mode's way
// (hangUp), and a timer brings the user back (user.back) as a new life
// unless the stages took it out meanwhile. A roam is not an absence: the
// life stays and reconnects as after a lost connection.
type churn struct {
	sc       *scenario.Churn
	left     map[string]*metrics.Counter // by leave mode
	returned *metrics.Counter
	reaper   *reaper
}

// newChurn returns the run's churn with fleet.churn or events (nil with
// neither; sc is nil without fleet.churn: only events make users leave).
func newChurn(sc *scenario.Scenario, reg *metrics.Registry) *churn {
	if sc.Fleet.Churn == nil && len(sc.Events) == 0 {
		return nil
	}
	c := &churn{sc: sc.Fleet.Churn, left: map[string]*metrics.Counter{}, returned: reg.Counter(scenario.UsersReturned),
		reaper: newReaper(sc.Fleet.KeepAlive, reg)}
	for _, mode := range scenario.LeaveModes {
		c.left[mode] = reg.Counter(scenario.UsersLeft(mode))
	}
	return c
}

// errRoamed is why a roamed user reconnects (for the debug log).
var errRoamed = errors.New("roamed: the old connection went silent")

// armLeave draws the life's time online and arms its leaving. Call with
// u.mu held.
func (u *user) armLeave(l *life) {
	if u.r.churn.sc == nil {
		return // events only
	}
	l.leave = time.AfterFunc(u.r.churn.sc.Online.Draw(u.rng), func() { u.leaveNow(l) })
}

// leaveNow makes the user leave, in a mode drawn by weight. A user not
// connected (reconnecting) stays and draws another time online.
func (u *user) leaveNow(l *life) {
	c := u.r.churn
	u.mu.Lock()
	if !u.current(l) {
		u.mu.Unlock()
		return
	}
	if l.state != online || l.client == nil {
		u.armLeave(l)
		u.mu.Unlock()
		return
	}
	mode := c.sc.Leave.Pick(u.rng)
	var away time.Duration
	if mode != scenario.LeaveRoam {
		away = c.sc.Offline.Draw(u.rng)
	}
	u.leaveLocked(l, mode, away, nil)
}

// leaveLocked makes the user, connected in life l, leave the mode's way,
// to come back after away (a roam reconnects as after a loss instead);
// ev is the incident it leaves in, nil for churn. Call with u.mu held; it
// unlocks it.
func (u *user) leaveLocked(l *life, mode string, away time.Duration, ev *eventRun) {
	c := u.r.churn
	if mode == scenario.LeaveRoam {
		client, phone := l.client, l.phone
		l.client, l.phone, l.leave = nil, nil, nil // the leave is armed again once reconnected
		l.cancelClient()
		l.state = retrying
		l.downSince = time.Now()
		u.r.online.remove(u)
		u.r.m.online.Add(-1)
		u.roams++
		u.mu.Unlock()
		c.left[mode].Inc()
		u.r.goWork(func() {
			u.hangUp(client, phone, mode)
			u.retryLater(l, errRoamed)
		})
		return
	}
	u.detachLocked(l)
	l.gaugeOff = true // gone at once, whatever the drain takes
	u.r.m.online.Add(-1)
	u.awayEvent, u.awaySince = ev, time.Now()
	u.away = time.AfterFunc(away, u.back)
	u.mu.Unlock()
	c.left[mode].Inc()
	u.r.goWork(func() { u.finish(l, mode) })
}

// back brings a user that left back, unless the stages took it out of the
// fleet meanwhile (or it came back another way).
func (u *user) back() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.away = nil
	if !u.staged || u.life != nil {
		return
	}
	u.beginLocked(true)
}

// hangUp ends client's connection the leave mode's way: clean, a
// DISCONNECT and close; killed, the socket closed under every layer with
// nothing sent; vanished and roam, nothing more sent and the socket left
// open for the reaper. phone is nil when churn is off (mode clean then).
func (u *user) hangUp(client *paho.Client, phone *phoneConn, mode string) {
	if phone == nil || mode == scenario.LeaveClean {
		_ = client.Disconnect(&paho.Disconnect{ReasonCode: 0})
		return
	}
	if mode == scenario.LeaveKilled {
		phone.end.Store(endKilled)
		_ = client.Disconnect(&paho.Disconnect{ReasonCode: 0}) // writes nothing; ends paho's goroutines
		return
	}
	silent, connects := time.Now(), u.connects.Load()
	phone.end.Store(endVanished)
	_ = client.Disconnect(&paho.Disconnect{ReasonCode: 0}) // writes nothing; ends paho's goroutines
	u.r.churn.reaper.add(phone.raw, silent, mode == scenario.LeaveRoam, &u.connects, connects)
}
