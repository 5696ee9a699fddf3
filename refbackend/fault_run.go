package refbackend

import (
	"errors"
	"fmt"
	"github.com/eixamsim/eixamsim/faults"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// FaultRun is a fault schedule running on a Server (Server.RunSchedule,
// Config.Schedule). Its methods are safe for concurrent use.
type FaultRun struct {
	steps []faultStep
	stats *counters
	log   *slog.Logger

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// faultStep is one timed action of a run. A restart_mqtt fault has two
// steps sharing down: the stop, and the restore that re-opens the
// listeners.
type faultStep struct {
	at      time.Time
	fault   faults.ScheduledFault // for stats and logs
	restore bool                  // second half of a restart_mqtt (not counted as a fault)
	down    *bool                 // restart_mqtt: the stop ran and the restore did not yet
	do      func() error
}

// RunSchedule runs faults on the server, each at start+At (a fault whose
// time has passed fires at once; faults due together fire in the order
// given). The zero start means now. It validates every fault first and
// returns all the problems, wrapping ErrInvalidSchedule (a restart_mqtt
// needs an MQTT listener: ErrNoMQTT). Faults of several runs, and calls of StopMQTT, Kick, … made
// meanwhile, simply interleave: e.g. the first listener restore of two
// overlapping restarts opens the listeners. The run ends by itself after
// its last step, with FaultRun.Stop, or with Close; its goroutine never
// outlives Close. Errors: ErrInvalidSchedule, ErrClosed.
func (s *Server) RunSchedule(start time.Time, sched []faults.ScheduledFault) (*FaultRun, error) {
	if err := validateSchedule(sched, s.mqttLn != nil || s.wsLn != nil); err != nil {
		return nil, fmt.Errorf("refbackend: %w: %w", ErrInvalidSchedule, err)
	}
	if start.IsZero() {
		start = time.Now()
	}
	return s.startRun(faultSteps(s, start, sched))
}

// faultTarget is what a schedule acts on: a *Server (a fake in tests).
type faultTarget interface {
	StopMQTT() error
	StartMQTT() error
	Kick(fraction float64) int
	StallHTTP(d time.Duration) time.Time
	SetFaults(f faults.Set) error
}

var _ faultTarget = (*Server)(nil)

// faultSteps turns the faults of sched on s into steps sorted by time (stable: faults
// due together keep their order, a restore comes after its stop).
func faultSteps(s faultTarget, start time.Time, sched []faults.ScheduledFault) []faultStep {
	steps := make([]faultStep, 0, len(sched))
	for _, f := range sched {
		at := start.Add(f.At)
		switch f.Action {
		case faults.RestartMQTT:
			down := new(bool)
			steps = append(steps,
				faultStep{at: at, fault: f, down: down, do: s.StopMQTT},
				faultStep{at: at.Add(f.Duration), fault: f, restore: true, down: down, do: s.StartMQTT})
		case faults.Kick:
			steps = append(steps, faultStep{at: at, fault: f, do: func() error { s.Kick(f.Fraction); return nil }})
		case faults.StallHTTP:
			steps = append(steps, faultStep{at: at, fault: f, do: func() error { s.StallHTTP(f.Duration); return nil }})
		case faults.SetFaults:
			steps = append(steps, faultStep{at: at, fault: f, do: func() error { return s.SetFaults(f.Faults) }})
		}
	}
	slices.SortStableFunc(steps, func(a, b faultStep) int { return a.at.Compare(b.at) })
	return steps
}

// startRun registers and starts a run of steps; ErrClosed after Close.
func (s *Server) startRun(steps []faultStep) (*FaultRun, error) {
	s.runsMu.Lock()
	defer s.runsMu.Unlock()
	if s.runsClosed {
		return nil, ErrClosed
	}
	r := newFaultRun(steps, s.stats, s.log)
	s.runs[r] = struct{}{}
	s.runsWG.Add(1)
	go func() {
		defer s.runsWG.Done()
		r.run()
		s.runsMu.Lock()
		delete(s.runs, r)
		s.runsMu.Unlock()
	}()
	return r, nil
}

// stopRuns stops every run for good (Close) and waits for them.
func (s *Server) stopRuns() {
	s.runsMu.Lock()
	s.runsClosed = true
	runs := make([]*FaultRun, 0, len(s.runs))
	for r := range s.runs {
		runs = append(runs, r)
	}
	s.runsMu.Unlock()
	for _, r := range runs {
		r.Stop()
	}
	s.runsWG.Wait()
}

// newFaultRun returns a run of steps (sorted by time), counted as pending.
// Start it with go r.run().
func newFaultRun(steps []faultStep, stats *counters, log *slog.Logger) *FaultRun {
	for _, st := range steps {
		if !st.restore {
			stats.faultsPending.Add(1)
		}
	}
	return &FaultRun{steps: steps, stats: stats, log: log, stop: make(chan struct{}), done: make(chan struct{})}
}

// Stop cancels the faults that have not fired and returns when the run has
// ended. Listeners a restart_mqtt of this run closed are re-opened at
// once; a stall in progress is left to end by itself (StallHTTP(0) ends
// it). Calling Stop again, or after the run ended, does nothing.
func (r *FaultRun) Stop() {
	r.stopOnce.Do(func() { close(r.stop) })
	<-r.done
}

// Done is closed when the run has ended: every step ran (a restart's
// listeners are open again), or Stop or Server.Close stopped it.
func (r *FaultRun) Done() <-chan struct{} { return r.done }

// run executes the steps at their times until the last one or Stop.
func (r *FaultRun) run() {
	defer close(r.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for i, st := range r.steps {
		if d := time.Until(st.at); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-r.stop:
				timer.Stop()
				r.cancel(r.steps[i:])
				return
			}
		} else {
			select {
			case <-r.stop:
				r.cancel(r.steps[i:])
				return
			default:
			}
		}
		r.exec(st)
	}
}

// exec runs one step and counts it.
func (r *FaultRun) exec(st faultStep) {
	err := st.do()
	if st.down != nil {
		*st.down = !st.restore && err == nil
	}
	if !st.restore {
		r.stats.faultsPending.Add(-1)
		r.stats.faultsFired.add(string(st.fault.Action))
	}
	switch {
	case err == nil:
		r.log.Info("scheduled fault", "fault", st.fault.String(), "restore", st.restore)
	case errors.Is(err, ErrClosed):
	default:
		r.stats.faultsFailed.Add(1)
		r.log.Warn("scheduled fault failed", "fault", st.fault.String(), "restore", st.restore, "error", err)
	}
}

// cancel drops the steps that did not run, except the restores whose
// listeners this run closed: those run now.
func (r *FaultRun) cancel(rest []faultStep) {
	for _, st := range rest {
		switch {
		case !st.restore:
			r.stats.faultsPending.Add(-1)
		case *st.down:
			r.exec(st)
		}
	}
}
