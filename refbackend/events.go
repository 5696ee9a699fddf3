package refbackend

import (
	"encoding/json"
	"github.com/eixamsim/eixamsim/faults"
	"time"

	"github.com/eixamsim/eixamsim/contract"
)

// eventPublisher sends lifecycle events on sos/events/<seg> (contract §3.7)
// through the broker's inline client at QoS 1, applying
// Faults.EventDropRate and Faults.EventDelay. Every event goes through the
// scheduler goroutine, so events of one user never overtake each other. The
// state change is visible (GET /v1/sdk/sos) before the event is published,
// but with no EventDelay an event may reach the client before the alert's
// PUBACK or the HTTP answer that caused it.
type eventPublisher struct {
	publish func(topic string, payload []byte) error
	faults  func() *faults.Set
	sched   *scheduler
	stats   *counters
}

// emit queues the event of incident id entering status for u. The caller
// holds u.mu.
func (e *eventPublisher) emit(u *user, incidentID, status string, now time.Time) {
	f := e.faults()
	if f.DropEvent() {
		e.stats.eventsDropped.Add(1)
		return
	}
	at := now.Add(f.EventDelay)
	if at.Before(u.lastEventAt) {
		at = u.lastEventAt // a shorter delay set meanwhile must not reorder
	}
	u.lastEventAt = at
	payload, err := json.Marshal(contract.Event{IncidentID: incidentID, Status: status, UpdatedAt: contract.Timestamp(now)})
	if err != nil { // cannot happen: three strings
		e.stats.eventsFailed.Add(1)
		return
	}
	topic := u.eventsTopic
	e.stats.eventsPending.Add(1)
	tk := e.sched.at(at, func() {
		e.stats.eventsPending.Add(-1)
		e.send(topic, status, payload)
	})
	if tk == nil { // server closing
		e.stats.eventsPending.Add(-1)
	}
}

// send publishes one event. It counts before publishing, so a subscriber
// never sees an event the counters do not show yet.
func (e *eventPublisher) send(topic, status string, payload []byte) {
	e.stats.eventsPublished.Add(1)
	e.stats.eventsByStatus.add(status)
	if err := e.publish(topic, payload); err != nil {
		e.stats.eventsPublished.Add(-1)
		e.stats.eventsByStatus.sub(status)
		e.stats.eventsFailed.Add(1)
	}
}
