package fleet_test

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"

	"go.uber.org/goleak"

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
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
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
	sc := parse(t, `
version: 1
name: tls
duration: 1500ms
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 10, connect_rate: 1000/s }
behaviours: { telemetry: { every: 200ms } }
`)
	trusted := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	for _, broker := range []string{srv.MQTTURL(), strings.Replace(srv.MQTTURL(), "ssl://", "tls://", 1), srv.WSURL()} {
		t.Run(strings.SplitN(broker, ":", 2)[0], func(t *testing.T) {
			reg := metrics.NewRegistry()
			r, err := fleet.New(fleet.Config{Scenario: sc, HTTPURL: srv.HTTPURL(), MQTTURL: broker, TLS: trusted, Metrics: reg})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, s := range reg.Summaries() {
				if s.Errors != 0 {
					t.Errorf("%s over %s: errors %v", s.Name, broker, s.ErrorsBy)
				}
			}
			if n := reg.Latency(scenario.UserLogin).Summary().Count; n != 10 {
				t.Errorf("logins over %s = %d, want 10", broker, n)
			}
			if n := reg.Latency(scenario.TelemetryPuback).Summary().Count; n == 0 {
				t.Errorf("no telemetry acknowledged over %s", broker)
			}
		})
	}

	t.Run("untrusted", func(t *testing.T) {
		reg := metrics.NewRegistry()
		r, err := fleet.New(fleet.Config{Scenario: sc, HTTPURL: srv.HTTPURL(), MQTTURL: srv.WSURL(), TLS: &tls.Config{MinVersion: tls.VersionTLS12}, Metrics: reg})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		me := reg.Latency(scenario.HTTPMe).Summary()
		if me.Count != 0 || me.ErrorsBy["tls_verify"] < 10 {
			t.Errorf("http.me = %d ok, errors %v; want only tls_verify, one per user at least", me.Count, me.ErrorsBy)
		}
	})
}
