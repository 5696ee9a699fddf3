package faults

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/eixamsim/eixamsim/internal/rate"

	"github.com/eixamsim/eixamsim/internal/suggest"

	"github.com/eixamsim/eixamsim/contract"
)

// Capacity resources: the kinds of work the reference backend's capacity
// model serves. Each configured one is a FIFO queue with one server.
const (
	// ResourceTelemetry is every inbound publish on tel/<seg>/data that
	// passed the ACL (valid or not: reading it is the work).
	ResourceTelemetry = "telemetry"
	// ResourceSOS is every inbound publish on sos/alerts that passed the
	// ACL.
	ResourceSOS = "sos"
	// ResourceHTTP is every SDK HTTP API request (a known path and
	// method), except those to an endpoint with a resource of its own.
	ResourceHTTP = "http"
	// ResourceHTTPPrefix followed by an endpoint name (contract.EndpointNames)
	// is that endpoint's own resource, e.g. "http.contacts_list"; its
	// requests do not use ResourceHTTP.
	ResourceHTTPPrefix = ResourceHTTP + "."
)

// DefaultQueue is the queue bound of a Capacity whose Queue is zero.
const DefaultQueue = time.Second

// capacityQueueKey is the key of the queue bound in the text form.
const capacityQueueKey = "queue"

// CapacityResources returns the names a Capacity accepts: telemetry, sos,
// http and http.<endpoint> for every SDK endpoint.
func CapacityResources() []string {
	out := []string{ResourceTelemetry, ResourceSOS, ResourceHTTP}
	for _, e := range contract.EndpointNames() {
		out = append(out, ResourceHTTPPrefix+e)
	}
	return out
}

// IsCapacityResource reports whether name is one of CapacityResources.
func IsCapacityResource(name string) bool {
	switch name {
	case ResourceTelemetry, ResourceSOS, ResourceHTTP:
		return true
	}
	ep, ok := strings.CutPrefix(name, ResourceHTTPPrefix)
	return ok && contract.IsEndpoint(ep)
}

// Capacity is a service-rate model with a known limit: each resource named
// in Rates is a single-server FIFO queue with a deterministic service time
// of 1/rate and a bounded wait. A piece of work arriving at time t starts
// at max(t, the end of the work before it) and ends one service time
// later; if it would wait longer than the queue bound it is refused at once
// and costs nothing. So, for offered load λ and rate μ:
//
//	λ < μ    latency ≈ 1/μ (a little queueing when arrivals bunch up)
//	λ → μ    queueing delay rises
//	λ > μ    the queue fills: latency ≈ bound + 1/μ, throughput = μ,
//	         refused ≈ λ − μ per second
//
// The zero value (no rates) models nothing: every resource is unlimited.
type Capacity struct {
	// Rates maps a resource (CapacityResources) to its service rate in
	// work items per second, > 0. Resources not in it are unlimited; nil
	// or empty means no model.
	Rates map[string]float64
	// Queue is the longest a piece of work may wait for service (not
	// counting its own service time) before it is refused, the same for
	// every resource: at rate μ the queue holds about Queue×μ items. Zero
	// means DefaultQueue (1 s); negative is invalid.
	Queue time.Duration
}

// IsZero reports whether c models nothing (no resource has a rate).
func (c Capacity) IsZero() bool { return len(c.Rates) == 0 }

// QueueBound is the effective queue bound: Queue, or DefaultQueue when
// Queue is zero.
func (c Capacity) QueueBound() time.Duration {
	if c.Queue == 0 {
		return DefaultQueue
	}
	return c.Queue
}

// Clone returns c with its own copy of Rates.
func (c Capacity) Clone() Capacity {
	c.Rates = maps.Clone(c.Rates)
	return c
}

// Validate reports every problem of c: unknown resources (with a
// suggestion), rates that are not finite and positive, a negative queue
// bound, or a queue bound without any resource.
func (c Capacity) Validate() error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(c.Rates)) {
		if !IsCapacityResource(name) {
			errs = append(errs, unknownResource(name))
			continue
		}
		if r := c.Rates[name]; !(r > 0) || math.IsInf(r, 0) {
			errs = append(errs, fmt.Errorf("%s: rate %v/s: must be a finite number greater than 0", name, r))
		}
	}
	if c.Queue < 0 {
		errs = append(errs, fmt.Errorf("queue bound %v must not be negative", c.Queue))
	}
	if c.Queue != 0 && len(c.Rates) == 0 {
		errs = append(errs, errors.New("a queue bound needs at least one resource with a rate, e.g. telemetry=2000/s"))
	}
	return errors.Join(errs...)
}

// unknownResource is the error of a name that is not a capacity resource,
// with a suggestion when one is close.
func unknownResource(name string) error {
	if s := suggest.Closest(name, CapacityResources()); s != "" {
		return fmt.Errorf("unknown resource %q (did you mean %s?)", name, s)
	}
	return fmt.Errorf("unknown resource %q (want telemetry, sos, http or http.<endpoint> with an endpoint of: %s)",
		name, strings.Join(contract.EndpointNames(), ", "))
}

// ParseCapacity reads the text form of a Capacity: comma-separated
// RESOURCE=RATE settings and an optional queue=DURATION, in any order:
//
//	telemetry=2000/s,http=500/s             two resources, queue bound 1 s
//	telemetry=2000/s,http=500/s,queue=250ms the same, queue bound 250 ms
//	sos=60/min,http.contacts_list=50/s      an endpoint with its own resource
//	"" or none                              no model
//
// RATE is N/s, N/min or N/h with N > 0 (the scenario's rate grammar);
// DURATION is a Go duration > 0. A resource given twice is an error.
// Errors start with `capacity "<input>": ` and name every problem, on
// one line.
func ParseCapacity(s string) (Capacity, error) {
	spec := strings.TrimSpace(s)
	if spec == "" || spec == setNone {
		return Capacity{}, nil
	}
	var c Capacity
	var errs []error
	for _, setting := range strings.Split(spec, ",") {
		setting = strings.TrimSpace(setting)
		key, value, ok := strings.Cut(setting, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch {
		case setting == "":
			errs = append(errs, errors.New("empty setting (two commas in a row?)"))
		case !ok:
			errs = append(errs, fmt.Errorf("setting %q: want RESOURCE=RATE or queue=DURATION, e.g. telemetry=2000/s", setting))
		case key == capacityQueueKey:
			d, err := time.ParseDuration(value)
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("queue %q: want a duration like 500ms or 1s", value))
			case d <= 0:
				errs = append(errs, fmt.Errorf("queue %q: must be greater than 0", value))
			case c.Queue != 0:
				errs = append(errs, errors.New("queue is given twice"))
			default:
				c.Queue = d
			}
		case !IsCapacityResource(key):
			errs = append(errs, unknownResource(key))
		default:
			r, err := parseRate(value)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", key, err))
				continue
			}
			if _, dup := c.Rates[key]; dup {
				errs = append(errs, fmt.Errorf("%s is given twice", key))
				continue
			}
			if c.Rates == nil {
				c.Rates = map[string]float64{}
			}
			c.Rates[key] = r
		}
	}
	if len(errs) == 0 {
		if err := c.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, err := range errs {
			msgs[i] = strings.ReplaceAll(err.Error(), "\n", "; ")
		}
		return Capacity{}, fmt.Errorf("capacity %q: %s", s, strings.Join(msgs, "; "))
	}
	return c, nil
}

// String returns the ParseCapacity form of c: resources in name order,
// then queue=D when Queue is set; "none" for the zero Capacity.
func (c Capacity) String() string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(c.Rates)) {
		parts = append(parts, name+"="+rate.Format(c.Rates[name]))
	}
	if c.Queue != 0 {
		parts = append(parts, capacityQueueKey+"="+c.Queue.String())
	}
	if len(parts) == 0 {
		return setNone
	}
	return strings.Join(parts, ",")
}

// parseRate reads "N/s", "N/min" or "N/h" (N a decimal number > 0), the
// scenario's rate syntax, and returns it per second.
func parseRate(s string) (float64, error) {
	per, reason := rate.Parse(s)
	if reason != "" {
		return 0, fmt.Errorf("rate %q: %s (want a rate like 500/s or 60/min)", s, reason)
	}
	return per, nil
}
