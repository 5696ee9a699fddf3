package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/eixamsim/eixamsim/faults"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"go.uber.org/goleak"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/refbackend"
	"github.com/eixamsim/eixamsim/scenario"
)

// TestAccounting runs the end-to-end accounting checks below side by side
// (they only wait on the clock); the leak check covers them all, after
// all ended.
func TestAccounting(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	tests := []accountingCase{
		{"healthy run drops no arrival", testHealthyRunDropsNoArrival},
		{"broker outage counts against the behaviour", testBrokerOutageCountsAgainstTheBehaviour},
		{"failed logins are errors", testFailedLoginsAreErrors},
		{"refused connects and subscribes are login errors", testRefusedConnectsAndSubscribesAreLoginErrors},
		{"SOS makes only the SDK's calls", testSOSMakesOnlyTheSDKsCalls},
	}
	inParallel(t, tests, func(t *testing.T, tt accountingCase) { tt.f(t) }, func(tt accountingCase) string { return tt.name })
}

type accountingCase struct {
	name string
	f    func(*testing.T)
}

// checkArrivalsAddUp checks the arrivals invariant of a finished run:
// every scheduled arrival was started or dropped, and the drops by reason
// add up to the drops.
func checkArrivalsAddUp(t *testing.T, reg *metrics.Registry) (scheduled, started, dropped int64) {
	t.Helper()
	v := reg.Values()
	scheduled, started, dropped = v[scenario.ArrivalsScheduled], v[scenario.ArrivalsStarted], v[scenario.ArrivalsDropped]
	if scheduled != started+dropped {
		t.Errorf("arrivals: scheduled %d != started %d + dropped %d", scheduled, started, dropped)
	}
	var byReason int64
	for name, n := range v {
		if strings.HasPrefix(name, scenario.ArrivalsDropped+".") {
			byReason += n
		}
	}
	if byReason != dropped {
		t.Errorf("arrivals.dropped = %d, but its reasons add up to %d (%v)", dropped, byReason, v)
	}
	return scheduled, started, dropped
}

// checkAttempts checks that every failed attempt of class that step
// counted is a user.login error of that class — or, when its user was
// stopped while the attempt was still running, one of the user.login
// "unfinished" errors: each attempt counts once, as its outcome or as
// unfinished, never both.
func checkAttempts(t *testing.T, class string, login, step metrics.Summary) {
	t.Helper()
	got, want, unfinished := login.ErrorsBy[class], step.ErrorsBy[class], login.ErrorsBy["unfinished"]
	if got > want || got+unfinished < want {
		t.Errorf("%s: user.login errors %d (unfinished %d), %s errors %d: want one login error per failed attempt", class, got, unfinished, step.Name, want)
	}
}

// testHealthyRunDropsNoArrival runs open-model streams from the first
// moment of the run against a healthy backend: none of their arrivals is
// dropped (the first is not due before anyone could be online), and every
// scheduled one was started.
func testHealthyRunDropsNoArrival(t *testing.T) {
	srv := startBackend(t, "demo-secret", -1)
	defer srv.Close()
	sc := parse(t, `
version: 1
name: healthy
duration: 1s
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 10, connect_rate: 1000/s }
behaviours:
  login: [me]
  contacts: { rate: 50/s, mix: { list: 1, create: 0, update: 0, delete: 0 } }
  telemetry: { rate: 20/s }
`)
	reg, _ := run(t, sc, srv.HTTPURL(), srv.MQTTURL())
	scheduled, started, dropped := checkArrivalsAddUp(t, reg)
	if dropped != 0 {
		t.Errorf("arrivals.dropped = %d on a healthy run, want 0 (%v)", dropped, reg.Values())
	}
	// 70 arrivals are due in the run; those due before the first login
	// attempt ended are not part of it. That was no later than user 0's
	// login, which took at most user.login's max.
	firstLogin := reg.Latency(scenario.UserLogin).Summary().Max
	if lo := 70 - int64(math.Ceil(70*firstLogin.Seconds())) - 2; scheduled < lo || scheduled > 70 {
		t.Errorf("arrivals.scheduled = %d, want %d..70 (logins took up to %v)", scheduled, lo, firstLogin)
	}
	list := reg.Latency(scenario.HTTPContactsList).Summary()
	tel := reg.Latency(scenario.TelemetryPuback).Summary()
	if list.Errors != 0 || tel.Errors != 0 || list.Count+tel.Count != started {
		t.Errorf("contacts %d ok (errors %v), telemetry %d ok (errors %v); want %d, none failed", list.Count, list.ErrorsBy, tel.Count, tel.ErrorsBy, started)
	}
}

// testBrokerOutageCountsAgainstTheBehaviour takes the broker down for
// 800 ms during open-model telemetry at 100/s: the arrivals that found
// nobody online are telemetry.puback errors of class no_user_online, so
// a gate on that metric's errors sees the outage.
func testBrokerOutageCountsAgainstTheBehaviour(t *testing.T) {
	srv, err := refbackend.Start(context.Background(), refbackend.Config{
		MQTTAddr: "127.0.0.1:0",
		HTTPAddr: "127.0.0.1:0",
		Apps:     map[string][]byte{"demo-app": []byte("demo-secret")},
		AckDelay: -1,
		Schedule: []faults.ScheduledFault{{At: 600 * time.Millisecond, Action: faults.RestartMQTT, Duration: 800 * time.Millisecond}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	sc := parse(t, `
version: 1
name: outage
duration: 2s
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 20, connect_rate: 1000/s, reconnect: { policy: backoff, initial: 100ms, max: 200ms } }
behaviours:
  login: [me]
  telemetry: { rate: 100/s }
`)
	reg, _ := run(t, sc, srv.HTTPURL(), srv.MQTTURL())
	_, _, dropped := checkArrivalsAddUp(t, reg)
	offline := reg.Values()[scenario.ArrivalsDropped+".no_user_online"]
	tel := reg.Latency(scenario.TelemetryPuback).Summary()
	if offline == 0 || offline != dropped {
		t.Fatalf("arrivals dropped %d, for no_user_online %d; want all of them for that, at least one", dropped, offline)
	}
	if got := tel.ErrorsBy["no_user_online"]; got != offline {
		t.Errorf("telemetry.puback no_user_online errors = %d, want one per dropped arrival (%d)", got, offline)
	}
	if share := float64(tel.Errors) / float64(tel.Count+tel.Errors); share < 0.001 {
		t.Errorf("telemetry.puback errors %.4f%%: a gate `errors < 0.1%%` would pass through the outage", 100*share)
	}
	if unsent := reg.Counter(scenario.TelemetryUnsent).Value(); unsent < offline {
		t.Errorf("telemetry.unsent = %d, want at least the %d arrivals nobody could send", unsent, offline)
	}
	// Reconnect attempts while the broker is down are refused, and each
	// is counted against mqtt.reconnect as well as mqtt.connect.
	rc := reg.Latency(scenario.MQTTReconnect).Summary()
	refused := reg.Latency(scenario.MQTTConnect).Summary().ErrorsBy["connection_refused"]
	if refused == 0 || rc.ErrorsBy["connection_refused"] != refused {
		t.Errorf("mqtt.reconnect refused attempts %d, mqtt.connect %d: want the same, at least one", rc.ErrorsBy["connection_refused"], refused)
	}
	t.Logf("outage: %d arrivals dropped; telemetry ok %d, errors %v; reconnect ok %d, errors %v", dropped, tel.Count, tel.ErrorsBy, rc.Count, rc.ErrorsBy)
}

// testFailedLoginsAreErrors answers 90% of GET /v1/sdk/me with 503: every
// failed attempt is a user.login error of its class, users that never
// came online are counted, and those still trying at the end are
// unfinished login errors, not missing samples.
func testFailedLoginsAreErrors(t *testing.T) {
	srv := startFaulty(t, faults.Set{ErrorRate: map[string]float64{contract.EndpointMe: 0.9}}, -1)
	defer srv.Close()
	sc := parse(t, `
version: 1
name: failing-logins
duration: 1s
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 20, connect_rate: 1000/s, reconnect: { policy: backoff, initial: 100ms, max: 100ms } }
behaviours:
  login: [me]
`)
	reg, _ := run(t, sc, srv.HTTPURL(), srv.MQTTURL())
	login := reg.Latency(scenario.UserLogin).Summary()
	me := reg.Latency(scenario.HTTPMe).Summary()
	never := reg.Counter(scenario.UsersNeverOnline).Value()
	if me.ErrorsBy["http_503"] == 0 {
		t.Errorf("http.me errors %v, want some http_503", me.ErrorsBy)
	}
	checkAttempts(t, "http_503", login, me)
	if never != 20-login.Count || never == 0 {
		t.Errorf("users.never_online = %d with %d of 20 users logged in", never, login.Count)
	}
	if got := login.ErrorsBy["unfinished"]; got != never {
		t.Errorf("user.login unfinished = %d, want one per user still trying at the end (%d)", got, never)
	}
	if samples := reg.Latency(scenario.UserLogin).ErrorSamples()["http_503"]; len(samples) == 0 || !strings.Contains(samples[0], "/v1/sdk/me") || strings.Contains(samples[0], "demo-secret") {
		t.Errorf("user.login http_503 samples %q: want the failing call, no secret", samples)
	}
	t.Logf("user.login: ok %d, errors %v; never online %d", login.Count, login.ErrorsBy, never)
}

// refusingBroker is an independent broker (mochi-mqtt, not the reference
// backend's hooks) that refuses some users: CONNECT of users 0-4 with bad
// credentials, SUBSCRIBE of users 5-9 with a SUBACK 0x87, and hangs up on
// users 10-14 when they SUBSCRIBE.
type refusingBroker struct {
	mqtt.HookBase
}

func (h *refusingBroker) ID() string { return "refusing" }

func (h *refusingBroker) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck || b == mqtt.OnSubscribe
}

// userOf returns the index N of a client of user "u-N".
func userOf(cl *mqtt.Client) int {
	var n int
	_, _ = fmt.Sscanf(string(cl.Properties.Username), "sdk:demo-app:u-%d", &n)
	return n
}

func (h *refusingBroker) OnConnectAuthenticate(cl *mqtt.Client, _ packets.Packet) bool {
	return userOf(cl) >= 5
}

func (h *refusingBroker) OnACLCheck(cl *mqtt.Client, _ string, write bool) bool {
	n := userOf(cl)
	return write || n < 5 || n >= 10
}

func (h *refusingBroker) OnSubscribe(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	if n := userOf(cl); n >= 10 && n < 15 {
		cl.Stop(errors.New("hang up on SUBSCRIBE"))
	}
	return pk
}

// testRefusedConnectsAndSubscribesAreLoginErrors runs 50 users against an
// independent broker that refuses 15 of them at CONNECT or SUBSCRIBE: each
// refused attempt is a user.login error with the class of the refusal,
// a refusing SUBACK is classed by its reason code, and a hang-up during
// SUBSCRIBE is seen at once as a lost connection, not a timeout.
func testRefusedConnectsAndSubscribesAreLoginErrors(t *testing.T) {
	srv, err := refbackend.Start(context.Background(), refbackend.Config{
		HTTPAddr: "127.0.0.1:0",
		Apps:     map[string][]byte{"demo-app": []byte("demo-secret")},
		AckDelay: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	broker := mqtt.New(&mqtt.Options{InlineClient: false})
	if err := broker.AddHook(new(refusingBroker), nil); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := broker.AddListener(listeners.NewNet("tcp", ln)); err != nil {
		t.Fatal(err)
	}
	if err := broker.Serve(); err != nil {
		t.Fatal(err)
	}
	defer broker.Close()

	sc := parse(t, `
version: 1
name: refusing-broker
duration: 1500ms
identity: { app_id: demo-app, app_secret: demo-secret, user_id: "u-{{.N}}" }
fleet: { users: 50, connect_rate: 1000/s, connect_timeout: 5s, reconnect: { policy: backoff, initial: 200ms, max: 200ms } }
behaviours:
  login: [me]
`)
	reg, _ := run(t, sc, srv.HTTPURL(), "tcp://"+ln.Addr().String())
	login := reg.Latency(scenario.UserLogin).Summary()
	connect := reg.Latency(scenario.MQTTConnect).Summary()
	sub := reg.Latency(scenario.MQTTSubscribe).Summary()
	if login.Count != 35 {
		t.Errorf("user.login count = %d, want the 35 users the broker accepts", login.Count)
	}
	if n := reg.Counter(scenario.UsersNeverOnline).Value(); n != 15 {
		t.Errorf("users.never_online = %d, want 15", n)
	}
	for _, c := range []struct {
		class string
		step  metrics.Summary
	}{{"auth_refused", connect}, {"suback_0x87", sub}, {"connection_lost", sub}} {
		// Each refused user tries every 200 ms for 1.5 s.
		if n := c.step.ErrorsBy[c.class]; n < 5 {
			t.Errorf("%s: %s errors %d, want at least 5", c.class, c.step.Name, n)
		}
		checkAttempts(t, c.class, login, c.step)
	}
	if sub.ErrorsBy["timeout"] != 0 || sub.ErrorsBy["network"] != 0 {
		t.Errorf("mqtt.subscribe errors %v: a refusal or a hang-up is neither a timeout nor a network error", sub.ErrorsBy)
	}
	if login.ErrorsBy["unfinished"] != 15 {
		t.Errorf("user.login unfinished = %d, want the 15 refused users", login.ErrorsBy["unfinished"])
	}
	t.Logf("user.login ok %d, errors %v; mqtt.subscribe errors %v", login.Count, login.ErrorsBy, sub.ErrorsBy)
}

// testSOSMakesOnlyTheSDKsCalls runs SOS flows with the default settings:
// like the SDK (contract §4.4) the simulator makes no HTTP call between
// the alert and the cancel, so the backend sees no GET /v1/sdk/sos at all
// (login is [me] and every cancel answers with the incident).
func testSOSMakesOnlyTheSDKsCalls(t *testing.T) {
	srv := startBackend(t, "demo-secret", -1)
	defer srv.Close()
	sc := parse(t, `
version: 1
name: sos-calls
duration: 2s
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 10, connect_rate: 1000/s }
behaviours:
  login: [me]
  sos: { rate: 10/s, hold: 500ms, end: cancel }
`)
	// ~20 arrivals; on a loaded machine the stream opens late (when the
	// first login ends), and the arrivals due before are not the run's.
	reg, _ := run(t, sc, srv.HTTPURL(), srv.MQTTURL())
	sos := reg.Latency(scenario.SOSPuback).Summary()
	cancelled := reg.Latency(scenario.SOSCancelled).Summary()
	if sos.Count < 8 || sos.Errors != 0 || cancelled.Count != sos.Count {
		t.Fatalf("sos.puback %d ok (errors %v), sos.cancelled %d; want ~20, all cancelled", sos.Count, sos.ErrorsBy, cancelled.Count)
	}
	req := srv.Stats().HTTP.Requests
	if n := sum64(req[contract.EndpointSOSGet]); n != 0 {
		t.Errorf("the backend saw %d GET /v1/sdk/sos for %d alerts; the SDK makes none", n, sos.Count)
	}
	if n := sum64(req[contract.EndpointSOSCancel]); n != sos.Count {
		t.Errorf("the backend saw %d cancels for %d alerts", n, sos.Count)
	}
	if s := reg.Latency(scenario.SOSVisible).Summary(); s.Count+s.Errors != 0 {
		t.Errorf("sos.visible has %d samples and %d errors without visible_poll", s.Count, s.Errors)
	}
}

func sum64(m map[int]int64) (n int64) {
	for _, v := range m {
		n += v
	}
	return n
}
