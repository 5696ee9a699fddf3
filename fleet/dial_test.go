package fleet_test

import (
	"context"
	"testing"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// TestSeveralAddresses runs shard 1 of 2 of a 6-user run (users 3, 4 and
// 5 of the whole run) against two backends, as the addresses of one
// target: user n uses address n mod 2 for MQTT and HTTP, so users 3 and 5
// go to B and user 4 to A, as in the unsharded run; each connect counts on
// mqtt.connect and on its address's mqtt.connect@host:port.
func TestSeveralAddresses(t *testing.T) {
	t.Parallel() // leaks: TestMain
	a := startBackend(t, "demo-secret", -1)
	defer a.Close()
	b := startBackend(t, "demo-secret", -1)
	defer b.Close()
	whole := parse(t, `
version: 1
name: addresses
seed: 5
duration: 1s
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 6, connect_rate: 1000/s }
`)
	sc, err := whole.Slice(scenario.Shard{Index: 1, Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	reg := metrics.NewRegistry()
	r, err := fleet.New(fleet.Config{Scenario: sc, HTTPURLs: []string{a.HTTPURL(), b.HTTPURL()},
		MQTTURLs: []string{a.MQTTURL(), b.MQTTURL()}, Metrics: reg, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{scenario.MQTTConnect: 3}
	for _, tc := range []struct {
		uri   string
		users int64
	}{{a.MQTTURL(), 1}, {b.MQTTURL(), 2}} {
		addr, err := fleet.BrokerAddress(tc.uri)
		if err != nil {
			t.Fatal(err)
		}
		want[scenario.MQTTConnectAt(addr)] = tc.users
	}
	for name, n := range want {
		if s := reg.Latency(name).Summary(); s.Count != n || s.Errors != 0 {
			t.Errorf("%s: %d connects, %d errors; want %d, 0", name, s.Count, s.Errors, n)
		}
	}
	if got := a.Stats().MQTT.ConnectsAccepted; got != 1 {
		t.Errorf("backend A accepted %d connects, want 1 (user 4)", got)
	}
	if got := b.Stats().MQTT.ConnectsAccepted; got != 2 {
		t.Errorf("backend B accepted %d connects, want 2 (users 3 and 5)", got)
	}
	if got := a.Stats().HTTP.Requests["me"][200]; got != 1 {
		t.Errorf("backend A answered /me %d times, want 1", got)
	}
	if got := b.Stats().HTTP.Requests["me"][200]; got != 2 {
		t.Errorf("backend B answered /me %d times, want 2", got)
	}
}
