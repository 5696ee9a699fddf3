package scenario

import (
	"math"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/internal/suggest"
)

func TestParseDuration(t *testing.T) {
	good := []struct {
		in   string
		want time.Duration
	}{
		{"500ms", 500 * time.Millisecond}, // milliseconds
		{"2m", 2 * time.Minute},           // minutes
		{"1h30m", 90 * time.Minute},       // compound
		{" 5s ", 5 * time.Second},         // surrounding spaces are trimmed
		{"0", 0},                          // a bare zero needs no unit
		{"-1s", -time.Second},             // the sign is kept; callers judge it
	}
	for _, tc := range good {
		if got, err := ParseDuration(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	bad := []struct{ in, want string }{
		{"30", `invalid duration "30": missing unit (want a duration like 500ms, 30s or 1h30m)`},             // no unit
		{"", `invalid duration "": empty (want a duration like 500ms, 30s or 1h30m)`},                        // empty
		{"5 s", `invalid duration "5 s": not Go duration syntax (want a duration like 500ms, 30s or 1h30m)`}, // inner space
		{"1d", `invalid duration "1d": not Go duration syntax (want a duration like 500ms, 30s or 1h30m)`},   // no days in Go syntax
	}
	for _, tc := range bad {
		if _, err := ParseDuration(tc.in); err == nil || err.Error() != tc.want {
			t.Errorf("ParseDuration(%q) error = %v; want %s", tc.in, err, tc.want)
		}
	}
}

func TestParseRate(t *testing.T) {
	good := []struct {
		in     string
		perSec float64
		str    string
	}{
		{"5/s", 5, "5/s"},            // per second
		{"60/min", 1, "1/s"},         // per minute, shown in the largest whole unit
		{"1/min", 1.0 / 60, "1/min"}, // a minute rate stays per minute
		{"7/h", 7.0 / 3600, "7/h"},
		{"0.1/h", 0.1 / 3600, "2.777777777777778e-05/s"}, // whole in no unit: decimal per second       // per hour
		{"0.5/s", 0.5, "30/min"},                         // decimals
		{"2.5/min", 2.5 / 60, "150/h"},                   // whole per hour
		{" 100 / s ", 100, "100/s"},                      // spaces around the parts
	}
	for _, tc := range good {
		got, err := ParseRate(tc.in)
		if err != nil || math.Abs(got.PerSecond-tc.perSec) > 1e-12 {
			t.Errorf("ParseRate(%q) = %v, %v; want %v/s", tc.in, got.PerSecond, err, tc.perSec)
			continue
		}
		if got.String() != tc.str {
			t.Errorf("ParseRate(%q).String() = %q; want %q", tc.in, got.String(), tc.str)
		}
		back, err := ParseRate(got.String())
		if err != nil || back != got {
			t.Errorf("ParseRate(%q) does not round-trip: %v, %v", got.String(), back, err)
		}
	}
	bad := []struct{ in, want string }{
		{"5", `invalid rate "5": missing /s, /min or /h (want a rate like 5/s, 60/min or 100/h)`},            // no unit
		{"5/m", `invalid rate "5/m": "/m" is ambiguous: write /min (want a rate like 5/s, 60/min or 100/h)`}, // ambiguous
		{"5/d", `invalid rate "5/d": unknown unit "d" (want a rate like 5/s, 60/min or 100/h)`},              // unknown unit
		{"0/s", `invalid rate "0/s": must be greater than 0 (want a rate like 5/s, 60/min or 100/h)`},        // zero
		{"-1/s", `invalid rate "-1/s": must be greater than 0 (want a rate like 5/s, 60/min or 100/h)`},      // negative
		{"inf/s", `invalid rate "inf/s": "inf" is not a number (want a rate like 5/s, 60/min or 100/h)`},     // infinity
		{"0x10/s", `invalid rate "0x10/s": "0x10" is not a number (want a rate like 5/s, 60/min or 100/h)`},  // hex
	}
	for _, tc := range bad {
		if _, err := ParseRate(tc.in); err == nil || err.Error() != tc.want {
			t.Errorf("ParseRate(%q) error = %v; want %s", tc.in, err, tc.want)
		}
	}
	if r := (Rate{PerSecond: 4}); r.Interval() != 250*time.Millisecond || r.IsZero() {
		t.Errorf("Rate{4}.Interval() = %v", r.Interval())
	}
	if r := (Rate{}); r.Interval() != 0 || !r.IsZero() || r.String() != "0/s" {
		t.Errorf("zero Rate: %v %v %q", r.Interval(), r.IsZero(), r.String())
	}
}

func TestParsePercent(t *testing.T) {
	good := []struct {
		in   string
		want float64
	}{
		{"5%", 0.05},    // whole
		{"0.1%", 0.001}, // decimal
		{"0%", 0},       // zero is allowed
		{"100%", 1},     // so is everything
		{" 20 %", 0.2},  // spaces
	}
	for _, tc := range good {
		got, err := ParsePercent(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParsePercent(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if back, _ := ParsePercent(formatPercent(got)); back != got {
			t.Errorf("formatPercent(%v) = %q does not round-trip", got, formatPercent(got))
		}
	}
	bad := []struct{ in, want string }{
		{"5", `invalid percentage "5": missing % (want a percentage like 5% or 0.1%)`},                         // no %
		{"101%", `invalid percentage "101%": must be between 0% and 100% (want a percentage like 5% or 0.1%)`}, // above 100
		{"-1%", `invalid percentage "-1%": must be between 0% and 100% (want a percentage like 5% or 0.1%)`},   // negative
		{"x%", `invalid percentage "x%": "x" is not a number (want a percentage like 5% or 0.1%)`},             // not a number
	}
	for _, tc := range bad {
		if _, err := ParsePercent(tc.in); err == nil || err.Error() != tc.want {
			t.Errorf("ParsePercent(%q) error = %v; want %s", tc.in, err, tc.want)
		}
	}
}

func TestParseLatency(t *testing.T) {
	good := []struct {
		in   string
		want Latency
	}{
		{"20ms", Latency{Kind: LatencyFixed, Fixed: 20 * time.Millisecond}}, // fixed
		{"0s", Latency{}}, // zero is none
		{"uniform:10ms-50ms", Latency{Kind: LatencyUniform, Min: 10 * time.Millisecond, Max: 50 * time.Millisecond}}, // uniform
		{"lognormal:40ms,0.5", Latency{Kind: LatencyLognormal, Median: 40 * time.Millisecond, Sigma: 0.5}},           // lognormal
	}
	for _, tc := range good {
		got, err := ParseLatency(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseLatency(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if back, err := ParseLatency(got.String()); err != nil || back != got {
			t.Errorf("ParseLatency(%q) does not round-trip: %+v, %v", got.String(), back, err)
		}
	}
	bad := []string{
		"-5ms",              // negative
		"uniform:50ms-10ms", // min above max
		"uniform:10ms",      // no max
		"lognormal:40ms",    // no sigma
		"lognormal:0s,0.5",  // zero median
		"lognormal:40ms,-1", // negative sigma
		"normal:40ms,5ms",   // unknown distribution
		"20",                // no unit
	}
	for _, in := range bad {
		if _, err := ParseLatency(in); err == nil {
			t.Errorf("ParseLatency(%q) succeeded", in)
		}
	}
}

func TestExpand(t *testing.T) {
	env := func(name string) (string, bool) {
		v, ok := map[string]string{"A": "x", "B_2": "y$z", "E": ""}[name]
		return v, ok
	}
	good := []struct {
		in, want string
		fromEnv  bool
	}{
		{"plain", "plain", false},            // no $
		{"${A}", "x", true},                  // whole value
		{"a-${A}-${B_2}", "a-x-y$z", true},   // several; values are not expanded again
		{"$$", "$", false},                   // escape
		{"$${A}", "${A}", false},             // an escaped reference stays literal
		{"5$", "5$", false},                  // a trailing $ is literal
		{"$5 and $ ", "$5 and $ ", false},    // $ before a digit or space is literal
		{"${E}", "", true},                   // set but empty
		{"${A:-d}", "x", true},               // set: the value
		{"${E:-d}", "d", false},              // set but empty: the default, the file's own text
		{"${NOPE:-d}", "d", false},           // unset: the default
		{"${NOPE:-}", "", false},             // an empty default
		{"${NOPE:-a b:-c}", "a b:-c", false}, // the default is literal up to }
		{"<${NOPE:-5/s}>", "<5/s>", false},   // inside a value
	}
	for _, tc := range good {
		got, fromEnv, err := expand(tc.in, env)
		if err != nil || got != tc.want || fromEnv != tc.fromEnv {
			t.Errorf("expand(%q) = %q, %v, %v; want %q, %v", tc.in, got, fromEnv, err, tc.want, tc.fromEnv)
		}
	}
	bad := []struct{ in, want string }{
		{"${NOPE}", "environment variable NOPE is not set"},                                                         // unset
		{"${A", "unterminated ${ (write $$ for a literal $)"},                                                       // unterminated
		{"${}", `invalid variable name "" in ${...} (want [A-Za-z_][A-Za-z0-9_]*; write $$ for a literal $)`},       // empty name
		{"${A-x}", `invalid variable name "A-x" in ${...} (want [A-Za-z_][A-Za-z0-9_]*; write $$ for a literal $)`}, // only the :- form of the shell's defaults
		{"${:-x}", `invalid variable name "" in ${...} (want [A-Za-z_][A-Za-z0-9_]*; write $$ for a literal $)`},    // a default needs a name
		{"$HOME", "a $ followed by a name is not expanded: write ${NAME} to expand, or $$ for a literal $"},         // bare name
	}
	for _, tc := range bad {
		if _, _, err := expand(tc.in, env); err == nil || err.msg != tc.want {
			t.Errorf("expand(%q) error = %v; want %s", tc.in, err, tc.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	names := metricNames()
	tests := []struct{ in, want string }{
		{"sos.deliverd", "sos.delivered"},           // one letter missing
		{"SOS.Delivered", "sos.delivered"},          // case
		{"telemetry_puback", "telemetry.puback"},    // underscore for dot
		{"delivered", "sos.delivered"},              // the last part only
		{"http.contact_list", "http.contacts_list"}, // singular
		{"nothing.like.it", ""},                     // no suggestion
	}
	for _, tc := range tests {
		if got := suggest.Closest(tc.in, names); got != tc.want {
			t.Errorf("suggest(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}
