package scenario

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

// Metric names: the only place their strings are written (a test keeps
// every other package free of them). Descriptions are in Metrics.
const (
	MQTTConnect        = "mqtt.connect"
	MQTTSubscribe      = "mqtt.subscribe"
	MQTTReconnect      = "mqtt.reconnect"
	UserLogin          = "user.login"
	TelemetryPuback    = "telemetry.puback"
	SOSPuback          = "sos.puback"
	SOSDelivered       = "sos.delivered"
	SOSAcknowledged    = "sos.acknowledged"
	SOSVisible         = "sos.visible"
	SOSCancelled       = "sos.cancelled"
	SOSResolved        = "sos.resolved"
	HTTPMe             = "http.me"
	HTTPSOSGet         = "http.sos_get"
	HTTPSOSCancel      = "http.sos_cancel"
	HTTPSOSResolve     = "http.sos_resolve"
	HTTPContactsList   = "http.contacts_list"
	HTTPContactsCreate = "http.contacts_create"
	HTTPContactsUpdate = "http.contacts_update"
	HTTPContactsDelete = "http.contacts_delete"
	HTTPDevicesList    = "http.devices_list"
	HTTPDevicesUpsert  = "http.devices_upsert"
	HTTPDevicesDelete  = "http.devices_delete"
	ScheduleLag        = "schedule.lag"
	UsersOnline        = "users.online"
	MQTTDisconnects    = "mqtt.disconnects"
	TelemetryUnsent    = "telemetry.unsent"
	ArrivalsDropped    = "arrivals.dropped"
)

// Metric describes one metric of a run: its stable dotted name, kind,
// unit and what it measures (for latencies: where the clock starts and
// stops).
type Metric struct {
	Name        string     `json:"name"`
	Kind        MetricKind `json:"kind"`
	Unit        string     `json:"unit"` // "duration" for latencies, else what is counted
	Description string     `json:"description"`

	needs []string // behaviours of which at least one must be on for samples to exist; nil = always
}

// Metrics is the catalogue of every metric a run records; thresholds may
// name only these. Latencies of open-model operations (telemetry with a
// rate, SOS, contacts, devices) start at the operation's intended time, so
// a late start counts against the operation (coordinated omission). Treat
// the slice as read-only.
var Metrics = []Metric{
	{Name: MQTTConnect, Kind: KindLatency, Unit: "duration",
		Description: "MQTT connect: dial start (TCP, TLS, WebSocket) -> CONNACK with success"},
	{Name: MQTTSubscribe, Kind: KindLatency, Unit: "duration",
		Description: "SUBSCRIBE sos/events/<seg> sent -> SUBACK"},
	{Name: MQTTReconnect, Kind: KindLatency, Unit: "duration",
		Description: "connection lost -> connected and subscribed again, including the reconnect policy's waits"},
	{Name: UserLogin, Kind: KindLatency, Unit: "duration",
		Description: "whole login: first login HTTP request sent -> SUBACK of sos/events/<seg>"},
	{Name: TelemetryPuback, Kind: KindLatency, Unit: "duration", needs: []string{"telemetry"},
		Description: "telemetry publish (intended time) on tel/<seg>/data -> PUBACK (at QoS 0: publish written)"},
	{Name: SOSPuback, Kind: KindLatency, Unit: "duration", needs: []string{"sos"},
		Description: "alert publish (intended time) on sos/alerts -> PUBACK"},
	{Name: SOSDelivered, Kind: KindLatency, Unit: "duration", needs: []string{"sos"},
		Description: "alert publish (intended time) -> first lifecycle event for that user on sos/events/<seg>"},
	{Name: SOSAcknowledged, Kind: KindLatency, Unit: "duration", needs: []string{"sos"},
		Description: "alert publish (intended time) -> acknowledged event for that incident"},
	{Name: SOSVisible, Kind: KindLatency, Unit: "duration", needs: []string{"sos"},
		Description: "alert publish (intended time) -> first GET /v1/sdk/sos answer that shows the incident"},
	{Name: SOSCancelled, Kind: KindLatency, Unit: "duration", needs: []string{"sos"},
		Description: "POST /v1/sdk/sos/cancel sent -> cancelled state seen (event or response, whichever first)"},
	{Name: SOSResolved, Kind: KindLatency, Unit: "duration", needs: []string{"sos"},
		Description: "POST /v1/sdk/sos/resolve sent -> resolved state seen (event or response, whichever first)"},
	{Name: HTTPMe, Kind: KindLatency, Unit: "duration", needs: []string{"login.me"},
		Description: "GET /v1/sdk/me: request start -> response body read"},
	{Name: HTTPSOSGet, Kind: KindLatency, Unit: "duration", needs: []string{"login.sos_rehydrate", "sos"},
		Description: "GET /v1/sdk/sos (login rehydration and SOS flow): request start -> response body read"},
	{Name: HTTPSOSCancel, Kind: KindLatency, Unit: "duration", needs: []string{"sos"},
		Description: "POST /v1/sdk/sos/cancel: request start -> response body read"},
	{Name: HTTPSOSResolve, Kind: KindLatency, Unit: "duration", needs: []string{"sos"},
		Description: "POST /v1/sdk/sos/resolve: request start -> response body read"},
	{Name: HTTPContactsList, Kind: KindLatency, Unit: "duration", needs: []string{"contacts"},
		Description: "GET /v1/sdk/contacts: intended start -> response body read"},
	{Name: HTTPContactsCreate, Kind: KindLatency, Unit: "duration", needs: []string{"contacts"},
		Description: "POST /v1/sdk/contacts: intended start -> response body read"},
	{Name: HTTPContactsUpdate, Kind: KindLatency, Unit: "duration", needs: []string{"contacts"},
		Description: "PUT /v1/sdk/contacts/{id}: intended start -> response body read"},
	{Name: HTTPContactsDelete, Kind: KindLatency, Unit: "duration", needs: []string{"contacts"},
		Description: "DELETE /v1/sdk/contacts/{id}: intended start -> response read"},
	{Name: HTTPDevicesList, Kind: KindLatency, Unit: "duration", needs: []string{"devices"},
		Description: "GET /v1/sdk/devices: intended start -> response body read"},
	{Name: HTTPDevicesUpsert, Kind: KindLatency, Unit: "duration", needs: []string{"devices"},
		Description: "POST /v1/sdk/devices: intended start -> response body read"},
	{Name: HTTPDevicesDelete, Kind: KindLatency, Unit: "duration", needs: []string{"devices"},
		Description: "DELETE /v1/sdk/devices/{id}: intended start -> response read"},
	{Name: ScheduleLag, Kind: KindLatency, Unit: "duration",
		Description: "open-model arrival: intended start -> actual start (how far the simulator fell behind)"},
	{Name: UsersOnline, Kind: KindGauge, Unit: "users",
		Description: "users connected and subscribed, sampled every second"},
	{Name: MQTTDisconnects, Kind: KindCounter, Unit: "disconnects",
		Description: "connections lost without the user asking (not ramp-down)"},
	{Name: TelemetryUnsent, Kind: KindCounter, Unit: "messages", needs: []string{"telemetry"},
		Description: "telemetry messages due while the user was not connected, so not published"},
	{Name: ArrivalsDropped, Kind: KindCounter, Unit: "arrivals",
		Description: "open-model arrivals (telemetry rate, SOS, contacts, devices) that found no idle online user"},
}

// LookupMetric returns the catalogue entry of name.
func LookupMetric(name string) (Metric, bool) {
	for _, m := range Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// metricNames lists the catalogue's names, for suggestions.
func metricNames() []string {
	names := make([]string, len(Metrics))
	for i, m := range Metrics {
		names[i] = m.Name
	}
	return names
}
