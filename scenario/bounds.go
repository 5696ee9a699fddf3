package scenario

import (
	"math"
	"strings"
	"time"
)

// Bounds on what one run of one process can do. Validate refuses
// scenarios beyond them with the bound in the message: they cannot run as
// written, and finding out an hour into the run (or from a process grown
// to gigabytes) is worse.
const (
	// MaxRunLength bounds the sum of the stages: a year. A longer run is a
	// mistake (two 2,000,000h stages), and the bound keeps every sum of
	// durations far from overflowing time.Duration (292 years).
	MaxRunLength = 366 * 24 * time.Hour

	// MinTelemetryEvery is the shortest behaviours.telemetry.every: 10ms,
	// 100 publishes per second per user. Below it a handful of users
	// flood the process itself (1ns with 10 users grew to 2 GB in 10 s);
	// use telemetry.rate for a fleet-wide load instead.
	MinTelemetryEvery = 10 * time.Millisecond
)

// MaxOpenRate is the ceiling on the summed arrival rate of all open-model
// behaviours (telemetry rate, sos, contacts, devices) at any stage:
// 20,000 arrivals per second. Starting an arrival costs the scheduler tens
// of µs (a timer, a goroutine, picking an idle user); at 20,000/s that
// alone fills a core, so beyond it the schedule falls behind whatever the
// target does. The work each arrival then does costs more (about 380 µs of
// CPU per telemetry message all told, docs/performance.md), so the real
// limit of a machine is lower and is judged during the run (schedule.lag,
// the health verdict); this ceiling only refuses what cannot work at all.
var MaxOpenRate = Rate{PerSecond: 20000}

// checkOpenLoad refuses open-model rates one process cannot schedule:
// one rate above MaxOpenRate, or rates that add up to more during a stage
// with users online.
func (v *validator) checkOpenLoad() {
	const advice = "split the load with --procs or shards"
	limit := MaxOpenRate.PerSecond
	b := v.s.Behaviours
	over := false
	for _, name := range RateBehaviours {
		if r, off := b.rateOf(name); off == "" && r.PerSecond > limit {
			v.errorf("behaviours."+name+".rate", "%s is more than one process can schedule (at most %s in all open-model behaviours); %s", r, MaxOpenRate, advice)
			over = true
		}
	}
	for i, st := range v.s.Stages {
		for _, name := range sortedKeys(st.Rates) {
			if r := st.Rates[name]; r.PerSecond > limit {
				v.errorf(index("stages", i)+".rates."+name, "%s is more than one process can schedule (at most %s in all open-model behaviours); %s", r, MaxOpenRate, advice)
				over = true
			}
		}
	}
	if over {
		return
	}
	for i, st := range v.s.Stages {
		if st.Users == 0 {
			continue // arrivals pause
		}
		sum, parts := 0.0, []string{}
		for _, name := range RateBehaviours {
			r, off := b.rateOf(name)
			if off != "" {
				continue
			}
			if sr, ok := st.Rates[name]; ok {
				r = sr
			}
			if r.PerSecond > 0 {
				sum += r.PerSecond
				parts = append(parts, name+" "+r.String())
			}
		}
		if sum > limit && !math.IsInf(sum, 0) {
			path := "behaviours"
			if len(st.Rates) > 0 {
				path = index("stages", i) + ".rates"
			}
			v.errorf(path, "the open-model behaviours add up to %s during stage %s (%s), more than one process can schedule (at most %s in all); %s",
				Rate{PerSecond: sum}, st.Name, strings.Join(parts, ", "), MaxOpenRate, advice)
			return
		}
	}
}
