package engine

import (
	"slices"
	"time"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// Per-stage statistics: the ticker adds each one-second interval to the
// stage its middle falls in. The stage windows are the scenario's stage
// lengths laid end to end from the fleet's start, which the first status
// with a stage gives (its StageEnd minus the lengths so far: the stage
// controller ends each stage exactly there). An interval that straddles a
// boundary goes whole to the stage that holds most of it, so a stage's
// figures are exact to the one-second granularity of the intervals.
// Intervals before the first status belong to the first stage; those after
// the last stage ends (the teardown) to the last, so the stages add up to
// the whole run.

// stageClock assigns intervals to stages.
type stageClock struct {
	lengths []time.Duration // each stage's length, in order
	start   time.Time       // the fleet's start; zero until a status has a stage
}

func newStageClock(sc *scenario.Scenario) *stageClock {
	c := &stageClock{}
	for _, st := range sc.Stages {
		c.lengths = append(c.lengths, st.For)
	}
	return c
}

// stageOf returns the stage of the interval from prev to now, given the
// fleet's status at now; -1 for a scenario without stages.
func (c *stageClock) stageOf(st fleet.Status, prev, now time.Time) int {
	if len(c.lengths) == 0 {
		return -1
	}
	if c.start.IsZero() && st.Stage != "" && st.StageIndex < len(c.lengths) {
		start := st.StageEnd
		for i := 0; i <= st.StageIndex; i++ {
			start = start.Add(-c.lengths[i])
		}
		c.start = start
	}
	if c.start.IsZero() {
		return 0
	}
	mid := prev.Add(now.Sub(prev) / 2)
	end := c.start
	for i, d := range c.lengths {
		if end = end.Add(d); mid.Before(end) {
			return i
		}
	}
	return len(c.lengths) - 1
}

// stagesSummary is the stages of summary.json: each stage that ran, its
// timing and the statistics of its intervals (rates over their length).
func stagesSummary(timings []fleet.StageTiming, c *metrics.Collector) []report.Stage {
	var out []report.Stage
	for i, t := range timings {
		st := stageTiming(t)
		if stats, ok := c.StageStats(i); ok {
			st.From, st.To = stats.From, stats.To
			st.Metrics = map[string]report.Metric{}
			for _, m := range stats.Latencies {
				st.Metrics[m.Name] = report.MetricFrom(m, stats.Seconds)
			}
			st.Counters = stats.Counters
		}
		out = append(out, st)
	}
	return out
}

// stageTiming converts a fleet stage timing; report.Stage starts with the
// same fields (TestStageTimingFields).
func stageTiming(t fleet.StageTiming) report.Stage {
	return report.Stage{Name: t.Name, Users: t.Users, Start: t.Start, End: t.End}
}

// measured is the run's measurements of the named metrics (nil: all) over
// the whole run and over each stage that had an interval, by name.
func measured(sc *scenario.Scenario, c *metrics.Collector, elapsed time.Duration, names []string) metrics.Measured {
	return measuredStages(sc, c, elapsed, names, func(string) bool { return true })
}

// measuredStages is measured with only the stages that want accepts.
func measuredStages(sc *scenario.Scenario, c *metrics.Collector, elapsed time.Duration, names []string, want func(stage string) bool) metrics.Measured {
	m := metrics.Measured{Run: c.Measure(elapsed, names), Stages: map[string]metrics.Measurements{}}
	for i, st := range sc.Stages {
		if !want(st.Name) {
			continue
		}
		if sm, ok := c.MeasureStage(i, names); ok {
			m.Stages[st.Name] = sm
		}
	}
	return m
}

// ruleMetrics are the metrics the rules of th (or, with abortOnly, of its
// abort_on_fail keys) are on.
func ruleMetrics(th scenario.Thresholds, abortOnly bool) []string {
	var names []string
	for _, mr := range th.Metrics {
		if abortOnly && !slices.Contains(th.AbortOnFail, mr.Key()) {
			continue
		}
		names = append(names, mr.Metric)
	}
	return names
}
