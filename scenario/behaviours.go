package scenario

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/eixamsim/eixamsim/contract"

	"gopkg.in/yaml.v3"
)

// This file is the scenario side of every behaviour (what online users
// do): its config type, the table of its keys (parse, default, check,
// echo), the metrics it produces, whether it has an open-model rate, how
// that rate is sliced across shards and which metrics carry its load,
// tied together by one row in behaviourTable. Validation, stages[].rates,
// shard slicing (shard.go), capacity's load metric (LoadMetrics) and the
// report's throughput families (ThroughputFamily) read the row;
// TestBehaviourRowsComplete fails on a row that lacks what they need.

// BehaviourTelemetry is the telemetry behaviour's name: the per-user
// (every) behaviour a users search offers its throughput on.
const BehaviourTelemetry = "telemetry"

// BehaviourSOS is the SOS behaviour's name: the open-model alerts an
// incident's users do not raise while away (fleet events).
const BehaviourSOS = "sos"

// Behaviours is what online users do. A nil block is off.
type Behaviours struct {
	// Login is the HTTP sequence each user runs before MQTT CONNECT, in
	// order: "me" (GET /v1/sdk/me) then optionally "sos_rehydrate"
	// (GET /v1/sdk/sos), as the SDK does (contract §6.1). Default
	// DefaultLogin(); never nil in a loaded scenario.
	Login     []string
	Telemetry *Telemetry
	SOS       *SOS
	// Protection is the Android Protection Mode share (contract §2.6,
	// §6.6); nil is off. It acts on device SOS of behaviours.sos.
	Protection *Protection
	Contacts   *HTTPMix // operations list, create, update, delete
	Devices    *HTTPMix // operations list, upsert, delete
}

// behaviour is one row of behaviourTable: everything the scenario knows
// about a behaviour.
type behaviour struct {
	name  string      // its key under behaviours:
	doc   string      // one line, for docs and the JSON Schema
	shape string      // shapeMapping, or shapeList for login
	block schemaBlock // the block's key table, for the JSON Schema; nil for login

	// read decodes the behaviour's value at path p into b; n is nil when
	// the key is not written (the behaviour's default: off, or the login
	// default).
	read func(d *decoder, n *yaml.Node, p string, b *Behaviours)
	// check reports problems of the resolved behaviour at path p.
	check func(v *validator, p string, b Behaviours)
	// echo returns the JSON value, and false to leave the key out (off).
	echo func(b Behaviours) (any, bool)
	// on reports whether the behaviour runs in b.
	on func(b Behaviours) bool
	// rate returns the open-model rate of the behaviour, or why a stage
	// cannot set one (off, or closed model); nil when the behaviour has no
	// open-model rate.
	rate func(b Behaviours) (r Rate, off string)
	// slice divides the open-model rate in b by n, for one shard of n: it
	// copies the block first, so the whole scenario's is left unchanged.
	// Required with rate: without it every shard would send the full rate.
	slice func(b *Behaviours, n float64)
	// load names the metrics whose successful operations are the
	// behaviour's arrivals, on which capacity counts achieved throughput.
	// Required with rate; each is one of metrics.
	load []string
	// metrics are the catalogue entries of the metrics it records. An
	// entry without needs gets this behaviour being on as its need.
	metrics []Metric
}

// behaviourTable is every behaviour, in the order of the file format.
var behaviourTable = []behaviour{
	{
		name: "login", shape: shapeList,
		doc:   "the HTTP login sequence before MQTT CONNECT: [me] or [me, sos_rehydrate] (default)",
		read:  readLogin,
		check: func(v *validator, p string, b Behaviours) { v.checkLogin(p, b.Login) },
		echo:  func(b Behaviours) (any, bool) { return b.Login, true },
		on:    func(Behaviours) bool { return true },
		metrics: []Metric{
			{Name: HTTPMe, Kind: KindLatency, Unit: "duration", family: FamilyHTTP,
				needs:       []need{{"behaviours.login.me", loginHas(LoginMe)}},
				Description: "GET /v1/sdk/me: request start -> response body read"},
			{Name: HTTPSOSGet, Kind: KindLatency, Unit: "duration", family: FamilyHTTP,
				needs:       []need{{"behaviours.login.sos_rehydrate", loginHas(LoginSOSRehydrate)}, {"behaviours.sos", sosOn}},
				Description: "GET /v1/sdk/sos (login rehydration and SOS flow): request start -> response body read"},
		},
	},
	{
		name: BehaviourTelemetry, shape: shapeMapping, block: telemetryKeys,
		doc: "positions published on tel/<seg>/data, per user (every) or fleet-wide (rate)",
		read: func(d *decoder, n *yaml.Node, p string, b *Behaviours) {
			b.Telemetry = readBlock(d, n, p, telemetryKeys)
		},
		check: func(v *validator, p string, b Behaviours) { checkTelemetry(v, p, b.Telemetry) },
		echo:  func(b Behaviours) (any, bool) { return b.Telemetry, b.Telemetry != nil },
		on:    func(b Behaviours) bool { return b.Telemetry != nil },
		rate: func(b Behaviours) (Rate, string) {
			switch {
			case b.Telemetry == nil:
				return Rate{}, "behaviours.telemetry is off"
			case b.Telemetry.Rate.IsZero():
				return Rate{}, "behaviours.telemetry uses `every` (closed model), not `rate`"
			}
			return b.Telemetry.Rate, ""
		},
		slice: func(b *Behaviours, n float64) {
			b.Telemetry = divided(b.Telemetry, func(t *Telemetry) *Rate { return &t.Rate }, n)
		},
		load: []string{TelemetryPuback},
		metrics: []Metric{
			{Name: TelemetryPuback, Kind: KindLatency, Unit: "duration", family: FamilyTelemetry,
				Description: "telemetry publish (intended time) on tel/<seg>/data -> PUBACK (at QoS 0: publish written)"},
			{Name: TelemetryUnsent, Kind: KindCounter, Unit: "messages",
				Description: "telemetry messages due while the user was not connected, so not published"},
			{Name: TelemetryRelayPuback, Kind: KindLatency, Unit: "duration",
				needs:       []need{{"behaviours.telemetry.relay", relayOn}},
				Description: "relayed peer position (telemetry.relay, intended time) on the user's tel/<seg>/data -> PUBACK (at QoS 0: publish written)"},
			{Name: TelemetryRelayUnsent, Kind: KindCounter, Unit: "messages",
				needs:       []need{{"behaviours.telemetry.relay", relayOn}},
				Description: "relayed peer positions due while the user was not connected, so not published"},
		},
	},
	{
		name: "sos", shape: shapeMapping, block: sosKeys,
		doc:   "the open-model SOS flow: alert, lifecycle events, hold, cancel or resolve",
		read:  func(d *decoder, n *yaml.Node, p string, b *Behaviours) { b.SOS = readBlock(d, n, p, sosKeys) },
		check: func(v *validator, p string, b Behaviours) { checkBlock(v, p, b.SOS, sosKeys) },
		echo:  func(b Behaviours) (any, bool) { return b.SOS, b.SOS != nil },
		on:    sosOn,
		rate: func(b Behaviours) (Rate, string) {
			if b.SOS == nil {
				return Rate{}, "behaviours.sos is off"
			}
			return b.SOS.Rate, ""
		},
		slice: func(b *Behaviours, n float64) { b.SOS = divided(b.SOS, func(s *SOS) *Rate { return &s.Rate }, n) },
		load:  []string{SOSPuback},
		metrics: []Metric{
			{Name: SOSPuback, Kind: KindLatency, Unit: "duration", family: FamilySOS,
				Description: "alert publish (intended time) on sos/alerts -> PUBACK"},
			{Name: SOSDelivered, Kind: KindLatency, Unit: "duration",
				Description: "alert publish (intended time) -> first lifecycle event for that user on sos/events/<seg>"},
			{Name: SOSAcknowledged, Kind: KindLatency, Unit: "duration",
				Description: "alert publish (intended time) -> acknowledged event for that incident"},
			{Name: SOSVisible, Kind: KindLatency, Unit: "duration",
				needs:       []need{{"behaviours.sos.visible_poll", func(b Behaviours) bool { return b.SOS != nil && b.SOS.VisiblePoll > 0 }}},
				Description: "alert publish (intended time) -> first GET /v1/sdk/sos answer that shows the incident (only with sos.visible_poll)"},
			{Name: SOSCancelled, Kind: KindLatency, Unit: "duration",
				Description: "POST /v1/sdk/sos/cancel sent -> cancelled state seen (event or response, whichever first)"},
			{Name: SOSResolved, Kind: KindLatency, Unit: "duration",
				Description: "POST /v1/sdk/sos/resolve sent -> resolved state seen (event or response, whichever first)"},
			{Name: HTTPSOSCancel, Kind: KindLatency, Unit: "duration", family: FamilyHTTP,
				Description: "POST /v1/sdk/sos/cancel: request start -> response body read"},
			{Name: HTTPSOSResolve, Kind: KindLatency, Unit: "duration", family: FamilyHTTP,
				Description: "POST /v1/sdk/sos/resolve: request start -> response body read"},
		},
	},
	{
		name: "protection", shape: shapeMapping, block: protectionKeys,
		doc: "Android Protection Mode (contract §6.6): the share of users whose native service also creates device SOS over POST /v1/sdk/sos",
		read: func(d *decoder, n *yaml.Node, p string, b *Behaviours) {
			b.Protection = readBlock(d, n, p, protectionKeys)
		},
		check: func(v *validator, p string, b Behaviours) {
			checkBlock(v, p, b.Protection, protectionKeys)
			if b.Protection != nil && (b.SOS == nil || b.SOS.Origin == OriginApp) {
				v.errorf(p, "acts on device SOS only: needs behaviours.sos with origin: device or mixed")
			}
		},
		echo: func(b Behaviours) (any, bool) { return b.Protection, b.Protection != nil },
		on:   func(b Behaviours) bool { return b.Protection != nil && b.SOS != nil },
		metrics: []Metric{
			{Name: HTTPSOSCreate, Kind: KindLatency, Unit: "duration",
				Description: "POST /v1/sdk/sos (Protection Mode): request start -> response body read"},
			{Name: SOSHTTPCreated, Kind: KindLatency, Unit: "duration",
				Description: "POST /v1/sdk/sos sent -> the incident it answered seen active (its event or the answer, whichever first)"},
			{Name: SOSDuplicateIncidents, Kind: KindCounter, Unit: "SOS",
				Description: "device SOS for which the backend showed more than one incident id (events and HTTP answers)"},
		},
	},
	httpMixRow("contacts", "an open-model stream of contacts operations (list, create, update, delete)",
		contactsKeys, func(b *Behaviours) **HTTPMix { return &b.Contacts }, []Metric{
			{Name: HTTPContactsList, Kind: KindLatency, Unit: "duration",
				Description: "GET /v1/sdk/contacts: intended start -> response body read"},
			{Name: HTTPContactsCreate, Kind: KindLatency, Unit: "duration",
				Description: "POST /v1/sdk/contacts: intended start -> response body read"},
			{Name: HTTPContactsUpdate, Kind: KindLatency, Unit: "duration",
				Description: "PUT /v1/sdk/contacts/{id}: intended start -> response body read"},
			{Name: HTTPContactsDelete, Kind: KindLatency, Unit: "duration",
				Description: "DELETE /v1/sdk/contacts/{id}: intended start -> response read"},
		}),
	httpMixRow("devices", "an open-model stream of devices operations (list, upsert, delete)",
		devicesKeys, func(b *Behaviours) **HTTPMix { return &b.Devices }, []Metric{
			{Name: HTTPDevicesList, Kind: KindLatency, Unit: "duration",
				Description: "GET /v1/sdk/devices: intended start -> response body read"},
			{Name: HTTPDevicesUpsert, Kind: KindLatency, Unit: "duration",
				Description: "POST /v1/sdk/devices: intended start -> response body read"},
			{Name: HTTPDevicesDelete, Kind: KindLatency, Unit: "duration",
				Description: "DELETE /v1/sdk/devices/{id}: intended start -> response read"},
		}),
}

// httpMixRow is the row of an open-model stream of HTTP operations
// (contacts, devices): field picks its block in Behaviours. Every
// operation is one arrival, so all its metrics carry the load, and all
// are HTTP requests.
func httpMixRow(name, doc string, ks keys[HTTPMix], field func(*Behaviours) **HTTPMix, metrics []Metric) behaviour {
	get := func(b Behaviours) *HTTPMix { return *field(&b) }
	var names []string
	for i := range metrics {
		metrics[i].family = FamilyHTTP
		names = append(names, metrics[i].Name)
	}
	return behaviour{
		name: name, shape: shapeMapping, block: ks, doc: doc,
		read:  func(d *decoder, n *yaml.Node, p string, b *Behaviours) { *field(b) = readBlock(d, n, p, ks) },
		check: func(v *validator, p string, b Behaviours) { checkBlock(v, p, get(b), ks) },
		echo:  func(b Behaviours) (any, bool) { return get(b), get(b) != nil },
		on:    func(b Behaviours) bool { return get(b) != nil },
		rate: func(b Behaviours) (Rate, string) {
			if get(b) == nil {
				return Rate{}, "behaviours." + name + " is off"
			}
			return get(b).Rate, ""
		},
		slice: func(b *Behaviours, n float64) {
			*field(b) = divided(*field(b), func(m *HTTPMix) *Rate { return &m.Rate }, n)
		},
		load:    names,
		metrics: metrics,
	}
}

// divided returns a copy of block t with the rate that rate points to
// divided by n; nil when t is nil (the behaviour is off).
func divided[T any](t *T, rate func(*T) *Rate, n float64) *T {
	if t == nil {
		return nil
	}
	c := *t
	r := rate(&c)
	*r = Rate{PerSecond: r.PerSecond / n}
	return &c
}

// httpPrefix starts the latency metric of each SDK HTTP endpoint; the
// rest of the name is the endpoint's contract name (HTTPMetric).
const httpPrefix = "http."

// HTTPMetric is the latency metric of the contract endpoint named
// endpoint (one of contract.EndpointNames).
func HTTPMetric(endpoint string) string { return httpPrefix + endpoint }

// Metric names of the behaviours (the core metrics are in metrics.go). The
// HTTP ones are built from the contract's endpoint names.
const (
	TelemetryPuback = "telemetry.puback"
	TelemetryUnsent = "telemetry.unsent"
	// TelemetryRelayPuback and TelemetryRelayUnsent are telemetry.puback
	// and telemetry.unsent of the positions a tag relays (telemetry.relay).
	TelemetryRelayPuback = "telemetry.relay_puback"
	TelemetryRelayUnsent = "telemetry.relay_unsent"
	SOSPuback            = "sos.puback"
	SOSDelivered         = "sos.delivered"
	SOSAcknowledged      = "sos.acknowledged"
	SOSVisible           = "sos.visible"
	SOSCancelled         = "sos.cancelled"
	SOSResolved          = "sos.resolved"
	// SOSHTTPCreated and SOSDuplicateIncidents are Protection Mode's
	// (behaviours.protection).
	SOSHTTPCreated        = "sos.http_created"
	SOSDuplicateIncidents = "sos.duplicate_incidents"
	HTTPSOSCreate         = httpPrefix + contract.EndpointSOSCreate
	HTTPMe                = httpPrefix + contract.EndpointMe
	HTTPSOSGet            = httpPrefix + contract.EndpointSOSGet
	HTTPSOSCancel         = httpPrefix + contract.EndpointSOSCancel
	HTTPSOSResolve        = httpPrefix + contract.EndpointSOSResolve
	HTTPContactsList      = httpPrefix + contract.EndpointContactsList
	HTTPContactsCreate    = httpPrefix + contract.EndpointContactsCreate
	HTTPContactsUpdate    = httpPrefix + contract.EndpointContactsUpdate
	HTTPContactsDelete    = httpPrefix + contract.EndpointContactsDelete
	HTTPDevicesList       = httpPrefix + contract.EndpointDevicesList
	HTTPDevicesUpsert     = httpPrefix + contract.EndpointDevicesUpsert
	HTTPDevicesDelete     = httpPrefix + contract.EndpointDevicesDelete
)

func sosOn(b Behaviours) bool { return b.SOS != nil }

func relayOn(b Behaviours) bool { return b.Telemetry != nil && b.Telemetry.Relay != nil }

// readBlock reads a behaviour block with its key table: nil when the key
// is not written.
func readBlock[T any](d *decoder, n *yaml.Node, p string, ks keys[T]) *T {
	if n == nil {
		return nil
	}
	t := new(T)
	ks.read(d, n, p, t)
	return t
}

// checkBlock runs the key checks of a block that is on.
func checkBlock[T any](v *validator, p string, t *T, ks keys[T]) {
	if t != nil {
		ks.check(v, p, t)
	}
}

// lookupBehaviour returns the row of the named behaviour.
func lookupBehaviour(name string) (behaviour, bool) {
	for _, row := range behaviourTable {
		if row.name == name {
			return row, true
		}
	}
	return behaviour{}, false
}

// BehaviourNames lists the behaviours (their keys under behaviours:), in
// table order; the fleet's behaviour table has a row for each.
func BehaviourNames() []string { return behaviourNames() }

// behaviourNames lists the behaviours, for the behaviours block's keys.
func behaviourNames() []string {
	out := make([]string, len(behaviourTable))
	for i, row := range behaviourTable {
		out[i] = row.name
	}
	return out
}

// RateBehaviours are the behaviours whose open-model rate a stage can set.
var RateBehaviours = rateBehaviours()

func rateBehaviours() []string {
	var out []string
	for _, row := range behaviourTable {
		if row.rate != nil {
			out = append(out, row.name)
		}
	}
	return out
}

// LoadMetrics names the metrics whose successful operations are the
// arrivals of the open-model behaviour name (nil for one without a rate):
// what capacity counts achieved throughput on.
func LoadMetrics(name string) []string {
	row, ok := lookupBehaviour(name)
	if !ok || row.rate == nil {
		return nil
	}
	return slices.Clone(row.load)
}

// sliceBehaviours divides every open-model rate of b by n, by the rows.
func sliceBehaviours(b Behaviours, n float64) Behaviours {
	for _, row := range behaviourTable {
		if row.slice != nil {
			row.slice(&b, n)
		}
	}
	return b
}

// RateOf returns the base (behaviour-level) rate of an open-model
// behaviour, and whether that behaviour is on with a rate.
func (b Behaviours) RateOf(name string) (Rate, bool) {
	r, off := b.rateOf(name)
	return r, off == ""
}

// rateOf is RateOf with the reason a stage cannot set the rate.
func (b Behaviours) rateOf(name string) (Rate, string) {
	row, ok := lookupBehaviour(name)
	if !ok || row.rate == nil {
		return Rate{}, "behaviours." + name + " has no rate"
	}
	return row.rate(b)
}

// rates lists the configured open-model rates, for messages.
func (b Behaviours) rates() []string {
	var out []string
	for _, row := range behaviourTable {
		if row.rate == nil {
			continue
		}
		if r, off := row.rate(b); off == "" && !r.IsZero() {
			out = append(out, "behaviours."+row.name+".rate is "+r.String())
		}
	}
	return out
}

// readBehaviours decodes the behaviours block (n nil: not written).
func (d *decoder) readBehaviours(n *yaml.Node, path string) Behaviours {
	var b Behaviours
	written := map[string]bool{}
	if n != nil {
		d.fields(n, path, behaviourNames(), func(name string, v *yaml.Node, p string) {
			row, _ := lookupBehaviour(name)
			written[name] = true
			row.read(d, v, p, &b)
		})
	}
	for _, row := range behaviourTable {
		if !written[row.name] {
			row.read(d, nil, join(path, row.name), &b)
		}
	}
	return b
}

func (v *validator) checkBehaviours() {
	for _, row := range behaviourTable {
		row.check(v, "behaviours."+row.name, v.s.Behaviours)
	}
	v.checkOpenLoad()
}

// MarshalJSON implements json.Marshaler; blocks that are off are left out.
func (b Behaviours) MarshalJSON() ([]byte, error) {
	ks := make(keys[Behaviours], len(behaviourTable))
	for i, row := range behaviourTable {
		ks[i] = key[Behaviours]{name: row.name, echo: func(b *Behaviours) (any, bool) { return row.echo(*b) }}
	}
	return ks.marshal(&b)
}

// Login.

// Login steps.
const (
	LoginMe           = "me"
	LoginSOSRehydrate = "sos_rehydrate"
)

// DefaultLogin is behaviours.login when omitted: the SDK's first-login
// sequence (contract §6.1).
func DefaultLogin() []string { return []string{LoginMe, LoginSOSRehydrate} }

func readLogin(d *decoder, n *yaml.Node, p string, b *Behaviours) {
	if n == nil {
		b.Login = DefaultLogin()
		return
	}
	b.Login, _, _ = d.stringList(n, p, false)
	if b.Login == nil {
		b.Login = []string{}
	}
}

func loginHas(step string) func(Behaviours) bool {
	return func(b Behaviours) bool { return slices.Contains(b.Login, step) }
}

func (v *validator) checkLogin(p string, login []string) {
	steps := []string{LoginMe, LoginSOSRehydrate}
	if len(login) == 0 {
		v.errorf(p, "must start with me: the SDK needs GET /v1/sdk/me for the canonical user id before MQTT (contract §1.4)")
		return
	}
	seen := map[string]bool{}
	reported := v.errs.Count()
	for i, step := range login {
		ip := index(p, i)
		switch {
		case !slices.Contains(steps, step):
			v.errorf(ip, "%s", unknownMsg("login step", step, true, steps))
		case seen[step]:
			v.errorf(ip, "%s is listed twice", step)
		case step == LoginSOSRehydrate && !seen[LoginMe]:
			v.errorf(ip, "sos_rehydrate needs me before it, as in the SDK (contract §6.1): write [me, sos_rehydrate]")
		}
		seen[step] = true
	}
	if !seen[LoginMe] && v.ok(p) && v.errs.Count() == reported {
		v.errorf(p, "must include me: the SDK needs GET /v1/sdk/me for the canonical user id before MQTT (contract §1.4)")
	}
}

// Open-model arrivals, shared by the behaviours with a rate.

// Arrival processes of open-model behaviours.
const (
	ArrivalsConstant = "constant" // evenly spaced, every Rate.Interval()
	ArrivalsPoisson  = "poisson"  // exponential gaps with mean Rate.Interval()
)

// checkRate checks an open-model rate; required says it must be set.
func (v *validator) checkRate(path string, r Rate, required bool) {
	switch {
	case r.IsZero() && required:
		v.errorf(path, "required: arrivals per time across the fleet, e.g. 60/min")
	case r.PerSecond < 0 || math.IsNaN(r.PerSecond) || math.IsInf(r.PerSecond, 0):
		v.errorf(path, "must be > 0")
	}
}

func (v *validator) checkArrivals(path, a string) {
	if a != ArrivalsConstant && a != ArrivalsPoisson {
		v.errorf(path, "%s", unknownMsg("arrival process", a, true, []string{ArrivalsConstant, ArrivalsPoisson}))
	}
}

// Telemetry.

// Defaults of behaviours.telemetry.
const (
	DefaultTelemetryQoS    = 1    // the SDK's
	DefaultTelemetryRadius = 15.0 // km
)

// defaultAround is telemetry.position.around when omitted (Barcelona, the
// contract's example position).
var defaultAround = [2]float64{41.3851, 2.1734}

// Telemetry publishes positions on tel/<seg>/data. Exactly one of Every
// (closed model: each online user publishes every Every, +-Jitter) and Rate
// (open model: Rate publishes per second across the fleet) is set. A
// loaded scenario has every field resolved: fleet applies no defaults.
type Telemetry struct {
	Every    time.Duration // per-user period, > 0; 0 when Rate is set
	Rate     Rate          // fleet-wide rate; zero when Every is set
	Arrivals string        // with Rate: ArrivalsConstant (default) or ArrivalsPoisson; "" with Every
	Jitter   float64       // with Every: each period is multiplied by a random factor in [1-Jitter, 1+Jitter]; fraction 0..1, default 0
	QoS      byte          // 0, 1 (the SDK's, default DefaultTelemetryQoS) or 2
	DeviceID bool          // add a deviceId (a tag hardware id) to each message; default false
	Battery  bool          // include battery levels that drain over the run; default false
	// Around is the centre of the positions: latitude, longitude in
	// degrees; default 41.3851, 2.1734 (Barcelona). The zero value is the
	// point 0, 0, a valid centre.
	Around [2]float64
	// RadiusKm is how far positions random-walk from Around, 0..20000 km;
	// default DefaultTelemetryRadius. 0 keeps every user exactly at Around.
	RadiusKm float64
	// Relay, when set, makes each user's paired tag forward its peer
	// nodes' positions (contract §6.3); nil: no relayed telemetry.
	Relay *Relay
}

// Relay is behaviours.telemetry.relay: the BLE tag of each user forwards
// the TEL of Peers other nodes, each at most once per Every, published on
// the phone user's own tel/<seg>/data with the tag's deviceId (contract
// §6.3, §5). A loaded scenario has every field resolved.
type Relay struct {
	// PeersMin..PeersMax is the number of peer nodes each user's tag
	// relays, drawn uniformly per user; both 0..MaxRelayPeers, equal for a
	// fixed count.
	PeersMin, PeersMax int
	// Every is how often each peer's position is relayed, at least
	// MinRelayEvery (the tag's own limit); default MinRelayEvery.
	Every time.Duration
}

// MaxRelayPeers is the most peer nodes a tag relays, and MinRelayEvery
// the tag's limit of one relayed TEL per peer per period (contract §5).
const (
	MaxRelayPeers = 8
	MinRelayEvery = 60 * time.Second
)

var relayKeys = keys[Relay]{
	{name: "peers", shape: "integer | integer..integer", doc: "peer nodes each tag relays, 0..8: a count, or a range lo..hi drawn per user (required)",
		decode: func(d *decoder, n *yaml.Node, p string, r *Relay) bool {
			if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "..") {
				lo, hi, _ := strings.Cut(n.Value, "..")
				lv, hv := *n, *n
				lv.Value, hv.Value = strings.TrimSpace(lo), strings.TrimSpace(hi)
				l, h := d.integer(&lv, p), d.integer(&hv, p)
				if l == nil || h == nil {
					return false
				}
				r.PeersMin, r.PeersMax = *l, *h
				return true
			}
			if c := d.integer(n, p); c != nil {
				r.PeersMin, r.PeersMax = *c, *c
				return true
			}
			return false
		},
		def: func(r *Relay) { r.PeersMin, r.PeersMax = -1, -1 }, // not written: reported by check
		check: func(v *validator, p string, r *Relay) {
			if !v.ok(p) {
				return
			}
			switch {
			case r.PeersMin == -1 && r.PeersMax == -1 && !v.written(p):
				v.errorf(p, "is required: the number of peer nodes each tag relays, 0..%d (e.g. 3, or 0..3)", MaxRelayPeers)
			case r.PeersMin < 0 || r.PeersMax > MaxRelayPeers || r.PeersMax < 0 || r.PeersMin > MaxRelayPeers:
				v.errorf(p, "must be 0..%d (a tag relays at most %d peer nodes), got %s", MaxRelayPeers, MaxRelayPeers, r.peers())
			case r.PeersMin > r.PeersMax:
				v.errorf(p, "a range lo..hi needs lo <= hi, got %s", r.peers())
			}
		},
		echo: always(func(r *Relay) any { return r.peers() })},
	{name: "every", shape: shapeDuration, doc: "each peer's position is relayed once per this long; at least 60s, the tag's limit (default 60s)",
		decode: readDuration(func(r *Relay, d time.Duration) { r.Every = d }),
		def:    func(r *Relay) { r.Every = MinRelayEvery },
		check: func(v *validator, p string, r *Relay) {
			if r.Every < MinRelayEvery {
				v.errorf(p, "must be at least 60s: the SDK's tag relays each peer at most once per 60 s (contract §5), got %s", dur(r.Every))
			}
		},
		echo: always(func(r *Relay) any { return dur(r.Every) })},
}

// peers is the peers key as written: a count, or lo..hi.
func (r Relay) peers() string {
	if r.PeersMin == r.PeersMax {
		return strconv.Itoa(r.PeersMin)
	}
	return strconv.Itoa(r.PeersMin) + ".." + strconv.Itoa(r.PeersMax)
}

// MarshalJSON implements json.Marshaler.
func (r Relay) MarshalJSON() ([]byte, error) { return relayKeys.marshal(&r) }

var telemetryKeys = keys[Telemetry]{
	{name: "every", shape: shapeDuration, doc: "closed model: each online user publishes every this long",
		decode: readDuration(func(t *Telemetry, d time.Duration) { t.Every = d }),
		echo: func(t *Telemetry) (any, bool) {
			return dur(t.Every), t.Every != 0 || t.Rate.IsZero()
		}},
	{name: "rate", shape: shapeRate, doc: "open model: publishes per time across the fleet",
		decode: readRate(func(t *Telemetry, r Rate) { t.Rate = r }),
		echo:   func(t *Telemetry) (any, bool) { return t.Rate, !t.Rate.IsZero() }},
	{name: "arrivals", shape: "constant | poisson", doc: "with rate: how publishes are spread (default constant)",
		decode: readStr(func(t *Telemetry, s string) { t.Arrivals = s }),
		def: func(t *Telemetry) {
			if !t.Rate.IsZero() {
				t.Arrivals = ArrivalsConstant
			}
		},
		echo: func(t *Telemetry) (any, bool) { return t.Arrivals, t.Arrivals != "" }},
	{name: "jitter", shape: shapePercent, doc: "with every: each period varies by up to this fraction (default 0%)",
		decode: readPercent(func(t *Telemetry, f float64) { t.Jitter = f }),
		check: func(v *validator, p string, t *Telemetry) {
			if !(t.Jitter >= 0 && t.Jitter <= 1) {
				v.errorf(p, "must be between 0%% and 100%%, got %s", formatPercent(t.Jitter))
			}
		},
		echo: func(t *Telemetry) (any, bool) {
			return formatPercent(t.Jitter), t.Every != 0 || t.Rate.IsZero()
		}},
	{name: "qos", shape: "0 | 1 | 2", doc: "MQTT QoS of the publishes (default 1, the SDK's)",
		decode: func(d *decoder, n *yaml.Node, p string, t *Telemetry) bool {
			q := d.integer(n, p)
			if q == nil {
				return false
			}
			if *q < 0 || *q > 2 {
				d.errAt(n, p, "must be 0, 1 (the SDK's) or 2, got %d", *q)
				return false
			}
			t.QoS = byte(*q)
			return true
		},
		def: func(t *Telemetry) { t.QoS = DefaultTelemetryQoS },
		check: func(v *validator, p string, t *Telemetry) {
			if t.QoS > 2 {
				v.errorf(p, "must be 0, 1 (the SDK's) or 2, got %d", t.QoS)
			}
		},
		echo: always(func(t *Telemetry) any { return t.QoS })},
	{name: "device_id", shape: shapeBool, doc: "add a deviceId to each message (default false)",
		decode: readBool(func(t *Telemetry, b bool) { t.DeviceID = b }),
		echo:   always(func(t *Telemetry) any { return t.DeviceID })},
	{name: "battery", shape: shapeBool, doc: "include battery levels that drain over the run (default false)",
		decode: readBool(func(t *Telemetry, b bool) { t.Battery = b }),
		echo:   always(func(t *Telemetry) any { return t.Battery })},
	{name: "position", shape: shapeMapping, block: positionKeys, doc: "where the positions are: around and radius_km",
		decode: func(d *decoder, n *yaml.Node, p string, t *Telemetry) bool {
			positionKeys.read(d, n, p, t)
			return true
		},
		def:   func(t *Telemetry) { positionKeys.read(nil, nil, "", t) },
		check: func(v *validator, p string, t *Telemetry) { positionKeys.check(v, p, t) },
		echo: always(func(t *Telemetry) any {
			return struct {
				Around   [2]float64 `json:"around"`
				RadiusKm float64    `json:"radius_km"`
			}{t.Around, t.RadiusKm}
		})},
	{name: "relay", shape: shapeMapping, block: relayKeys, doc: "the paired tag relays peer nodes' positions on the user's topic (contract §6.3): peers and every (default off)",
		decode: func(d *decoder, n *yaml.Node, p string, t *Telemetry) bool {
			t.Relay = readBlock(d, n, p, relayKeys)
			return t.Relay != nil
		},
		check: func(v *validator, p string, t *Telemetry) { checkBlock(v, p, t.Relay, relayKeys) },
		echo:  func(t *Telemetry) (any, bool) { return t.Relay, t.Relay != nil }},
}

// positionKeys are the keys of behaviours.telemetry.position; they fill
// Telemetry.Around and RadiusKm.
var positionKeys = keys[Telemetry]{
	{name: "around", shape: "[latitude, longitude]", doc: "centre of the positions in degrees (default Barcelona, 41.3851, 2.1734)",
		decode: func(d *decoder, n *yaml.Node, p string, t *Telemetry) bool {
			var around [2]float64
			ok := d.items(n, p, "[latitude, longitude]", func(i int, v *yaml.Node, p string) {
				if f := d.number(v, p); f != nil && i < 2 {
					around[i] = *f
				}
			})
			if ok && len(n.Content) != 2 {
				d.errAt(n, p, "must be [latitude, longitude], got %d numbers", len(n.Content))
				return false
			}
			if !ok || d.src.isBad(p) {
				return false
			}
			t.Around = around
			return true
		},
		def: func(t *Telemetry) { t.Around = defaultAround },
		check: func(v *validator, p string, t *Telemetry) {
			if lat := t.Around[0]; !(lat >= -90 && lat <= 90) {
				v.errorf(index(p, 0), "latitude must be -90..90, got %g", lat)
			}
			if lon := t.Around[1]; !(lon >= -180 && lon <= 180) {
				v.errorf(index(p, 1), "longitude must be -180..180, got %g", lon)
			}
		}},
	{name: "radius_km", shape: shapeNumber, doc: "positions random-walk within this many km of around (default 15; 0 keeps users at around)",
		decode: readNumber(func(t *Telemetry, f float64) { t.RadiusKm = f }),
		def:    func(t *Telemetry) { t.RadiusKm = DefaultTelemetryRadius },
		check: func(v *validator, p string, t *Telemetry) {
			if r := t.RadiusKm; !(r >= 0 && r <= 20000) {
				v.errorf(p, "must be 0..20000, got %g", r)
			}
		}},
}

// MarshalJSON implements json.Marshaler. Only the keys of the chosen form
// (every or rate) are written.
func (t Telemetry) MarshalJSON() ([]byte, error) { return telemetryKeys.marshal(&t) }

// checkTelemetry checks the telemetry block: exactly one of every and
// rate, and the keys that apply to only one of them.
func checkTelemetry(v *validator, tp string, t *Telemetry) {
	if t == nil {
		return
	}
	hasEvery, hasRate := t.Every != 0 || v.written(tp+".every"), !t.Rate.IsZero()
	switch {
	case hasEvery && hasRate:
		v.errorf(tp, "give either every (each user, closed model) or rate (fleet-wide, open model), not both")
	case !hasEvery && !hasRate:
		v.errorf(tp, "needs every (each user publishes every N, e.g. 5s) or rate (fleet-wide, e.g. 100/s)")
	case hasEvery && t.Every <= 0:
		v.errorf(tp+".every", "must be > 0, got %s", t.Every)
	case hasEvery && t.Every < MinTelemetryEvery:
		v.errorf(tp+".every", "must be at least %s (each online user publishes this often; shorter periods only flood this process), got %s", MinTelemetryEvery, t.Every)
	}
	v.checkRate(tp+".rate", t.Rate, false)
	if hasRate {
		v.checkArrivals(tp+".arrivals", t.Arrivals)
		if t.Jitter != 0 {
			v.errorf(tp+".jitter", "only applies with every (a rate's arrivals are already spread)")
		}
	} else if t.Arrivals != "" {
		v.errorf(tp+".arrivals", "only applies with rate")
	}
	telemetryKeys.check(v, tp, t)
}

// SOS.

// DefaultSOSHold is behaviours.sos.hold when omitted.
const DefaultSOSHold = 20 * time.Second

// SOS end actions.
const (
	EndCancel  = "cancel"  // POST /v1/sdk/sos/cancel (resolve instead if already acknowledged, as the SDK must)
	EndResolve = "resolve" // POST /v1/sdk/sos/resolve
	EndMixed   = "mixed"   // half cancel, half resolve
)

// SOS origins: who raises the alert (contract §6.4).
const (
	OriginApp    = "app"    // the app's SOS button: PUBLISH sos/alerts from the phone
	OriginDevice = "device" // the paired tag's SOS, relayed by the SDK (§6.4)
	OriginMixed  = "mixed"  // a share DeviceShare of the alerts from the device, the rest from the app
)

// DefaultDeviceShare is behaviours.sos.device_share when origin is mixed
// and the share is omitted.
const DefaultDeviceShare = 0.5

// SOS is the open-model SOS flow: at Rate across the fleet an idle online
// user publishes sos/alerts, learns the incident with GET /v1/sdk/sos,
// waits for lifecycle events, holds the incident for Hold, then ends it.
// A loaded scenario has every field resolved.
type SOS struct {
	Rate     Rate          // alerts per second across the fleet, > 0
	Arrivals string        // ArrivalsConstant (default) or ArrivalsPoisson
	Hold     time.Duration // time from the alert to the end action, >= 0; default DefaultSOSHold
	// HoldMax, when > 0, makes the hold uniform in [Hold, HoldMax] per SOS
	// (written `hold: 1s..6s`), so some end before the operator
	// acknowledges and some after. 0: every hold is Hold.
	HoldMax time.Duration
	End     string // EndCancel (default), EndResolve or EndMixed
	// VisiblePoll, when > 0 (at least MinVisiblePoll), makes each SOS poll
	// GET /v1/sdk/sos this often until the incident shows, for
	// sos.visible. 0 (default): no poll, as the SDK makes no HTTP call
	// after a trigger (contract §4.4).
	VisiblePoll time.Duration
	// Origin is OriginApp (default), OriginDevice or OriginMixed.
	Origin string
	// DeviceShare is the fraction of alerts that are device-originated
	// when Origin is OriginMixed (default DefaultDeviceShare); 0 otherwise.
	DeviceShare float64
}

// MinVisiblePoll is the shortest sos.visible_poll: at most five GETs a
// second per SOS in progress.
const MinVisiblePoll = 200 * time.Millisecond

var sosKeys = keys[SOS]{
	{name: "rate", shape: shapeRate, doc: "alerts per time across the fleet (required)",
		decode: readRate(func(s *SOS, r Rate) { s.Rate = r }),
		check:  func(v *validator, p string, s *SOS) { v.checkRate(p, s.Rate, true) },
		echo:   always(func(s *SOS) any { return s.Rate })},
	{name: "arrivals", shape: "constant | poisson", doc: "how alerts are spread (default constant)",
		decode: readStr(func(s *SOS, a string) { s.Arrivals = a }),
		def:    func(s *SOS) { s.Arrivals = ArrivalsConstant },
		check:  func(v *validator, p string, s *SOS) { v.checkArrivals(p, s.Arrivals) },
		echo:   always(func(s *SOS) any { return s.Arrivals })},
	{name: "hold", shape: "duration | duration..duration", doc: "time from the alert to the end action, or a range lo..hi (default 20s)",
		decode: func(d *decoder, n *yaml.Node, p string, s *SOS) bool {
			if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "..") {
				lo, hi, _ := strings.Cut(n.Value, "..")
				lv, hv := *n, *n
				lv.Value, hv.Value = strings.TrimSpace(lo), strings.TrimSpace(hi)
				l, h := d.duration(&lv, p), d.duration(&hv, p)
				if h != nil {
					s.HoldMax = *h
				}
				if l != nil {
					s.Hold = *l
				}
				return l != nil
			}
			if h := d.duration(n, p); h != nil {
				s.Hold = *h
				return true
			}
			return false
		},
		def: func(s *SOS) { s.Hold = DefaultSOSHold },
		check: func(v *validator, p string, s *SOS) {
			if s.HoldMax != 0 && s.HoldMax <= s.Hold {
				v.errorf(p, "a range lo..hi needs lo < hi, got %s..%s", s.Hold, s.HoldMax)
			}
			if s.Hold < 0 {
				v.errorf(p, "must not be negative, got %s", s.Hold)
			}
		},
		echo: always(func(s *SOS) any {
			if s.HoldMax > 0 {
				return dur(s.Hold) + ".." + dur(s.HoldMax)
			}
			return dur(s.Hold)
		})},
	{name: "end", shape: "cancel | resolve | mixed", doc: "how each SOS ends (default cancel)",
		decode: readStr(func(s *SOS, e string) { s.End = e }),
		def:    func(s *SOS) { s.End = EndCancel },
		check: func(v *validator, p string, s *SOS) {
			ends := []string{EndCancel, EndResolve, EndMixed}
			if !slices.Contains(ends, s.End) {
				v.errorf(p, "%s", unknownMsg("end action", s.End, true, ends))
			}
		},
		echo: always(func(s *SOS) any { return s.End })},
	{name: "visible_poll", shape: shapeDuration, doc: "opt-in: poll GET /v1/sdk/sos this often after each alert until the incident shows (sos.visible); the SDK makes no such call (default off)",
		decode: readDuration(func(s *SOS, d time.Duration) { s.VisiblePoll = d }),
		check: func(v *validator, p string, s *SOS) {
			if s.VisiblePoll != 0 && s.VisiblePoll < MinVisiblePoll {
				v.errorf(p, "must be at least %s (or left out: no poll), got %s", MinVisiblePoll, s.VisiblePoll)
			}
		},
		echo: func(s *SOS) (any, bool) { return dur(s.VisiblePoll), s.VisiblePoll != 0 }},
	{name: "origin", shape: "app | device | mixed", doc: "who raises each alert: the app, the paired device (contract §6.4), or a mix by device_share (default app)",
		decode: readStr(func(s *SOS, o string) { s.Origin = o }),
		def:    func(s *SOS) { s.Origin = OriginApp },
		check: func(v *validator, p string, s *SOS) {
			origins := []string{OriginApp, OriginDevice, OriginMixed}
			if !slices.Contains(origins, s.Origin) {
				v.errorf(p, "%s", unknownMsg("origin", s.Origin, true, origins))
			}
		},
		echo: always(func(s *SOS) any { return s.Origin })},
	{name: "device_share", shape: shapePercent, doc: "with origin: mixed, the share of alerts raised by the device (default 50%)",
		decode: readPercent(func(s *SOS, f float64) { s.DeviceShare = f }),
		def: func(s *SOS) { // after origin's default, by table order
			if s.Origin == OriginMixed {
				s.DeviceShare = DefaultDeviceShare
			}
		},
		check: func(v *validator, p string, s *SOS) {
			if s.Origin != OriginMixed {
				if s.DeviceShare != 0 {
					v.errorf(p, "only applies with origin: mixed (origin is %s)", s.Origin)
				}
				return
			}
			if s.DeviceShare <= 0 || s.DeviceShare >= 1 {
				v.errorf(p, "must be between 0%% and 100%% (exclusive; use origin: app or device for all-or-nothing), got %s", formatPercent(s.DeviceShare))
			}
		},
		echo: func(s *SOS) (any, bool) { return formatPercent(s.DeviceShare), s.Origin == OriginMixed }},
}

// DeviceOriginated reports whether the alert drawn with u in [0, 1)
// comes from the paired device rather than the app.
func (s SOS) DeviceOriginated(u float64) bool {
	switch s.Origin {
	case OriginDevice:
		return true
	case OriginMixed:
		return u < s.DeviceShare
	}
	return false
}

// MarshalJSON implements json.Marshaler.
func (s SOS) MarshalJSON() ([]byte, error) { return sosKeys.marshal(&s) }

// Contacts and devices.

// HTTPMix is an open-model stream of HTTP operations: at Rate across the
// fleet an online user runs one operation, picked with probability
// weight/sum(weights) from Mix. A loaded scenario has every field resolved.
type HTTPMix struct {
	Rate     Rate           // operations per second across the fleet, > 0
	Arrivals string         // ArrivalsConstant (default) or ArrivalsPoisson
	Mix      map[string]int // operation -> weight >= 0; every operation of the block is present; sum > 0
}

// Operations of the contacts and devices blocks.
var (
	contactsOps = []string{"list", "create", "update", "delete"}
	devicesOps  = []string{"list", "upsert", "delete"}
)

// DefaultContactsMix and DefaultDevicesMix are the mix weights when a
// contacts or devices block has no mix.
func DefaultContactsMix() map[string]int {
	return map[string]int{"list": 70, "create": 20, "update": 5, "delete": 5}
}

// DefaultDevicesMix: see DefaultContactsMix.
func DefaultDevicesMix() map[string]int {
	return map[string]int{"list": 50, "upsert": 40, "delete": 10}
}

var (
	contactsKeys = mixKeys(contactsOps, DefaultContactsMix)
	devicesKeys  = mixKeys(devicesOps, DefaultDevicesMix)
)

// mixKeys is the key table of an HTTPMix block with the given operations
// and default weights. A mix in the file replaces the default mix
// entirely; operations it leaves out get weight 0.
func mixKeys(ops []string, defaultMix func() map[string]int) keys[HTTPMix] {
	return keys[HTTPMix]{
		{name: "rate", shape: shapeRate, doc: "operations per time across the fleet (required)",
			decode: readRate(func(m *HTTPMix, r Rate) { m.Rate = r }),
			check:  func(v *validator, p string, m *HTTPMix) { v.checkRate(p, m.Rate, true) },
			echo:   always(func(m *HTTPMix) any { return m.Rate })},
		{name: "arrivals", shape: "constant | poisson", doc: "how operations are spread (default constant)",
			decode: readStr(func(m *HTTPMix, a string) { m.Arrivals = a }),
			def:    func(m *HTTPMix) { m.Arrivals = ArrivalsConstant },
			check:  func(v *validator, p string, m *HTTPMix) { v.checkArrivals(p, m.Arrivals) },
			echo:   always(func(m *HTTPMix) any { return m.Arrivals })},
		{name: "mix", shape: "mapping of operation to weight", block: mapOf{func() []string { return ops }, shapeInteger}, doc: "weight of each operation: " + strings.Join(ops, ", "),
			decode: func(d *decoder, n *yaml.Node, p string, m *HTTPMix) bool {
				m.Mix = map[string]int{}
				d.pairs(n, p, "a mapping of operation to weight", func(key string, _, v *yaml.Node, p string) {
					if w := d.integer(v, p); w != nil {
						m.Mix[key] = *w
					}
				})
				for _, op := range ops {
					if _, ok := m.Mix[op]; !ok {
						m.Mix[op] = 0
					}
				}
				return true
			},
			def: func(m *HTTPMix) { m.Mix = defaultMix() },
			check: func(v *validator, p string, m *HTTPMix) {
				sum := 0
				for _, op := range slices.Sorted(maps.Keys(m.Mix)) {
					w := m.Mix[op]
					switch {
					case !slices.Contains(ops, op):
						v.keyErrorf(p+"."+op, "%s", unknownMsg("operation", op, false, ops))
					case w < 0:
						v.errorf(p+"."+op, "weight must be >= 0, got %d", w)
					default:
						sum += w
					}
				}
				if sum == 0 && v.ok(p) {
					v.errorf(p, "weights must add up to more than 0 (operations: %s)", strings.Join(ops, ", "))
				}
			},
			echo: always(func(m *HTTPMix) any { return m.Mix })},
	}
}

// MarshalJSON implements json.Marshaler. The echo of the mix keys does not
// depend on the operations, so any mix table writes it.
func (m HTTPMix) MarshalJSON() ([]byte, error) { return contactsKeys.marshal(&m) }

// Protection is behaviours.protection: Android Protection Mode.
type Protection struct {
	// Share is the fraction of users (0 < Share <= 1) running the native
	// Protection Mode service.
	Share float64
}

// ProtectionCountdown is the native service's device-SOS countdown
// (sosActivationDelayMs, contract §2.6): a device SOS not cancelled by
// then is created over HTTP. ProtectionBackoff is its retry delay.
const (
	ProtectionCountdown = 20 * time.Second
	ProtectionBackoff   = 10 * time.Second
)

var protectionKeys = keys[Protection]{
	{name: "share", shape: shapePercent, doc: "share of users running Protection Mode, 0% < x <= 100% (required)",
		decode: readPercent(func(p *Protection, f float64) { p.Share = f }),
		check: func(v *validator, path string, p *Protection) {
			if !(p.Share > 0 && p.Share <= 1) {
				v.errorf(path, "must be above 0%% and at most 100%%, got %s", formatPercent(p.Share))
			}
		},
		echo: always(func(p *Protection) any { return formatPercent(p.Share) })},
}

// MarshalJSON echoes the resolved block.
func (p Protection) MarshalJSON() ([]byte, error) { return protectionKeys.marshal(&p) }

// Protected reports whether the user drawn with u in [0, 1) runs
// Protection Mode.
func (p *Protection) Protected(u float64) bool { return p != nil && u < p.Share }
