package fleet

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/eixamsim/eixamsim/contract"
)

// Timing of the SOS flow that the scenario does not set.
const (
	visiblePoll  = 200 * time.Millisecond // GET /v1/sdk/sos spacing while waiting to see the incident
	eventGrace   = 5 * time.Second        // how long past the end an event may still arrive
	sosHTTPLimit = 10 * time.Second       // bound on the cancel/resolve exchange
)

// sosRun is one SOS raised by a user, from the alert publish to the
// confirmed cancel or resolve. Its clock starts at the arrival's intended
// time, so a late start is part of every SOS latency.
type sosRun struct {
	start time.Time
	hold  time.Duration // from start to the end action
	// stale holds ids of this user's earlier incidents: their late events
	// (a delayed "cancelled", say) must not count for this SOS.
	stale []string

	mu        sync.Mutex
	delivered bool // first lifecycle event seen
	acked     bool
	firstEv   chan struct{} // closed by the first lifecycle event
	ended     chan struct{} // closed to end the hold early (stop, run end)
	endedOnce sync.Once
	r         *runner
}

func (s *sosRun) endEarly() { s.endedOnce.Do(func() { close(s.ended) }) }

// onEvent records the lifecycle events of the user's topic while the SOS
// runs: the first one is sos.delivered, "acknowledged" is
// sos.acknowledged. The topic is per user, so every lifecycle event on it
// after the alert concerns this SOS even before the backend id is known.
//
// Only a non-terminal state can be the first event of a new incident (a
// cancel or resolve follows our own HTTP call), and events of earlier
// incidents are ignored.
func (s *sosRun) onEvent(at time.Time, incidentID, state string) {
	if slices.Contains(s.stale, incidentID) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.delivered && (state == contract.StateActive || state == contract.StateAcknowledged) {
		s.delivered = true
		s.r.m(mDelivered).Record(at.Sub(s.start))
		close(s.firstEv)
	}
	if state == contract.StateAcknowledged && !s.acked {
		s.acked = true
		s.r.m(mAcked).Record(at.Sub(s.start))
	}
}

func newSOSRun(r *runner, intended time.Time) *sosRun {
	hold := r.sc.Behaviours.SOS.Hold
	if hmax := r.sc.Behaviours.SOS.HoldMax; hmax > hold {
		hold += time.Duration(rand.Int64N(int64(hmax - hold)))
	}
	return &sosRun{start: intended, hold: hold, firstEv: make(chan struct{}), ended: make(chan struct{}), r: r}
}

// maxStaleIncidents is how many of a user's past incident ids are kept to
// filter late events.
const maxStaleIncidents = 4

// rememberIncident records the backend id of the user's current incident,
// so that once it is closed its late events are not taken for the next.
func (u *user) rememberIncident(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if slices.Contains(u.incidents, id) {
		return
	}
	u.incidents = append(u.incidents, id)
	if len(u.incidents) > maxStaleIncidents {
		u.incidents = u.incidents[1:]
	}
}

// raiseSOS runs the SDK's SOS flow for one open-model arrival (contract
// §4.4, §4.5): publish the alert, learn the backend incident through
// GET /v1/sdk/sos, hold, then cancel — or resolve once acknowledged, since
// the SDK cannot cancel an acknowledged SOS — over HTTP.
//
// The arrival has reserved u for s (life.sos == s); if the user went
// offline since, the arrival counts as dropped.
func (r *runner) raiseSOS(u *user, s *sosRun) {
	intended := s.start
	u.mu.Lock()
	l := u.life
	if l == nil || l.stopped || l.state != online || l.sos != s {
		if l != nil && l.sos == s {
			l.sos = nil
		}
		u.mu.Unlock()
		r.drop("user_went_offline")
		return
	}
	l.work.Add(1)
	client, clientCtx := l.client, l.clientCtx
	alert := u.dev.alert(time.Now(), u.canonical, r.sc.Behaviours.Telemetry != nil && r.sc.Behaviours.Telemetry.DeviceID)
	u.mu.Unlock()
	defer func() {
		u.mu.Lock()
		l.sos = nil
		u.mu.Unlock()
		l.work.Done()
	}()
	r.m(mLag).Record(time.Since(intended))

	payload, _ := json.Marshal(alert)
	if !r.publish(clientCtx, client, mSOSPuback, intended, &paho.Publish{Topic: contract.TopicSOSAlerts, QoS: 1, Payload: payload}) {
		return // the SDK's state is failed; nothing reached the backend
	}

	ctx, cancel := context.WithTimeout(context.Background(), s.hold+sosHTTPLimit+eventGrace)
	defer cancel()
	r.waitVisible(ctx, u, s)

	hold := time.NewTimer(time.Until(intended.Add(s.hold)))
	select {
	case <-hold.C:
	case <-s.ended:
		hold.Stop()
	}

	s.mu.Lock()
	acked := s.acked
	s.mu.Unlock()
	r.endSOS(ctx, u, acked)

	grace := time.NewTimer(eventGrace)
	defer grace.Stop()
	select {
	case <-s.firstEv:
	case <-grace.C:
		r.m(mDelivered).Error("no_event")
	}
}

// waitVisible polls GET /v1/sdk/sos until the incident shows, recording
// sos.visible from the alert's intended time. The SDK reads it the same way
// to learn the backend incident id (contract §4.7).
func (r *runner) waitVisible(ctx context.Context, u *user, s *sosRun) {
	deadline := s.start.Add(s.hold)
	for {
		var body contract.IncidentBody
		t0 := time.Now()
		class, err := r.http.call(ctx, u.sess, "GET", contract.PathSOS, nil, is2xx, &body)
		r.observe(mSOSGet, t0, class, err)
		if err == nil && body.Incident != nil {
			r.m(mVisible).Record(time.Since(s.start))
			u.rememberIncident(body.Incident.ID)
			return
		}
		if time.Now().Add(visiblePoll).After(deadline) {
			r.m(mVisible).Error("not_visible")
			return
		}
		select {
		case <-time.After(visiblePoll):
		case <-s.ended:
			r.m(mVisible).Error("not_visible")
			return
		}
	}
}

// endSOS closes the SOS over HTTP per the scenario's `end` and confirms the
// closed state: from the POST's answer, or — when it answers
// {"incident": null} — from one follow-up GET, as the SDK settles
// (contract §4.5). sos.cancelled / sos.resolved run from the POST to the
// confirmation.
func (r *runner) endSOS(ctx context.Context, u *user, acked bool) {
	resolve := acked // the SDK cannot cancel after an acknowledgement
	switch r.sc.Behaviours.SOS.End {
	case "resolve":
		resolve = true
	case "mixed":
		resolve = resolve || rand.IntN(2) == 0
	}
	path, httpM, doneM, want := contract.PathSOSCancel, mSOSCancel, mCancelled, contract.StateCancelled
	if resolve {
		path, httpM, doneM, want = contract.PathSOSResolve, mSOSResolve, mResolved, contract.StateResolved
	}
	t0 := time.Now()
	var body contract.IncidentBody
	class, err := r.http.call(ctx, u.sess, "POST", path, nil, is2xx, &body)
	if !r.observe(httpM, t0, class, err) {
		r.m(doneM).Error(class)
		return
	}
	if body.Incident == nil {
		var after contract.IncidentBody
		t1 := time.Now()
		class, err := r.http.call(ctx, u.sess, "GET", contract.PathSOS, nil, is2xx, &after)
		if !r.observe(mSOSGet, t1, class, err) {
			r.m(doneM).Error(class)
			return
		}
		if after.Incident != nil && after.Incident.State != want {
			r.m(doneM).Error("still_" + after.Incident.State)
			return
		}
	} else if body.Incident.State != want {
		r.m(doneM).Error("state_" + body.Incident.State)
		return
	}
	r.m(doneM).Record(time.Since(t0))
}
