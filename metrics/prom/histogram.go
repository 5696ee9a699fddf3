package prom

import (
	"strconv"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// histogramOf turns a cumulative HDR histogram of microseconds into
// Prometheus histogram fields: the count, the sum in seconds, and the
// cumulative count at each of latencyBuckets.
//
// A value counts in bucket "le=B" when the lowest value it is equivalent to
// (at the histogram's 3 significant digits) is at most B, so bucket counts
// are exact to that resolution. The sum is count × mean, with the same
// precision.
func histogramOf(h *hdr.Histogram) (count uint64, sum float64, buckets map[float64]uint64) {
	buckets = make(map[float64]uint64, len(latencyBuckets))
	bounds := make([]int64, len(latencyBuckets)) // µs
	for i, b := range latencyBuckets {
		bounds[i] = int64(b * 1e6)
	}
	per := make([]uint64, len(latencyBuckets)) // not yet cumulative
	for _, bar := range h.Distribution() {
		if bar.Count == 0 {
			continue
		}
		for i, b := range bounds {
			if bar.From <= b {
				per[i] += uint64(bar.Count)
				break
			}
		}
	}
	var cum uint64
	for i, b := range latencyBuckets {
		cum += per[i]
		buckets[b] = cum
	}
	count = uint64(h.TotalCount())
	sum = h.Mean() * float64(count) / 1e6
	return count, sum, buckets
}

func itoa(i int) string { return strconv.Itoa(i) }

// zeroBuckets are the buckets of a histogram that has no values.
func zeroBuckets() map[float64]uint64 {
	buckets := make(map[float64]uint64, len(latencyBuckets))
	for _, b := range latencyBuckets {
		buckets[b] = 0
	}
	return buckets
}
