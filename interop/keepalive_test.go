package interop

import (
	"context"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/refbackend"
	"github.com/eixamsim/eixamsim/scenario"
)

// TestIdleUsersKeptAliveAgainstMosquitto keeps idle users (telemetry once
// an hour) connected to mosquitto with a 2 s keep-alive for 8 s: mosquitto
// drops a client silent for 1.5x its keep-alive (3 s), so they stay only
// if the simulator's pinger keeps them alive. The logins go to the
// reference backend's HTTP API.
func TestIdleUsersKeptAliveAgainstMosquitto(t *testing.T) {
	const users = 5
	m := startMosquitto(t)
	defer m.Stop()
	srv, err := refbackend.Start(context.Background(), refbackend.Config{
		HTTPAddr: "127.0.0.1:0",
		Apps:     map[string][]byte{"demo-app": []byte("demo-secret")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	sc, err := scenario.Parse("keepalive.yaml", []byte(`
version: 1
name: keepalive
duration: 1m
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 5, connect_rate: 1000/s, keep_alive: 2s }
behaviours: { telemetry: { every: 1h } }
`), scenario.Options{Getenv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	reg := metrics.NewRegistry()
	r, err := fleet.New(fleet.Config{Scenario: sc, HTTPURL: srv.HTTPURL(), MQTTURL: "tcp://" + m.TCPAddr, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := r.Run(ctx); err != nil {
			t.Error(err)
		}
	}()
	defer func() { cancel(); <-done }()

	online := func() int64 { return reg.Gauge(scenario.UsersOnline).Value() }
	deadline := time.Now().Add(5 * time.Second)
	for online() != users && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if online() != users {
		t.Fatalf("%d of %d users online", online(), users)
	}
	time.Sleep(8 * time.Second) // 4 keep-alives, 2.7 of mosquitto's timeouts
	if n := reg.Counter(scenario.MQTTDisconnects).Value(); n != 0 {
		t.Errorf("mqtt.disconnects = %d over 8 s idle, want 0", n)
	}
	if online() != users {
		t.Errorf("%d users online after 8 s idle, want %d", online(), users)
	}
	for _, line := range m.Log(t) {
		if brokerDrops.MatchString(line) {
			t.Errorf("mosquitto: %s", line)
		}
	}
}
