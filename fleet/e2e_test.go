package fleet_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/refbackend"
	"github.com/eixamsim/eixamsim/scenario"
)

// startBackend starts the reference backend on free loopback ports.
func startBackend(t *testing.T, secret string, ackDelay time.Duration) *refbackend.Server {
	t.Helper()
	srv, err := refbackend.Start(context.Background(), refbackend.Config{
		MQTTAddr: "127.0.0.1:0",
		WSAddr:   "127.0.0.1:0",
		HTTPAddr: "127.0.0.1:0",
		Apps:     map[string][]byte{"demo-app": []byte(secret)},
		AckDelay: ackDelay,
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// parse loads a scenario from YAML text with the real parser.
func parse(t *testing.T, yaml string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Parse("test.yaml", []byte(yaml), scenario.Options{Getenv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	return sc
}

func run(t *testing.T, sc *scenario.Scenario, httpURL, mqttURL string) (*metrics.Registry, fleet.Result) {
	t.Helper()
	reg := metrics.NewRegistry()
	r, err := fleet.New(fleet.Config{Scenario: sc, HTTPURL: httpURL, MQTTURL: mqttURL, Metrics: reg, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return reg, res
}

// startRun starts r in the background; the returned function stops it and
// waits for it.
func startRun(t *testing.T, r *fleet.Runner) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := r.Run(ctx); err != nil {
			t.Error(err)
		}
	}()
	return func() { cancel(); <-done }
}

// waitOnline waits (bounded) until the online gauge reads want.
func waitOnline(t *testing.T, reg *metrics.Registry, want int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for reg.Gauge(scenario.UsersOnline).Value() != want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := reg.Gauge(scenario.UsersOnline).Value(); n != want {
		t.Fatalf("%d users online after %v, want %d", n, within, want)
	}
}

const bookkeepingScenario = `
version: 1
name: bookkeeping
duration: 1500ms
identity: { app_id: demo-app, app_secret: demo-secret, user_id: "e2e-user-{{.N}}" }
fleet: { users: 50, connect_rate: 500/s }
behaviours:
  telemetry: { every: 250ms, jitter: 10%, device_id: true, battery: true }
  sos: { rate: 10/s, hold: 600ms, end: mixed, visible_poll: 200ms }
  contacts: { rate: 20/s, mix: { list: 40, create: 40, update: 10, delete: 10 } }
  devices: { rate: 10/s, mix: { list: 40, upsert: 40, delete: 20 } }
`

// TestBookkeepingIsExact runs ~50 users against the reference backend and
// checks that what the simulator counted is exactly what the backend saw.
//
// The transports run side by side (they only wait on the clock), and the
// leak check covers both, after both ended.
func TestBookkeepingIsExact(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	inParallel(t, []string{"tcp", "ws"}, func(t *testing.T, transport string) {
		srv := startBackend(t, "demo-secret", 200*time.Millisecond)
		defer srv.Close()
		mqttURL := srv.MQTTURL()
		if transport == "ws" {
			mqttURL = srv.WSURL()
		}
		// Every user logs in first, with the open-model behaviours off (an
		// arrival before then has no idle user); then the load runs until
		// each behaviour has done some work. Events, not a duration: a
		// loaded machine logs 50 users in slowly, and that is no
		// bookkeeping error.
		sc := parse(t, strings.Replace(bookkeepingScenario, "duration: 1500ms", "duration: 1m", 1))
		reg := metrics.NewRegistry()
		count := func(name string) int64 { return reg.Latency(name).Summary().Count }
		runSteps(t, sc, srv.HTTPURL(), mqttURL, reg,
			eventStep{Step: fleet.Step{Name: "login", Users: 50, Rates: map[string]scenario.Rate{"sos": {}, "contacts": {}, "devices": {}}}},
			eventStep{Step: fleet.Step{Name: "load", Users: 50}, until: func() bool {
				return count(scenario.TelemetryPuback) >= 100 && count(scenario.SOSPuback) >= 5 &&
					count(scenario.HTTPContactsList)+count(scenario.HTTPContactsCreate) >= 5 &&
					count(scenario.HTTPDevicesList)+count(scenario.HTTPDevicesUpsert) >= 3
			}})
		got := map[string]metrics.Summary{}
		for _, s := range reg.Summaries() {
			got[s.Name] = s
			if s.Errors != 0 {
				t.Errorf("%s: %d errors %v", s.Name, s.Errors, s.ErrorsBy)
			}
		}
		st := srv.Stats()
		if _, _, dropped := checkArrivalsAddUp(t, reg); dropped != 0 {
			t.Errorf("arrivals.dropped = %d, want 0 (%v)", dropped, reg.Values())
		}

		if n := got[scenario.UserLogin].Count; n != 50 {
			t.Errorf("user.login count = %d, want 50 (every user logged in)", n)
		}
		if n := got[scenario.MQTTConnect].Count; n != 50 || st.MQTT.ConnectsAccepted != 50 {
			t.Errorf("connects: simulator %d, backend %d, want 50", n, st.MQTT.ConnectsAccepted)
		}
		if n := got[scenario.MQTTSubscribe].Count; n != 50 {
			t.Errorf("mqtt.subscribe count = %d, want 50", n)
		}
		tel := got[scenario.TelemetryPuback].Count
		if tel == 0 || tel != st.Telemetry.Accepted || st.Telemetry.Rejected != 0 {
			t.Errorf("telemetry: simulator acknowledged %d, backend accepted %d rejected %d", tel, st.Telemetry.Accepted, st.Telemetry.Rejected)
		}
		sos := got[scenario.SOSPuback].Count
		if sos == 0 || sos != st.SOS.AlertsAccepted || st.SOS.AlertsDuplicate != 0 {
			t.Errorf("sos: simulator acknowledged %d alerts, backend accepted %d (duplicates %d)", sos, st.SOS.AlertsAccepted, st.SOS.AlertsDuplicate)
		}
		if n := got[scenario.SOSDelivered].Count; n != sos {
			t.Errorf("sos.delivered = %d, want one per alert (%d); backend events %+v", n, sos, st.Events)
		}
		if n := got[scenario.SOSVisible].Count; n != sos {
			t.Errorf("sos.visible = %d, want %d", n, sos)
		}
		closed := got[scenario.SOSCancelled].Count + got[scenario.SOSResolved].Count
		if closed != sos || st.SOS.IncidentsCancelled+st.SOS.IncidentsResolved != sos || st.SOS.IncidentsOpen != 0 {
			t.Errorf("closed: simulator %d, backend cancelled %d + resolved %d (open %d), want %d",
				closed, st.SOS.IncidentsCancelled, st.SOS.IncidentsResolved, st.SOS.IncidentsOpen, sos)
		}
		var contacts, devices int64
		for _, name := range []string{scenario.HTTPContactsList, scenario.HTTPContactsCreate, scenario.HTTPContactsUpdate, scenario.HTTPContactsDelete} {
			contacts += got[name].Count
		}
		for _, name := range []string{scenario.HTTPDevicesList, scenario.HTTPDevicesUpsert, scenario.HTTPDevicesDelete} {
			devices += got[name].Count
		}
		if contacts == 0 || devices == 0 {
			t.Errorf("contacts %d, devices %d: want both > 0", contacts, devices)
		}
		if !eventually(func() bool { return srv.Stats().MQTT.Connected == 0 }) {
			t.Errorf("backend still has %d clients connected after the run", srv.Stats().MQTT.Connected)
		}
		if v := reg.Gauge(scenario.UsersOnline).Value(); v != 0 {
			t.Errorf("users.online = %d after the run", v)
		}
		t.Logf("%s: telemetry %d, sos %d, contacts %d, devices %d", transport, tel, sos, contacts, devices)
	})
}

// inParallel runs f for each case as subtests at the same time, and
// returns when all of them have ended, so that a leak check deferred by
// the caller covers them all. The subtests are not marked Parallel: they
// are not held to -test.parallel (GOMAXPROCS), since they only wait.
func inParallel[T any](t *testing.T, cases []T, f func(*testing.T, T), name ...func(T) string) {
	t.Helper()
	var wg sync.WaitGroup
	for _, c := range cases {
		n := fmt.Sprint(c)
		if len(name) > 0 {
			n = name[0](c)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(n, func(t *testing.T) { f(t, c) })
		}()
	}
	wg.Wait()
}

// TestWrongSecretIsCountedAsAuthFailure checks that users signed with the
// wrong secret fail at login with a classified, counted error.
func TestWrongSecretIsCountedAsAuthFailure(t *testing.T) {
	t.Parallel() // leaks: TestMain
	srv := startBackend(t, "the-real-secret", 0)
	defer srv.Close()
	sc := parse(t, strings.Replace(bookkeepingScenario, "duration: 1500ms", "duration: 60s", 1))
	reg := metrics.NewRegistry()
	runUntil(t, fleet.Config{Scenario: sc, HTTPURL: srv.HTTPURL(), MQTTURL: srv.MQTTURL(), Metrics: reg}, func() bool {
		return reg.Latency(scenario.HTTPMe).Summary().ErrorsBy["http_401"] >= 50 && sum(srv.Stats().HTTP.AuthFailures) >= 50
	})
	me := reg.Latency(scenario.HTTPMe).Summary()
	if me.Count != 0 || me.ErrorsBy["http_401"] < 50 {
		t.Fatalf("http.me = %d ok, errors %v; want only http_401, at least one per user", me.Count, me.ErrorsBy)
	}
	if n := reg.Latency(scenario.UserLogin).Summary().Count; n != 0 {
		t.Fatalf("user.login = %d, want 0", n)
	}
	if got := srv.Stats().HTTP.AuthFailures; sum(got) < 50 {
		t.Fatalf("backend counted %v auth failures", got)
	}
}

// eventually polls cond for up to two seconds: the backend counts a
// disconnect when it has processed it, a moment after the client sent it.
func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

func sum(m map[string]int64) (n int64) {
	for _, v := range m {
		n += v
	}
	return n
}

// TestRampDownDisconnectsCleanly runs two stages, up then down, and checks
// the backend sees clean disconnects and no one left online.
func TestRampDownDisconnectsCleanly(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := startBackend(t, "demo-secret", 0)
	defer srv.Close()
	sc := parse(t, `
version: 1
name: ramp
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 30, connect_rate: 300/s }
stages:
  - { for: 600ms, users: 30 }   # room for 30 logins on a loaded machine
  - { for: 300ms, users: 10 }
behaviours: { telemetry: { every: 200ms } }
`)
	reg, res := run(t, sc, srv.HTTPURL(), srv.MQTTURL())
	if len(res.Stages) != 2 {
		t.Fatalf("stages = %+v", res.Stages)
	}
	if n := reg.Latency(scenario.UserLogin).Summary().Count; n != 30 {
		t.Errorf("logins = %d, want 30", n)
	}
	if n := reg.Counter(scenario.MQTTDisconnects).Value(); n != 0 {
		t.Errorf("unsolicited disconnects = %d, want 0", n)
	}
	eventually(func() bool { st := srv.Stats(); return st.MQTT.Connected == 0 && st.MQTT.Disconnects == 30 })
	if st := srv.Stats(); st.MQTT.Connected != 0 || st.MQTT.Disconnects != 30 {
		t.Errorf("backend: connected %d, disconnects %d; want 0 and 30", st.MQTT.Connected, st.MQTT.Disconnects)
	}
}

// TestOpenModelTelemetry runs telemetry at a fleet-wide rate: every
// scheduled message is handed to an online user in turn and acknowledged,
// exactly R×T of them, and the backend accepted each one.
func TestOpenModelTelemetry(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := startBackend(t, "demo-secret", -1)
	defer srv.Close()
	sc := parse(t, `
version: 1
name: open-telemetry
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 10, connect_rate: 1000/s }
stages:
  - { for: 200ms, rates: { telemetry: 0/s } }
  - { for: 500ms }
behaviours:
  telemetry: { rate: 200/s, qos: 1, position: { around: [10, 20], radius_km: 0 } }
`)
	reg, _ := run(t, sc, srv.HTTPURL(), srv.MQTTURL())
	tel := reg.Latency(scenario.TelemetryPuback).Summary()
	if tel.Count != 100 || tel.Errors != 0 {
		t.Errorf("telemetry.puback: %d ok, errors %v; want all 100 scheduled", tel.Count, tel.ErrorsBy)
	}
	if n := reg.Counter(scenario.ArrivalsDropped).Value(); n != 0 {
		t.Errorf("arrivals.dropped = %d, want 0", n)
	}
	if st := srv.Stats(); st.Telemetry.Accepted != tel.Count || st.Telemetry.Rejected != 0 {
		t.Errorf("backend accepted %d, rejected %d; simulator acknowledged %d", st.Telemetry.Accepted, st.Telemetry.Rejected, tel.Count)
	}
}
