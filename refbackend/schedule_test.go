package refbackend

import (
	"context"
	"errors"
	"fmt"
	"github.com/eixamsim/eixamsim/faults"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeTarget records the calls a schedule makes and when (virtual time in
// a synctest bubble).
type fakeTarget struct {
	start time.Time
	mu    sync.Mutex
	calls []string
}

func (f *fakeTarget) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("%v ", time.Since(f.start))+fmt.Sprintf(format, args...))
}

func (f *fakeTarget) StopMQTT() error    { f.record("stop"); return nil }
func (f *fakeTarget) StartMQTT() error   { f.record("start"); return nil }
func (f *fakeTarget) Kick(x float64) int { f.record("kick %v", x); return 0 }
func (f *fakeTarget) StallHTTP(d time.Duration) time.Time {
	f.record("stall %v", d)
	return time.Now().Add(d)
}
func (f *fakeTarget) SetFaults(x faults.Set) error { f.record("set %v", x); return nil }

func (f *fakeTarget) got() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.calls, "\n")
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// parseAll parses fault texts or fails the test.
func parseAll(t *testing.T, texts ...string) []faults.ScheduledFault {
	t.Helper()
	out := make([]faults.ScheduledFault, len(texts))
	for i, s := range texts {
		f, err := faults.ParseScheduledFault(s)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = f
	}
	return out
}

func TestFaultRunFiresAtOffsets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := &fakeTarget{start: time.Now()}
		stats := new(counters)
		sched := parseAll(t,
			"kick@10s:0.5",
			"restart_mqtt@20s:5s",
			"stall_http@15s:3s",
			"set_faults@0s:event-delay=1s",
			"kick@20s:1", // due with the restart: after it, in the order given
		)
		r := newFaultRun(faultSteps(fake, fake.start, sched), stats, discardLogger())
		if p := stats.faultsPending.Load(); p != 5 {
			t.Errorf("pending %d, want 5", p)
		}
		go r.run()
		<-r.Done()
		want := strings.Join([]string{
			"0s set event-delay=1s",
			"10s kick 0.5",
			"15s stall 3s",
			"20s stop",
			"20s kick 1",
			"25s start",
		}, "\n")
		if got := fake.got(); got != want {
			t.Errorf("calls:\n%s\nwant:\n%s", got, want)
		}
		st := stats.snapshot(nil).Schedule
		if st.Pending != 0 || st.Failed != 0 || st.Fired["kick"] != 2 || st.Fired["restart_mqtt"] != 1 || st.Fired["stall_http"] != 1 || st.Fired["set_faults"] != 1 {
			t.Errorf("schedule stats %+v", st)
		}
	})
}

func TestFaultRunStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := &fakeTarget{start: time.Now().Add(-time.Second)} // started a second ago
		stats := new(counters)
		sched := parseAll(t, "restart_mqtt@0s:1h", "kick@1m:1", "restart_mqtt@2m:1s")
		r := newFaultRun(faultSteps(fake, fake.start, sched), stats, discardLogger())
		go r.run()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		r.Stop() // the listeners this run closed are re-opened at once
		r.Stop() // again: nothing
		select {
		case <-r.Done():
		default:
			t.Fatal("Done not closed after Stop")
		}
		if got, want := fake.got(), "1s stop\n11s start"; got != want {
			t.Errorf("calls:\n%s\nwant:\n%s", got, want)
		}
		if st := stats.snapshot(nil).Schedule; st.Pending != 0 || st.Fired["restart_mqtt"] != 1 || st.Fired["kick"] != 0 {
			t.Errorf("schedule stats %+v", st)
		}
	})
}

// firstSeen polls cond until it holds and returns when it was first seen,
// failing the test if it holds before notBefore (it fired early) or not
// within waitFor after notBefore.
func firstSeen(t *testing.T, what string, notBefore time.Time, cond func() bool) time.Time {
	t.Helper()
	for {
		ok := cond()
		now := time.Now() // after cond: if it held, it held by now
		switch {
		case ok && now.Before(notBefore):
			t.Fatalf("%s %v early", what, notBefore.Sub(now))
		case ok:
			return now
		case now.After(notBefore.Add(waitFor)):
			t.Fatalf("%s: not seen %v after it was due", what, waitFor)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRunScheduleOnServer(t *testing.T) {
	s := startServer(t, nil)
	var clients []*watchedClient
	for i := range 4 {
		clients = append(clients, connectWatched(t, dialTCP(t, s), signed(app1, secret1, fmt.Sprintf("sched-%d", i))))
	}
	eventually(t, "4 sessions", func() bool { return s.Stats().MQTT.Connected == 4 })
	start := time.Now()
	r, err := s.RunSchedule(start, parseAll(t,
		"set_faults@0s:error-rate=me=1",
		"kick@150ms:50%",
		"stall_http@300ms:200ms",
		"restart_mqtt@450ms:200ms",
	))
	if err != nil {
		t.Fatal(err)
	}
	fired := func(action string) func() bool {
		return func() bool { return s.Stats().Schedule.Fired[action] > 0 }
	}
	firstSeen(t, "set_faults", start, fired("set_faults"))
	firstSeen(t, "kick", start.Add(150*time.Millisecond), func() bool { return s.Stats().MQTT.Kicked == 2 })
	firstSeen(t, "stall", start.Add(300*time.Millisecond), func() bool { return s.Stats().HTTP.Stalls == 1 })
	firstSeen(t, "restart_mqtt stop", start.Add(450*time.Millisecond), func() bool { return !s.Stats().MQTT.Listening })
	firstSeen(t, "restart_mqtt start", start.Add(650*time.Millisecond), func() bool { return s.Stats().MQTT.Listening })
	select {
	case <-r.Done():
	case <-time.After(waitFor):
		t.Fatal("run not done after its last step")
	}
	st := s.Stats()
	if st.Schedule.Pending != 0 || st.Schedule.Failed != 0 || st.MQTT.Kicked != 2 || st.MQTT.DroppedByStop != 2 || st.MQTT.ListenerRestarts != 1 {
		t.Errorf("stats after the run: schedule %+v mqtt %+v", st.Schedule, st.MQTT)
	}
	for _, c := range clients { // two kicked, two dropped by the restart
		select {
		case <-c.Done():
		case <-time.After(waitFor):
			t.Errorf("%s survived the schedule", c.id.user)
		}
	}
	// The faults set by the schedule are in force; MQTT is back on the same URL.
	wantStatus(t, "GET me with error-rate me=1", newAPIClient(t, s, signed(app1, secret1, "sched-0")).do(t, "GET", "/v1/sdk/me", nil), 503)
	sosRoundTrip(t, dialTCP(t, s), signed(app1, secret1, "sched-0"))
}

func TestRunScheduleStopAndClose(t *testing.T) {
	s, err := Start(context.Background(), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.RunSchedule(time.Time{}, parseAll(t, "restart_mqtt@0s:1h", "kick@1h:1"))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "listeners down", func() bool { return !s.Stats().MQTT.Listening })
	r.Stop()
	if st := s.Stats(); !st.MQTT.Listening || st.Schedule.Pending != 0 {
		t.Errorf("after Stop: listening %v pending %d", st.MQTT.Listening, st.Schedule.Pending)
	}
	// Close stops a waiting run; its goroutine is gone when Close returns
	// (TestMain checks for leaks).
	r2, err := s.RunSchedule(time.Time{}, parseAll(t, "stall_http@1h:1s"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r2.Done():
	default:
		t.Error("run not done after Close")
	}
	if _, err := s.RunSchedule(time.Time{}, parseAll(t, "kick@0s:1")); !errors.Is(err, ErrClosed) {
		t.Errorf("RunSchedule after Close: %v", err)
	}
	if p := s.Stats().Schedule.Pending; p != 0 {
		t.Errorf("pending %d after Close", p)
	}
}

func TestScheduleValidation(t *testing.T) {
	s := startServer(t, func(c *Config) { c.MQTTAddr, c.WSAddr = "", "" })
	_, err := s.RunSchedule(time.Time{}, append(parseAll(t, "restart_mqtt@1s:1s"), faults.ScheduledFault{Action: faults.Kick}))
	if !errors.Is(err, ErrInvalidSchedule) || !strings.Contains(err.Error(), "schedule[0]") || !strings.Contains(err.Error(), "schedule[1]") {
		t.Errorf("RunSchedule: %v, want both problems", err)
	}
	if !errors.Is(err, ErrNoMQTT) {
		t.Errorf("restart_mqtt without MQTT: %v, want ErrNoMQTT", err)
	}
	cfg := testConfig()
	cfg.Schedule = []faults.ScheduledFault{{Action: faults.StallHTTP}}
	if s, err := Start(context.Background(), cfg); err == nil {
		s.Close()
		t.Error("Start accepted an invalid schedule")
	}
}

func TestConfigSchedule(t *testing.T) {
	s := startServer(t, func(c *Config) {
		c.Schedule = []faults.ScheduledFault{{At: 50 * time.Millisecond, Action: faults.SetFaults, Faults: faults.Set{ErrorRate: map[string]float64{"*": 1}}}}
	})
	eventually(t, "scheduled set_faults", func() bool { return s.Stats().Schedule.Fired["set_faults"] == 1 })
	wantStatus(t, "GET me", newAPIClient(t, s, signed(app1, secret1, "u")).do(t, "GET", "/v1/sdk/me", nil), 503)
}
