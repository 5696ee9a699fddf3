package health

import (
	"math"
	"runtime/metrics"
	"time"
)

// runtime/metrics names the monitor reads.
const (
	rmSchedLatencies = "/sched/latencies:seconds"          // runnable → running, histogram
	rmGCPauses       = "/sched/pauses/total/gc:seconds"    // stop-the-world GC pauses, histogram
	rmGCPauseCPU     = "/cpu/classes/gc/pause:cpu-seconds" // pause time × GOMAXPROCS
	rmTotalCPU       = "/cpu/classes/total:cpu-seconds"
	rmIdleCPU        = "/cpu/classes/idle:cpu-seconds"
)

// runtimeReading is one read of the runtime's cumulative counters.
type runtimeReading struct {
	sched, gc  histogram
	gcPauseCPU float64 // seconds × GOMAXPROCS
	goBusyCPU  float64 // total − idle, seconds: the fallback CPU estimate
}

// runtimeReader reads the metrics above, reusing its sample slice.
type runtimeReader struct {
	samples []metrics.Sample
}

func newRuntimeReader() *runtimeReader {
	names := []string{rmSchedLatencies, rmGCPauses, rmGCPauseCPU, rmTotalCPU, rmIdleCPU}
	r := &runtimeReader{samples: make([]metrics.Sample, len(names))}
	for i, n := range names {
		r.samples[i].Name = n
	}
	return r
}

// read returns the current cumulative values. A metric this Go version
// does not have reads as empty.
func (r *runtimeReader) read() runtimeReading {
	metrics.Read(r.samples)
	var out runtimeReading
	var total, idle float64
	for _, s := range r.samples {
		switch s.Name {
		case rmSchedLatencies:
			out.sched = histogramOf(s.Value)
		case rmGCPauses:
			out.gc = histogramOf(s.Value)
		case rmGCPauseCPU:
			out.gcPauseCPU = float64Of(s.Value)
		case rmTotalCPU:
			total = float64Of(s.Value)
		case rmIdleCPU:
			idle = float64Of(s.Value)
		}
	}
	out.goBusyCPU = total - idle
	return out
}

func float64Of(v metrics.Value) float64 {
	if v.Kind() != metrics.KindFloat64 {
		return 0
	}
	return v.Float64()
}

// histogram is a copy of a runtime/metrics time histogram: Counts[i]
// values fell in [Buckets[i], Buckets[i+1]) seconds.
type histogram struct {
	Counts  []uint64
	Buckets []float64
}

func histogramOf(v metrics.Value) histogram {
	if v.Kind() != metrics.KindFloat64Histogram {
		return histogram{}
	}
	h := v.Float64Histogram()
	// A reused Sample's slices are overwritten by the next read: copy the
	// counts. The buckets of a metric never change while the process lives.
	return histogram{Counts: append([]uint64(nil), h.Counts...), Buckets: h.Buckets}
}

// since returns the values recorded after prev (an earlier read of the
// same metric).
func (h histogram) since(prev histogram) histogram {
	if len(prev.Counts) != len(h.Counts) {
		return h
	}
	d := histogram{Counts: make([]uint64, len(h.Counts)), Buckets: h.Buckets}
	for i, c := range h.Counts {
		d.Counts[i] = c - prev.Counts[i]
	}
	return d
}

// total is the number of values in h.
func (h histogram) total() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// quantile returns the q-th quantile (0..1) of h as the upper bound of its
// bucket, so never optimistic (the runtime's buckets are a few per power
// of two). It is zero for an empty histogram.
func (h histogram) quantile(q float64) time.Duration {
	n := h.total()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.Counts {
		seen += c
		if seen >= rank {
			return h.upper(i)
		}
	}
	return h.upper(len(h.Counts) - 1)
}

// max returns the upper bound of the highest non-empty bucket, zero for
// an empty histogram.
func (h histogram) max() time.Duration {
	for i := len(h.Counts) - 1; i >= 0; i-- {
		if h.Counts[i] > 0 {
			return h.upper(i)
		}
	}
	return 0
}

// upper is bucket i's upper bound, or its lower bound for the last,
// unbounded bucket.
func (h histogram) upper(i int) time.Duration {
	b := h.Buckets[i+1]
	if math.IsInf(b, 1) {
		b = h.Buckets[i]
	}
	if b <= 0 || math.IsInf(b, 0) {
		return 0
	}
	return time.Duration(b * float64(time.Second))
}
