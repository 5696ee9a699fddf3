package fleet_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// TestEventRecovery: an incident takes half the online users away at once
// (their apps killed) and brings them back over a window; the broker sees
// exactly those sockets closed without DISCONNECT, and the event's result
// says who came back when, from the event.
func TestEventRecovery(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := startBackend(t, "demo-secret", 0)
	defer srv.Close()
	sc := parse(t, `
version: 1
name: event
duration: 3s
identity: { app_id: demo-app, app_secret: demo-secret, user_id: "ev-{{.N}}" }
fleet: { users: 20, connect_rate: 1000/s }
behaviours:
  telemetry: { every: 100ms }
events:
  - { name: kill, at: 1s, leave: 50%, how: killed, back: 300ms..1200ms }
`)
	reg := metrics.NewRegistry()
	r, err := fleet.New(fleet.Config{Scenario: sc, HTTPURL: srv.HTTPURL(), MQTTURL: srv.MQTTURL(), Metrics: reg, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	// Every user must be online at the event for the share to be exact:
	// on a loaded machine 20 logins can take a while, so this waits.
	res, err := r.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every session ended at the broker", 10*time.Second, func() bool { return srv.Stats().MQTT.Connected == 0 })
	if len(res.Events) != 1 {
		t.Fatalf("events %+v", res.Events)
	}
	ev := res.Events[0]
	t.Logf("%+v", ev)
	if ev.Affected < 1 || ev.Affected > 10 || ev.Back != ev.Affected || ev.NeverBack != 0 {
		t.Errorf("affected %d, back %d, never back %d: want up to 10 (half of 20), all back", ev.Affected, ev.Back, ev.NeverBack)
	}
	if got := srv.Stats().MQTT.DisconnectsByCause.ClosedWithoutDisconnect; got != int64(ev.Affected) {
		t.Errorf("the broker saw %d sockets closed without DISCONNECT, the event killed %d apps", got, ev.Affected)
	}
	if n := reg.Counter(scenario.UsersLeftKilled).Value(); n != int64(ev.Affected) {
		t.Errorf("users.left.killed = %d, want %d", n, ev.Affected)
	}
	rec := reg.Latency(scenario.EventRecovery("kill")).Summary()
	if rec.Count != int64(ev.Back) || rec.Errors != 0 {
		t.Errorf("event.kill.recovery: %d samples, %d errors; want %d, 0", rec.Count, rec.Errors, ev.Back)
	}
	// Each user is back no sooner than its drawn time, 300ms at least.
	p50, p100 := ev.Recovery["50"], ev.Recovery["100"]
	if p50 == nil || p100 == nil || *p50 < 0.3 || *p100 < *p50 || *p100 > ev.Window+1e-9 {
		t.Errorf("recovery %v over a window of %.3fs", ev.Recovery, ev.Window)
	}
	if ev.LoginsPerS <= 0 || ev.TelemetryUnsent < int64(3*ev.Affected) {
		t.Errorf("logins/s %.1f (want > 0: the returns), telemetry unsent %d (want >= 3 per user away 300ms at 100ms)", ev.LoginsPerS, ev.TelemetryUnsent)
	}
}
