package metrics

import (
	"math"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Percentiles, one definition for every number the product reports
// (summary, thresholds, JUnit, merge, capacity, compare, charts): the
// nearest rank, as HdrHistogram Java's getValueAtPercentile and the
// textbook define it.
//
//	rank(q, n) = max(1, ceil(q/100 · n))           n values, 0 < q <= 100
//	p(q)       = the highest value equivalent to the bucket holding the
//	             rank-th smallest value (so p(100) is max_ms)
//	p(0)       = the lowest value equivalent to the smallest (min_ms)
//
// With n = 16, p95 is the 16th value (0.95 · 16 = 15.2, up to 16): a
// percentile never reads a lower rank than the share of values it
// promises to cover. hdrhistogram-go's ValueAtQuantile rounds the rank
// instead (q/100 · n + 0.5, the 15th here), which is optimistic at low
// counts; it is not used for reported numbers.

// rankSlack is how far above a whole number q/100 · n may land from float
// rounding alone and still be that number: q, q/100 and the product are
// each rounded once (about 3.3e-16 relative in all), so 1e-15 relative
// covers it while a rank that really lies above a whole number is at
// least 1e-4 above it for a q of two decimals (99.99) and fewer than 10^11
// values.
const rankSlack = 1e-15

// Rank is the nearest rank of percentile q (0..100) among n values,
// counted from 1: max(1, ceil(q/100 · n)), n for q >= 100, 1 for q <= 0
// (and NaN); 0 when n is 0. q stands for the decimal it is written as, so
// 99.9 % of 1000 is rank 999, though 99.9/100·1000 is 999.0000000000001 in
// floating point.
func Rank(q float64, n int64) int64 {
	switch {
	case n <= 0:
		return 0
	case !(q > 0):
		return 1
	case q >= 100:
		return n
	}
	x := q / 100 * float64(n)
	r := math.Round(x)
	if math.Abs(x-r) > x*rankSlack {
		r = math.Ceil(x)
	}
	return min(max(int64(r), 1), n)
}

// ValueAt returns percentile q (0..100) of h, a histogram in microseconds,
// as defined above; 0 for an empty h.
func ValueAt(h *hdr.Histogram, q float64) time.Duration {
	if h.TotalCount() == 0 {
		return 0
	}
	if !(q > 0) {
		return micros(h.Min())
	}
	return ValueAtRank(h, Rank(q, h.TotalCount()))
}

// ValueAtRank returns the highest value equivalent to the rank-th smallest
// value recorded in h, a histogram in microseconds; rank is clamped to
// 1..TotalCount, and an empty h gives 0. Order statistics (compare's
// confidence intervals) use it directly.
func ValueAtRank(h *hdr.Histogram, rank int64) time.Duration {
	n := h.TotalCount()
	if n == 0 {
		return 0
	}
	rank = min(max(rank, 1), n)
	// The rank is ours; only the scan for the bucket that holds it is the
	// library's (no allocation, unlike walking Distribution()). Its
	// percentile argument p becomes the rank int64(p/100·n + 0.5)
	// (hdr.go's percentileRank; Java's is ceil(p/100·n)): asking for
	// p/100·n = rank - 1/4 lands on rank under either rule, the float
	// error being far below 1/4. TestValueAtMatchesExpandedCounts pins it.
	p := 100 * (float64(rank) - 0.25) / float64(n)
	return micros(h.ValueAtPercentile(p))
}
