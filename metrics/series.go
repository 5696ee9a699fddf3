package metrics

import "time"

// DefaultSeriesPoints bounds a run's in-memory series: at one point per
// second that is 30 minutes at full resolution, after which resolution
// halves each time the series fills.
const DefaultSeriesPoints = 1800

// Series is a bounded time series of Points. When full, adjacent pairs are
// merged, so memory stays fixed and resolution degrades gracefully:
//
//	points:  1 2 3 4 5 6 7 8   (full)
//	merged:  [12] [34] [56] [78]
//
// A merged point keeps the later counter values (they are cumulative or
// instantaneous), sums counts and errors (by class too), averages p50
// weighted by count, and keeps the larger p95, p99 and max (a conservative
// chart). Exact per-second distributions live in the hlog files, not here.
type Series struct {
	max    int
	points []Point
}

// NewSeries returns an empty series holding at most max points (max >= 2).
func NewSeries(max int) *Series {
	if max < 2 {
		max = 2
	}
	return &Series{max: max}
}

// Add appends p, halving the resolution first if the series is full.
func (s *Series) Add(p Point) {
	if len(s.points) == s.max {
		s.compact()
	}
	s.points = append(s.points, p)
}

// Points returns a copy of the points.
func (s *Series) Points() []Point {
	return append([]Point(nil), s.points...)
}

func (s *Series) compact() {
	n := 0
	for i := 0; i+1 < len(s.points); i += 2 {
		s.points[n] = mergePoints(s.points[i], s.points[i+1])
		n++
	}
	if len(s.points)%2 == 1 {
		s.points[n] = s.points[len(s.points)-1]
		n++
	}
	clear(s.points[n:])
	s.points = s.points[:n]
}

func mergePoints(a, b Point) Point {
	out := Point{T: b.T, Seconds: a.Seconds + b.Seconds, Values: b.Values, Latencies: map[string]IntervalStat{}}
	for name, sa := range a.Latencies {
		out.Latencies[name] = mergeStats(sa, b.Latencies[name])
	}
	for name, sb := range b.Latencies {
		if _, done := out.Latencies[name]; !done {
			out.Latencies[name] = sb
		}
	}
	return out
}

func mergeStats(a, b IntervalStat) IntervalStat {
	out := IntervalStat{
		Count:  a.Count + b.Count,
		Errors: a.Errors + b.Errors,
		P95:    max(a.P95, b.P95),
		P99:    max(a.P99, b.P99),
		Max:    max(a.Max, b.Max),
	}
	if len(a.ErrorsBy)+len(b.ErrorsBy) > 0 {
		out.ErrorsBy = make(map[string]int64, len(a.ErrorsBy)+len(b.ErrorsBy))
		for class, n := range a.ErrorsBy {
			out.ErrorsBy[class] += n
		}
		for class, n := range b.ErrorsBy {
			out.ErrorsBy[class] += n
		}
	}
	if out.Count > 0 {
		// In floats: a long merged interval's count times an hour in
		// nanoseconds overflows int64.
		out.P50 = time.Duration((float64(a.P50)*float64(a.Count) + float64(b.P50)*float64(b.Count)) / float64(out.Count))
	}
	return out
}
