package fleet

import (
	"context"
	"time"

	"github.com/eixamsim/eixamsim/scenario"
)

// control drives the closed model for the run's users (see stageController,
// or controlSteps for a run with Config.Steps).
func (r *runner) control(ctx context.Context, start time.Time) ([]StageTiming, bool) {
	if r.steps != nil {
		defer r.board.close()
		return r.controlSteps(ctx, start)
	}
	c := stageController{
		stages: r.sc.Stages,
		rate:   r.sc.Fleet.ConnectRate.PerSecond,
		start:  func(i int) { r.users[i].start() },
		stop:   func(i int) { r.goWork(r.users[i].stop) },
		status: func(s *Status) { r.status.Store(s) },
	}
	return c.run(ctx, start)
}

// stageController is the closed model: at each stage start the target
// number of online users becomes the stage's; users are started or stopped
// one at a time, in index order, at most rate per second, until the
// target is met.
type stageController struct {
	stages []scenario.Stage
	rate   float64        // user starts and stops per second, > 0
	start  func(user int) // brings user online; must not block
	stop   func(user int) // takes user offline; must not block
	status func(*Status)  // receives the stage in progress
}

// run drives the stages from start until they end or ctx is done. It
// returns when each stage actually ran and whether every stage ended.
func (c *stageController) run(ctx context.Context, start time.Time) ([]StageTiming, bool) {
	var timings []StageTiming
	started := 0 // users[0:started] have been started, in index order
	interval := time.Duration(float64(time.Second) / c.rate)
	next := start
	stageStart := start
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	wait := func(until time.Time) bool {
		if d := time.Until(until); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return false
			case <-timer.C:
			}
		}
		return ctx.Err() == nil
	}
	for i, st := range c.stages {
		stageEnd := stageStart.Add(st.For)
		c.status(&Status{Stage: st.Name, StageIndex: i, StageEnd: stageEnd, Target: st.Users})
		timing := StageTiming{Name: st.Name, Users: st.Users, Start: time.Now()}
		for ctx.Err() == nil && time.Now().Before(stageEnd) {
			if started == st.Users {
				// Idle until the stage ends: the next change is paced from
				// then, not from the last one (no burst after a pause).
				wait(stageEnd)
				next = maxTime(next, time.Now())
				continue
			}
			at := next
			if at.After(stageEnd) {
				at = stageEnd
			}
			if !wait(at) || !time.Now().Before(stageEnd) {
				continue
			}
			if started < st.Users {
				c.start(started)
				started++
			} else {
				started--
				c.stop(started)
			}
			// Pace from the schedule, absorbing at most one interval of
			// timer lateness, so a late wake-up does not slow the rate.
			next = maxTime(next, time.Now().Add(-interval)).Add(interval)
		}
		timing.End = time.Now()
		timings = append(timings, timing)
		if ctx.Err() != nil {
			return timings, false
		}
		stageStart = stageEnd
	}
	return timings, true
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
