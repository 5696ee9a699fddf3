package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// MaxChartPoints bounds the points of one line of a chart over time:
// adjacent intervals are merged until at most this many are left, so a
// 24 h run draws as fast as a 1 min one.
const MaxChartPoints = 300

// xy is one chart point.
type xy struct{ X, Y float64 }

// chartLine is one line of a chart: a legend name, a colour from palette
// and the points, in x order.
type chartLine struct {
	Name   string
	Color  string
	Dashed bool
	Step   bool // draw as a staircase (a target that changes at stage starts)
	Points []xy
	// Labels, when set, are the hover texts of the points (by index);
	// otherwise the hover shows the point's own x and y.
	Labels []string
}

// chartKind says how a chart's x axis reads.
type chartKind int

const (
	overTime     chartKind = iota // x: seconds since the run started
	byPercentile                  // x: 1/(1-q), drawn log-scaled with percentile ticks
)

// chart is the data of one chart, before it is drawn. Latency values are
// microseconds; drawing picks the unit.
type chart struct {
	ID      string
	Title   string
	Caption string
	Kind    chartKind
	YLabel  string // for non-latency charts; latency charts say their unit
	Latency bool   // y values are microseconds
	// Stacked: each line's y is the sum of its own value and those of
	// the lines before it, drawn as filled bands (Labels say the value).
	Stacked bool
	Lines   []chartLine
	Stages  []float64 // stage boundaries in seconds, drawn as vertical lines
	Events  []float64 // incidents (summary events) in seconds, drawn as red vertical lines
	XMax    float64   // end of the time axis in seconds (overTime)
}

// populated reports whether any line of c has a point.
func (c chart) populated() bool {
	for _, l := range c.Lines {
		if len(l.Points) > 0 {
			return true
		}
	}
	return false
}

// Palette of the charts (Tableau 10): colour-blind friendly and distinct
// in print. Legends in the HTML use the same strings.
var palette = []string{"#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#ff9da7", "#bab0ac"}

func colorAt(i int) string { return palette[i%len(palette)] }

// groupSize is how many adjacent items merge into one chart point so that
// n items give at most MaxChartPoints points.
func groupSize(n int) int {
	if n <= MaxChartPoints {
		return 1
	}
	return (n + MaxChartPoints - 1) / MaxChartPoints
}

// latencyLog is what the charts draw from one metric's interval log:
// adjacent intervals merged (exactly: histograms add) into at most
// MaxChartPoints groups, and the whole run's histogram.
type latencyLog struct {
	k      int            // intervals per group
	groups []latencyGroup // in time order, one per k intervals
	total  *hdr.Histogram // every interval merged; nil for no log
	// first and last are the start of the first and the end of the last
	// interval that holds a value, in seconds since the run started.
	first, last float64
}

// latencyGroup is one group of adjacent intervals of a latencyLog.
type latencyGroup struct {
	end           float64 // end of its last interval, in seconds
	count         int64   // values recorded in it
	p50, p95, p99 int64   // µs; 0 when count is 0
}

// readLatencyLog merges metric's intervals from src, decoding one at a
// time: it holds the group being merged and the total, never the log.
func readLatencyLog(src intervalSource, metric string) (latencyLog, error) {
	n := src.intervals(metric)
	ll := latencyLog{k: groupSize(n), first: -1}
	if n == 0 {
		return ll, nil
	}
	var merged *hdr.Histogram
	var g latencyGroup
	i := 0
	flush := func() {
		if merged.TotalCount() > 0 {
			g.count = merged.TotalCount()
			g.p50, g.p95, g.p99 = microsAt(merged, 50), microsAt(merged, 95), microsAt(merged, 99)
		}
		ll.groups = append(ll.groups, g)
		merged.Reset()
		g = latencyGroup{}
	}
	err := src.each(metric, func(iv Interval) {
		if merged == nil {
			merged, ll.total = newLike(iv.Hist), newLike(iv.Hist)
		}
		if iv.Hist.TotalCount() > 0 {
			merged.Merge(iv.Hist)
			ll.total.Merge(iv.Hist)
			if ll.first < 0 {
				ll.first = iv.Start
			}
			ll.last = iv.End()
		}
		g.end = iv.End()
		if i++; i%ll.k == 0 {
			flush()
		}
	})
	if err != nil {
		return latencyLog{}, err
	}
	if i%ll.k != 0 {
		flush()
	}
	return ll, nil
}

// latencyOverTime builds p50/p95/p99 lines from a metric's interval log.
// Adjacent intervals are merged (exactly: histograms add) into at most
// MaxChartPoints groups; a point sits at its group's end. Groups with no
// value leave a gap in the points rather than a fake zero.
func latencyOverTime(ivs []Interval) (p50, p95, p99 []xy) {
	ll, _ := readLatencyLog(Histograms{"": ivs}, "") // in memory: no error
	return ll.lines()
}

// lines are ll's p50/p95/p99 points, one per group that holds a value.
func (ll latencyLog) lines() (p50, p95, p99 []xy) {
	for _, g := range ll.groups {
		if g.count == 0 {
			continue
		}
		p50 = append(p50, xy{g.end, float64(g.p50)})
		p95 = append(p95, xy{g.end, float64(g.p95)})
		p99 = append(p99, xy{g.end, float64(g.p99)})
	}
	return p50, p95, p99
}

// percentileCurve samples h's distribution like the HdrHistogram plotter:
// x = 1/(1-q) for percentile q, log-spaced from q=0 (x=1) up to
// q = 1-1/count (x=count, the highest percentile the data can tell apart
// from the maximum), ending at the maximum. y is in microseconds.
func percentileCurve(h *hdr.Histogram) []xy {
	n := h.TotalCount()
	if n == 0 {
		return nil
	}
	xmax := max(float64(n), 10)
	const steps = 120
	pts := make([]xy, 0, steps+2)
	for j := 0; j <= steps; j++ {
		x := math.Pow(xmax, float64(j)/steps)
		q := 100 * (1 - 1/x)
		pts = append(pts, xy{x, float64(microsAt(h, q))})
	}
	pts[len(pts)-1].Y = float64(h.Max())
	return pts
}

// microsAt is percentile q of h in microseconds, as every reported
// percentile is (metrics.ValueAt).
func microsAt(h *hdr.Histogram, q float64) int64 { return metrics.ValueAt(h, q).Microseconds() }

// seriesGroup is adjacent series points merged into one chart point.
type seriesGroup struct {
	end      float64          // seconds since start
	seconds  float64          // total interval length
	counts   map[string]int64 // successes per latency metric
	errors   map[string]int64 // errors per latency metric
	errorsBy map[string]int64 // errors per errorKey(metric, class)
	values   map[string]int64 // counter and gauge values at the group's end
}

// groupSeries merges adjacent points into at most MaxChartPoints groups.
func groupSeries(points []Point) []seriesGroup {
	k := groupSize(len(points))
	var out []seriesGroup
	for i := 0; i < len(points); i += k {
		g := seriesGroup{counts: map[string]int64{}, errors: map[string]int64{}, errorsBy: map[string]int64{}}
		for _, p := range points[i:min(i+k, len(points))] {
			g.end = p.T
			g.seconds += p.Seconds
			g.values = p.Values
			for name, st := range p.Latencies {
				g.counts[name] += st.Count
				g.errors[name] += st.Errors
				var classified int64
				for class, n := range st.ErrorsBy {
					g.errorsBy[errorKey(name, class)] += n
					classified += n
				}
				if rest := st.Errors - classified; rest > 0 {
					g.errorsBy[errorKey(name, "")] += rest
				}
			}
		}
		out = append(out, g)
	}
	return out
}

// rate is n per second over the group (0 for an empty interval).
func (g seriesGroup) rate(n int64) float64 {
	if g.seconds <= 0 {
		return 0
	}
	return float64(n) / g.seconds
}

// sum adds f over the latency metric names that match.
func sumWhere(m map[string]int64, match func(string) bool) int64 {
	var n int64
	for name, v := range m {
		if match(name) {
			n += v
		}
	}
	return n
}

// throughputChart: successful operations per second, by family (each
// family of metrics a person thinks of as "load", as the scenario's
// catalogue assigns them). Families that never happened are left out.
func throughputChart(groups []seriesGroup) chart {
	c := chart{ID: "throughput", Title: "Throughput", YLabel: "operations / s",
		Caption: "Successful operations per second, by kind (errors are in the next chart)."}
	var totals []string
	for i, family := range scenario.ThroughputFamilies {
		l := chartLine{Name: family, Color: colorAt(i)}
		inFamily := func(n string) bool { return scenario.ThroughputFamily(n) == family }
		var total int64
		for _, g := range groups {
			n := sumWhere(g.counts, inFamily)
			total += n
			l.Points = append(l.Points, xy{g.end, g.rate(n)})
		}
		if total > 0 {
			c.Lines = append(c.Lines, l)
			totals = append(totals, fmt.Sprintf("%d %s", total, family))
		}
	}
	if len(totals) > 0 {
		c.Caption += " In all: " + strings.Join(totals, ", ") + "."
	}
	return c
}

// maxErrorBands bounds the bands of the errors chart: the (metric, class)
// pairs with the most errors get one each, the rest share "other".
const maxErrorBands = 6

// errorKey names one band of the errors chart: "metric: class", or the
// metric alone for series written before classes were recorded.
func errorKey(metric, class string) string {
	if class == "" {
		return metric
	}
	return metric + ": " + class
}

// errorsChart: failed operations per second, stacked by metric and error
// class (the maxErrorBands largest pairs, the rest as "other"). Each
// band's hover says its own rate and count.
func errorsChart(groups []seriesGroup, sum *Summary) chart {
	c := chart{ID: "errors", Title: "Errors by class", YLabel: "errors / s", Stacked: true}
	totals := map[string]int64{}
	for _, g := range groups {
		for k, n := range g.errorsBy {
			totals[k] += n
		}
	}
	keys := sortedKeys(totals)
	sort.SliceStable(keys, func(i, j int) bool { return totals[keys[i]] > totals[keys[j]] })
	bands := keys
	var other []string
	if len(keys) > maxErrorBands {
		bands, other = keys[:maxErrorBands-1], keys[maxErrorBands-1:]
	}
	names := append([]string(nil), bands...)
	if len(other) > 0 {
		names = append(names, fmt.Sprintf("other (%d classes)", len(other)))
	}
	below := make([]float64, len(groups)) // the stack under the next band
	for i, name := range names {
		l := chartLine{Name: name, Color: colorAt(2 + i)}
		for j, g := range groups {
			var n int64
			if i < len(bands) {
				n = g.errorsBy[name]
			} else {
				for _, k := range other {
					n += g.errorsBy[k]
				}
			}
			r := g.rate(n)
			below[j] += r
			l.Points = append(l.Points, xy{g.end, below[j]})
			l.Labels = append(l.Labels, fmt.Sprintf("%s at %s: %s errors/s (%d errors)", name, fmtSeconds(g.end), strconv.FormatFloat(r, 'g', 4, 64), n))
		}
		c.Lines = append(c.Lines, l)
	}
	n := sum.TotalErrors()
	switch {
	case n == 0:
		c.Caption = "No operation failed during the run."
		c.Stacked = false
		c.Lines = []chartLine{{Name: "errors", Color: colorAt(2)}}
		for _, g := range groups {
			c.Lines[0].Points = append(c.Lines[0].Points, xy{g.end, 0})
		}
	case len(keys) == 0:
		c.Caption = fmt.Sprintf("%d operations failed; the series holds no error counts.", n)
	default:
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %d", k, totals[k]))
		}
		c.Caption = fmt.Sprintf("Failed operations per second, stacked by metric and error class. In all: %d (%s); sample messages are in the errors table.", n, strings.Join(parts, ", "))
	}
	return c
}

// usersChart: users online (the users.online gauge) against the stage
// targets.
func usersChart(groups []seriesGroup, sum *Summary) chart {
	c := chart{ID: "users", Title: "Users online", YLabel: "users",
		Caption: "Virtual users connected over MQTT, against each stage's target."}
	online := chartLine{Name: "online", Color: colorAt(0)}
	if len(groups) > 0 && groups[0].end > 0 {
		online.Points = append(online.Points, xy{0, 0}) // nobody is online at the start
	}
	for _, g := range groups {
		online.Points = append(online.Points, xy{g.end, float64(g.values[scenario.UsersOnline])})
	}
	c.Lines = append(c.Lines, online)
	if len(sum.Stages) > 0 {
		target := chartLine{Name: "stage target", Color: "#555555", Dashed: true, Step: true}
		start := sum.Start.Round(0)
		for _, st := range sum.Stages {
			target.Points = append(target.Points, xy{st.Start.Round(0).Sub(start).Seconds(), float64(st.Users)})
		}
		last := sum.Stages[len(sum.Stages)-1]
		target.Points = append(target.Points, xy{last.End.Round(0).Sub(start).Seconds(), float64(last.Users)})
		c.Lines = append(c.Lines, target)
	}
	return c
}

// latencyChart: p50/p95/p99 of one metric over time, from its hlog. The
// caption warns when the lines can mislead: when all values fall into a
// short part of the run (a login burst), or when points hold so few values
// that p95 and p99 are just the maximum.
func latencyChart(metric string, ll latencyLog, runSeconds float64) chart {
	p50, p95, p99 := ll.lines()
	k := ll.k
	caption := "Percentiles of each 1 s interval of the HDR log."
	if k > 1 {
		caption = "Percentiles of " + strconv.Itoa(k) + " merged 1 s intervals of the HDR log per point."
	}
	var total int64
	var perPoint []int64
	for _, g := range ll.groups {
		if g.count > 0 {
			perPoint = append(perPoint, g.count)
		}
		total += g.count
	}
	first, last := ll.first, ll.last
	if total > 0 && runSeconds > 0 && last-first < runSeconds/4 {
		caption += fmt.Sprintf(" All %d values were measured between %s and %s.", total, fmtSeconds(first), fmtSeconds(last))
	}
	if len(perPoint) > 0 {
		sort.Slice(perPoint, func(i, j int) bool { return perPoint[i] < perPoint[j] })
		if med := perPoint[len(perPoint)/2]; med < 20 {
			caption += fmt.Sprintf(" A point holds few values (median %d), so p95 and p99 often equal the maximum and overlap.", med)
		}
	}
	return chart{
		ID: "latency-" + metric, Title: metric, Kind: overTime, Latency: true, Caption: caption,
		Lines: []chartLine{
			{Name: "p50", Color: colorAt(0), Points: p50},
			{Name: "p95", Color: colorAt(1), Points: p95},
			{Name: "p99", Color: colorAt(2), Points: p99},
		},
	}
}

// distributionChart: the percentile distribution of each metric over the
// whole run.
func distributionChart(metricsShown []string, logs map[string]latencyLog) chart {
	c := chart{ID: "distribution", Title: "Latency by percentile", Kind: byPercentile, Latency: true,
		Caption: "Whole run, from the HDR logs. The x axis stretches the tail: each step right is ten times rarer."}
	for i, m := range metricsShown {
		h := logs[m].total
		if h == nil || h.TotalCount() == 0 {
			continue
		}
		c.Lines = append(c.Lines, chartLine{Name: m, Color: colorAt(i), Points: percentileCurve(h)})
	}
	return c
}
