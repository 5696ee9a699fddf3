package compare

import (
	"math"
	"sort"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/eixamsim/eixamsim/metrics"
)

// ShiftTest is the Mann-Whitney U test of two runs' distributions of one
// metric, computed from their HDR histograms (see the package doc for the
// assumptions).
type ShiftTest struct {
	// NBase and NNew are the sample sizes (successful operations).
	NBase int64 `json:"n_base"`
	NNew  int64 `json:"n_new"`
	// U is the statistic of NEW: the number of (base, new) pairs in which
	// the new value is larger, ties counting one half.
	U float64 `json:"u"`
	// Z is U standardized (normal approximation, tie-corrected variance,
	// continuity correction); positive when NEW is slower.
	Z float64 `json:"z"`
	// P is the two-sided p-value of Z: the chance of a shift at least this
	// large if both runs drew from one distribution.
	P float64 `json:"p_value"`
	// CliffsDelta is P(new > base) - P(new < base), in -1..1: the effect
	// size; 0 means neither run tends to be slower, +1 that every new
	// value is above every base value.
	CliffsDelta float64 `json:"cliffs_delta"`
}

// bucket is one distinct recorded value and how often each run has it.
type bucket struct {
	value     int64
	base, new int64
}

// buckets merges the non-empty buckets of two histograms in value order.
// Values in one bucket (the same highest equivalent value) are ties: the
// histogram cannot order them.
func buckets(base, new *hdr.Histogram) []bucket {
	byValue := map[int64]*bucket{}
	add := func(h *hdr.Histogram, isNew bool) {
		for _, b := range h.Distribution() {
			if b.Count == 0 {
				continue
			}
			e := byValue[b.To]
			if e == nil {
				e = &bucket{value: b.To}
				byValue[b.To] = e
			}
			if isNew {
				e.new += b.Count
			} else {
				e.base += b.Count
			}
		}
	}
	add(base, false)
	add(new, true)
	out := make([]bucket, 0, len(byValue))
	for _, b := range byValue {
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].value < out[j].value })
	return out
}

// mannWhitney tests whether new tends to be larger or smaller than base.
// It needs at least one value on each side; ok is false otherwise.
//
//	U    = sum over new values of (#base below it + #base equal / 2)
//	mean = n1 n2 / 2
//	var  = n1 n2 / 12 * ((n + 1) - sum(t^3 - t) / (n (n - 1)))   t: tie group sizes
//	z    = (U - mean -+ 1/2) / sqrt(var)
//	p    = erfc(|z| / sqrt 2)
func mannWhitney(base, new *hdr.Histogram) (t ShiftTest, ok bool) {
	n1, n2 := base.TotalCount(), new.TotalCount()
	t.NBase, t.NNew = n1, n2
	if n1 == 0 || n2 == 0 {
		return t, false
	}
	var below float64 // base values below the current bucket
	var ties float64  // sum of t^3 - t over tie groups
	for _, b := range buckets(base, new) {
		t.U += float64(b.new) * (below + float64(b.base)/2)
		below += float64(b.base)
		g := float64(b.base + b.new)
		ties += g*g*g - g
	}
	fn1, fn2 := float64(n1), float64(n2)
	n := fn1 + fn2
	pairs := fn1 * fn2
	t.CliffsDelta = 2*t.U/pairs - 1
	mean := pairs / 2
	variance := pairs / 12 * ((n + 1) - ties/(n*(n-1)))
	if n < 2 || variance <= 0 { // every value tied: no evidence of a shift
		t.P = 1
		return t, true
	}
	d := t.U - mean
	switch {
	case d > 0.5:
		d -= 0.5
	case d < -0.5:
		d += 0.5
	default:
		d = 0
	}
	t.Z = d / math.Sqrt(variance)
	t.P = math.Erfc(math.Abs(t.Z) / math.Sqrt2)
	return t, true
}

// quantileCI is a distribution-free confidence interval, at level
// 1-alpha, for the q-th percentile (0..100) of the population h was drawn
// from: the values at ranks n·q ∓ z·sqrt(n·q·(1-q)) (the normal
// approximation of the binomial count of values below the percentile), in
// microseconds. ok is false when either rank falls outside 1..n: there
// are too few samples for an interval at that level, and the smallest or
// largest value in its place would claim a certainty the data do not give
// (p99 of 17 values is the maximum, and so would be its interval's top).
func quantileCI(h *hdr.Histogram, q, alpha float64) (lo, hi int64, ok bool) {
	n := float64(h.TotalCount())
	z := normalQuantile(1 - alpha/2)
	p := q / 100
	half := z * math.Sqrt(n*p*(1-p))
	rlo := math.Floor(n*p - half)
	rhi := math.Ceil(n*p+half) + 1
	if n == 0 || rlo < 1 || rhi > n {
		return 0, 0, false
	}
	return metrics.ValueAtRank(h, int64(rlo)).Microseconds(), metrics.ValueAtRank(h, int64(rhi)).Microseconds(), true
}

// normalQuantile is the standard normal distribution's quantile function
// at p (0 < p < 1), from the inverse complementary error function.
func normalQuantile(p float64) float64 {
	return -math.Sqrt2 * math.Erfcinv(2*p)
}
