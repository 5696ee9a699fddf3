package refbackend

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Keys of the text form of Faults (ParseFaults); they are the names of the
// `eixamsim serve` flags.
const (
	faultKeyHTTPLatency     = "http-latency"
	faultKeyEndpointLatency = "endpoint-latency"
	faultKeyErrorRate       = "error-rate"
	faultKeyEventDelay      = "event-delay"
	faultKeyEventDrop       = "event-drop"
)

// faultsNone is the text form of the zero Faults.
const faultsNone = "none"

// ParseFaults reads the text form of Faults: settings separated by ';',
// each KEY=VALUE with the key and value of the `eixamsim serve` flag of
// the same name:
//
//	http-latency=SPEC             Faults.HTTPLatency (SPEC as in ParseLatency)
//	endpoint-latency=NAME=SPEC    Faults.EndpointLatency[NAME] (repeatable)
//	error-rate=NAME=FRACTION      Faults.ErrorRate[NAME], NAME an endpoint or * (repeatable)
//	event-delay=DURATION          Faults.EventDelay
//	event-drop=FRACTION           Faults.EventDropRate
//
// e.g. "error-rate=*=0.2;http-latency=lognormal:40ms,0.5". "" and "none"
// are the zero Faults (no fault). Settings not given are zero: the result
// describes all the faults, not a change to the current ones. The result
// is validated (Faults.Validate).
func ParseFaults(spec string) (Faults, error) {
	var f Faults
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == faultsNone {
		return f, nil
	}
	for _, setting := range strings.Split(spec, ";") {
		setting = strings.TrimSpace(setting)
		if setting == "" {
			continue
		}
		key, value, ok := strings.Cut(setting, "=")
		if !ok {
			return Faults{}, fmt.Errorf("faults %q: setting %q: want KEY=VALUE", spec, setting)
		}
		if err := f.set(key, value); err != nil {
			return Faults{}, fmt.Errorf("faults %q: %s: %w", spec, key, err)
		}
	}
	if err := f.Validate(); err != nil {
		return Faults{}, fmt.Errorf("faults %q: %w", spec, err)
	}
	return f, nil
}

// set applies one KEY=VALUE setting of ParseFaults.
func (f *Faults) set(key, value string) error {
	var err error
	switch key {
	case faultKeyHTTPLatency:
		f.HTTPLatency, err = ParseLatency(value)
	case faultKeyEndpointLatency:
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
	case faultKeyErrorRate:
		name, val, ok := strings.Cut(value, "=")
		rate, perr := strconv.ParseFloat(val, 64)
		if !ok || perr != nil {
			return fmt.Errorf("%q: want NAME=FRACTION, e.g. sos_cancel=0.05", value)
		}
		if f.ErrorRate == nil {
			f.ErrorRate = map[string]float64{}
		}
		f.ErrorRate[name] = rate
	case faultKeyEventDelay:
		f.EventDelay, err = time.ParseDuration(value)
	case faultKeyEventDrop:
		f.EventDropRate, err = strconv.ParseFloat(value, 64)
	default:
		return fmt.Errorf("unknown setting (want %s, %s, %s, %s or %s)",
			faultKeyHTTPLatency, faultKeyEndpointLatency, faultKeyErrorRate, faultKeyEventDelay, faultKeyEventDrop)
	}
	return err
}

// String returns the ParseFaults form of f, settings in a fixed order;
// "none" for the zero Faults.
func (f Faults) String() string {
	var parts []string
	if f.HTTPLatency != (Latency{}) {
		parts = append(parts, faultKeyHTTPLatency+"="+f.HTTPLatency.String())
	}
	for _, name := range slices.Sorted(maps.Keys(f.EndpointLatency)) {
		parts = append(parts, faultKeyEndpointLatency+"="+name+"="+f.EndpointLatency[name].String())
	}
	for _, name := range slices.Sorted(maps.Keys(f.ErrorRate)) {
		parts = append(parts, faultKeyErrorRate+"="+name+"="+strconv.FormatFloat(f.ErrorRate[name], 'g', -1, 64))
	}
	if f.EventDelay != 0 {
		parts = append(parts, faultKeyEventDelay+"="+f.EventDelay.String())
	}
	if f.EventDropRate != 0 {
		parts = append(parts, faultKeyEventDrop+"="+strconv.FormatFloat(f.EventDropRate, 'g', -1, 64))
	}
	if len(parts) == 0 {
		return faultsNone
	}
	return strings.Join(parts, ";")
}

// isZero reports whether f injects nothing and sets nothing.
func (f Faults) isZero() bool {
	return f.HTTPLatency == (Latency{}) && len(f.EndpointLatency) == 0 && len(f.ErrorRate) == 0 &&
		f.EventDelay == 0 && f.EventDropRate == 0
}
