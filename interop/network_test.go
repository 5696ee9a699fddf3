package interop

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/refbackend"
	"github.com/eixamsim/eixamsim/scenario"
)

// TestNetworkProfileRTTAgainstMosquitto runs idle users on a profile of
// exactly 100 ms round trip (no jitter, loss or bandwidth limit) against
// mosquitto on loopback and the reference backend's HTTP API, and checks
// that the app-level clocks see that link:
//
//   - mqtt.ping (PINGREQ -> PINGRESP) and http.sos_get (the second login
//     call, on the connection /me opened) take one round trip: 100 ms;
//   - http.me and mqtt.connect take two: the TCP handshake's (the first
//     request opens the user's connection) and the request's;
//   - the per-profile twins hold the same samples.
//
// Without the network the same run's pings take well under 100 ms, and
// mqtt.ping is recorded all the same.
func TestNetworkProfileRTTAgainstMosquitto(t *testing.T) {
	m := startMosquitto(t)
	srv, err := refbackend.Start(context.Background(), refbackend.Config{
		HTTPAddr: "127.0.0.1:0",
		Apps:     map[string][]byte{"demo-app": []byte("demo-secret")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	const users = 5
	const network = "  network: { mix: { rtt100: 1 }, profiles: { rtt100: { rtt: 100ms } } }\n"
	for _, tt := range []struct {
		name    string
		network string
	}{{"rtt100", network}, {"off", ""}} {
		t.Run(tt.name, func(t *testing.T) {
			reg := runIdle(t, m, srv.HTTPURL(), users, tt.network)
			ping := reg.Latency(scenario.MQTTPing).Summary()
			if ping.Count < users {
				t.Fatalf("mqtt.ping has %d samples, want >= %d", ping.Count, users)
			}
			if ping.Errors != 0 {
				t.Errorf("mqtt.ping errors: %v", ping.ErrorsBy)
			}
			if tt.network == "" {
				if p50, _ := ping.At(50); p50 >= 50*time.Millisecond {
					t.Errorf("mqtt.ping p50 = %s without a network profile", p50)
				}
				if n := len(reg.Latencies()); n == 0 {
					t.Fatal("no latencies")
				}
				for _, l := range reg.Latencies() {
					if _, _, ok := scenario.MetricProfile(l.Name()); ok {
						t.Errorf("per-profile metric %s recorded without a network", l.Name())
					}
				}
				return
			}
			within := func(metric string, want time.Duration) {
				t.Helper()
				for _, name := range []string{metric, scenario.MetricAtProfile(metric, "rtt100")} {
					s := reg.Latency(name).Summary()
					p50, _ := s.At(50)
					t.Logf("%s p50 %s (%d samples)", name, p50, s.Count)
					lo, hi := want*9/10, want*11/10
					if s.Count == 0 || p50 < lo || p50 > hi {
						t.Errorf("%s p50 = %s over %d samples, want %s ± 10%%", name, p50, s.Count, want)
					}
				}
			}
			within(scenario.MQTTPing, 100*time.Millisecond)
			within(scenario.HTTPSOSGet, 100*time.Millisecond)
			within(scenario.HTTPMe, 200*time.Millisecond)
			within(scenario.MQTTConnect, 200*time.Millisecond)
		})
	}
}

// runIdle runs users idle users (keep-alive 1 s) until each has had about
// three PINGREQs answered or failed, at most 20 s, and returns the
// registry.
func runIdle(t *testing.T, m *mosquitto, httpURL string, users int, network string) *metrics.Registry {
	t.Helper()
	reg, stop := startFleet(context.Background(), t, "rtt.yaml", fmt.Sprintf(`
version: 1
name: rtt
duration: 1m
seed: 7
identity: { app_id: demo-app, app_secret: demo-secret }
fleet:
  users: %d
  connect_rate: 1000/s
  keep_alive: 1s
%sbehaviours: { telemetry: { every: 1h } }
`, users, network), httpURL, m.TCPAddr)
	ping := reg.Latency(scenario.MQTTPing)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if s := ping.Summary(); s.Count+s.Errors >= int64(3*users) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	return reg
}
