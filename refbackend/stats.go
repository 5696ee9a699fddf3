package refbackend

import (
	"maps"
	"sync"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of the server's counters, the body of GET
// /debug/stats. Counters only grow; fields documented as gauges are current
// values. Secrets and user hashes never appear here.
type Stats struct {
	MQTT      MQTTStats      `json:"mqtt"`
	Telemetry TelemetryStats `json:"telemetry"`
	SOS       SOSStats       `json:"sos"`
	Events    EventStats     `json:"events"`
	HTTP      HTTPStats      `json:"http"`
}

// MQTTStats counts broker sessions and ACL decisions.
type MQTTStats struct {
	// ConnectsAccepted counts sessions established (counted just after the
	// success CONNACK is written, before the session's first packet is read).
	ConnectsAccepted int64 `json:"connects_accepted"`
	// ConnectsRefused counts refused CONNECTs by reason: "bad_username"
	// (not sdk:<appId>:<userId>), "unknown_app", "bad_hash" (wrong or
	// missing password), "will_denied" (will topic outside the ACL),
	// "reserved_client_id" (client id "inline").
	ConnectsRefused map[string]int64 `json:"connects_refused"`
	// Connected is a gauge: sessions open now.
	Connected int64 `json:"connected"`
	// Disconnects counts ended sessions (any cause).
	Disconnects int64 `json:"disconnects"`
	// ACLDeniedPublish and ACLDeniedSubscribe count PUBLISH packets and
	// SUBSCRIBE topic filters refused by the ACL.
	ACLDeniedPublish   int64 `json:"acl_denied_publish"`
	ACLDeniedSubscribe int64 `json:"acl_denied_subscribe"`
}

// TelemetryStats counts telemetry publishes on tel/<seg>/data that passed
// the ACL.
type TelemetryStats struct {
	// Accepted counts valid messages; each QoS 1 one got a success PUBACK.
	Accepted int64 `json:"accepted"`
	// Rejected counts invalid payloads (MQTT 5 QoS 1: PUBACK 0x99).
	Rejected int64 `json:"rejected"`
	// RejectedByReason splits Rejected: "bad_json", "bad_position", "bad_time".
	RejectedByReason map[string]int64 `json:"rejected_by_reason"`
	// Users holds per-user counts keyed by canonical id (omitted from
	// /debug/stats?per_user=false). Two apps sharing a canonical id share
	// an entry, as they share the topic.
	Users map[string]UserTelemetry `json:"users,omitempty"`
}

// UserTelemetry is one user's telemetry record.
type UserTelemetry struct {
	Accepted int64     `json:"accepted"`
	Rejected int64     `json:"rejected"`
	Last     *Position `json:"last,omitempty"` // latest accepted position
}

// Position is the latest accepted telemetry position of a user.
type Position struct {
	Timestamp  string    `json:"timestamp"` // as sent by the device
	Latitude   float64   `json:"latitude"`
	Longitude  float64   `json:"longitude"`
	Altitude   float64   `json:"altitude"`
	DeviceID   string    `json:"device_id,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
}

// SOSStats counts SOS alerts and incident transitions.
type SOSStats struct {
	// AlertsAccepted counts valid sos/alerts publishes (QoS 1: success
	// PUBACK), whether they opened an incident or were duplicates.
	AlertsAccepted int64 `json:"alerts_accepted"`
	// AlertsDuplicate counts accepted alerts that found an open incident.
	AlertsDuplicate int64 `json:"alerts_duplicate"`
	// AlertsRejected counts malformed alerts (MQTT 5 QoS 1: PUBACK 0x99).
	AlertsRejected int64 `json:"alerts_rejected"`
	// HTTPCreated and HTTPExisting count POST /v1/sdk/sos calls that opened
	// an incident and that found one open.
	HTTPCreated  int64 `json:"http_created"`
	HTTPExisting int64 `json:"http_existing"`
	// Incidents* count transitions, by MQTT or HTTP.
	IncidentsOpened       int64 `json:"incidents_opened"`
	IncidentsAcknowledged int64 `json:"incidents_acknowledged"`
	IncidentsCancelled    int64 `json:"incidents_cancelled"`
	IncidentsResolved     int64 `json:"incidents_resolved"`
	// IncidentsOpen is a gauge: incidents open now.
	IncidentsOpen int64 `json:"incidents_open"`
	// AckPending is a gauge: operator acknowledgements scheduled now.
	AckPending int64 `json:"ack_pending"`
}

// EventStats counts lifecycle events on sos/events/<seg>.
type EventStats struct {
	// Published counts events handed to the broker (delivered to the user
	// if subscribed at that moment), by status in PublishedByStatus.
	Published         int64            `json:"published"`
	PublishedByStatus map[string]int64 `json:"published_by_status"`
	// Dropped counts events withheld by Faults.EventDropRate.
	Dropped int64 `json:"dropped"`
	// Failed counts events the broker refused.
	Failed int64 `json:"failed"`
	// Pending is a gauge: events waiting for Faults.EventDelay.
	Pending int64 `json:"pending"`
}

// HTTPStats counts HTTP requests to the SDK API (not /debug/*).
type HTTPStats struct {
	// Requests maps an endpoint name to status code to count.
	Requests map[string]map[int]int64 `json:"requests"`
	// AuthFailures counts 401 answers by reason: "missing_headers",
	// "bad_authorization" (not "Bearer <hash>"), "unknown_app", "bad_hash".
	AuthFailures map[string]int64 `json:"auth_failures"`
	// Unrouted counts answers to requests outside the API by status
	// (404 unknown path, 405 wrong method).
	Unrouted map[int]int64 `json:"unrouted"`
}

// counters is the live, goroutine-safe form of Stats (per-user telemetry
// lives in the user records).
type counters struct {
	connectsAccepted, connected, disconnects atomic.Int64
	aclDeniedPublish, aclDeniedSubscribe     atomic.Int64
	connectsRefused                          keyed[string]

	telAccepted, telRejected atomic.Int64
	telRejectedBy            keyed[string]

	alertsAccepted, alertsDuplicate, alertsRejected atomic.Int64
	httpCreated, httpExisting                       atomic.Int64
	opened, acknowledged, cancelled, resolved       atomic.Int64
	open, ackPending                                atomic.Int64

	eventsPublished, eventsDropped, eventsFailed, eventsPending atomic.Int64
	eventsByStatus                                              keyed[string]

	httpRequests     keyed[endpointStatus]
	httpAuthFailures keyed[string]
	httpUnrouted     keyed[int]
}

type endpointStatus struct {
	endpoint string
	status   int
}

// keyed is a goroutine-safe map of counters.
type keyed[K comparable] struct {
	mu sync.Mutex
	m  map[K]int64
}

func (k *keyed[K]) add(key K) {
	k.mu.Lock()
	if k.m == nil {
		k.m = make(map[K]int64)
	}
	k.m[key]++
	k.mu.Unlock()
}

func (k *keyed[K]) sub(key K) {
	k.mu.Lock()
	if k.m != nil {
		k.m[key]--
	}
	k.mu.Unlock()
}

func (k *keyed[K]) snapshot() map[K]int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		return map[K]int64{}
	}
	return maps.Clone(k.m)
}

// snapshot copies the counters; users adds the per-user telemetry when
// non-nil.
func (c *counters) snapshot(users []*user) Stats {
	requests := map[string]map[int]int64{}
	for k, n := range c.httpRequests.snapshot() {
		if requests[k.endpoint] == nil {
			requests[k.endpoint] = map[int]int64{}
		}
		requests[k.endpoint][k.status] = n
	}
	st := Stats{
		MQTT: MQTTStats{
			ConnectsAccepted:   c.connectsAccepted.Load(),
			ConnectsRefused:    c.connectsRefused.snapshot(),
			Connected:          c.connected.Load(),
			Disconnects:        c.disconnects.Load(),
			ACLDeniedPublish:   c.aclDeniedPublish.Load(),
			ACLDeniedSubscribe: c.aclDeniedSubscribe.Load(),
		},
		Telemetry: TelemetryStats{
			Accepted:         c.telAccepted.Load(),
			Rejected:         c.telRejected.Load(),
			RejectedByReason: c.telRejectedBy.snapshot(),
		},
		SOS: SOSStats{
			AlertsAccepted:        c.alertsAccepted.Load(),
			AlertsDuplicate:       c.alertsDuplicate.Load(),
			AlertsRejected:        c.alertsRejected.Load(),
			HTTPCreated:           c.httpCreated.Load(),
			HTTPExisting:          c.httpExisting.Load(),
			IncidentsOpened:       c.opened.Load(),
			IncidentsAcknowledged: c.acknowledged.Load(),
			IncidentsCancelled:    c.cancelled.Load(),
			IncidentsResolved:     c.resolved.Load(),
			IncidentsOpen:         c.open.Load(),
			AckPending:            c.ackPending.Load(),
		},
		Events: EventStats{
			Published:         c.eventsPublished.Load(),
			PublishedByStatus: c.eventsByStatus.snapshot(),
			Dropped:           c.eventsDropped.Load(),
			Failed:            c.eventsFailed.Load(),
			Pending:           c.eventsPending.Load(),
		},
		HTTP: HTTPStats{
			Requests:     requests,
			AuthFailures: c.httpAuthFailures.snapshot(),
			Unrouted:     c.httpUnrouted.snapshot(),
		},
	}
	if users != nil {
		st.Telemetry.Users = userTelemetry(users)
	}
	return st
}

// userTelemetry collects the per-user telemetry of users that published any.
func userTelemetry(users []*user) map[string]UserTelemetry {
	out := make(map[string]UserTelemetry)
	for _, u := range users {
		u.mu.Lock()
		acc, rej := u.telAccepted, u.telRejected
		var last *Position
		if u.lastPos != nil {
			p := *u.lastPos
			last = &p
		}
		u.mu.Unlock()
		if acc == 0 && rej == 0 {
			continue
		}
		e := out[u.canonical]
		e.Accepted += acc
		e.Rejected += rej
		if last != nil && (e.Last == nil || last.ReceivedAt.After(e.Last.ReceivedAt)) {
			e.Last = last
		}
		out[u.canonical] = e
	}
	return out
}
