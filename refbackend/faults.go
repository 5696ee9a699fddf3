package refbackend

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Faults are injected on purpose so that users can rehearse bad days and
// tests can check that the simulator measures what was injected. The zero
// value injects nothing. Latency and errors apply to the SDK endpoints only,
// never to /debug/stats.
type Faults struct {
	// HTTPLatency is added before every SDK HTTP response (also before
	// 401 and injected 503 answers).
	HTTPLatency Latency
	// EndpointLatency overrides HTTPLatency for the named endpoints (keys
	// are endpoint names such as "sos_cancel", see EndpointNames).
	EndpointLatency map[string]Latency
	// ErrorRate maps an endpoint name, or "*" for every endpoint without
	// its own entry, to the fraction (0..1) of its requests answered with
	// 503 {"error":"injected fault"} instead of being served.
	ErrorRate map[string]float64
	// EventDelay is added before every publish on sos/events/<seg>. Events
	// of one user keep their order.
	EventDelay time.Duration
	// EventDropRate is the fraction (0..1) of lifecycle events that are
	// never published (the state change still happens).
	EventDropRate float64
}

// Latency is a distribution of added delay. The zero value adds nothing.
//
//	Kind        delay
//	""          0
//	"fixed"     Fixed
//	"uniform"   uniform in [Min, Max]
//	"lognormal" Median * exp(Sigma * N(0,1)), capped at Max when Max > 0
type Latency struct {
	Kind                    string
	Fixed, Min, Max, Median time.Duration
	Sigma                   float64
}

// Latency kinds.
const (
	LatencyNone      = ""
	LatencyFixed     = "fixed"
	LatencyUniform   = "uniform"
	LatencyLognormal = "lognormal"
)

// ParseLatency reads the command-line form of a Latency:
//
//	50ms                  fixed 50 ms (also "fixed:50ms")
//	uniform:10ms-80ms     uniform between 10 and 80 ms
//	lognormal:40ms,0.5    median 40 ms, sigma 0.5
//	lognormal:40ms,0.5,2s same, capped at 2 s
//	0 or ""               no added latency
func ParseLatency(s string) (Latency, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return Latency{}, nil
	}
	kind, arg, found := strings.Cut(s, ":")
	if !found {
		kind, arg = LatencyFixed, s
	}
	var l Latency
	var err error
	switch kind {
	case LatencyFixed:
		l = Latency{Kind: LatencyFixed}
		l.Fixed, err = time.ParseDuration(arg)
	case LatencyUniform:
		lo, hi, ok := strings.Cut(arg, "-")
		if !ok {
			return Latency{}, fmt.Errorf("latency %q: want uniform:MIN-MAX, e.g. uniform:10ms-80ms", s)
		}
		l = Latency{Kind: LatencyUniform}
		if l.Min, err = time.ParseDuration(lo); err == nil {
			l.Max, err = time.ParseDuration(hi)
		}
	case LatencyLognormal:
		parts := strings.Split(arg, ",")
		if len(parts) != 2 && len(parts) != 3 {
			return Latency{}, fmt.Errorf("latency %q: want lognormal:MEDIAN,SIGMA[,MAX], e.g. lognormal:40ms,0.5", s)
		}
		l = Latency{Kind: LatencyLognormal}
		if l.Median, err = time.ParseDuration(parts[0]); err == nil {
			l.Sigma, err = strconv.ParseFloat(parts[1], 64)
		}
		if err == nil && len(parts) == 3 {
			l.Max, err = time.ParseDuration(parts[2])
		}
	default:
		return Latency{}, fmt.Errorf("latency %q: unknown kind %q (want fixed, uniform or lognormal)", s, kind)
	}
	if err != nil {
		return Latency{}, fmt.Errorf("latency %q: %w", s, err)
	}
	if err := l.validate(); err != nil {
		return Latency{}, fmt.Errorf("latency %q: %w", s, err)
	}
	if l.Kind == LatencyFixed && l.Fixed == 0 {
		return Latency{}, nil // "0s": no added latency
	}
	return l, nil
}

// String returns the ParseLatency form of l.
func (l Latency) String() string {
	switch l.Kind {
	case LatencyFixed:
		return l.Fixed.String()
	case LatencyUniform:
		return "uniform:" + l.Min.String() + "-" + l.Max.String()
	case LatencyLognormal:
		s := "lognormal:" + l.Median.String() + "," + strconv.FormatFloat(l.Sigma, 'g', -1, 64)
		if l.Max > 0 {
			s += "," + l.Max.String()
		}
		return s
	}
	return "0"
}

func (l Latency) validate() error {
	switch l.Kind {
	case LatencyNone:
		return nil
	case LatencyFixed:
		if l.Fixed < 0 {
			return errors.New("fixed latency must not be negative")
		}
	case LatencyUniform:
		if l.Min < 0 || l.Max < l.Min {
			return errors.New("uniform latency needs 0 <= Min <= Max")
		}
	case LatencyLognormal:
		if l.Median <= 0 || l.Sigma < 0 || math.IsNaN(l.Sigma) || math.IsInf(l.Sigma, 0) || l.Max < 0 {
			return errors.New("lognormal latency needs Median > 0, finite Sigma >= 0 and Max >= 0")
		}
	default:
		return fmt.Errorf("unknown latency kind %q", l.Kind)
	}
	return nil
}

// sample draws one delay from l.
func (l Latency) sample() time.Duration {
	switch l.Kind {
	case LatencyFixed:
		return l.Fixed
	case LatencyUniform:
		if l.Max == l.Min {
			return l.Min
		}
		return l.Min + time.Duration(rand.Int64N(int64(l.Max-l.Min)+1))
	case LatencyLognormal:
		d := float64(l.Median) * math.Exp(l.Sigma*rand.NormFloat64())
		if l.Max > 0 && d > float64(l.Max) {
			return l.Max
		}
		if d > math.MaxInt64 {
			return time.Duration(math.MaxInt64)
		}
		return time.Duration(d)
	}
	return 0
}

// Validate reports every invalid field of f: unknown latency kinds or
// negative durations, unknown endpoint names, rates outside 0..1.
func (f Faults) Validate() error {
	var errs []error
	if err := f.HTTPLatency.validate(); err != nil {
		errs = append(errs, fmt.Errorf("HTTPLatency: %w", err))
	}
	for name, l := range f.EndpointLatency {
		if !isEndpoint(name) {
			errs = append(errs, fmt.Errorf("EndpointLatency: unknown endpoint %q (known: %s)", name, strings.Join(EndpointNames(), ", ")))
		}
		if err := l.validate(); err != nil {
			errs = append(errs, fmt.Errorf("EndpointLatency[%s]: %w", name, err))
		}
	}
	for name, rate := range f.ErrorRate {
		if name != "*" && !isEndpoint(name) {
			errs = append(errs, fmt.Errorf("ErrorRate: unknown endpoint %q (known: *, %s)", name, strings.Join(EndpointNames(), ", ")))
		}
		if !(rate >= 0 && rate <= 1) {
			errs = append(errs, fmt.Errorf("ErrorRate[%s] = %v: want a fraction in 0..1", name, rate))
		}
	}
	if f.EventDelay < 0 {
		errs = append(errs, errors.New("EventDelay must not be negative"))
	}
	if !(f.EventDropRate >= 0 && f.EventDropRate <= 1) {
		errs = append(errs, fmt.Errorf("EventDropRate = %v: want a fraction in 0..1", f.EventDropRate))
	}
	return errors.Join(errs...)
}

// clone returns f with its own copies of the maps.
func (f Faults) clone() Faults {
	f.EndpointLatency = maps.Clone(f.EndpointLatency)
	f.ErrorRate = maps.Clone(f.ErrorRate)
	return f
}

// latencyFor draws the added latency of one request to endpoint.
func (f *Faults) latencyFor(endpoint string) time.Duration {
	if l, ok := f.EndpointLatency[endpoint]; ok {
		return l.sample()
	}
	return f.HTTPLatency.sample()
}

// injectError reports whether this request to endpoint gets an injected 503.
func (f *Faults) injectError(endpoint string) bool {
	rate, ok := f.ErrorRate[endpoint]
	if !ok {
		rate = f.ErrorRate["*"]
	}
	return rate > 0 && rand.Float64() < rate
}

// dropEvent reports whether this lifecycle event is dropped.
func (f *Faults) dropEvent() bool {
	return f.EventDropRate > 0 && rand.Float64() < f.EventDropRate
}
