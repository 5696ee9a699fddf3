package faults

import (
	"math"
	"testing"
	"time"
)

func TestSetValidate(t *testing.T) {
	bad := []Set{
		{ErrorRate: map[string]float64{"sos_cancle": 0.1}},
		{ErrorRate: map[string]float64{"*": 1.5}},
		{ErrorRate: map[string]float64{"me": math.NaN()}},
		{EndpointLatency: map[string]Latency{"nope": {}}},
		{EndpointLatency: map[string]Latency{"me": {Kind: "fixed", Fixed: -1}}},
		{HTTPLatency: Latency{Kind: "pareto"}},
		{EventDelay: -time.Second},
		{EventDropRate: -0.1},
		{AlertDelay: -time.Second},
		{AlertDelay: MaxAlertDelay + time.Millisecond},
	}
	for _, f := range bad {
		if err := f.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", f)
		}
	}
	good := Set{ErrorRate: map[string]float64{"*": 0, "sos_cancel": 1}, EventDropRate: 1,
		EndpointLatency: map[string]Latency{"me": {Kind: "uniform", Min: 1, Max: 2}}}
	if err := good.Validate(); err != nil {
		t.Errorf("Validate(good) = %v", err)
	}
}

func TestParseSet(t *testing.T) {
	f, err := ParseSet("http-latency=lognormal:40ms,0.5,2s; endpoint-latency=sos_cancel=50ms;error-rate=*=0.2;error-rate=me=1;event-delay=1s;event-drop=0.1")
	if err != nil {
		t.Fatal(err)
	}
	want := "http-latency=lognormal:40ms,0.5,2s;endpoint-latency=sos_cancel=50ms;error-rate=*=0.2;error-rate=me=1;event-delay=1s;event-drop=0.1"
	if f.String() != want {
		t.Errorf("String = %q, want %q", f.String(), want)
	}
	if back, err := ParseSet(f.String()); err != nil || back.String() != want {
		t.Errorf("round trip: %v %v", back, err)
	}
	for _, none := range []string{"", "none", " none "} {
		if f, err := ParseSet(none); err != nil || !f.IsZero() || f.String() != "none" {
			t.Errorf("ParseSet(%q) = %v, %v", none, f, err)
		}
	}
	for _, bad := range []string{"error-rate", "error-rate=0.5", "endpoint-latency=50ms", "event-delay=soon", "http-latency=-1s"} {
		if _, err := ParseSet(bad); err == nil {
			t.Errorf("ParseSet(%q) succeeded", bad)
		}
	}
}

func TestParseSetAlertDelay(t *testing.T) {
	f, err := ParseSet("alert-delay=2s;duplicate-incidents=true")
	if err != nil || f.AlertDelay != 2*time.Second || f.IsZero() || f.String() != "alert-delay=2s;duplicate-incidents=true" {
		t.Fatalf("ParseSet = %+v, %v (String %q)", f, err, f.String())
	}
	for _, bad := range []string{"alert-delay=soon", "alert-delay=-1s", "alert-delay=2m"} {
		if _, err := ParseSet(bad); err == nil {
			t.Errorf("ParseSet(%q) succeeded", bad)
		}
	}
}

func TestParseSetDuplicateIncidents(t *testing.T) {
	f, err := ParseSet("duplicate-incidents=true")
	if err != nil || !f.DuplicateIncidents || f.IsZero() || f.String() != "duplicate-incidents=true" {
		t.Fatalf("ParseSet = %+v, %v (String %q)", f, err, f.String())
	}
	if _, err := ParseSet("duplicate-incidents=maybe"); err == nil {
		t.Error("duplicate-incidents=maybe accepted")
	}
}
