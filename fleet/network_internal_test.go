package fleet

import (
	"context"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/refbackend"
	"github.com/eixamsim/eixamsim/scenario"
)

// netScenario is a scenario of idle users; network is the fleet.network
// block's line, or "".
func netScenario(t *testing.T, users int, network string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Parse("net.yaml", []byte(`
version: 1
name: net
duration: 1m
seed: 3
identity: { app_id: demo-app, app_secret: demo-secret }
fleet:
  users: `+strconv.Itoa(users)+`
  connect_rate: 2000/s
`+network+`behaviours: { telemetry: { every: 1h } }
`), scenario.Options{Getenv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func startRefbackend(t *testing.T) *refbackend.Server {
	t.Helper()
	srv, err := refbackend.Start(context.Background(), refbackend.Config{
		MQTTAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		Apps: map[string][]byte{"demo-app": []byte("demo-secret")},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// onlineRun runs sc until every user is online (bounded), calls during,
// then stops the run.
func onlineRun(t *testing.T, sc *scenario.Scenario, httpURL, mqttURL string, during func(r *runner, reg *metrics.Registry)) {
	t.Helper()
	reg := metrics.NewRegistry()
	rn, err := New(Config{Scenario: sc, HTTPURL: httpURL, MQTTURL: mqttURL, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := rn.Run(ctx); err != nil {
			t.Error(err)
		}
	}()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	online := reg.Gauge(scenario.UsersOnline)
	for online.Value() != int64(sc.Fleet.Users) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := online.Value(); n != int64(sc.Fleet.Users) {
		t.Fatalf("%d of %d users online", n, sc.Fleet.Users)
	}
	during(rn.r, reg)
}

// TestNetworkAddsNoGoroutinePerConnection brings 200 idle users online
// with and without network profiles and compares the process's
// goroutines once the logins' idle HTTP connections are closed (net/http
// runs two goroutines per open connection, with or without a link): the
// links add none per connection, and no goroutine but the client's own
// readers waits in netem.
func TestNetworkAddsNoGoroutinePerConnection(t *testing.T) {
	const users = 200
	srv := startRefbackend(t)
	count := func(network string) (total, inNetem int) {
		onlineRun(t, netScenario(t, users, network), srv.HTTPURL(), srv.MQTTURL(), func(r *runner, _ *metrics.Registry) {
			r.http.close()
			var buf []byte
			for deadline := time.Now().Add(5 * time.Second); ; { // net/http's connection goroutines end soon after the close
				buf = make([]byte, 64<<20)
				buf = buf[:runtime.Stack(buf, true)]
				if !strings.Contains(string(buf), "net/http.(*persistConn)") || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			for _, g := range strings.Split(string(buf), "\n\n") {
				total++
				// paho's readers block in netem.Conn.Read, as they
				// would in net.Conn.Read: those are paho's goroutines.
				if strings.Contains(g, "eixamsim/netem.") && !strings.Contains(g, "eclipse/paho.golang/") {
					inNetem++
				}
			}
		})
		return total, inNetem
	}
	off, _ := count("")
	on, inNetem := count("  network: { mix: { wifi: 1, 3g: 1 } }\n")
	t.Logf("%d idle users: %d goroutines without profiles, %d with (%d in netem)", users, off, on, inNetem)
	if on > off+users/4 { // one per connection would be +users; stragglers of other tests make a few

		t.Errorf("%d goroutines with network profiles, %d without: the links add goroutines", on, off)
	}
	if inNetem > 2 {
		t.Errorf("%d goroutines in netem with idle users", inNetem)
	}
}

// countingProxy forwards loopback TCP connections to target and counts
// them.
type countingProxy struct {
	ln       net.Listener
	accepted atomic.Int64
	wg       sync.WaitGroup
}

func startProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.accepted.Add(1)
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.wg.Add(2)
			go func() { defer p.wg.Done(); io.Copy(up, c); up.Close() }()
			go func() { defer p.wg.Done(); io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

// TestNetworkHTTPIsPerUser: with profiles every user's HTTP goes over a
// connection of its own, on its link (its login's two calls share it);
// without, users logging in one after another share the fleet's pool.
func TestNetworkHTTPIsPerUser(t *testing.T) {
	const users = 10
	srv := startRefbackend(t)
	target := strings.TrimPrefix(srv.HTTPURL(), "http://")
	target, _, _ = strings.Cut(target, "/")
	for _, tt := range []struct {
		network string
		check   func(n int64) bool
		want    string
	}{
		{"  network: { mix: { fast: 1 }, profiles: { fast: { rtt: 2ms } } }\n", func(n int64) bool { return n == users }, "one per user"},
		{"", func(n int64) bool { return n < users }, "fewer than the users"},
	} {
		p := startProxy(t, target)
		sc := netScenario(t, users, tt.network)
		sc.Fleet.ConnectRate = scenario.Rate{PerSecond: 50} // one login at a time
		onlineRun(t, sc, "http://"+p.ln.Addr().String(), srv.MQTTURL(), func(*runner, *metrics.Registry) {})
		if n := p.accepted.Load(); !tt.check(n) {
			t.Errorf("network %q: %d HTTP connections for %d users, want %s", tt.network, n, users, tt.want)
		}
	}
}

// TestProfilesDrawnByWeightFromTheSeed: users draw their profiles by
// weight, the same ones for the same seed, and a shard's users the same
// as in the whole run.
func TestProfilesDrawnByWeightFromTheSeed(t *testing.T) {
	nw := scenario.Network{Mix: scenario.DefaultNetworkMix()}
	const users = 20000
	all, err := newFleetNet(nw, 42, 0, users, metrics.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for i := range users {
		counts[all.profile(i)]++
	}
	for name, w := range nw.Mix {
		share := float64(counts[name]) / users * 100
		if share < float64(w)*0.85-0.5 || share > float64(w)*1.15+0.5 {
			t.Errorf("%s: %.1f%% of users, weight %d%%", name, share, w)
		}
	}
	shard, err := newFleetNet(nw, 42, 5000, 100, metrics.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	other, _ := newFleetNet(nw, 43, 0, users, metrics.NewRegistry())
	differ := 0
	for i := 5000; i < 5100; i++ {
		if shard.profile(i) != all.profile(i) || shard.link(i).RTT() != all.link(i).RTT() {
			t.Fatalf("user %d: shard draws %s (%s), whole run %s (%s)", i, shard.profile(i), shard.link(i).RTT(), all.profile(i), all.link(i).RTT())
		}
		if other.link(i).RTT() != all.link(i).RTT() {
			differ++
		}
	}
	if differ < 50 {
		t.Errorf("another seed changed only %d of 100 links", differ)
	}
	if (*fleetNet)(nil).twin(0, scenario.MQTTPing) != nil || (*fleetNet)(nil).link(0) != nil {
		t.Error("network off has twins or links")
	}
}

// TestPingMeasuredWithoutProfiles: idle users' keep-alive pings are
// recorded in mqtt.ping with no network profiles (against the reference
// backend's broker), and no per-profile twin appears.
func TestPingMeasuredWithoutProfiles(t *testing.T) {
	srv := startRefbackend(t)
	sc := netScenario(t, 3, "  keep_alive: 2s\n")
	onlineRun(t, sc, srv.HTTPURL(), srv.MQTTURL(), func(_ *runner, reg *metrics.Registry) {
		ping := reg.Latency(scenario.MQTTPing)
		for deadline := time.Now().Add(10 * time.Second); ping.Summary().Count < 3 && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		if s := ping.Summary(); s.Count < 3 || s.Errors != 0 {
			t.Errorf("mqtt.ping: %d samples, errors %v; want >= 3, none", s.Count, s.ErrorsBy)
		}
		for _, l := range reg.Latencies() {
			if _, _, ok := scenario.MetricProfile(l.Name()); ok {
				t.Errorf("per-profile metric %s without profiles", l.Name())
			}
		}
	})
}
