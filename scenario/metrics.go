package scenario

import (
	"slices"
	"strings"
)

// MetricKind says what a metric measures, and so which threshold
// aggregations apply to it.
type MetricKind string

// Metric kinds.
const (
	// KindLatency metrics record one duration per operation in an HDR
	// histogram, plus an error count. Aggregations: p(N), avg, min, max
	// (durations), errors, count, rate.
	KindLatency MetricKind = "latency"
	// KindCounter metrics count events. Aggregations: count, rate.
	KindCounter MetricKind = "counter"
	// KindGauge metrics sample a level over time. Aggregations: min, max,
	// avg (plain numbers).
	KindGauge MetricKind = "gauge"
)

// Aggregations lists the threshold aggregations that apply to a kind.
func (k MetricKind) Aggregations() []string {
	switch k {
	case KindLatency:
		return []string{AggPercentile, AggAvg, AggMin, AggMax, AggErrors, AggCount, AggRate}
	case KindCounter:
		return []string{AggCount, AggRate}
	case KindGauge:
		return []string{AggMin, AggMax, AggAvg}
	}
	return nil
}

// Names of the core metrics, recorded whatever the behaviours: the only
// place their strings are written (a test keeps every other package free of
// them). The behaviours' metric names are in behaviours.go; descriptions
// are in Metrics.
const (
	MQTTConnect     = "mqtt.connect"
	MQTTSubscribe   = "mqtt.subscribe"
	MQTTReconnect   = "mqtt.reconnect"
	MQTTPing        = "mqtt.ping"
	UserLogin       = "user.login"
	ScheduleLag     = "schedule.lag"
	UsersOnline     = "users.online"
	MQTTDisconnects = "mqtt.disconnects"
	ArrivalsDropped = "arrivals.dropped"

	ArrivalsScheduled = "arrivals.scheduled"
	ArrivalsStarted   = "arrivals.started"
	UsersNeverOnline  = "users.never_online"

	// fleet.churn's metrics (recorded only with it on).
	UsersLeftClean       = "users.left.clean"
	UsersLeftKilled      = "users.left.killed"
	UsersLeftVanished    = "users.left.vanished"
	UsersLeftRoamed      = "users.left.roamed"
	UsersReturned        = "users.returned"
	MQTTGhostReaped      = "mqtt.ghost_reaped"
	MQTTGhostUnreaped    = "mqtt.ghost_unreaped"
	MQTTGhostTakenOver   = "mqtt.ghost_taken_over"
	MQTTRoamTakenOver    = "mqtt.roam.taken_over"
	MQTTRoamDisconnect8E = "mqtt.roam.disconnect_0x8e"
	MQTTRoamClosed       = "mqtt.roam.closed"
	MQTTRoamSilent       = "mqtt.roam.silent"
)

// UsersLeft returns the counter of the users that left the leave mode's
// way (LeaveModes).
func UsersLeft(mode string) string {
	switch mode {
	case LeaveClean:
		return UsersLeftClean
	case LeaveKilled:
		return UsersLeftKilled
	case LeaveVanished:
		return UsersLeftVanished
	}
	return UsersLeftRoamed
}

// Why an open-model arrival was dropped: the error class on the metric of
// the behaviour whose arrival it was, and, under ArrivalsDropped + "." +
// reason, a counter of its own (created at the first drop, so a run
// without drops shows none; not in the catalogue). The reasons tell apart
// whose limit it was: DropLate is the simulator's (it reached the arrival
// more than 1 s late; package health counts it towards generator-bound),
// DropNoIdleUser the scenario's (the rate needs more users), and
// DropNoUserOnline nobody being online (the target, or the login ramp).
const (
	DropNoUserOnline = "no_user_online"
	DropNoIdleUser   = "no_idle_user"
	DropLate         = "late"

	ArrivalsDroppedNoUserOnline = ArrivalsDropped + "." + DropNoUserOnline
	ArrivalsDroppedNoIdleUser   = ArrivalsDropped + "." + DropNoIdleUser
	ArrivalsDroppedLate         = ArrivalsDropped + "." + DropLate
)

// Metric describes one metric of a run: its stable dotted name, kind,
// unit and what it measures (for latencies: where the clock starts and
// stops).
type Metric struct {
	Name        string     `json:"name"`
	Kind        MetricKind `json:"kind"`
	Unit        string     `json:"unit"` // "duration" for latencies, else what is counted
	Description string     `json:"description"`

	needs []need // conditions of which at least one must hold for samples to exist; nil = always
	// needsFleet, when set, must hold too: a condition on the fleet block
	// (needsFleetKey, what to write), as fleet.churn's metrics have.
	needsFleet    func(*Scenario) bool
	needsFleetKey string
	family        string // the throughput family its successes count in (ThroughputFamilies), or ""
}

// Throughput families: the kinds of operation whose successes per second
// the report's throughput chart draws, one line each. A metric names its
// family in the catalogue (behaviours.go for the behaviours' metrics).
const (
	FamilyTelemetry = "telemetry published"
	FamilyHTTP      = "HTTP requests"
	FamilyConnects  = "MQTT connects"
	FamilySOS       = "SOS alerts"
)

// ThroughputFamilies are the throughput families in the chart's order.
var ThroughputFamilies = []string{FamilyTelemetry, FamilyHTTP, FamilyConnects, FamilySOS}

// ThroughputFamily returns the throughput family of the catalogue metric
// name, "" when its successes count in none (or name is a per-address or
// per-profile twin, which its base metric already counts).
func ThroughputFamily(name string) string {
	for _, m := range Metrics {
		if m.Name == name {
			return m.family
		}
	}
	return ""
}

// churnMetric is a catalogue entry of fleet.churn's.
func churnMetric(name string, kind MetricKind, unit, desc string) Metric {
	return Metric{Name: name, Kind: kind, Unit: unit, Description: desc, needsFleet: churnOn, needsFleetKey: "fleet.churn or events"}
}

// need is a condition for a metric to get samples: a behaviour (or login
// step) being on.
type need struct {
	what string                  // what to turn on, e.g. "behaviours.sos"
	on   func(b Behaviours) bool // whether it is on
}

// coreMetrics are the metrics every run records; the catalogue lists them
// around the behaviours' metrics.
var (
	coreMetricsHead = []Metric{
		{Name: MQTTConnect, Kind: KindLatency, Unit: "duration", family: FamilyConnects,
			Description: "MQTT connect: dial start (TCP, TLS, WebSocket) -> CONNACK with success"},
		{Name: MQTTSubscribe, Kind: KindLatency, Unit: "duration",
			Description: "SUBSCRIBE sos/events/<seg> sent -> SUBACK"},
		{Name: MQTTReconnect, Kind: KindLatency, Unit: "duration", family: FamilyConnects,
			Description: "connection lost -> connected and subscribed again, including the reconnect policy's waits"},
		{Name: UserLogin, Kind: KindLatency, Unit: "duration",
			Description: "whole login: first login HTTP request sent -> SUBACK of sos/events/<seg>"},
		{Name: MQTTPing, Kind: KindLatency, Unit: "duration",
			Description: "keep-alive: PINGREQ written -> PINGRESP read (the link's round trip as the app sees it; one per keep-alive of an idle connection)"},
	}
	coreMetricsTail = []Metric{
		{Name: ScheduleLag, Kind: KindLatency, Unit: "duration",
			Description: "open-model arrival: intended start -> actual start (how far the simulator fell behind)"},
		{Name: UsersOnline, Kind: KindGauge, Unit: "users",
			Description: "users connected and subscribed, sampled every second"},
		{Name: MQTTDisconnects, Kind: KindCounter, Unit: "disconnects",
			Description: "connections lost without the user asking (not ramp-down)"},
		{Name: ArrivalsDropped, Kind: KindCounter, Unit: "arrivals",
			Description: "open-model arrivals (telemetry rate, SOS, contacts, devices) not started: no user online, no idle user, or more than 1s late"},
		{Name: ArrivalsScheduled, Kind: KindCounter, Unit: "arrivals",
			Description: "open-model arrivals due from the end of the run's first login attempt to the end of the run; = arrivals.started + arrivals.dropped"},
		{Name: ArrivalsStarted, Kind: KindCounter, Unit: "arrivals",
			Description: "open-model arrivals handed to an online user"},
		{Name: UsersNeverOnline, Kind: KindCounter, Unit: "users",
			Description: "users started during the run that never came online (every login attempt failed or was unfinished)"},
		churnMetric(UsersLeftClean, KindCounter, "users", "churn: users that logged out (MQTT DISCONNECT, then close)"),
		churnMetric(UsersLeftKilled, KindCounter, "users", "churn: users whose app was killed (connection closed without DISCONNECT)"),
		churnMetric(UsersLeftVanished, KindCounter, "users", "churn: users that lost coverage (socket left open and silent, no FIN)"),
		churnMetric(UsersLeftRoamed, KindCounter, "users", "churn: Wi-Fi/4G handovers (old socket left silent, reconnect with the same client id at once)"),
		churnMetric(UsersReturned, KindCounter, "users", "churn: users online again after leaving (clean, killed, vanished)"),
		churnMetric(MQTTGhostReaped, KindLatency, "duration", "churn: a vanished user's socket gone silent -> the broker closed it (1.5 x keep-alive after the last packet it got, on a conforming broker)"),
		churnMetric(MQTTGhostUnreaped, KindCounter, "sockets", "churn: vanished users' sockets still open 3 x keep-alive after going silent, closed by the simulator (a broker that holds dead phones)"),
		churnMetric(MQTTGhostTakenOver, KindCounter, "sockets", "churn: vanished users' sockets closed by the broker after their user's new CONNECT, or with DISCONNECT 0x8E: the return took the session over before a reap"),
		churnMetric(MQTTRoamTakenOver, KindCounter, "sockets", "churn: roams whose old socket the broker closed after the reconnect's CONNECT, or with DISCONNECT 0x8E: the session was taken over"),
		churnMetric(MQTTRoamDisconnect8E, KindCounter, "sockets", "churn: of mqtt.roam.taken_over, the old sockets that got DISCONNECT 0x8E (session taken over, MQTT 5) before the close"),
		churnMetric(MQTTRoamClosed, KindCounter, "sockets", "churn: roams whose old socket the broker closed before the reconnect's CONNECT (a keep-alive expiry)"),
		churnMetric(MQTTRoamSilent, KindCounter, "sockets", "churn: roams whose old socket the broker left open 3 x keep-alive (closed by the simulator)"),
	}
)

// Metrics is the catalogue of every metric a run records; thresholds may
// name only these. Latencies of open-model operations (telemetry with a
// rate, SOS, contacts, devices) start at the operation's intended time, so
// a late start counts against the operation (coordinated omission). Treat
// the slice as read-only.
var Metrics = catalogue()

// catalogue lists the core metrics and each behaviour's metrics (in
// behaviourTable order); a behaviour's metric without needs of its own
// needs that behaviour.
func catalogue() []Metric {
	out := slices.Clone(coreMetricsHead)
	for _, row := range behaviourTable {
		for _, m := range row.metrics {
			if m.needs == nil {
				m.needs = []need{{"behaviours." + row.name, row.on}}
			}
			out = append(out, m)
		}
	}
	return append(out, coreMetricsTail...)
}

// LookupMetric returns the catalogue entry of name. A per-address
// metric (MQTTConnectAt) is found for any address, and a per-profile one
// (MetricAtProfile) of a latency metric for any profile name, and a
// per-origin one (MetricAtOrigin) of an SOS clock: it is the entry of its
// base metric under its own name; whether the address or profile is one
// of the scenario's is for Validate to say.
func LookupMetric(name string) (Metric, bool) {
	if _, ok := EventOfMetric(name); ok {
		return eventRecoveryMetric(name), true
	}
	if base, profile, ok := MetricProfile(name); ok {
		m, found := LookupMetric(base)
		if !found || m.Kind != KindLatency || strings.Contains(base, addressSep) {
			return Metric{}, false
		}
		if IsOrigin(profile) {
			if !HasOriginTwin(base) {
				return Metric{}, false
			}
			m.Name, m.Description = name, m.Description+", of the SOS raised from the "+profile+" only"
			return m, true
		}
		m.Name, m.Description = name, m.Description+", of the users on network profile "+profile+" only"
		return m, true
	}
	base, addr, perAddress := strings.Cut(name, addressSep)
	for _, m := range Metrics {
		if m.Name == base && (!perAddress || addr != "" && m.Name == MQTTConnect) {
			if perAddress {
				m.Name, m.Description = name, m.Description+", to "+addr+" only"
			}
			return m, true
		}
	}
	return Metric{}, false
}

// addressSep separates a metric from the address it is restricted to.
const addressSep = "@"

// MQTTConnectAt names the connect metric of one broker address (host:port,
// the SDK's default port filled in) when target.mqtt lists several:
// "mqtt.connect@10.0.0.7:1883". It measures what mqtt.connect does, for
// the users of that address only; mqtt.connect stays the total.
// Thresholds may name it. With one broker address it is not recorded.
func MQTTConnectAt(hostport string) string { return MQTTConnect + addressSep + hostport }

// MetricAddress returns the address of a per-address metric name
// (MQTTConnectAt), and false for any other name.
func MetricAddress(name string) (string, bool) {
	if _, _, ok := MetricProfile(name); ok {
		return "", false
	}
	_, addr, ok := strings.Cut(name, addressSep)
	return addr, ok
}

// metricNames lists the catalogue's names, for suggestions.
func metricNames() []string {
	names := make([]string, len(Metrics))
	for i, m := range Metrics {
		names[i] = m.Name
	}
	return names
}
