package fleet

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// These tests run on synctest's virtual clock: the schedulers are timed to
// the nanosecond and no test waits in real time.

// TestStageControllerPacesUsers checks the closed model: users start at
// exactly connect_rate, the target holds, a ramp-down stops users in
// reverse order at the same rate, and stage timings are the schedule's.
func TestStageControllerPacesUsers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type event struct {
			at    time.Duration
			user  int
			start bool
		}
		var (
			mu     sync.Mutex
			events []event
			status []Status
		)
		t0 := time.Now()
		c := stageController{
			stages: []scenario.Stage{
				{Name: "up", For: 2 * time.Second, Users: 5},
				{Name: "hold", For: time.Second, Users: 5},
				{Name: "down", For: 2 * time.Second, Users: 2},
			},
			rate: 10, // one every 100 ms
			start: func(i int) {
				mu.Lock()
				events = append(events, event{time.Since(t0), i, true})
				mu.Unlock()
			},
			stop: func(i int) {
				mu.Lock()
				events = append(events, event{time.Since(t0), i, false})
				mu.Unlock()
			},
			status: func(s *Status) { status = append(status, *s) },
		}
		timings, completed := c.run(context.Background(), t0)
		if !completed || len(timings) != 3 {
			t.Fatalf("completed %v, timings %+v", completed, timings)
		}
		ms := time.Millisecond
		want := []event{
			{0, 0, true}, {100 * ms, 1, true}, {200 * ms, 2, true}, {300 * ms, 3, true}, {400 * ms, 4, true},
			// The ramp-down starts with the third stage, at 3 s, at the same pace.
			{3000 * ms, 4, false}, {3100 * ms, 3, false}, {3200 * ms, 2, false},
		}
		if len(events) != len(want) {
			t.Fatalf("events %+v, want %+v", events, want)
		}
		for i := range want {
			if events[i] != want[i] {
				t.Errorf("event %d = %+v, want %+v", i, events[i], want[i])
			}
		}
		for i, st := range []struct {
			start, end time.Duration
		}{{0, 2 * time.Second}, {2 * time.Second, 3 * time.Second}, {3 * time.Second, 5 * time.Second}} {
			if got := timings[i].Start.Sub(t0); got != st.start {
				t.Errorf("stage %d started at %v, want %v", i, got, st.start)
			}
			if got := timings[i].End.Sub(t0); got != st.end {
				t.Errorf("stage %d ended at %v, want %v", i, got, st.end)
			}
		}
		if len(status) != 3 || status[2].Stage != "down" || status[2].Target != 2 || !status[2].StageEnd.Equal(t0.Add(5*time.Second)) {
			t.Errorf("status updates %+v", status)
		}
	})
}

// TestStageControllerStopsWithContext checks a cancelled run: the stage in
// progress ends when the context does, and the run is not complete.
func TestStageControllerStopsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		t0 := time.Now()
		c := stageController{
			stages: []scenario.Stage{{Name: "a", For: time.Second, Users: 1}, {Name: "b", For: time.Hour, Users: 1}},
			rate:   1,
			start:  func(int) {},
			stop:   func(int) {},
			status: func(*Status) {},
		}
		timings, completed := c.run(ctx, t0)
		if completed || len(timings) != 2 {
			t.Fatalf("completed %v, timings %+v; want 2 stages, not complete", completed, timings)
		}
		if got := timings[1].End.Sub(t0); got != 1500*time.Millisecond {
			t.Errorf("the cancelled stage ended at %v, want 1.5s", got)
		}
	})
}

// TestPaceFiresAtIntendedTimes checks that every arrival fires at its
// intended time exactly, that a slow fire does not delay the next
// arrivals' intended times (they are fixed by the schedule), and that pace
// stops at the end of the schedule.
func TestPaceFiresAtIntendedTimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc := stages(scenario.Stage{Users: 1, For: time.Second}) // 10/s for 1 s
		s := newSchedule(newRateCurve(sc, "sos"), scenario.ArrivalsConstant, seeded(1))
		start := time.Now()
		var intended, fired []time.Duration
		pace(context.Background(), start, start, s, func(at time.Time, late bool) {
			if late {
				t.Errorf("arrival at %v dropped as late at %v", at.Sub(start), time.Since(start))
			}
			intended = append(intended, at.Sub(start))
			fired = append(fired, time.Since(start))
			if len(fired) == 3 {
				time.Sleep(250 * time.Millisecond) // a stall: the next arrivals are late, not moved
			}
		})
		if len(intended) != 10 {
			t.Fatalf("%d arrivals, want 10", len(intended))
		}
		for k := range intended {
			if want := time.Duration(k) * 100 * time.Millisecond; intended[k] != want {
				t.Errorf("arrival %d intended at %v, want %v", k, intended[k], want)
			}
		}
		// Arrivals 3 and 4 (due at 300 and 400 ms) come at once after the
		// stall ends at 450 ms; the rest on time.
		wantFired := []time.Duration{0, 100, 200, 450, 450, 500, 600, 700, 800, 900}
		for k, ms := range wantFired {
			if fired[k] != ms*time.Millisecond {
				t.Errorf("arrival %d fired at %v, want %v", k, fired[k], ms*time.Millisecond)
			}
		}
	})
}

// TestPaceStopsWithContext checks that a pacer returns as soon as its
// context ends, without firing again.
func TestPaceStopsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc := stages(scenario.Stage{Users: 1, For: time.Hour})
		s := newSchedule(newRateCurve(sc, "sos"), scenario.ArrivalsConstant, seeded(1))
		ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
		defer cancel()
		start := time.Now()
		n := 0
		pace(ctx, start, start, s, func(_ time.Time, late bool) {
			if late {
				t.Error("an arrival was dropped as late")
			}
			n++
		})
		if n != 3 || time.Since(start) != 250*time.Millisecond {
			t.Errorf("%d arrivals, returned after %v; want 3 (0, 100, 200 ms) and 250ms", n, time.Since(start))
		}
	})
}

// TestPaceDropsLateArrivals stalls the pacer for 1.5 s at its third
// arrival of ten (10/s for 1 s): the arrivals it then reaches more than
// lateBound (1 s) after their intended time are dropped as late, the
// others still fire, and every arrival of the schedule ends in exactly
// one call.
func TestPaceDropsLateArrivals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc := stages(scenario.Stage{Users: 1, For: time.Second})
		s := newSchedule(newRateCurve(sc, "sos"), scenario.ArrivalsConstant, seeded(1))
		start := time.Now()
		var fired, late []time.Duration
		pace(context.Background(), start, start, s, func(at time.Time, isLate bool) {
			if isLate {
				late = append(late, at.Sub(start))
				return
			}
			fired = append(fired, at.Sub(start))
			if len(fired) == 3 {
				time.Sleep(1500 * time.Millisecond)
			}
		})
		ms := time.Millisecond
		// The stall ends at 1.7 s: arrivals due at 300..700 ms are 1.0 s or
		// more late (700 ms: exactly 1 s, not more: it fires).
		wantFired := []time.Duration{0, 100 * ms, 200 * ms, 700 * ms, 800 * ms, 900 * ms}
		wantLate := []time.Duration{300 * ms, 400 * ms, 500 * ms, 600 * ms}
		if !slices.Equal(fired, wantFired) || !slices.Equal(late, wantLate) {
			t.Errorf("fired %v, late %v; want fired %v, late %v", fired, late, wantFired, wantLate)
		}
	})
}

// TestPaceAccountsForItsBacklogAtTheEnd ends the run while the pacer is
// stalled: the arrivals due before the end that it had not reached are
// fired at once — dropped as late if that is more than lateBound after
// their time — those due after the end are not part of the run, and
// arrivals due before the stream opened are not either.
func TestPaceAccountsForItsBacklogAtTheEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc := stages(scenario.Stage{Users: 1, For: 2 * time.Second})
		s := newSchedule(newRateCurve(sc, "sos"), scenario.ArrivalsConstant, seeded(1))
		start := time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(1350*time.Millisecond, cancel)
		var fired, late []time.Duration
		pace(ctx, start, start.Add(50*time.Millisecond), s, func(at time.Time, isLate bool) {
			if isLate {
				late = append(late, at.Sub(start))
				return
			}
			fired = append(fired, at.Sub(start))
			if len(fired) == 2 {
				time.Sleep(1180 * time.Millisecond) // until 1.38 s: the run ended at 1.35 s
			}
		})
		ms := time.Millisecond
		wantFired := []time.Duration{100 * ms, 200 * ms, 400 * ms, 500 * ms, 600 * ms, 700 * ms, 800 * ms, 900 * ms, 1000 * ms, 1100 * ms, 1200 * ms, 1300 * ms}
		wantLate := []time.Duration{300 * ms}
		if !slices.Equal(fired, wantFired) || !slices.Equal(late, wantLate) {
			t.Errorf("fired %v, late %v; want fired %v, late %v", fired, late, wantFired, wantLate)
		}
	})
}

// TestPerUserTicksWhileDisconnected runs a user's telemetry timer while
// the user is reconnecting: every tick, due every 100 ms ± 0 from a random
// phase, is counted as unsent at its intended time, and stop ends the
// ticks.
func TestPerUserTicksWhileDisconnected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc := &scenario.Scenario{
			Fleet:      scenario.Fleet{Users: 1, HTTPTimeout: time.Second, ConnectTimeout: time.Second, Reconnect: scenario.Reconnect{Initial: time.Hour, Max: time.Hour}},
			Identity:   scenario.Identity{AppID: "a", AppSecret: "s", UserID: "u"},
			Behaviours: scenario.Behaviours{Telemetry: &scenario.Telemetry{Every: 100 * time.Millisecond, QoS: 1}},
		}
		reg := metrics.NewRegistry()
		rn, err := New(Config{Scenario: sc, HTTPURL: "http://127.0.0.1:1", MQTTURL: "tcp://127.0.0.1:1", Metrics: reg})
		if err != nil {
			t.Fatal(err)
		}
		u := rn.r.users[0]
		l := &life{state: retrying, done: make(chan struct{})}
		u.mu.Lock()
		u.life = l
		u.armTicks(l, time.Now())
		u.mu.Unlock()

		time.Sleep(time.Second)
		synctest.Wait()
		// The first tick is within the first period, then one every 100 ms:
		// 10 in the first second.
		if n := reg.Counter(scenario.TelemetryUnsent).Value(); n != 10 {
			t.Errorf("telemetry.unsent = %d after 1s at every 100ms, want 10", n)
		}
		lag := reg.Latency(scenario.ScheduleLag).Summary()
		if lag.Count != 10 || lag.Max > time.Microsecond {
			t.Errorf("schedule.lag: %d samples, max %v; want 10 on time", lag.Count, lag.Max)
		}
		u.stop()
		time.Sleep(time.Second)
		synctest.Wait()
		if n := reg.Counter(scenario.TelemetryUnsent).Value(); n != 10 {
			t.Errorf("telemetry.unsent = %d after stop, want still 10", n)
		}
	})
}
