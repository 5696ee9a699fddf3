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
	Schedule  ScheduleStats  `json:"schedule"`
	// Capacity holds the capacity model's resources by name
	// (Config.Capacity); nil, and omitted from the JSON, without a model.
	Capacity map[string]ResourceStats `json:"capacity,omitempty"`
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
	// Disconnects counts ended sessions (any cause); it equals
	// DisconnectsByCause.Total.
	Disconnects int64 `json:"disconnects"`
	// DisconnectsByCause splits Disconnects by what ended the session.
	DisconnectsByCause DisconnectStats `json:"disconnects_by_cause"`
	// WriteBacklogBytes is a gauge: bytes the broker has queued for
	// clients and not yet written to their sockets (it grows while a
	// client does not read; see Config.MaxPendingWrite).
	WriteBacklogBytes int64 `json:"write_backlog_bytes"`
	// ACLDeniedPublish and ACLDeniedSubscribe count PUBLISH packets and
	// SUBSCRIBE topic filters refused by the ACL.
	ACLDeniedPublish   int64 `json:"acl_denied_publish"`
	ACLDeniedSubscribe int64 `json:"acl_denied_subscribe"`
	// PacketsTooLarge counts connections closed because a packet was
	// larger than Config.MaxPayloadBytes (before or after CONNECT).
	PacketsTooLarge int64 `json:"packets_too_large"`
	// MalformedPackets counts connections closed because a packet could
	// not be decoded or broke the protocol (before or after CONNECT).
	MalformedPackets int64 `json:"malformed_packets"`
	// Listening is a gauge: the MQTT listeners are open (false between
	// StopMQTT and StartMQTT, and when no MQTT listener is configured).
	Listening bool `json:"listening"`
	// ListenerStops counts StopMQTT calls that closed open listeners;
	// ListenerRestarts counts StartMQTT calls that re-opened them.
	ListenerStops    int64 `json:"listener_stops"`
	ListenerRestarts int64 `json:"listener_restarts"`
	// DroppedByStop counts sessions ended by StopMQTT.
	DroppedByStop int64 `json:"dropped_by_stop"`
	// Kicks counts Kick calls with a positive fraction; Kicked the
	// sessions they disconnected.
	Kicks  int64 `json:"kicks"`
	Kicked int64 `json:"kicked"`
}

// DisconnectStats counts ended sessions by cause. Every session that was
// established (CONNACK 0 sent) ends in exactly one cause; the causes sum
// to Total. Counted after the connection closed.
type DisconnectStats struct {
	// Total counts ended sessions; the sum of the causes below.
	Total int64 `json:"total"`
	// Clean: the client sent DISCONNECT.
	Clean int64 `json:"clean"`
	// KeepaliveExpired: the client sent nothing for 1.5 × its keep-alive
	// and the broker closed the connection (no DISCONNECT sent).
	KeepaliveExpired int64 `json:"keepalive_expired"`
	// TakenOver: a CONNECT with the same client id took the session over;
	// the old connection got DISCONNECT 0x8E (MQTT 5) and was closed.
	TakenOver int64 `json:"taken_over"`
	// ClosedWithoutDisconnect: the client closed the connection (FIN or
	// reset) without DISCONNECT.
	ClosedWithoutDisconnect int64 `json:"closed_without_disconnect"`
	// SlowConsumer: the client stopped reading and more than
	// Config.MaxPendingWrite bytes waited for it; the broker closed it.
	SlowConsumer int64 `json:"slow_consumer"`
	// Other: everything else: Kick, StopMQTT, server shutdown, a packet
	// too large or malformed, an ACL refusal that ends an MQTT 3.1.1
	// session, a TLS or WebSocket error.
	Other int64 `json:"other"`
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
	// DuplicatesInjected counts incidents opened while one was already
	// open, by Faults.DuplicateIncidents (0 when the backend is idempotent).
	DuplicatesInjected int64 `json:"duplicates_injected"`
	// Incidents* count transitions, by MQTT or HTTP.
	IncidentsOpened       int64 `json:"incidents_opened"`
	IncidentsAcknowledged int64 `json:"incidents_acknowledged"`
	IncidentsCancelled    int64 `json:"incidents_cancelled"`
	IncidentsResolved     int64 `json:"incidents_resolved"`
	// IncidentsOpen is a gauge: incidents open now.
	IncidentsOpen int64 `json:"incidents_open"`
	// AckPending is a gauge: operator acknowledgements scheduled now.
	AckPending int64 `json:"ack_pending"`
	// AlertsPending is a gauge: accepted alerts waiting for
	// Faults.AlertDelay before they are raised.
	AlertsPending int64 `json:"alerts_pending"`
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
	// Stalls counts StallHTTP calls that started or extended a stall.
	Stalls int64 `json:"stalls"`
	// StalledRequests counts requests held by a stall (each once).
	StalledRequests int64 `json:"stalled_requests"`
	// StalledNow is a gauge: requests held now.
	StalledNow int64 `json:"stalled_now"`
}

// ScheduleStats counts scheduled faults (Config.Schedule,
// Server.RunSchedule) of every run.
type ScheduleStats struct {
	// Fired counts faults that fired, by action ("restart_mqtt" once per
	// restart, when the listeners close).
	Fired map[string]int64 `json:"fired"`
	// Failed counts scheduled actions that returned an error (e.g. a port
	// that could not be bound again when re-opening the listeners).
	Failed int64 `json:"failed"`
	// Pending is a gauge: faults scheduled and not fired yet.
	Pending int64 `json:"pending"`
}

// ResourceStats is one resource of the capacity model (Config.Capacity):
// a single-server FIFO queue. Counters are updated before the client sees
// the answer (PUBACK, HTTP response).
type ResourceStats struct {
	// Rate is the service rate, in work items per second.
	Rate float64 `json:"rate_per_second"`
	// QueueBound is the longest wait before service; longer ones are
	// refused.
	QueueBound time.Duration `json:"queue_bound_ns"`
	// Served counts work whose service ended (each waited at most
	// QueueBound, then took 1/Rate).
	Served int64 `json:"served"`
	// Refused counts work turned away because the queue was full: HTTP
	// 503, MQTT 5 QoS 1 PUBACK 0x97 (otherwise discarded).
	Refused int64 `json:"refused"`
	// InQueue is a gauge: work admitted and not served yet (waiting or in
	// service).
	InQueue int64 `json:"in_queue"`
	// QueueDelayTotal sums the waits before service of the admitted work
	// (its mean is QueueDelayTotal / (Served + InQueue)); QueueDelayMax is
	// the longest.
	QueueDelayTotal time.Duration `json:"queue_delay_total_ns"`
	QueueDelayMax   time.Duration `json:"queue_delay_max_ns"`
	// Backlog is a gauge: how long the server needs to finish the work
	// admitted so far (0 when idle; at most QueueBound plus one service
	// time).
	Backlog time.Duration `json:"backlog_ns"`
}

// counters is the live, goroutine-safe form of Stats (per-user telemetry
// lives in the user records).
type counters struct {
	connectsAccepted, connected          atomic.Int64
	disconnectsBy                        keyed[string]
	writeBacklog                         atomic.Int64
	aclDeniedPublish, aclDeniedSubscribe atomic.Int64
	connectsRefused                      keyed[string]
	packetsTooLarge, malformedPackets    atomic.Int64
	listening                            atomic.Bool
	listenerStops, listenerRestarts      atomic.Int64
	droppedByStop, kicks, kicked         atomic.Int64

	telAccepted, telRejected atomic.Int64
	telRejectedBy            keyed[string]

	alertsAccepted, alertsDuplicate, alertsRejected atomic.Int64
	httpCreated, httpExisting, duplicatesInjected   atomic.Int64
	opened, acknowledged, cancelled, resolved       atomic.Int64
	open, ackPending, alertsPending                 atomic.Int64

	eventsPublished, eventsDropped, eventsFailed, eventsPending atomic.Int64
	eventsByStatus                                              keyed[string]

	httpRequests                        keyed[endpointStatus]
	httpAuthFailures                    keyed[string]
	httpUnrouted                        keyed[int]
	stalls, stalledRequests, stalledNow atomic.Int64
	faultsFired                         keyed[string]
	faultsFailed, faultsPending         atomic.Int64
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
	by := c.disconnectsBy.snapshot()
	disconnects := DisconnectStats{
		Clean:                   by[causeClean],
		KeepaliveExpired:        by[causeKeepaliveExpired],
		TakenOver:               by[causeTakenOver],
		ClosedWithoutDisconnect: by[causeClosedWithoutDisconnect],
		SlowConsumer:            by[causeSlowConsumer],
		Other:                   by[causeOther],
	}
	for _, n := range by {
		disconnects.Total += n
	}
	st := Stats{
		MQTT: MQTTStats{
			ConnectsAccepted:   c.connectsAccepted.Load(),
			ConnectsRefused:    c.connectsRefused.snapshot(),
			Connected:          c.connected.Load(),
			Disconnects:        disconnects.Total,
			DisconnectsByCause: disconnects,
			WriteBacklogBytes:  c.writeBacklog.Load(),
			ACLDeniedPublish:   c.aclDeniedPublish.Load(),
			ACLDeniedSubscribe: c.aclDeniedSubscribe.Load(),
			PacketsTooLarge:    c.packetsTooLarge.Load(),
			MalformedPackets:   c.malformedPackets.Load(),
			Listening:          c.listening.Load(),
			ListenerStops:      c.listenerStops.Load(),
			ListenerRestarts:   c.listenerRestarts.Load(),
			DroppedByStop:      c.droppedByStop.Load(),
			Kicks:              c.kicks.Load(),
			Kicked:             c.kicked.Load(),
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
			DuplicatesInjected:    c.duplicatesInjected.Load(),
			IncidentsOpened:       c.opened.Load(),
			IncidentsAcknowledged: c.acknowledged.Load(),
			IncidentsCancelled:    c.cancelled.Load(),
			IncidentsResolved:     c.resolved.Load(),
			IncidentsOpen:         c.open.Load(),
			AckPending:            c.ackPending.Load(),
			AlertsPending:         c.alertsPending.Load(),
		},
		Events: EventStats{
			Published:         c.eventsPublished.Load(),
			PublishedByStatus: c.eventsByStatus.snapshot(),
			Dropped:           c.eventsDropped.Load(),
			Failed:            c.eventsFailed.Load(),
			Pending:           c.eventsPending.Load(),
		},
		HTTP: HTTPStats{
			Requests:        requests,
			AuthFailures:    c.httpAuthFailures.snapshot(),
			Unrouted:        c.httpUnrouted.snapshot(),
			Stalls:          c.stalls.Load(),
			StalledRequests: c.stalledRequests.Load(),
			StalledNow:      c.stalledNow.Load(),
		},
		Schedule: ScheduleStats{
			Fired:   c.faultsFired.snapshot(),
			Failed:  c.faultsFailed.Load(),
			Pending: c.faultsPending.Load(),
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
