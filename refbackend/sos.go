package refbackend

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/faults"
)

// lifecycle is the SOS state machine of the backend. Each user has at most
// one open incident:
//
//	alert / POST sos, none open ─▶ active ──AckDelay──▶ acknowledged
//	                                 │                      │
//	            POST cancel / resolve└──────────┬───────────┘
//	                                            ▼
//	                        cancelled / resolved (closed, forgotten)
//
// Every transition publishes {"incidentId","status","updatedAt"} on the
// user's sos/events/<seg>. An alert (or POST sos) while an incident is open
// opens nothing: it updates the incident's position and re-publishes the
// event of its current state. Closed incidents are not kept.
type lifecycle struct {
	ackDelay time.Duration
	sched    *scheduler
	events   *eventPublisher
	stats    *counters
	faults   func() *faults.Set // faults in force (DuplicateIncidents)
	seq      atomic.Uint64      // incident ids: inc_1, inc_2, …
}

// incident is an open incident; guarded by its user's mu.
type incident struct {
	id                   string
	state                string
	createdAt, updatedAt time.Time
	latitude, longitude  float64
	altitude             *float64
	deviceID             string
	ackTask              *task // pending acknowledgement, nil if none
}

// sosPosition is where an SOS was raised.
type sosPosition struct {
	latitude, longitude float64
	altitude            *float64 // nil when unknown
	deviceID            string
}

// view is the contract §2.7 form of in.
func (in *incident) view() *contract.Incident {
	v := &contract.Incident{
		ID:        in.id,
		State:     in.state,
		CreatedAt: contract.Timestamp(in.createdAt),
		UpdatedAt: contract.Timestamp(in.updatedAt),
		Latitude:  in.latitude,
		Longitude: in.longitude,
		DeviceID:  in.deviceID,
	}
	if in.altitude != nil {
		alt := *in.altitude
		v.Altitude = &alt
	}
	return v
}

func (in *incident) moveTo(p sosPosition, now time.Time) {
	in.latitude, in.longitude, in.altitude = p.latitude, p.longitude, p.altitude
	if p.deviceID != "" {
		in.deviceID = p.deviceID
	}
	in.updatedAt = now
}

// Where an SOS came from; raise counts it accordingly.
const (
	viaMQTT = "mqtt" // an sos/alerts publish
	viaHTTP = "http" // POST /v1/sdk/sos
)

// raise handles an SOS of u (an sos/alerts publish or POST /v1/sdk/sos). It
// opens an incident if none is open and reports created = true; otherwise
// it moves the open incident to p and re-publishes its current state.
// Counters are updated before any event can be seen.
func (l *lifecycle) raise(u *user, p sosPosition, via string, now time.Time) (inc *contract.Incident, created bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if in := u.incident; in != nil && l.faults != nil && l.faults().DuplicateIncidents {
		// Injected non-idempotence: the open incident is forgotten (no
		// event) and a second one opens below.
		if l.sched.cancel(in.ackTask) {
			l.stats.ackPending.Add(-1)
		}
		u.incident = nil
		l.stats.open.Add(-1)
		l.stats.duplicatesInjected.Add(1)
	}
	if in := u.incident; in != nil {
		if via == viaMQTT {
			l.stats.alertsDuplicate.Add(1)
		} else {
			l.stats.httpExisting.Add(1)
		}
		in.moveTo(p, now)
		l.events.emit(u, in.id, in.state, now)
		return in.view(), false
	}
	if via == viaHTTP {
		l.stats.httpCreated.Add(1)
	}
	in := &incident{
		id:        "inc_" + strconv.FormatUint(l.seq.Add(1), 10),
		state:     contract.StateActive,
		createdAt: now,
	}
	in.moveTo(p, now)
	u.incident = in
	l.stats.opened.Add(1)
	l.stats.open.Add(1)
	if l.ackDelay > 0 { // the acknowledgement waits for u.mu, so it follows the active event
		in.ackTask = l.sched.at(now.Add(l.ackDelay), func() { l.acknowledge(u, in) })
		if in.ackTask != nil {
			l.stats.ackPending.Add(1)
		}
	}
	l.events.emit(u, in.id, in.state, now)
	if l.ackDelay == 0 {
		l.setState(u, in, contract.StateAcknowledged, now)
	}
	return in.view(), true
}

// ingest raises an accepted sos/alerts publish of u: at once, or with
// Faults.AlertDelay through the scheduler, which keeps u's alerts in order
// (a shorter delay set meanwhile waits for the alert before it) and drops
// them at Close. A delayed alert raises with the time it is processed.
func (l *lifecycle) ingest(u *user, p sosPosition, now time.Time) {
	var delay time.Duration
	if l.faults != nil {
		delay = l.faults().AlertDelay
	}
	u.mu.Lock()
	at := now.Add(delay)
	if at.Before(u.lastAlertAt) {
		at = u.lastAlertAt
	}
	u.lastAlertAt = at
	u.mu.Unlock()
	if !at.After(now) {
		l.raise(u, p, viaMQTT, now)
		return
	}
	l.stats.alertsPending.Add(1)
	if l.sched.at(at, func() {
		l.stats.alertsPending.Add(-1)
		l.raise(u, p, viaMQTT, time.Now())
	}) == nil { // server closing
		l.stats.alertsPending.Add(-1)
	}
}

// acknowledge is the operator acknowledging in, run by the scheduler.
func (l *lifecycle) acknowledge(u *user, in *incident) {
	u.mu.Lock()
	defer u.mu.Unlock()
	l.stats.ackPending.Add(-1)
	in.ackTask = nil
	if u.incident != in || in.state != contract.StateActive {
		return
	}
	l.setState(u, in, contract.StateAcknowledged, time.Now())
}

// close ends u's open incident with state (cancelled or resolved), stops
// its pending acknowledgement and returns it; nil if none was open.
// Cancel is allowed from active and from acknowledged.
func (l *lifecycle) close(u *user, state string, now time.Time) *contract.Incident {
	u.mu.Lock()
	defer u.mu.Unlock()
	in := u.incident
	if in == nil {
		return nil
	}
	if l.sched.cancel(in.ackTask) {
		l.stats.ackPending.Add(-1)
	}
	in.ackTask = nil
	u.incident = nil
	l.stats.open.Add(-1)
	l.setState(u, in, state, now)
	return in.view()
}

// current returns u's open incident, nil if none.
func (l *lifecycle) current(u *user) *contract.Incident {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.incident == nil {
		return nil
	}
	return u.incident.view()
}

// setState moves in to state, counts it and publishes the event. The
// caller holds u.mu.
func (l *lifecycle) setState(u *user, in *incident, state string, now time.Time) {
	in.state = state
	in.updatedAt = now
	switch state {
	case contract.StateAcknowledged:
		l.stats.acknowledged.Add(1)
	case contract.StateCancelled:
		l.stats.cancelled.Add(1)
	case contract.StateResolved:
		l.stats.resolved.Add(1)
	}
	l.events.emit(u, in.id, state, now)
}
