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
	{Name: "mqtt.connect", Kind: KindLatency, Unit: "duration",
		Description: "MQTT connect: dial start (TCP, TLS, WebSocket) -> CONNACK with success"},
	{Name: "mqtt.subscribe", Kind: KindLatency, Unit: "duration",
		Description: "SUBSCRIBE sos/events/<seg> sent -> SUBACK"},
	{Name: "mqtt.reconnect", Kind: KindLatency, Unit: "duration",
		Description: "connection lost -> connected and subscribed again, including the reconnect policy's waits"},
	{Name: "user.login", Kind: KindLatency, Unit: "duration",
		Description: "whole login: first login HTTP request sent -> SUBACK of sos/events/<seg>"},
	{Name: "telemetry.puback", Kind: KindLatency, Unit: "duration", needs: []string{"telemetry"},
		Description: "telemetry publish (intended time) on tel/<seg>/data -> PUBACK (at QoS 0: publish written)"},
	{Name: "sos.puback", Kind: KindLatency, Unit: "duration", needs: []string{"sos"},
		Description: "alert publish (intended time) on sos/alerts -> PUBACK"},
	{Name: "sos.delivered", Kind: KindLatency, Unit: "duration", needs: []string{"sos"},
		Description: "alert publish (intended time) -> first lifecycle event for that user on sos/events/<seg>"},
	{Name: "sos.acknowledged", Kind: KindLatency, Unit: "duration", needs: []string{"sos"},
		Description: "alert publish (intended time) -> acknowledged event for that incident"},
	{Name: "sos.visible", Kind: KindLatency, Unit: "duration", needs: []string{"sos"},
		Description: "alert publish (intended time) -> first GET /v1/sdk/sos answer that shows the incident"},
	{Name: "sos.cancelled", Kind: KindLatency, Unit: "duration", needs: []string{"sos"},
		Description: "POST /v1/sdk/sos/cancel sent -> cancelled state seen (event or response, whichever first)"},
	{Name: "sos.resolved", Kind: KindLatency, Unit: "duration", needs: []string{"sos"},
		Description: "POST /v1/sdk/sos/resolve sent -> resolved state seen (event or response, whichever first)"},
	{Name: "http.me", Kind: KindLatency, Unit: "duration", needs: []string{"login.me"},
		Description: "GET /v1/sdk/me: request start -> response body read"},
	{Name: "http.sos_get", Kind: KindLatency, Unit: "duration", needs: []string{"login.sos_rehydrate", "sos"},
		Description: "GET /v1/sdk/sos (login rehydration and SOS flow): request start -> response body read"},
	{Name: "http.sos_cancel", Kind: KindLatency, Unit: "duration", needs: []string{"sos"},
		Description: "POST /v1/sdk/sos/cancel: request start -> response body read"},
	{Name: "http.sos_resolve", Kind: KindLatency, Unit: "duration", needs: []string{"sos"},
		Description: "POST /v1/sdk/sos/resolve: request start -> response body read"},
	{Name: "http.contacts_list", Kind: KindLatency, Unit: "duration", needs: []string{"contacts"},
		Description: "GET /v1/sdk/contacts: intended start -> response body read"},
	{Name: "http.contacts_create", Kind: KindLatency, Unit: "duration", needs: []string{"contacts"},
		Description: "POST /v1/sdk/contacts: intended start -> response body read"},
	{Name: "http.contacts_update", Kind: KindLatency, Unit: "duration", needs: []string{"contacts"},
		Description: "PUT /v1/sdk/contacts/{id}: intended start -> response body read"},
	{Name: "http.contacts_delete", Kind: KindLatency, Unit: "duration", needs: []string{"contacts"},
		Description: "DELETE /v1/sdk/contacts/{id}: intended start -> response read"},
	{Name: "http.devices_list", Kind: KindLatency, Unit: "duration", needs: []string{"devices"},
		Description: "GET /v1/sdk/devices: intended start -> response body read"},
	{Name: "http.devices_upsert", Kind: KindLatency, Unit: "duration", needs: []string{"devices"},
		Description: "POST /v1/sdk/devices: intended start -> response body read"},
	{Name: "http.devices_delete", Kind: KindLatency, Unit: "duration", needs: []string{"devices"},
		Description: "DELETE /v1/sdk/devices/{id}: intended start -> response read"},
	{Name: "schedule.lag", Kind: KindLatency, Unit: "duration",
		Description: "open-model arrival: intended start -> actual start (how far the simulator fell behind)"},
	{Name: "users.online", Kind: KindGauge, Unit: "users",
		Description: "users connected and subscribed, sampled every second"},
	{Name: "mqtt.disconnects", Kind: KindCounter, Unit: "disconnects",
		Description: "connections lost without the user asking (not ramp-down)"},
	{Name: "telemetry.unsent", Kind: KindCounter, Unit: "messages", needs: []string{"telemetry"},
		Description: "telemetry messages due while the user was not connected, so not published"},
	{Name: "arrivals.dropped", Kind: KindCounter, Unit: "arrivals",
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
