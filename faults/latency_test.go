package faults

import (
	"math"
	"testing"
	"time"
)

func TestParseLatency(t *testing.T) {
	ok := []struct {
		in   string
		want Latency
	}{
		{"", Latency{}},  // none
		{"0", Latency{}}, // none
		{"50ms", Latency{Kind: "fixed", Fixed: 50 * time.Millisecond}}, // bare duration = fixed
		{"fixed:1s", Latency{Kind: "fixed", Fixed: time.Second}},       // explicit
		{"uniform:10ms-80ms", Latency{Kind: "uniform", Min: 10 * time.Millisecond, Max: 80 * time.Millisecond}},
		{"lognormal:40ms,0.5", Latency{Kind: "lognormal", Median: 40 * time.Millisecond, Sigma: 0.5}},
		{"lognormal:40ms,0.5,2s", Latency{Kind: "lognormal", Median: 40 * time.Millisecond, Sigma: 0.5, Max: 2 * time.Second}},
	}
	for _, tt := range ok {
		got, err := ParseLatency(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseLatency(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			continue
		}
		if back, err := ParseLatency(got.String()); err != nil || back != got {
			t.Errorf("round trip of %q via %q = %+v, %v", tt.in, got.String(), back, err)
		}
	}
	bad := []string{
		"-5ms",              // negative
		"abc",               // not a duration
		"uniform:80ms-10ms", // min > max
		"uniform:10ms",      // no max
		"lognormal:0s,0.5",  // zero median
		"lognormal:40ms",    // no sigma
		"lognormal:40ms,-1", // negative sigma
		"lognormal:40ms,x",  // bad sigma
		"gaussian:40ms,0.5", // unknown kind
	}
	for _, in := range bad {
		if l, err := ParseLatency(in); err == nil {
			t.Errorf("ParseLatency(%q) = %+v, want an error", in, l)
		}
	}
}

func TestLatencySample(t *testing.T) {
	u := Latency{Kind: "uniform", Min: 10 * time.Millisecond, Max: 20 * time.Millisecond}
	l := Latency{Kind: "lognormal", Median: 40 * time.Millisecond, Sigma: 3, Max: 100 * time.Millisecond}
	var below, above int
	for i := 0; i < 2000; i++ {
		if d := u.Sample(); d < u.Min || d > u.Max {
			t.Fatalf("uniform sample %v outside [%v, %v]", d, u.Min, u.Max)
		}
		d := l.Sample()
		if d <= 0 || d > l.Max {
			t.Fatalf("lognormal sample %v outside (0, %v]", d, l.Max)
		}
		if d < l.Median {
			below++
		} else {
			above++
		}
	}
	// The median is the median: about half the samples on each side.
	if math.Abs(float64(below-above)) > 300 {
		t.Errorf("lognormal: %d below the median, %d above", below, above)
	}
	if d := (Latency{}).Sample(); d != 0 {
		t.Errorf("zero Latency sampled %v", d)
	}
}
