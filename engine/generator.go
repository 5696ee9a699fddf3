package engine

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/eixamsim/eixamsim/health"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// wholeRun hands the health monitor what only the whole run shows: its
// main connect ramp, and its arrival totals (the late drops of a
// simulator far behind come mostly in the teardown, after the last
// sample).
func wholeRun(mon *health.Monitor, sum *report.Summary) {
	if r, ok := rampOf(sum); ok {
		mon.Ramp(r)
	}
	mon.Arrivals(sum.Counters[scenario.ArrivalsScheduled], sum.Counters[scenario.ArrivalsDroppedLate])
}

// rampOf is the run's main connect ramp (summary.json connect) on the
// health monitor's clock, for health.Monitor.Ramp; false when the run had
// none.
func rampOf(sum *report.Summary) (health.Ramp, bool) {
	c := sum.Connect
	if c == nil {
		return health.Ramp{}, false
	}
	for _, st := range sum.Stages {
		if st.Name == c.Stage {
			from := time.Duration(st.From * float64(time.Second))
			return health.Ramp{From: from, To: from + time.Duration(c.Seconds*float64(time.Second)),
				AskedPerS: c.AskedPerS, ReachedPerS: c.ReachedPerS}, true
		}
	}
	return health.Ramp{}, false
}

// generatorNotes are the notes that read the simulator's side of a run
// beside its generator verdict: the live warning (if one was given, live),
// stated against the final verdict so that the notes never say "the
// simulator is the bottleneck" next to "generator: healthy"; and the
// arrivals dropped for want of an idle user, which are the scenario's
// limit, not the simulator's, and so do not count towards generator-bound.
func generatorNotes(sum *report.Summary, live string, lim health.Limits) []string {
	var out []string
	if g := sum.Generator; live != "" && g != nil {
		switch g.State {
		case health.GeneratorBound:
			out = append(out, live)
		case health.NotJudged:
			out = append(out, fmt.Sprintf("a live warning (%s) was not confirmed: the run was too short to judge the simulator's health (generator: not judged)", live))
		default:
			out = append(out, fmt.Sprintf("a live warning (%s) was overruled by the final verdict: no limit stayed exceeded for %v, so the generator was healthy and the latencies measure the target", live, lim.Sustain))
		}
	}
	if n := sum.Counters[scenario.ArrivalsDroppedNoIdleUser]; n > 0 {
		out = append(out, noIdleUserNote(sum, n))
	}
	return out
}

// noIdleUserNote says how many arrivals found every online user busy,
// against which metrics, and what to do.
func noIdleUserNote(sum *report.Summary, n int64) string {
	var by []string
	for _, name := range slices.Sorted(maps.Keys(sum.Metrics)) {
		if k := sum.Metrics[name].ErrorsBy[scenario.DropNoIdleUser]; k > 0 {
			by = append(by, fmt.Sprintf("%s %d", name, k))
		}
	}
	what := ""
	if len(by) > 0 {
		what = " (" + strings.Join(by, ", ") + ")"
	}
	share := ""
	if all := sum.Counters[scenario.ArrivalsScheduled]; all > 0 {
		share = fmt.Sprintf(" of %d (%.1f%%)", all, 100*float64(n)/float64(all))
	}
	return fmt.Sprintf("%d%s open-model arrivals were dropped because every online user was busy (%s)%s: "+
		"the rate needs more users; raise fleet.users or lower the rate. This is the scenario's limit, not the simulator's or the target's",
		n, share, scenario.ArrivalsDroppedNoIdleUser, what)
}
