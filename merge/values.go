package merge

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/eixamsim/eixamsim/report"
)

const (
	// futureSlack is how far past the merge's clock a shard may say it
	// ended: the machines' clocks agree (NTP) much better than this.
	futureSlack = 5 * time.Minute
	// logSlack is how far a shard's start may lie from its logs' start:
	// the engine opens the logs a few milliseconds before the users start.
	logSlack = time.Minute
)

// checkValues refuses a shard whose summary.json holds what no run
// writes: an end before its start or in the future (after now), a start
// that its interval logs contradict, or a negative count. A merge would
// otherwise turn such a file into a verdict.
func checkValues(s *shard, now time.Time) error {
	sum := s.sum
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("refusing to merge: %s: %s", s.file(), fmt.Sprintf(format, args...))
	}
	switch {
	case sum.End.Before(sum.Start):
		return refuse("the run ends (%s) before it starts (%s)", stamp(sum.End), stamp(sum.Start))
	case sum.End.After(now.Add(futureSlack)):
		return refuse("the run ends in the future (%s; it is %s)", stamp(sum.End), stamp(now))
	case !s.logStart.IsZero() && (sum.Start.Before(s.logStart.Add(-logSlack)) || sum.Start.After(s.logStart.Add(logSlack))):
		return refuse("the run starts at %s but its interval logs at %s (hdr/*.hlog BaseTime): one of them is not this run's",
			stamp(sum.Start), stamp(s.logStart))
	}
	if err := noNegative("", sum.Metrics, sum.Counters); err != nil {
		return refuse("%v", err)
	}
	for i, st := range sum.Stages {
		if err := noNegative(fmt.Sprintf("stages[%d].", i), st.Metrics, st.Counters); err != nil {
			return refuse("%v", err)
		}
	}
	return nil
}

// noNegative reports the first negative count among metrics' counts and
// errors and the counters, its key prefixed with at.
func noNegative(at string, metrics map[string]report.Metric, counters map[string]int64) error {
	for _, name := range slices.Sorted(maps.Keys(metrics)) {
		m := metrics[name]
		switch {
		case m.Count < 0:
			return fmt.Errorf("%smetrics.%s.count is %d: a count cannot be negative", at, name, m.Count)
		case m.Errors < 0:
			return fmt.Errorf("%smetrics.%s.errors is %d: a count cannot be negative", at, name, m.Errors)
		}
		for _, class := range slices.Sorted(maps.Keys(m.ErrorsBy)) {
			if n := m.ErrorsBy[class]; n < 0 {
				return fmt.Errorf("%smetrics.%s.errors_by_class.%s is %d: a count cannot be negative", at, name, class, n)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(counters)) {
		if v := counters[name]; v < 0 {
			return fmt.Errorf("%scounters.%s is %d: a count cannot be negative", at, name, v)
		}
	}
	return nil
}

// stamp is an instant as the refusals show it: UTC to the millisecond.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
