package faults

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

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
	LatencyNone      = ""          // no added latency
	LatencyFixed     = "fixed"     // always Fixed
	LatencyUniform   = "uniform"   // uniform in [Min, Max]
	LatencyLognormal = "lognormal" // log-normal with median Median and shape Sigma (capped at Max when > 0)
)

// ParseLatency reads the text form of a Latency:
//
//	50ms                  fixed 50 ms (also "fixed:50ms")
//	uniform:10ms-80ms     uniform between 10 and 80 ms
//	lognormal:40ms,0.5    median 40 ms, sigma 0.5
//	lognormal:40ms,0.5,2s same, capped at 2 s
//	0, 0s or ""           no added latency
//
// Its errors start with `latency "<input>": `.
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
	if err := l.Validate(); err != nil {
		return Latency{}, fmt.Errorf("latency %q: %w", s, err)
	}
	if l.Kind == LatencyFixed && l.Fixed == 0 {
		return Latency{}, nil // "0s": no added latency
	}
	return l, nil
}

// String returns the ParseLatency form of l; "0" for no latency.
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

// Validate reports an unknown kind or parameters out of range for the kind.
func (l Latency) Validate() error {
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

// Sample draws one delay from l (0 for the zero Latency). It is safe for
// concurrent use.
func (l Latency) Sample() time.Duration {
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
