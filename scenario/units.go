package scenario

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/eixamsim/eixamsim/internal/rate"

	"github.com/eixamsim/eixamsim/faults"
)

// This file holds the one parser each for the value syntaxes of a scenario:
// durations, rates, percentages and latency distributions. The decoder, the
// threshold rules and the CLI flags all go through these functions.

// ValueError is the error of ParseDuration, ParseRate, ParsePercent and
// ParseLatency. The decoder reports it with the input replaced by its source
// text, so a value taken from the environment is never echoed.
type ValueError struct {
	Kind   string // "duration", "rate", "percentage" or "latency"
	Input  string // the text that failed to parse
	Want   string // the accepted forms, e.g. "N/s, N/min or N/h"
	Reason string // what is wrong; may be empty
}

func (e *ValueError) Error() string {
	msg := fmt.Sprintf("invalid %s %q", e.Kind, e.Input)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg + " (want " + e.Want + ")"
}

const (
	wantDuration = "a duration like 500ms, 30s or 1h30m"
	wantRate     = "a rate like 5/s, 60/min or 100/h"
	wantPercent  = "a percentage like 5% or 0.1%"
	wantLatency  = `"20ms", "uniform:10ms-50ms" or "lognormal:40ms,0.5"`
)

// durationSyntaxRE is Go's duration syntax: a value that matches it and
// does not parse overflows time.Duration.
var durationSyntaxRE = regexp.MustCompile(`^[-+]?([0-9]*(\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+$`)

// ParseDuration parses a duration in Go syntax ("500ms", "2m", "1h30m").
// A bare "0" is accepted; any other number needs a unit. The sign is kept:
// callers decide whether negative or zero durations make sense.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, &ValueError{Kind: "duration", Input: s, Want: wantDuration, Reason: "empty"}
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		reason := "not Go duration syntax"
		if _, nerr := strconv.ParseFloat(t, 64); nerr == nil {
			reason = "missing unit"
		} else if durationSyntaxRE.MatchString(t) {
			reason = "too long: at most 2562047h (292 years)"
		}
		return 0, &ValueError{Kind: "duration", Input: s, Want: wantDuration, Reason: reason}
	}
	return d, nil
}

// Rate is an arrival rate. The zero value means "no rate" (unset); every
// rate a scenario accepts is greater than zero.
type Rate struct {
	PerSecond float64 // events per second; > 0 when set
}

// ParseRate parses "N/s", "N/min" or "N/h", where N is a decimal number
// greater than zero ("0.5/s", "60/min").
func ParseRate(s string) (Rate, error) {
	per, reason := rate.Parse(s)
	if reason != "" {
		return Rate{}, &ValueError{Kind: "rate", Input: s, Want: wantRate, Reason: reason}
	}
	return Rate{PerSecond: per}, nil
}

// IsZero reports whether the rate is unset.
func (r Rate) IsZero() bool { return r.PerSecond == 0 }

// Interval is the mean time between two events: 1/PerSecond. It is 0 for
// the zero rate.
func (r Rate) Interval() time.Duration {
	if r.PerSecond <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / r.PerSecond)
}

// String formats the rate per second if that is a whole number, else per
// minute, else per hour ("5/s", "30/min", "7/h"), else as a decimal per
// second. It parses back with ParseRate. The zero rate formats as "0/s".
func (r Rate) String() string { return rate.Format(r.PerSecond) }

// MarshalJSON writes the rate as its String form, e.g. "5/s".
func (r Rate) MarshalJSON() ([]byte, error) { return json.Marshal(r.String()) }

// ParsePercent parses a percentage "N%" with 0 <= N <= 100 and returns it
// as a fraction: "5%" is 0.05, "0.1%" is 0.001.
func ParsePercent(s string) (float64, error) {
	bad := func(reason string) (float64, error) {
		return 0, &ValueError{Kind: "percentage", Input: s, Want: wantPercent, Reason: reason}
	}
	t := strings.TrimSpace(s)
	num, ok := strings.CutSuffix(t, "%")
	if !ok {
		return bad("missing %")
	}
	num = strings.TrimSpace(num)
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) || strings.ContainsAny(num, "xXpP_") {
		return bad(fmt.Sprintf("%q is not a number", num))
	}
	if n < 0 || n > 100 {
		return bad("must be between 0% and 100%")
	}
	return n / 100, nil
}

// formatPercent formats a fraction as a percentage that ParsePercent reads
// back: 0.05 -> "5%".
func formatPercent(f float64) string {
	s := strconv.FormatFloat(f*100, 'g', 12, 64)
	if strings.ContainsAny(s, "e") {
		s = strconv.FormatFloat(f*100, 'f', -1, 64)
	}
	return s + "%"
}

// Latency kinds (package faults', which the reference backend applies).
const (
	LatencyNone      = faults.LatencyNone      // no added latency
	LatencyFixed     = faults.LatencyFixed     // always Fixed
	LatencyUniform   = faults.LatencyUniform   // uniform in [Min, Max]
	LatencyLognormal = faults.LatencyLognormal // log-normal with median Median and shape Sigma (capped at Max when > 0)
)

// Latency is an added-latency distribution of the embedded backend: the
// faults package's type, so the scenario and `eixamsim serve` read the same
// syntax.
type Latency = faults.Latency

// ParseLatency parses a latency distribution with faults.ParseLatency:
//
//	20ms                    fixed 20 ms ("0s" means none)
//	uniform:10ms-50ms       uniform between 10 and 50 ms
//	lognormal:40ms,0.5      log-normal, median 40 ms, sigma 0.5
//	lognormal:40ms,0.5,2s   the same, capped at 2 s
func ParseLatency(s string) (Latency, error) {
	l, err := faults.ParseLatency(s)
	if err != nil {
		reason := err.Error()
		if _, after, ok := strings.Cut(reason, ": "); ok && strings.HasPrefix(reason, "latency ") {
			reason = after // faults prefixes the input, which the ValueError shows already
		}
		return Latency{}, &ValueError{Kind: "latency", Input: s, Want: wantLatency, Reason: reason}
	}
	return l, nil
}
