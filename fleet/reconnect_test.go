package fleet_test

import (
	"context"
	"github.com/eixamsim/eixamsim/faults"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/refbackend"
	"github.com/eixamsim/eixamsim/scenario"
	"go.uber.org/goleak"
)

// TestBrokerRestartUsersComeBack restarts the broker's listeners in the
// middle of a run and checks that every user noticed, reconnected per its
// policy, re-subscribed and carried on, and that the run completed.
func TestBrokerRestartUsersComeBack(t *testing.T) {
	tests := []restartCase{
		// The SDK's policy: a fixed 2 s between attempts, so nobody can be
		// back before 2 s (the broker is down for 1 s).
		{"sdk", "sdk", 2 * time.Second},
		// Exponential backoff from 100 ms: back soon after the 1 s outage
		// (measured from when the client noticed the loss, a moment after
		// the listeners closed).
		{"backoff", "{ policy: backoff, initial: 100ms, max: 400ms }", 900 * time.Millisecond},
	}
	// The policies run side by side (they only wait on the clock); the
	// leak check covers both, after both ended.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	inParallel(t, tests, func(t *testing.T, tt restartCase) {
		srv, err := refbackend.Start(context.Background(), refbackend.Config{
			MQTTAddr: "127.0.0.1:0",
			HTTPAddr: "127.0.0.1:0",
			Apps:     map[string][]byte{"demo-app": []byte("demo-secret")},
			AckDelay: -1,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		// The restart comes once every user is online, and the run ends
		// once every user is back: events, not times, so a loaded machine
		// that logs users in slowly changes nothing (duration only bounds).
		sc := parse(t, `
version: 1
name: restart
duration: 1m
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 30, connect_rate: 1000/s, reconnect: `+tt.reconnect+` }
behaviours:
  telemetry: { every: 200ms }
`)
		reg := metrics.NewRegistry()
		runSteps(t, sc, srv.HTTPURL(), srv.MQTTURL(), reg, eventStep{
			Step: fleet.Step{Name: "all", Users: 30},
			settled: func() {
				if _, err := srv.RunSchedule(time.Time{}, []faults.ScheduledFault{{Action: faults.RestartMQTT, Duration: time.Second}}); err != nil {
					t.Error(err)
				}
			},
			until: func() bool {
				return reg.Latency(scenario.MQTTReconnect).Summary().Count == 30 && reg.Latency(scenario.MQTTSubscribe).Summary().Count == 60
			},
		})
		if n := reg.Counter(scenario.MQTTDisconnects).Value(); n != 30 {
			t.Errorf("mqtt.disconnects = %d, want 30 (every user lost its connection)", n)
		}
		rc := reg.Latency(scenario.MQTTReconnect).Summary()
		if rc.Count != 30 {
			t.Errorf("mqtt.reconnect count = %d, want 30 (every user came back)", rc.Count)
		}
		// The histogram's min is the bottom of its bucket, up to 0.1 %
		// (3 significant digits) under the value: 2.0003 s reads 1.99987 s.
		if floor := tt.minLatency - tt.minLatency/1000; rc.Min < floor {
			t.Errorf("mqtt.reconnect min %v < %v (%v within the histogram's precision)", rc.Min, tt.minLatency, floor)
		}
		if n := reg.Latency(scenario.MQTTSubscribe).Summary().Count; n != 60 {
			t.Errorf("mqtt.subscribe count = %d, want 60 (subscribed again after reconnecting)", n)
		}
		if n := reg.Counter(scenario.TelemetryUnsent).Value(); n == 0 {
			t.Error("telemetry.unsent = 0: ticks while disconnected were not counted")
		}
		tel := reg.Latency(scenario.TelemetryPuback).Summary()
		for class := range tel.ErrorsBy {
			if class != "connection_lost" {
				t.Errorf("telemetry.puback error class %q (%d): only connection_lost is expected", class, tel.ErrorsBy[class])
			}
		}
		st := srv.Stats()
		if st.MQTT.ListenerRestarts != 1 || st.MQTT.ConnectsAccepted != 60 {
			t.Errorf("backend: %d restarts, %d connects; want 1 and 60", st.MQTT.ListenerRestarts, st.MQTT.ConnectsAccepted)
		}
		// A message the broker accepted just before going down may have
		// lost its PUBACK with the connection: the simulator counts it
		// as connection_lost. Nothing else may differ.
		if lost := tel.ErrorsBy["connection_lost"]; st.Telemetry.Accepted < tel.Count || st.Telemetry.Accepted > tel.Count+lost {
			t.Errorf("telemetry: backend accepted %d, simulator acknowledged %d (+%d lost with the connection)", st.Telemetry.Accepted, tel.Count, lost)
		}
		t.Logf("%s: reconnect min %v max %v; unsent %d; telemetry ok %d, errors %v", tt.name, rc.Min, rc.Max, reg.Counter(scenario.TelemetryUnsent).Value(), tel.Count, tel.ErrorsBy)
	}, func(tt restartCase) string { return tt.name })
}

type restartCase struct {
	name       string
	reconnect  string
	minLatency time.Duration // mqtt.reconnect must be at least this
}
