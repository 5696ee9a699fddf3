package engine

import (
	"github.com/eixamsim/eixamsim/errclass"

	"strings"
	"sync/atomic"
	"time"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/health"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// backpressureClass is the telemetry.puback error class of a tick dropped
// because the user's in-flight window was full (fleet/user.go).
const backpressureClass = errclass.Backpressure

// ticker closes one metrics interval per second and does what hangs off
// each interval: flushing the hlog files, sampling the simulator's health
// (and warning once when it is the bottleneck), sampling users.online per
// stage, and telling the progress sink. Its methods run on one goroutine.
type ticker struct {
	c      *metrics.Collector
	hlogs  *metrics.HlogWriter
	reg    *metrics.Registry
	status func() fleet.Status
	stages int // the scenario's stage count
	mon    *health.Monitor
	online *onlineTracker
	// each is told about every interval (the progress sink); may be nil.
	each func(fleet.Status, metrics.Point)
	// warn is told, once, that the simulator is the bottleneck; may be nil.
	// The warning is kept in live, for the note the engine states against
	// the final verdict (generatorNotes).
	warn func(string)
	// stageOf says which stage each interval belongs to (stages.go); prev
	// is the end of the previous interval.
	stageOf *stageClock
	prev    time.Time

	live     string // the live warning; "" until there was one
	torndown bool
	// counts so far, for each interval's share: telemetry.puback
	// backpressure errors, arrivals.scheduled, arrivals.dropped.late
	backpressure, scheduled, late int64
}

// tick ends the interval at now. stopping says the run's context is done:
// what follows is the teardown.
func (t *ticker) tick(now time.Time, stopping bool) {
	st := t.status()
	load := !t.torndown && t.mostlyStages(st, now, stopping)
	// A tick handled after the last stage's end is the teardown even when
	// it was due before it: the counters and gauges it reads now are the
	// users leaving.
	ended := t.pastLastStage(st, now) || t.pastLastStage(st, time.Now())
	if !t.torndown && (stopping || ended) {
		// users.online thresholds and the per-stage samples end with the
		// stages: the teardown's 0 is not a level the run held.
		t.torndown = true
		t.c.StopGaugeSamples()
	}
	t.c.TickStage(now, t.stageOf.stageOf(st, t.prev, now))
	t.prev = now
	_ = t.hlogs.Flush()
	p := t.c.Last()
	if !t.torndown && st.Stage != "" {
		t.online.add(st.StageIndex, p.Values[scenario.UsersOnline])
	}
	if load {
		// The teardown is not judged: closing every connection at once
		// saturates the scheduler by design, and nothing is measured then.
		t.sampleHealth(now, p)
	}
	if t.each != nil {
		t.each(st, p)
	}
}

// mostlyStages reports whether the interval ending at now was load: before
// the stages ended and the run was stopped, or mostly before the last
// stage's end. The tick that first finds the stages over (even the last
// one, after the fleet returned) still closes an interval of load when the
// end fell late in it, so a 10 s run has ten seconds of health samples
// whichever of the ticker and the fleet started first; a run stopped
// early (interrupted, aborted) has none from its stop on.
func (t *ticker) mostlyStages(st fleet.Status, now time.Time, stopping bool) bool {
	if !t.pastLastStage(st, now) {
		return !stopping
	}
	return 2*st.StageEnd.Sub(t.prev) >= now.Sub(t.prev)
}

// pastLastStage reports whether st is the last stage and it has ended.
func (t *ticker) pastLastStage(st fleet.Status, now time.Time) bool {
	return st.Stage != "" && st.StageIndex == t.stages-1 && !now.Before(st.StageEnd)
}

// sampleHealth feeds the interval to the health monitor: schedule.lag's
// p99 and count (every planned send records its lag), and, since the last
// interval, the ticks dropped as backpressure, the open-model arrivals due
// and those dropped late. Arrivals dropped for want of an idle user are
// left out: the scenario's limit, not the simulator's (generatorNotes).
func (t *ticker) sampleHealth(now time.Time, p metrics.Point) {
	lag := p.Latencies[scenario.ScheduleLag]
	var bp int64
	for _, l := range t.reg.Latencies() {
		if l.Name() == scenario.TelemetryPuback {
			bp = l.ErrorCount(backpressureClass)
		}
	}
	scheduled, late := p.Values[scenario.ArrivalsScheduled], p.Values[scenario.ArrivalsDroppedLate]
	t.mon.Sample(now, health.Input{
		ScheduleLagP99: lag.P99,
		Attempts:       lag.Count + lag.Errors,
		Backpressure:   bp - t.backpressure,
		Arrivals:       scheduled - t.scheduled,
		Late:           late - t.late,
	})
	t.backpressure, t.scheduled, t.late = bp, scheduled, late
	if t.live != "" {
		return
	}
	if reasons := t.mon.Live(); len(reasons) > 0 {
		msgs := make([]string, len(reasons))
		for i, r := range reasons {
			msgs[i] = r.Message
		}
		t.live = "the simulator is the bottleneck, not the target: " + strings.Join(msgs, "; ") +
			"; its latencies include its own delay (docs/health.md)"
		if t.warn != nil {
			t.warn(t.live)
		}
	}
}

// run ticks once a second until stop is closed.
func (t *ticker) run(stop <-chan struct{}, stopping func() bool) {
	tk := time.NewTicker(time.Second)
	defer tk.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-tk.C:
			t.tick(now, stopping())
		}
	}
}

// onlineTracker keeps users.online's per-second samples per stage, and
// the users online when the run was stopped.
type onlineTracker struct {
	stages []report.StageOnline
	seen   []bool
	peak   int64
	// atStop is users.online read just before the run was stopped (an
	// abort or a signal), from the goroutine that stopped it.
	atStop atomic.Int64
}

func newOnlineTracker(sc *scenario.Scenario) *onlineTracker {
	o := &onlineTracker{stages: make([]report.StageOnline, len(sc.Stages)), seen: make([]bool, len(sc.Stages))}
	for i, st := range sc.Stages {
		o.stages[i] = report.StageOnline{Name: st.Name, Target: st.Users}
	}
	return o
}

// add records sample v taken during stage i.
func (o *onlineTracker) add(i int, v int64) {
	if i < 0 || i >= len(o.stages) {
		return
	}
	s := &o.stages[i]
	if !o.seen[i] || v < s.Min {
		s.Min = v
	}
	if !o.seen[i] || v > s.Max {
		s.Max = v
	}
	o.seen[i] = true
	s.Samples++
	o.peak = max(o.peak, v)
}

// stopping records the users online as the run is stopped, before the
// fleet lets them go. Safe from any goroutine.
func (o *onlineTracker) stopping(v int64) { o.atStop.Store(v) }

// summary is the tracker's content for summary.json: the peak (of the
// samples and of the moment the run was stopped: a run stopped before its
// first sample had users online too) and the stages that had a sample, in
// order.
func (o *onlineTracker) summary() *report.Online {
	out := &report.Online{Peak: max(o.peak, o.atStop.Load()), Stages: []report.StageOnline{}}
	for i, s := range o.stages {
		if o.seen[i] {
			out.Stages = append(out.Stages, s)
		}
	}
	return out
}
