package fleet_test

import (
	"testing"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// TestSourceAddresses spreads users over two loopback source addresses
// (fleet.source_ips): every user must log in and connect, with MQTT and
// HTTP connections opened concurrently from both addresses.
func TestSourceAddresses(t *testing.T) {
	t.Parallel() // leaks: TestMain
	srv := startBackend(t, "demo-secret", -1)
	defer srv.Close()
	sc := parse(t, `
version: 1
name: sources
duration: 60s
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 40, connect_rate: 2000/s, source_ips: [127.0.0.2, 127.0.0.3] }
behaviours:
  contacts: { rate: 50/s, mix: { list: 1, create: 0, update: 0, delete: 0 } }
`)
	reg := metrics.NewRegistry()
	runUntil(t, fleet.Config{Scenario: sc, HTTPURL: srv.HTTPURL(), MQTTURL: srv.MQTTURL(), Metrics: reg}, func() bool {
		return reg.Latency(scenario.UserLogin).Summary().Count == 40 && reg.Latency(scenario.HTTPContactsList).Summary().Count > 0
	})
	for _, name := range []string{scenario.UserLogin, scenario.MQTTConnect, scenario.HTTPContactsList} {
		s := reg.Latency(name).Summary()
		if s.Errors != 0 || s.Count == 0 {
			t.Errorf("%s: %d ok, errors %v", name, s.Count, s.ErrorsBy)
		}
	}
	if n := reg.Latency(scenario.UserLogin).Summary().Count; n != 40 {
		t.Errorf("logins = %d, want 40", n)
	}
}
