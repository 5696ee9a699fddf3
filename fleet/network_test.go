package fleet_test

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/internal/testcert"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/refbackend"
	"github.com/eixamsim/eixamsim/scenario"
)

// TestNetworkOverEveryTransport runs users on a 20 ms link over every
// broker transport (tcp, ssl, ws, wss) and HTTP and HTTPS: they log in and
// publish as without a link, every sample also counts on the profile's
// twin, and each connect crossed the link once per round trip its
// protocol needs (SYN, then TLS 1.3's and the WebSocket upgrade's, then
// CONNECT): the link sits under TLS and WebSocket, not beside them.
func TestNetworkOverEveryTransport(t *testing.T) {
	t.Parallel() // leaks: TestMain
	const rtt = 20 * time.Millisecond
	certFile, keyFile, pool := testcert.Write(t)
	secure, err := refbackend.Start(context.Background(), refbackend.Config{
		MQTTAddr: "127.0.0.1:0", WSAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		TLSCertFile: certFile, TLSKeyFile: keyFile,
		Apps: map[string][]byte{"demo-app": []byte("demo-secret")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer secure.Close()
	if !strings.HasPrefix(secure.HTTPURL(), "https://") {
		t.Fatalf("%s is not HTTPS", secure.HTTPURL())
	}
	plain := startBackend(t, "demo-secret", -1)
	defer plain.Close()
	type transport struct {
		name, http, mqtt string
		roundTrips       int // of a connect: SYN, TLS, upgrade, CONNECT
	}
	cases := []transport{
		{"tcp", plain.HTTPURL(), plain.MQTTURL(), 2},
		{"ws", plain.HTTPURL(), plain.WSURL(), 3},
		{"ssl", secure.HTTPURL(), secure.MQTTURL(), 3},
		{"wss", secure.HTTPURL(), secure.WSURL(), 4},
	}
	inParallel(t, cases, func(t *testing.T, c transport) {
		sc := parse(t, `
version: 1
name: net
duration: 60s
identity: { app_id: demo-app, app_secret: demo-secret, user_id: "net-`+c.name+`-{{.N}}" }
fleet:
  users: 5
  connect_rate: 1000/s
  network: { mix: { lan20: 1 }, profiles: { lan20: { rtt: 20ms } } }
behaviours: { telemetry: { every: 200ms } }
`)
		reg := metrics.NewRegistry()
		count := func(name string) int64 { return reg.Latency(name).Summary().Count }
		runUntil(t, fleet.Config{Scenario: sc, HTTPURL: c.http, MQTTURL: c.mqtt, Metrics: reg,
			TLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}, func() bool {
			return count(scenario.UserLogin) == 5 && count(scenario.TelemetryPuback) >= 10
		})
		for _, name := range []string{scenario.UserLogin, scenario.TelemetryPuback, scenario.HTTPMe, scenario.MQTTConnect} {
			total, twin := reg.Latency(name).Summary(), reg.Latency(scenario.MetricAtProfile(name, "lan20")).Summary()
			if total.Count == 0 || total.Errors != 0 || twin.Count != total.Count || twin.Errors != 0 {
				t.Errorf("%s: %d samples, errors %v; twin %d samples", name, total.Count, total.ErrorsBy, twin.Count)
			}
		}
		if min := reg.Latency(scenario.MQTTConnect).Summary().Min; min < time.Duration(c.roundTrips)*rtt {
			t.Errorf("fastest connect %s, below the %d round trips of %s over the link", min, c.roundTrips, rtt)
		}
		if min := reg.Latency(scenario.TelemetryPuback).Summary().Min; min < rtt {
			t.Errorf("fastest PUBACK %s, below one round trip of %s", min, rtt)
		}
	}, func(c transport) string { return c.name })
}

// TestNetworkSOSTwins checks that the SOS flow's own clocks (delivered,
// cancelled, visible) have their per-profile twins, as the request and
// publish latencies do.
func TestNetworkSOSTwins(t *testing.T) {
	t.Parallel() // leaks: TestMain
	srv := startBackend(t, "demo-secret", -1)
	defer srv.Close()
	sc := parse(t, `
version: 1
name: net-sos
duration: 3s
identity: { app_id: demo-app, app_secret: demo-secret, user_id: "net-sos-{{.N}}" }
fleet:
  users: 4
  connect_rate: 1000/s
  network: { mix: { lan5: 1 }, profiles: { lan5: { rtt: 5ms } } }
behaviours: { sos: { rate: 4/s, hold: 100ms..200ms, end: cancel } }
`)
	reg := metrics.NewRegistry()
	r, err := fleet.New(fleet.Config{Scenario: sc, HTTPURL: srv.HTTPURL(), MQTTURL: srv.MQTTURL(), Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{scenario.SOSPuback, scenario.SOSDelivered, scenario.SOSCancelled, scenario.HTTPSOSCancel} {
		total, twin := reg.Latency(name).Summary(), reg.Latency(scenario.MetricAtProfile(name, "lan5")).Summary()
		if total.Count == 0 || twin.Count != total.Count || twin.Errors != total.Errors {
			t.Errorf("%s: %d samples, %d errors; twin %d samples, %d errors", name, total.Count, total.Errors, twin.Count, twin.Errors)
		}
	}
}
