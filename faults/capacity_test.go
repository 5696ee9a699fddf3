package faults

import (
	"maps"
	"strings"
	"testing"
	"time"
)

func TestParseCapacity(t *testing.T) {
	ok := []struct {
		in   string
		want Capacity
		str  string // String of the result
	}{
		// Nothing.
		{"", Capacity{}, "none"},
		{"none", Capacity{}, "none"},
		// The example; the queue bound defaults.
		{"telemetry=2000/s,http=500/s", Capacity{Rates: map[string]float64{"telemetry": 2000, "http": 500}}, "http=500/s,telemetry=2000/s"},
		// Queue anywhere, spaces around settings.
		{" queue=250ms , sos=60/min ", Capacity{Rates: map[string]float64{"sos": 1}, Queue: 250 * time.Millisecond}, "sos=1/s,queue=250ms"},
		// Per-endpoint resources, per hour, fractions per second.
		{"http.contacts_list=50/s,http=7/h,telemetry=0.5/s", Capacity{Rates: map[string]float64{"http.contacts_list": 50, "http": 7.0 / 3600, "telemetry": 0.5}},
			"http=7/h,http.contacts_list=50/s,telemetry=30/min"},
	}
	for _, tt := range ok {
		got, err := ParseCapacity(tt.in)
		if err != nil || !maps.Equal(got.Rates, tt.want.Rates) || got.Queue != tt.want.Queue {
			t.Errorf("ParseCapacity(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			continue
		}
		if s := got.String(); s != tt.str {
			t.Errorf("ParseCapacity(%q).String() = %q, want %q", tt.in, s, tt.str)
		}
		back, err := ParseCapacity(got.String())
		if err != nil || !maps.Equal(back.Rates, got.Rates) || back.Queue != got.Queue {
			t.Errorf("round trip of %q via %q = %+v, %v", tt.in, got.String(), back, err)
		}
	}
	bad := []struct {
		in, want string // want: a part of the error
	}{
		{"telemtry=2000/s", `unknown resource "telemtry" (did you mean telemetry?)`},
		{"http.contact_list=5/s", `(did you mean http.contacts_list?)`},
		{"mqtt=5/s", `unknown resource "mqtt" (want telemetry, sos, http or http.<endpoint> with an endpoint of: me, sos_get`},
		{"telemetry=2000", `telemetry: rate "2000": missing /s, /min or /h`},
		{"telemetry=20/m", `"/m" is ambiguous: write /min`},
		{"telemetry=20/d", `unknown unit "d"`},
		{"telemetry=0/s", `must be greater than 0`},
		{"telemetry=-5/s", `must be greater than 0`},
		{"telemetry=NaN/s", `"NaN" is not a number`},
		{"telemetry=0x10/s", `"0x10" is not a number`},
		{"telemetry=5/s,telemetry=6/s", `telemetry is given twice`},
		{"telemetry=5/s,queue=0s", `queue "0s": must be greater than 0`},
		{"telemetry=5/s,queue=1", `queue "1": want a duration`},
		{"telemetry=5/s,queue=1s,queue=2s", `queue is given twice`},
		{"queue=1s", `a queue bound needs at least one resource`},
		{"telemetry", `setting "telemetry": want RESOURCE=RATE`},
		{"telemetry=5/s,,http=1/s", `empty setting`},
		// Every problem at once, on one line.
		{"telemtry=5/s,http=5", `unknown resource "telemtry" (did you mean telemetry?); http: rate "5"`},
	}
	for _, tt := range bad {
		c, err := ParseCapacity(tt.in)
		if err == nil {
			t.Errorf("ParseCapacity(%q) = %+v, want an error", tt.in, c)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, `capacity "`+tt.in+`": `) || !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
			t.Errorf("ParseCapacity(%q) error = %q, want one line starting with capacity %q and containing %q", tt.in, msg, tt.in, tt.want)
		}
	}
}

func TestCapacityValidate(t *testing.T) {
	good := []Capacity{
		{}, // no model
		{Rates: map[string]float64{"sos": 0.01, "http.me": 1e6}, Queue: time.Nanosecond},
	}
	for _, c := range good {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	bad := []struct {
		c    Capacity
		want []string
	}{
		{Capacity{Rates: map[string]float64{"telemetry": 0, "http.nope": 1}, Queue: -time.Second},
			[]string{"telemetry: rate 0/s", `unknown resource "http.nope"`, "queue bound -1s must not be negative"}},
		{Capacity{Queue: time.Second}, []string{"a queue bound needs at least one resource"}},
	}
	for _, tt := range bad {
		err := tt.c.Validate()
		if err == nil {
			t.Errorf("%+v: no error", tt.c)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %q lacks %q", tt.c, err, w)
			}
		}
	}
	if got := (Capacity{}).QueueBound(); got != DefaultQueue {
		t.Errorf("zero Queue bound = %v, want %v", got, DefaultQueue)
	}
	c := Capacity{Rates: map[string]float64{"sos": 1}}
	d := c.Clone()
	d.Rates["sos"] = 2
	if c.Rates["sos"] != 1 {
		t.Error("Clone shares Rates")
	}
}

func TestCapacityResources(t *testing.T) {
	for _, name := range CapacityResources() {
		if !IsCapacityResource(name) {
			t.Errorf("%s is listed but not accepted", name)
		}
	}
	for _, name := range []string{"", "http.", "http.*", "telemetry.x", "HTTP"} {
		if IsCapacityResource(name) {
			t.Errorf("%q accepted", name)
		}
	}
}
