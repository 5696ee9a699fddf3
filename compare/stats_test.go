package compare

import (
	"math"
	"math/rand/v2"
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// U from the histograms equals U counted pair by pair when every value has
// a bucket of its own (below 2048 µs a 3-digit histogram is exact), ties
// included; the p-value is two-sided and symmetric.
func TestMannWhitneyMatchesPairCount(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct {
		name   string
		n1, n2 int
		shift  int64
	}{
		{"same distribution", 300, 200, 0},
		{"shifted", 150, 250, 100},
		{"tiny", 3, 4, 10},
	} {
		var a, b []int64
		ha, hb := hdr.New(1, 3_600_000_000, 3), hdr.New(1, 3_600_000_000, 3)
		for range tc.n1 {
			v := 100 + rng.Int64N(400) // many ties: 400 values for hundreds of samples
			a = append(a, v)
			_ = ha.RecordValue(v)
		}
		for range tc.n2 {
			v := 100 + tc.shift + rng.Int64N(400)
			b = append(b, v)
			_ = hb.RecordValue(v)
		}
		var u float64
		for _, y := range b {
			for _, x := range a {
				switch {
				case y > x:
					u++
				case y == x:
					u += 0.5
				}
			}
		}
		got, ok := mannWhitney(ha, hb)
		if !ok || got.U != u {
			t.Errorf("%s: U = %v (ok %v), want %v", tc.name, got.U, ok, u)
		}
		back, _ := mannWhitney(hb, ha)
		if math.Abs(back.P-got.P) > 1e-12 || math.Abs(back.CliffsDelta+got.CliffsDelta) > 1e-12 {
			t.Errorf("%s: swapping the runs gives p %v, delta %v; want p %v, delta %v", tc.name, back.P, back.CliffsDelta, got.P, -got.CliffsDelta)
		}
		switch {
		case tc.shift == 0 && got.P < 0.01:
			t.Errorf("%s: p = %v for one distribution", tc.name, got.P)
		case tc.shift == 100 && (got.P > 1e-3 || got.Z <= 0):
			t.Errorf("%s: p = %v, z = %v for a shift of a quarter of the range", tc.name, got.P, got.Z)
		}
	}
}

// Every value tied, or one side empty: no evidence either way.
func TestMannWhitneyDegenerate(t *testing.T) {
	ha, hb := hdr.New(1, 1000, 3), hdr.New(1, 1000, 3)
	if _, ok := mannWhitney(ha, hb); ok {
		t.Error("empty histograms tested")
	}
	_ = ha.RecordValues(5, 10)
	_ = hb.RecordValues(5, 20)
	got, ok := mannWhitney(ha, hb)
	if !ok || got.P != 1 || got.CliffsDelta != 0 {
		t.Errorf("all tied: %+v", got)
	}
}

// The percentile interval covers the percentile and narrows with more
// samples; a tail percentile of too few samples has none.
func TestQuantileCI(t *testing.T) {
	small, large := hdr.New(1, 1_000_000, 3), hdr.New(1, 1_000_000, 3)
	for v := int64(1); v <= 1000; v++ {
		_ = small.RecordValue(v)
		_ = large.RecordValues(v, 100)
	}
	slo, shi, sok := quantileCI(small, 50, 0.01)
	llo, lhi, lok := quantileCI(large, 50, 0.01)
	if !sok || !lok || !(slo < 500 && shi > 500 && llo <= 500 && lhi >= 500) {
		t.Errorf("intervals %d..%d (%v) and %d..%d (%v) do not cover 500", slo, shi, sok, llo, lhi, lok)
	}
	if lhi-llo >= shi-slo {
		t.Errorf("100x the samples did not narrow the interval: %d..%d vs %d..%d", llo, lhi, slo, shi)
	}
	// p99.9 of 1000 values: the interval's top would be rank 1002.
	if lo, hi, ok := quantileCI(small, 99.9, 0.01); ok {
		t.Errorf("p99.9 of 1000 values has an interval %d..%d, want none", lo, hi)
	}
	if lo, hi, ok := quantileCI(large, 99.9, 0.01); !ok || lo > 999 || hi < 999 {
		t.Errorf("p99.9 of 100,000 values: interval %d..%d (%v), want one around 999", lo, hi, ok)
	}
	// p50 of 5 values: the bottom would be rank 0.
	five := hdr.New(1, 1_000_000, 3)
	for v := int64(1); v <= 5; v++ {
		_ = five.RecordValue(v)
	}
	if lo, hi, ok := quantileCI(five, 50, 0.01); ok {
		t.Errorf("p50 of 5 values has an interval %d..%d, want none", lo, hi)
	}
}
