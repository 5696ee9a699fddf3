package faults

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/eixamsim/eixamsim/contract"
)

// Set is the faults in force at one time. The zero value injects nothing.
// Latency and errors apply to the SDK endpoints only (contract.EndpointNames).
type Set struct {
	// HTTPLatency is added before every SDK HTTP response (also before
	// 401 and injected 503 answers).
	HTTPLatency Latency
	// EndpointLatency overrides HTTPLatency for the named endpoints (keys
	// are contract endpoint names such as "sos_cancel"); nil = none.
	EndpointLatency map[string]Latency
	// ErrorRate maps an endpoint name, or "*" for every endpoint without
	// its own entry, to the fraction (0..1) of its requests answered with
	// 503 {"error":"injected fault"} instead of being served; nil = none.
	ErrorRate map[string]float64
	// EventDelay is added before every publish on sos/events/<seg>, >= 0.
	// Events of one user keep their order.
	EventDelay time.Duration
	// AlertDelay models a lagging ingest pipeline: an sos/alerts publish
	// is validated and acknowledged (PUBACK) at once, but its incident is
	// opened (or the open one updated) only this long after, 0..
	// MaxAlertDelay. Alerts of one user keep their order; POST /v1/sdk/sos
	// is not delayed, so a client's HTTP create can overtake its alert.
	AlertDelay time.Duration
	// EventDropRate is the fraction (0..1) of lifecycle events that are
	// never published (the state change still happens).
	EventDropRate float64
	// DuplicateIncidents makes the backend not idempotent: an SOS (an
	// sos/alerts publish or POST /v1/sdk/sos) of a user with an incident
	// open opens a second one, which replaces the first, instead of
	// returning it. For tests of clients that count duplicate incidents.
	DuplicateIncidents bool
}

// Validate reports every invalid field of f: unknown latency kinds or
// negative durations, unknown endpoint names, rates outside 0..1.
func (f Set) Validate() error {
	var errs []error
	if err := f.HTTPLatency.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("HTTPLatency: %w", err))
	}
	for _, name := range slices.Sorted(maps.Keys(f.EndpointLatency)) {
		if !contract.IsEndpoint(name) {
			errs = append(errs, fmt.Errorf("EndpointLatency: unknown endpoint %q (known: %s)", name, strings.Join(contract.EndpointNames(), ", ")))
		}
		if err := f.EndpointLatency[name].Validate(); err != nil {
			errs = append(errs, fmt.Errorf("EndpointLatency[%s]: %w", name, err))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(f.ErrorRate)) {
		if name != "*" && !contract.IsEndpoint(name) {
			errs = append(errs, fmt.Errorf("ErrorRate: unknown endpoint %q (known: *, %s)", name, strings.Join(contract.EndpointNames(), ", ")))
		}
		if rate := f.ErrorRate[name]; !(rate >= 0 && rate <= 1) {
			errs = append(errs, fmt.Errorf("ErrorRate[%s] = %v: want a fraction in 0..1", name, rate))
		}
	}
	if f.EventDelay < 0 {
		errs = append(errs, errors.New("EventDelay must not be negative"))
	}
	if f.AlertDelay < 0 || f.AlertDelay > MaxAlertDelay {
		errs = append(errs, fmt.Errorf("AlertDelay %v: want 0..%v", f.AlertDelay, MaxAlertDelay))
	}
	if !(f.EventDropRate >= 0 && f.EventDropRate <= 1) {
		errs = append(errs, fmt.Errorf("EventDropRate = %v: want a fraction in 0..1", f.EventDropRate))
	}
	return errors.Join(errs...)
}

// MaxAlertDelay bounds Set.AlertDelay: alerts waiting for it are held in
// memory, and an ingest lag longer than a minute is an outage, not a lag.
const MaxAlertDelay = time.Minute

// Clone returns f with its own copies of the maps.
func (f Set) Clone() Set {
	f.EndpointLatency = maps.Clone(f.EndpointLatency)
	f.ErrorRate = maps.Clone(f.ErrorRate)
	return f
}

// IsZero reports whether f injects nothing and sets nothing.
func (f Set) IsZero() bool {
	return f.HTTPLatency == (Latency{}) && len(f.EndpointLatency) == 0 && len(f.ErrorRate) == 0 &&
		f.EventDelay == 0 && f.AlertDelay == 0 && f.EventDropRate == 0 && !f.DuplicateIncidents
}

// LatencyFor draws the added latency of one request to endpoint.
func (f *Set) LatencyFor(endpoint string) time.Duration {
	if l, ok := f.EndpointLatency[endpoint]; ok {
		return l.Sample()
	}
	return f.HTTPLatency.Sample()
}

// InjectError reports whether this request to endpoint gets an injected
// error, drawn with the endpoint's ErrorRate (or the "*" entry).
func (f *Set) InjectError(endpoint string) bool {
	rate, ok := f.ErrorRate[endpoint]
	if !ok {
		rate = f.ErrorRate["*"]
	}
	return rate > 0 && rand.Float64() < rate
}

// DropEvent reports whether this lifecycle event is dropped, drawn with
// EventDropRate.
func (f *Set) DropEvent() bool {
	return f.EventDropRate > 0 && rand.Float64() < f.EventDropRate
}

// Keys of the text form of a Set (ParseSet); they are the names of the
// `eixamsim serve` flags.
const (
	keyHTTPLatency     = "http-latency"
	keyEndpointLatency = "endpoint-latency"
	keyErrorRate       = "error-rate"
	keyEventDelay      = "event-delay"
	keyAlertDelay      = "alert-delay"
	keyEventDrop       = "event-drop"
	keyDuplicates      = "duplicate-incidents"
)

// setNone is the text form of the zero Set.
const setNone = "none"

// ParseSet reads the text form of a Set: settings separated by ';', each
// KEY=VALUE with the key and value of the `eixamsim serve` flag of the
// same name:
//
//	http-latency=SPEC             Set.HTTPLatency (SPEC as in ParseLatency)
//	endpoint-latency=NAME=SPEC    Set.EndpointLatency[NAME] (repeatable)
//	error-rate=NAME=FRACTION      Set.ErrorRate[NAME], NAME an endpoint or * (repeatable)
//	event-delay=DURATION          Set.EventDelay
//	alert-delay=DURATION          Set.AlertDelay
//	event-drop=FRACTION           Set.EventDropRate
//	duplicate-incidents=BOOL      Set.DuplicateIncidents (true or false)
//
// e.g. "error-rate=*=0.2;http-latency=lognormal:40ms,0.5". "" and "none"
// are the zero Set (no fault). Settings not given are zero: the result
// describes all the faults, not a change to the current ones. The result
// is validated (Set.Validate).
func ParseSet(spec string) (Set, error) {
	var f Set
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == setNone {
		return f, nil
	}
	for _, setting := range strings.Split(spec, ";") {
		setting = strings.TrimSpace(setting)
		if setting == "" {
			continue
		}
		key, value, ok := strings.Cut(setting, "=")
		if !ok {
			return Set{}, fmt.Errorf("faults %q: setting %q: want KEY=VALUE", spec, setting)
		}
		if err := f.set(key, value); err != nil {
			return Set{}, fmt.Errorf("faults %q: %s: %w", spec, key, err)
		}
	}
	if err := f.Validate(); err != nil {
		return Set{}, fmt.Errorf("faults %q: %w", spec, err)
	}
	return f, nil
}

// set applies one KEY=VALUE setting of ParseSet.
func (f *Set) set(key, value string) error {
	var err error
	switch key {
	case keyHTTPLatency:
		f.HTTPLatency, err = ParseLatency(value)
	case keyEndpointLatency:
		name, spec, ok := strings.Cut(value, "=")
		if !ok {
			return fmt.Errorf("%q: want NAME=SPEC, e.g. sos_cancel=uniform:10ms-80ms", value)
		}
		l, err := ParseLatency(spec)
		if err != nil {
			return err
		}
		if f.EndpointLatency == nil {
			f.EndpointLatency = map[string]Latency{}
		}
		f.EndpointLatency[name] = l
	case keyErrorRate:
		name, val, ok := strings.Cut(value, "=")
		rate, perr := strconv.ParseFloat(val, 64)
		if !ok || perr != nil {
			return fmt.Errorf("%q: want NAME=FRACTION, e.g. sos_cancel=0.05", value)
		}
		if f.ErrorRate == nil {
			f.ErrorRate = map[string]float64{}
		}
		f.ErrorRate[name] = rate
	case keyEventDelay:
		f.EventDelay, err = time.ParseDuration(value)
	case keyAlertDelay:
		f.AlertDelay, err = time.ParseDuration(value)
	case keyEventDrop:
		f.EventDropRate, err = strconv.ParseFloat(value, 64)
	case keyDuplicates:
		f.DuplicateIncidents, err = strconv.ParseBool(value)
	default:
		return fmt.Errorf("unknown setting (want %s, %s, %s, %s, %s, %s or %s)",
			keyHTTPLatency, keyEndpointLatency, keyErrorRate, keyEventDelay, keyAlertDelay, keyEventDrop, keyDuplicates)
	}
	return err
}

// String returns the ParseSet form of f, settings in a fixed order; "none"
// for the zero Set.
func (f Set) String() string {
	var parts []string
	if f.HTTPLatency != (Latency{}) {
		parts = append(parts, keyHTTPLatency+"="+f.HTTPLatency.String())
	}
	for _, name := range slices.Sorted(maps.Keys(f.EndpointLatency)) {
		parts = append(parts, keyEndpointLatency+"="+name+"="+f.EndpointLatency[name].String())
	}
	for _, name := range slices.Sorted(maps.Keys(f.ErrorRate)) {
		parts = append(parts, keyErrorRate+"="+name+"="+strconv.FormatFloat(f.ErrorRate[name], 'g', -1, 64))
	}
	if f.EventDelay != 0 {
		parts = append(parts, keyEventDelay+"="+f.EventDelay.String())
	}
	if f.AlertDelay != 0 {
		parts = append(parts, keyAlertDelay+"="+f.AlertDelay.String())
	}
	if f.EventDropRate != 0 {
		parts = append(parts, keyEventDrop+"="+strconv.FormatFloat(f.EventDropRate, 'g', -1, 64))
	}
	if f.DuplicateIncidents {
		parts = append(parts, keyDuplicates+"=true")
	}
	if len(parts) == 0 {
		return setNone
	}
	return strings.Join(parts, ";")
}
