package metrics

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// TestValueAtSmallCounts: the nearest rank max(1, ceil(q/100·n)) of known
// cases, and with n <= 200 the value there: of n values 10, 20, ..., 10·n
// µs (each in a bucket of its own: a 3-digit histogram is exact below
// 2048), percentile q is 10 µs times its rank.
func TestValueAtSmallCounts(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		q    float64
		want int64 // the rank
	}{
		// One value is every percentile.
		{1, 0, 1}, {1, 50, 1}, {1, 99.9, 1}, {1, 100, 1},
		// Two values: p50 is the first (1.0 exactly), anything above it the second.
		{2, 0, 1}, {2, 50, 1}, {2, 50.1, 2}, {2, 90, 2}, {2, 100, 2},
		// smoke's sos.delivered: 0.95·16 = 15.2 goes up to 16, the largest
		// (hdrhistogram-go's ValueAtQuantile rounds it to 15).
		{16, 50, 8}, {16, 90, 15}, {16, 95, 16}, {16, 99, 16}, {16, 99.9, 16},
		// ci-gate's sos.delivered: 0.95·17 = 16.15 goes up to 17 (not 16).
		{17, 50, 9}, {17, 90, 16}, {17, 95, 17}, {17, 99, 17},
		// http.contacts_list: 0.99·86 = 85.14 goes up to 86 (not 85).
		{86, 50, 43}, {86, 90, 78}, {86, 95, 82}, {86, 99, 86}, {86, 99.9, 86},
		// Whole ranks stay whole: 0.95·20 = 19, 0.999·1000 = 999 (999.0000000000001
		// in floating point), 0.999·10000 = 9990 (9990.000000000002), 0.333·1000 =
		// 333 (332.99999999999994).
		{20, 95, 19}, {100, 99, 99}, {100, 99.9, 100}, {1000, 99.9, 999},
		{10000, 99.9, 9990}, {10000, 99.99, 9999}, {1000, 33.3, 333}, {1000, 0.1, 1},
		// The edges: q = 0 is the minimum, q = 100 the maximum; a q just
		// above 0 is still the first value.
		{1000, 0, 1}, {1000, 0.0001, 1}, {1000, 100, 1000},
	} {
		if tc.n <= 200 { // 10·n µs below 2048: every value in a bucket of its own
			h := newHistogram()
			for i := int64(1); i <= tc.n; i++ {
				if err := h.RecordValue(10 * i); err != nil {
					t.Fatal(err)
				}
			}
			if got, want := ValueAt(h, tc.q), time.Duration(10*tc.want)*time.Microsecond; got != want {
				t.Errorf("n=%d p%v = %v, want %v (rank %d)", tc.n, tc.q, got, want, tc.want)
			}
		}
		if tc.q > 0 {
			if got := Rank(tc.q, tc.n); got != tc.want {
				t.Errorf("Rank(%v, %d) = %d, want %d", tc.q, tc.n, got, tc.want)
			}
		}
	}
	if got := ValueAt(newHistogram(), 99); got != 0 {
		t.Errorf("empty histogram p99 = %v, want 0", got)
	}
}

// Rank equals ceil(Q·n / (100·10^d)) computed in integers, for q = Q/10^d
// written with up to 3 decimals, over every n up to 3000.
func TestRankIsExactForDecimals(t *testing.T) {
	type dec struct {
		text string
		q    int64 // text without its point
		pow  int64 // 10^decimals
	}
	var qs []dec
	for _, s := range []string{"0.1", "1", "5", "10", "12.5", "25", "33.3", "50", "66.7", "75", "90", "95", "97.5", "99", "99.5", "99.9", "99.95", "99.99", "99.999"} {
		d := dec{text: s, pow: 1}
		digits := ""
		for i, c := range s {
			if c == '.' {
				for range len(s) - i - 1 {
					d.pow *= 10
				}
				continue
			}
			digits += string(c)
		}
		d.q, _ = strconv.ParseInt(digits, 10, 64)
		qs = append(qs, d)
	}
	for _, d := range qs {
		q, _ := strconv.ParseFloat(d.text, 64)
		for n := int64(1); n <= 3000; n++ {
			den := 100 * d.pow
			want := max((d.q*n+den-1)/den, 1)
			if got := Rank(q, n); got != want {
				t.Fatalf("Rank(%s, %d) = %d, want %d", d.text, n, got, want)
			}
		}
	}
}

// ValueAt equals the nearest-rank value of the histogram's counts expanded
// into a sorted list (each value standing for the highest value of its
// bucket), for random histograms whose values span many buckets.
func TestValueAtMatchesExpandedCounts(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 3))
	for trial := range 300 {
		h := newHistogram()
		n := 1 + rng.IntN(400)
		for range n {
			// 1 µs .. ~4 s, log-spread: buckets from exact to 2^11 wide.
			v := int64(1) << rng.IntN(22)
			if err := h.RecordValue(v + rng.Int64N(v)); err != nil {
				t.Fatal(err)
			}
		}
		var sorted []int64
		var lowest int64 = -1
		for _, b := range h.Distribution() {
			for range b.Count {
				sorted = append(sorted, b.To)
			}
			if b.Count > 0 && lowest < 0 {
				lowest = b.From
			}
		}
		for _, q := range []float64{0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100} {
			want := lowest
			if q > 0 {
				want = sorted[Rank(q, int64(len(sorted)))-1]
			}
			if got := ValueAt(h, q); got != time.Duration(want)*time.Microsecond {
				t.Fatalf("trial %d, n=%d: p%v = %v, want %d µs", trial, n, q, got, want)
			}
		}
		for r := int64(1); r <= int64(len(sorted)); r++ {
			if got := ValueAtRank(h, r); got != time.Duration(sorted[r-1])*time.Microsecond {
				t.Fatalf("trial %d: rank %d = %v, want %d µs", trial, r, got, sorted[r-1])
			}
		}
	}
}

// ValueAt(100) is the summary's max and ValueAt(0) its min.
func TestValueAtEndsAreMinAndMax(t *testing.T) {
	h := hdr.New(lowestMicros, highestMicros, sigFigs)
	for _, v := range []int64{123_456, 7_890, 1_234_567} {
		_ = h.RecordValue(v)
	}
	if got, want := ValueAt(h, 100), micros(h.Max()); got != want {
		t.Errorf("p100 = %v, max %v", got, want)
	}
	if got, want := ValueAt(h, 0), micros(h.Min()); got != want {
		t.Errorf("p0 = %v, min %v", got, want)
	}
}
