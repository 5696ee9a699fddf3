package fleet_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/refbackend"
	"github.com/eixamsim/eixamsim/scenario"
)

// churnScenario churns 10 users fast. The leave mode, back and fleet
// keys are filled in (churnFleet).
const churnScenario = `
version: 1
name: churn
duration: 1m
identity: { app_id: demo-app, app_secret: demo-secret, user_id: "churn-{{.N}}" }
fleet:
  users: 10
  connect_rate: 1000/s
  churn: { online: 200ms..400ms, offline: %s, leave: { %s: 1 }, back: %s }
  %s
`

// churnFleet is what each leave mode's test needs: a keep-alive of 1 s,
// so that the broker reaps a vanished phone within 1.5 s, and time away
// past that (a phone back sooner takes its own ghost's session over); for
// a roam, a keep-alive long enough that the reconnect after the SDK's 2 s
// finds the old session still there, and two source addresses.
func churnFleet(mode string) (offline, extra string) {
	switch mode {
	case scenario.LeaveVanished:
		return "2s..2500ms", "keep_alive: 1s"
	case scenario.LeaveRoam:
		return "100ms..300ms", "keep_alive: 10s\n  source_ips: [127.0.0.1, 127.0.0.2]"
	}
	return "100ms..300ms", "keep_alive: 1s"
}

// waitFor waits (bounded) until cond holds, failing the test if it does not.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// churnRun runs the churn scenario for mode until until holds, stops it
// and waits for the broker to have seen every session end. It returns the
// fleet's registry and the broker's stats.
func churnRun(t *testing.T, mode, back, transport string, until func(reg *metrics.Registry) bool) (*metrics.Registry, refbackend.Stats) {
	t.Helper()
	srv := startBackend(t, "demo-secret", 0)
	defer srv.Close()
	offline, extra := churnFleet(mode)
	sc := parse(t, fmt.Sprintf(churnScenario, offline, mode, back, extra))
	reg := metrics.NewRegistry()
	mqttURL := srv.MQTTURL()
	if transport == "ws" {
		mqttURL = srv.WSURL()
	}
	r, err := fleet.New(fleet.Config{Scenario: sc, HTTPURL: srv.HTTPURL(), MQTTURL: mqttURL, Metrics: reg, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	stop := startRun(t, r)
	defer func() {
		if t.Failed() {
			t.Logf("fleet counters %v; broker %+v", reg.Values(), srv.Stats().MQTT.DisconnectsByCause)
		}
	}()
	waitFor(t, mode+" churn", 30*time.Second, func() bool {
		if until(reg) {
			return true
		}
		return false
	})
	stop()
	// The broker counts a session's end once its connection has closed.
	waitFor(t, "every session ended at the broker", 10*time.Second, func() bool { return srv.Stats().MQTT.Connected == 0 })
	return reg, srv.Stats()
}

// TestChurnLeaveModesAsTheBrokerSeesThem: each leave mode ends sessions
// as the reference backend counts them (mqtt.disconnects_by_cause), in
// the numbers the fleet counted. Every session that is not a churn leave
// ends with the run's clean stop. Over WebSocket, a killed phone's socket
// closes under the WebSocket (no close frame) and a vanished one's stays
// open under it.
func TestChurnLeaveModesAsTheBrokerSeesThem(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	type leaveCase struct{ mode, transport string }
	var cases []leaveCase
	for _, mode := range scenario.LeaveModes {
		cases = append(cases, leaveCase{mode, "tcp"})
	}
	cases = append(cases, leaveCase{scenario.LeaveKilled, "ws"}, leaveCase{scenario.LeaveVanished, "ws"})
	inParallel(t, cases, func(t *testing.T, c leaveCase) {
		mode := c.mode
		counter := func(reg *metrics.Registry, name string) int64 { return reg.Counter(name).Value() }
		left := scenario.UsersLeft(mode)
		reg, st := churnRun(t, mode, scenario.BackColdStart, c.transport, func(reg *metrics.Registry) bool {
			switch mode {
			case scenario.LeaveVanished:
				return reg.Latency(scenario.MQTTGhostReaped).Summary().Count >= 10
			case scenario.LeaveRoam:
				return counter(reg, scenario.MQTTRoamTakenOver) >= 10
			}
			return counter(reg, left) >= 10 && counter(reg, scenario.UsersReturned) >= 10
		})
		d := st.MQTT.DisconnectsByCause
		connects := reg.Latency(scenario.MQTTConnect).Summary().Count
		n := counter(reg, left)
		t.Logf("%s: left %d, returned %d, connects %d; broker %+v", mode, n, counter(reg, scenario.UsersReturned), connects, d)
		if st.MQTT.ConnectsAccepted != connects || d.Total != connects {
			t.Errorf("broker accepted %d sessions and saw %d end, the fleet connected %d", st.MQTT.ConnectsAccepted, d.Total, connects)
		}
		for _, other := range scenario.LeaveModes {
			if other != mode && counter(reg, scenario.UsersLeft(other)) != 0 {
				t.Errorf("%s = %d with only %s weighted", scenario.UsersLeft(other), counter(reg, scenario.UsersLeft(other)), mode)
			}
		}
		var want refbackend.DisconnectStats
		switch mode {
		case scenario.LeaveClean:
			want = refbackend.DisconnectStats{Clean: connects}
		case scenario.LeaveKilled:
			want = refbackend.DisconnectStats{Clean: connects - n, ClosedWithoutDisconnect: n}
		case scenario.LeaveVanished:
			reaped := reg.Latency(scenario.MQTTGhostReaped).Summary()
			// Ghosts still open when the run ended are closed then (no
			// DISCONNECT) and count in neither ghost metric.
			taken := counter(reg, scenario.MQTTGhostTakenOver)
			want = refbackend.DisconnectStats{Clean: connects - n, KeepaliveExpired: reaped.Count, TakenOver: taken, ClosedWithoutDisconnect: n - reaped.Count - taken}
			if u := counter(reg, scenario.MQTTGhostUnreaped); u != 0 {
				t.Errorf("mqtt.ghost_unreaped = %d against a broker that enforces keep-alive", u)
			}
			// The broker's clock runs from the last packet it got, at most
			// one keep-alive (a PINGREQ) before the phone went silent.
			if reaped.Min < 490*time.Millisecond {
				t.Errorf("a ghost reaped %v after going silent, before 1.5 x keep-alive could have passed", reaped.Min)
			}
		case scenario.LeaveRoam:
			taken := counter(reg, scenario.MQTTRoamTakenOver)
			want = refbackend.DisconnectStats{Clean: connects - n, TakenOver: taken, ClosedWithoutDisconnect: n - taken}
			if n := counter(reg, scenario.MQTTRoamDisconnect8E); n != taken {
				t.Errorf("mqtt.roam.disconnect_0x8e = %d of %d takeovers: the reference backend says 0x8E to each", n, taken)
			}
			if c, s := counter(reg, scenario.MQTTRoamClosed), counter(reg, scenario.MQTTRoamSilent); c != 0 || s != 0 {
				t.Errorf("mqtt.roam.closed = %d, mqtt.roam.silent = %d: the broker takes sessions over with DISCONNECT 0x8E", c, s)
			}
			if r := counter(reg, scenario.UsersReturned); r != 0 {
				t.Errorf("users.returned = %d: a roam is no absence", r)
			}
			if rc := reg.Latency(scenario.MQTTReconnect).Summary(); rc.Count < taken {
				t.Errorf("mqtt.reconnect has %d samples, fewer than the %d takeovers", rc.Count, taken)
			}
		}
		want.Total = connects
		if d != want {
			t.Errorf("broker's disconnects by cause\n %+v, want\n %+v", d, want)
		}
	}, func(c leaveCase) string { return c.mode + "/" + c.transport })
}

// TestChurnBack: back: cold_start comes back with GET /v1/sdk/sos and no
// /me (contract §6.1), back: login with the whole first login.
func TestChurnBack(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	inParallel(t, []string{scenario.BackColdStart, scenario.BackLogin}, func(t *testing.T, back string) {
		reg, st := churnRun(t, scenario.LeaveClean, back, "tcp", func(reg *metrics.Registry) bool {
			return reg.Counter(scenario.UsersReturned).Value() >= 10
		})
		returned := reg.Counter(scenario.UsersReturned).Value()
		me, sos := st.HTTP.Requests[contract.EndpointMe][200], st.HTTP.Requests[contract.EndpointSOSGet][200]
		t.Logf("%s: returned %d, GET /me %d, GET /sos %d", back, returned, me, sos)
		// A return stopped by the end of the run may have made its calls
		// without coming online: at most one per user.
		within := func(got, lo int64) bool { return got >= lo && got <= lo+10 }
		switch back {
		case scenario.BackColdStart:
			if me != 10 || !within(sos, 10+returned) {
				t.Errorf("cold start: GET /me %d (want 10, first logins only), GET /sos %d (want %d..%d)", me, sos, 10+returned, 20+returned)
			}
		case scenario.BackLogin:
			if !within(me, 10+returned) || !within(sos, 10+returned) || sos > me {
				t.Errorf("login: GET /me %d, GET /sos %d, want each %d..%d", me, sos, 10+returned, 20+returned)
			}
		}
		if n := reg.Latency(scenario.UserLogin).Summary().Count; n < 10+returned {
			t.Errorf("user.login has %d samples, want at least the %d first logins and returns", n, 10+returned)
		}
	}, func(b string) string { return b })
}

// TestVanishedUsersHoldNoGoroutine: a vanished phone's socket stays open
// at the broker, and the fleet keeps no goroutine for it (no paho client,
// no user work): only the reaper's timer looks at it.
func TestVanishedUsersHoldNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := startBackend(t, "demo-secret", 0)
	defer srv.Close()
	sc := parse(t, fmt.Sprintf(churnScenario, "1h", scenario.LeaveVanished, scenario.BackColdStart, "keep_alive: 60s"))
	reg := metrics.NewRegistry()
	r, err := fleet.New(fleet.Config{Scenario: sc, HTTPURL: srv.HTTPURL(), MQTTURL: srv.MQTTURL(), Metrics: reg, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	stop := startRun(t, r)
	waitFor(t, "every user vanished", 20*time.Second, func() bool {
		return reg.Counter(scenario.UsersLeftVanished).Value() == 10 && reg.Gauge(scenario.UsersOnline).Value() == 0
	})
	ours := func() []string {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var held []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "eclipse/paho.golang") || strings.Contains(g, "eixamsim/fleet.(*user)") {
				held = append(held, g)
			}
		}
		return held
	}
	waitFor(t, "the vanished users' goroutines ended", 10*time.Second, func() bool { return len(ours()) == 0 })
	if c := srv.Stats().MQTT.Connected; c != 10 {
		t.Errorf("the broker has %d sessions open, want the 10 ghosts'", c)
	}
	stop()
	waitFor(t, "every session ended at the broker", 10*time.Second, func() bool { return srv.Stats().MQTT.Connected == 0 })
	if d := srv.Stats().MQTT.DisconnectsByCause; d.ClosedWithoutDisconnect != 10 || d.KeepaliveExpired != 0 {
		t.Errorf("the ghosts ended as %+v, want 10 closed without DISCONNECT at the end of the run", d)
	}
}
