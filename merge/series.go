package merge

import (
	"math"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// seconds is the merged run second by second on the timeline's grid: the
// counters and gauges of every shard summed at the end of each second, and
// each latency metric's errors in it.
type seconds struct {
	values []map[string]int64
	errors []map[string]int64
}

// sumSeconds places every point of every shard's series on the grid (by
// its interval's start, like the logs) and sums them per second. A shard
// that has no point in a second counts with its last value before it
// (counters only grow; a gauge keeps its level), and with nothing before
// its first point.
func (tl *timeline) sumSeconds(shards []*shard) seconds {
	type placed struct {
		k int
		p report.Point
	}
	perShard := make([][]placed, len(shards))
	for i, s := range shards {
		off := s.base.Sub(tl.ref)
		for _, p := range s.sum.Series {
			start, end := off+secs(p.T-p.Seconds), off+secs(p.T)
			k := second(start)
			tl.widen(k, start, end)
			perShard[i] = append(perShard[i], placed{k, p})
		}
	}
	n := len(tl.spans)
	out := seconds{values: make([]map[string]int64, n), errors: make([]map[string]int64, n)}
	for k := range n {
		out.values[k], out.errors[k] = map[string]int64{}, map[string]int64{}
	}
	for _, pts := range perShard {
		var last map[string]int64
		j := 0
		for k := range n {
			for ; j < len(pts) && pts[j].k <= k; j++ {
				last = pts[j].p.Values
				if pts[j].k == k {
					for name, st := range pts[j].p.Latencies {
						out.errors[k][name] += st.Errors
					}
				}
			}
			for name, v := range last {
				out.values[k][name] += v
			}
		}
	}
	return out
}

// series builds summary.json's series from the grid: counters and gauges
// from the summed seconds, latency statistics exactly from each second's
// merged histogram, bounded like a run's series (metrics.Series).
func (tl *timeline) series(sec seconds) []report.Point {
	ser := metrics.NewSeries(metrics.DefaultSeriesPoints)
	names := tl.metricNames()
	for k := range tl.spans {
		sp := tl.span(k)
		p := metrics.Point{
			T:         sp.end.Seconds(),
			Seconds:   (sp.end - sp.start).Seconds(),
			Values:    sec.values[k],
			Latencies: map[string]metrics.IntervalStat{},
		}
		for _, name := range names {
			if st, ok := intervalStat(tl.at(name, k), sec.errors[k][name]); ok {
				p.Latencies[name] = st
			}
		}
		for name, errs := range sec.errors[k] {
			if _, done := p.Latencies[name]; !done && errs > 0 {
				p.Latencies[name] = metrics.IntervalStat{Errors: errs}
			}
		}
		ser.Add(p)
	}
	return report.SeriesFrom(ser.Points())
}

// intervalStat is one second of a metric, as metrics.Collector computes
// it; ok is false when the second had neither a success nor an error.
func intervalStat(h *hdr.Histogram, errs int64) (metrics.IntervalStat, bool) {
	if h == nil || h.TotalCount() == 0 {
		return metrics.IntervalStat{Errors: errs}, errs > 0
	}
	return metrics.IntervalStatOf(h, errs), true
}

// gauges samples every gauge of the catalogue once a second, from the
// summed seconds, during the stages (the teardown after the last stage
// excluded, as in a run), and users.online per stage.
func (tl *timeline) gauges(sec seconds, stages []report.Stage) (map[string]metrics.GaugeStats, map[string]map[string]metrics.GaugeStats, *report.Online) {
	stats := map[string]metrics.GaugeStats{}
	byStage := map[string]map[string]metrics.GaugeStats{} // stage -> gauge -> stats
	online := &report.Online{Stages: []report.StageOnline{}}
	if len(stages) == 0 {
		return stats, byStage, online
	}
	per := make([]report.StageOnline, len(stages))
	for i, st := range stages {
		per[i] = report.StageOnline{Name: st.Name, Target: st.Users}
	}
	// A second that ends after the last stage holds the teardown (users
	// disconnecting), as the shards' own tickers judge it: not a sample.
	last := stages[len(stages)-1].End
	for k := range tl.spans {
		sp := tl.span(k)
		at := tl.ref.Add(sp.end)
		if at.After(last) {
			break
		}
		i := stageAt(stages, at)
		if i < 0 {
			continue
		}
		for name, v := range sec.values[k] {
			if m, ok := scenario.LookupMetric(name); ok && m.Kind == scenario.KindGauge {
				g := stats[name]
				g.Add(v, (sp.end - sp.start).Seconds())
				stats[name] = g
				st := stages[i].Name
				if byStage[st] == nil {
					byStage[st] = map[string]metrics.GaugeStats{}
				}
				sg := byStage[st][name]
				sg.Add(v, (sp.end - sp.start).Seconds())
				byStage[st][name] = sg
			}
		}
		v := sec.values[k][scenario.UsersOnline]
		s := &per[i]
		if s.Samples == 0 || v < s.Min {
			s.Min = v
		}
		if s.Samples == 0 || v > s.Max {
			s.Max = v
		}
		s.Samples++
		online.Peak = max(online.Peak, v)
	}
	for _, s := range per {
		if s.Samples > 0 {
			online.Stages = append(online.Stages, s)
		}
	}
	return stats, byStage, online
}

// stageAt is the index of the last stage that started at or before t; -1
// before the first.
func stageAt(stages []report.Stage, t time.Time) int {
	i := -1
	for j, st := range stages {
		if !st.Start.After(t) {
			i = j
		}
	}
	return i
}

// secs converts seconds (a log's or series' float) to a duration, to the
// microsecond the logs are written with.
func secs(s float64) time.Duration {
	return time.Duration(math.Round(s*1e6)) * time.Microsecond
}
