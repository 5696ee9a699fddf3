package fleet_test

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/internal/testcert"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/refbackend"
	"github.com/eixamsim/eixamsim/scenario"
)

// TestTLSSchemes runs users over every TLS broker scheme of contract §3.2
// (ssl://, tls://, and wss:// with its /ws path — production's transport)
// and HTTPS, trusting the test CA; then without trusting it, where every
// attempt must fail as a counted tls_verify error.
func TestTLSSchemes(t *testing.T) {
	t.Parallel() // leaks: TestMain
	certFile, keyFile, pool := testcert.Write(t)
	srv, err := refbackend.Start(context.Background(), refbackend.Config{
		MQTTAddr: "127.0.0.1:0", WSAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		TLSCertFile: certFile, TLSKeyFile: keyFile,
		Apps: map[string][]byte{"demo-app": []byte("demo-secret")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.HasPrefix(srv.HTTPURL(), "https://") || !strings.HasPrefix(srv.WSURL(), "wss://") {
		t.Fatalf("backend URLs %s %s are not TLS", srv.HTTPURL(), srv.WSURL())
	}
	// Each case has users of its own: they run at the same time against
	// one broker, where a shared client id would take over a session.
	scenarioFor := func(t *testing.T, users string) *scenario.Scenario {
		return parse(t, `
version: 1
name: tls
duration: 60s
identity: { app_id: demo-app, app_secret: demo-secret, user_id: "`+users+`-{{.N}}" }
fleet: { users: 10, connect_rate: 1000/s }
behaviours: { telemetry: { every: 200ms } }
`)
	}
	trusted := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	type tlsCase struct{ name, broker string }
	cases := []tlsCase{{"ssl", srv.MQTTURL()}, {"tls", strings.Replace(srv.MQTTURL(), "ssl://", "tls://", 1)}, {"wss", srv.WSURL()}}
	// The schemes and the untrusted case run side by side against the one
	// backend (each ends when its users logged in and published); the leak check above covers
	// them all, after they ended.
	inParallel(t, append(cases, tlsCase{"untrusted", srv.WSURL()}), func(t *testing.T, c tlsCase) {
		if c.name == "untrusted" {
			reg := metrics.NewRegistry()
			runUntil(t, fleet.Config{Scenario: scenarioFor(t, c.name), HTTPURL: srv.HTTPURL(), MQTTURL: c.broker, TLS: &tls.Config{MinVersion: tls.VersionTLS12}, Metrics: reg}, func() bool {
				return reg.Latency(scenario.HTTPMe).Summary().ErrorsBy["tls_verify"] >= 10
			})
			me := reg.Latency(scenario.HTTPMe).Summary()
			if me.Count != 0 || me.ErrorsBy["tls_verify"] < 10 {
				t.Errorf("http.me = %d ok, errors %v; want only tls_verify, one per user at least", me.Count, me.ErrorsBy)
			}
			return
		}
		broker := c.broker
		reg := metrics.NewRegistry()
		runUntil(t, fleet.Config{Scenario: scenarioFor(t, c.name), HTTPURL: srv.HTTPURL(), MQTTURL: broker, TLS: trusted, Metrics: reg}, func() bool {
			return reg.Latency(scenario.UserLogin).Summary().Count == 10 && reg.Latency(scenario.TelemetryPuback).Summary().Count >= 10
		})
		for _, s := range reg.Summaries() {
			if s.Errors != 0 {
				t.Errorf("%s over %s: errors %v", s.Name, broker, s.ErrorsBy)
			}
		}
		login := reg.Latency(scenario.UserLogin).Summary()
		t.Logf("%s: user.login max %v", c.name, login.Max)
		if n := login.Count; n != 10 {
			t.Errorf("logins over %s = %d, want 10", broker, n)
		}
		if n := reg.Latency(scenario.TelemetryPuback).Summary().Count; n == 0 {
			t.Errorf("no telemetry acknowledged over %s", broker)
		}
	}, func(c tlsCase) string { return c.name })
}
