package scenario

import (
	"maps"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/faults"
)

// Defaults of target.embedded.
const (
	DefaultTransport = "tcp"
	DefaultAckDelay  = 1 * time.Second
)

// Never is the AckDelay that disables operator acknowledgements.
const Never time.Duration = -1

// Embedded configures the in-process reference backend and its fault knobs.
// The zero value is a backend without faults that acknowledges at once
// over TCP; Load fills in the documented defaults.
type Embedded struct {
	Transport       string             // "tcp" (default) or "ws": the listener the users connect to
	AckDelay        time.Duration      // operator acknowledgement delay after an alert (default 1s); Never (< 0) disables acknowledgements
	CanonicalPrefix string             // prefix the backend puts before user ids in GET /v1/sdk/me's external_user_id; default ""
	HTTPLatency     Latency            // added to every HTTP response; the zero value adds none
	ErrorRate       map[string]float64 // endpoint name (contract.EndpointNames, or "*") -> fraction 0..1 of requests answered with an error; empty by default, never nil when loaded
	EventDelay      time.Duration      // added before each lifecycle event is published, >= 0
	EventDrop       float64            // fraction 0..1 of lifecycle events not published
	// Faults are the scheduled faults as written, "ACTION@AT:ARG" as the
	// reference backend's serve --fault reads them (docs/refbackend.md):
	// restart_mqtt@20s:5s, kick@10s:25%, stall_http@15s:3s, set_faults@….
	// AT counts from the start of the run. They are kept for the JSON echo;
	// Schedule holds them parsed.
	Faults []string
	// Schedule is Faults parsed (faults.ParseScheduledFault), in the same
	// order; Load fills it, so the runner never parses the texts again.
	// nil when there are none.
	Schedule []faults.ScheduledFault
	// Capacity is the backend's capacity model (service rates with bounded
	// queues, faults.ParseCapacity), parsed by Load from
	// "telemetry=2000/s,http=500/s[,queue=1s]"; the zero value (the
	// default) models nothing.
	Capacity faults.Capacity
}

// embeddedKeys are the keys of target.embedded.
var embeddedKeys = keys[Embedded]{
	{name: "transport", shape: "tcp | ws", doc: "the listener the users connect to (default tcp)",
		decode: readStr(func(e *Embedded, s string) { e.Transport = s }),
		def:    func(e *Embedded) { e.Transport = DefaultTransport },
		check: func(v *validator, p string, e *Embedded) {
			if e.Transport != "tcp" && e.Transport != "ws" {
				v.errorf(p, "%s", unknownMsg("transport", e.Transport, true, []string{"tcp", "ws"}))
			}
		},
		echo: always(func(e *Embedded) any { return e.Transport })},
	{name: "ack_delay", shape: `duration | "never"`, doc: "operator acknowledgement delay after an alert, or never (default 1s)",
		decode: func(d *decoder, n *yaml.Node, p string, e *Embedded) bool {
			if n.Kind == yaml.ScalarNode && n.Value == "never" {
				e.AckDelay = Never
				return true
			}
			a := parsed(d, n, p, wantDuration+` or "never"`, ParseDuration)
			if a == nil {
				return false
			}
			e.AckDelay = max(*a, Never) // any negative delay is Never
			return true
		},
		def: func(e *Embedded) { e.AckDelay = DefaultAckDelay },
		echo: always(func(e *Embedded) any {
			if e.AckDelay < 0 {
				return "never"
			}
			return dur(e.AckDelay)
		})},
	{name: "canonical_prefix", shape: shapeString, doc: "prefix of the canonical user ids GET /v1/sdk/me returns (default none)",
		decode: readStr(func(e *Embedded, s string) { e.CanonicalPrefix = s }),
		echo:   always(func(e *Embedded) any { return e.CanonicalPrefix })},
	{name: "http_latency", shape: shapeLatency, doc: "added before every HTTP response (default none)",
		decode: func(d *decoder, n *yaml.Node, p string, e *Embedded) bool {
			l := parsed(d, n, p, wantLatency, ParseLatency)
			if l != nil {
				e.HTTPLatency = *l
			}
			return l != nil
		},
		check: func(v *validator, p string, e *Embedded) {
			if err := (faults.Set{HTTPLatency: e.HTTPLatency}).Validate(); err != nil {
				v.errorf(p, "%v", err)
			}
		},
		echo: always(func(e *Embedded) any { return latencyString(e.HTTPLatency) })},
	{name: "error_rate", shape: "mapping of endpoint (or *) to percentage", block: mapOf{endpointKeys, shapePercent}, doc: "fraction of requests per endpoint answered with an injected error",
		decode: func(d *decoder, n *yaml.Node, p string, e *Embedded) bool {
			e.ErrorRate = map[string]float64{}
			d.pairs(n, p, "a mapping of endpoint name to percentage", func(key string, _, v *yaml.Node, p string) {
				if f := d.percent(v, p); f != nil {
					e.ErrorRate[key] = *f
				}
			})
			return true
		},
		def: func(e *Embedded) { e.ErrorRate = map[string]float64{} },
		check: func(v *validator, p string, e *Embedded) {
			for _, name := range slices.Sorted(maps.Keys(e.ErrorRate)) {
				ep := p + "." + name
				if name != "*" && !contract.IsEndpoint(name) {
					v.keyErrorf(ep, "%s", unknownMsg("endpoint", name, false, append(contract.EndpointNames(), "*")))
				} else if f := e.ErrorRate[name]; !(f >= 0 && f <= 1) {
					v.errorf(ep, "must be between 0%% and 100%%, got %s", formatPercent(f))
				}
			}
		},
		echo: always(func(e *Embedded) any {
			rates := make(map[string]string, len(e.ErrorRate))
			for k, f := range e.ErrorRate {
				rates[k] = formatPercent(f)
			}
			return rates
		})},
	{name: "event_delay", shape: shapeDuration, doc: "added before each lifecycle event is published (default 0s)",
		decode: readDuration(func(e *Embedded, d time.Duration) { e.EventDelay = d }),
		check: func(v *validator, p string, e *Embedded) {
			if e.EventDelay < 0 {
				v.errorf(p, "must not be negative, got %s", e.EventDelay)
			}
		},
		echo: always(func(e *Embedded) any { return dur(e.EventDelay) })},
	{name: "event_drop", shape: shapePercent, doc: "fraction of lifecycle events never published (default 0%)",
		decode: readPercent(func(e *Embedded, f float64) { e.EventDrop = f }),
		check: func(v *validator, p string, e *Embedded) {
			if !(e.EventDrop >= 0 && e.EventDrop <= 1) {
				v.errorf(p, "must be between 0%% and 100%%, got %s", formatPercent(e.EventDrop))
			}
		},
		echo: always(func(e *Embedded) any { return formatPercent(e.EventDrop) })},
	{name: "faults", shape: "list of ACTION@AT:ARG", doc: "scheduled faults, AT from the start of the run (restart_mqtt, kick, stall_http, set_faults)",
		decode: func(d *decoder, n *yaml.Node, p string, e *Embedded) bool {
			texts, nodes, _ := d.stringList(n, p, false)
			for i, text := range texts {
				f, err := faults.ParseScheduledFault(text)
				if err != nil {
					d.errAt(nodes[i], index(p, i), "%v (%s)", err, wantFault)
					continue
				}
				e.Faults = append(e.Faults, text)
				e.Schedule = append(e.Schedule, f)
			}
			return true
		},
		check: func(v *validator, p string, e *Embedded) {
			if len(e.Faults) > 0 && len(e.Faults) != len(e.Schedule) {
				v.errorf(p, "Faults has %d entries but Schedule %d: they must list the same faults", len(e.Faults), len(e.Schedule))
				return
			}
			for i, f := range e.Schedule {
				if err := f.Validate(); err != nil {
					v.errorf(index(p, i), "%v (%s)", err, wantFault)
				}
			}
		},
		echo: func(e *Embedded) (any, bool) { return e.faultTexts(), len(e.Schedule) > 0 || len(e.Faults) > 0 }},
	{name: "capacity", shape: shapeString, doc: "capacity model: service rates with bounded queues, e.g. telemetry=2000/s,http=500/s,queue=1s (default none)",
		decode: func(d *decoder, n *yaml.Node, p string, e *Embedded) bool {
			s := d.str(n, p)
			if s == nil {
				return false
			}
			c, err := faults.ParseCapacity(*s)
			if err != nil {
				d.errAt(n, p, "%v", err)
				return false
			}
			e.Capacity = c
			return true
		},
		check: func(v *validator, p string, e *Embedded) {
			if err := e.Capacity.Validate(); err != nil {
				v.errorf(p, "%s", strings.ReplaceAll(err.Error(), "\n", "; "))
			}
		},
		echo: func(e *Embedded) (any, bool) { return e.Capacity.String(), !e.Capacity.IsZero() }},
}

// wantFault is the hint of a fault that does not parse.
const wantFault = "expected ACTION@AT:ARG such as restart_mqtt@20s:5s, kick@10s:25%, stall_http@15s:3s"

// faultTexts are the scheduled faults as written, or as
// faults.ScheduledFault.String for a schedule built in code.
func (e Embedded) faultTexts() []string {
	if len(e.Faults) == len(e.Schedule) {
		return e.Faults
	}
	out := make([]string, len(e.Schedule))
	for i, f := range e.Schedule {
		out[i] = f.String()
	}
	return out
}

// MarshalJSON implements json.Marshaler.
func (e Embedded) MarshalJSON() ([]byte, error) { return embeddedKeys.marshal(&e) }

// latencyString is the ParseLatency form of l, "0s" for none.
func latencyString(l Latency) string {
	if l.Kind == LatencyNone {
		return "0s"
	}
	return l.String()
}
