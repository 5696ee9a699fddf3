package report

import (
	"time"

	"github.com/eixamsim/eixamsim/metrics"
)

// Point is one point of summary.json's series: the run at the end of one
// interval (a second, more once the series merged adjacent points).
type Point struct {
	// T is the end of the interval in seconds since the run start.
	T float64 `json:"t_s"`
	// Seconds is the interval's length.
	Seconds float64 `json:"interval_s"`
	// Values holds every counter and gauge at the end of the interval.
	Values map[string]int64 `json:"values"`
	// Latencies holds, per latency metric that had anything in the
	// interval, its interval statistics.
	Latencies map[string]IntervalStat `json:"latencies"`
}

// IntervalStat is one latency metric's statistics over one interval, in
// milliseconds (to the microsecond).
type IntervalStat struct {
	Count  int64 `json:"count"`
	Errors int64 `json:"errors"`
	// ErrorsBy splits Errors by class (only classes with an error in the
	// interval); absent when there was none, and in summaries written
	// before it existed.
	ErrorsBy map[string]int64 `json:"errors_by_class,omitempty"`
	P50      float64          `json:"p50_ms"`
	P95      float64          `json:"p95_ms"`
	P99      float64          `json:"p99_ms"`
	Max      float64          `json:"max_ms"`
}

// SeriesFrom converts a collector's series into summary.json's units.
func SeriesFrom(points []metrics.Point) []Point {
	out := make([]Point, len(points))
	for i, p := range points {
		out[i] = Point{T: p.T, Seconds: p.Seconds, Values: p.Values, Latencies: make(map[string]IntervalStat, len(p.Latencies))}
		for name, st := range p.Latencies {
			out[i].Latencies[name] = IntervalStat{
				Count: st.Count, Errors: st.Errors, ErrorsBy: st.ErrorsBy,
				P50: ms(st.P50), P95: ms(st.P95), P99: ms(st.P99), Max: ms(st.Max),
			}
		}
	}
	return out
}

// microsMs converts integer microseconds (schema version 1) to
// milliseconds.
func microsMs(us int64) float64 { return ms(time.Duration(us) * time.Microsecond) }
