package interop

import (
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/refbackend"
	"github.com/eixamsim/eixamsim/scenario"
)

// Mosquitto 2.0's log lines of a fleet session's start and end, by cause
// (the probe's clients are not eixam_...).
var (
	mqConnected = regexp.MustCompile(`^New client connected from \S+ as eixam_\S+ `)
	mqClean     = regexp.MustCompile(`^Client eixam_\S+ disconnected\.$`)
	mqClosed    = regexp.MustCompile(`^Client eixam_\S+ closed its connection\.$`)
	mqTimeout   = regexp.MustCompile(`^Client eixam_\S+ has exceeded timeout, disconnecting\.$`)
	mqTakenOver = regexp.MustCompile(`^Client eixam_\S+ already connected, closing old connection\.$`)
)

// probeKeepAlive connects n bare MQTT 3.1.1 clients with keep-alive ka,
// one every 700 ms (mosquitto checks keep-alives in batches: the delay
// depends on the phase), that go silent right after their CONNACK, and
// returns how long mosquitto took to close each: its own reaping delay,
// measured without the fleet.
func probeKeepAlive(t *testing.T, addr string, n int, ka time.Duration) []time.Duration {
	t.Helper()
	out := make([]time.Duration, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 700 * time.Millisecond)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			id := fmt.Sprintf("probe-%d", i)
			pkt := append([]byte{0x10, byte(12 + len(id)), 0, 4, 'M', 'Q', 'T', 'T', 4, 2, byte(ka / time.Second >> 8), byte(ka / time.Second), 0, byte(len(id))}, id...)
			buf := make([]byte, 4)
			if _, err := c.Write(pkt); err != nil {
				t.Error(err)
				return
			}
			if _, err := io.ReadFull(c, buf); err != nil { // CONNACK
				t.Error(err)
				return
			}
			silent := time.Now()
			c.SetReadDeadline(silent.Add(6 * ka)) // bounded: past it counts as never reaped
			for {
				if _, err := c.Read(buf); err != nil {
					break
				}
			}
			out[i] = time.Since(silent)
		}()
	}
	wg.Wait()
	return out
}

// near reports whether got is want within 2 % (at least 2): a ghost
// the broker closes just as its user's CONNECT goes out is told apart by
// timing only.
func near(got, want int64) bool {
	d := got - want
	return d*d <= max(4, want*want/2500)
}

// TestChurnAgainstMosquitto churns 200 users through every leave mode
// against mosquitto with a 4 s keep-alive, and checks mosquitto's own log
// against what the fleet counted: the sockets closed without DISCONNECT
// are the killed apps and the ghosts still open when the run ended; the
// keep-alive expiries are the reaped ghosts (and roams whose old socket
// expired before the reconnect); the takeovers are the roams' and the
// vanished users' that came back before their ghost was reaped. Each
// reaped ghost's mqtt.ghost_reaped agrees with mosquitto's own reaping
// delay, measured beside it with bare clients that go silent after their
// CONNACK: no sooner than half a keep-alive (a ghost's last packet, a
// PINGREQ, may be a keep-alive before it went silent) and no later than
// the latest of theirs (and a reaper tick).
// Debian's mosquitto 2.0.11 reaps them 2 to 6 s after 1.5 × keep-alive.
func TestChurnAgainstMosquitto(t *testing.T) {
	const users, keepAlive = 200, 4 * time.Second
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
	reg, stop := startFleet(t.Context(), t, "churn.yaml", fmt.Sprintf(`
version: 1
name: churn
duration: 5m
identity: { app_id: demo-app, app_secret: demo-secret, user_id: "churn-{{.N}}" }
fleet:
  users: %d
  connect_rate: 500/s
  keep_alive: %s
  churn: { online: 6s, offline: 3s, leave: { clean: 1, killed: 1, vanished: 1, roam: 1 } }
`, users, keepAlive), srv.HTTPURL(), m.TCPAddr)
	counter := func(name string) int64 { return reg.Counter(name).Value() }
	probed := probeKeepAlive(t, m.TCPAddr, 8, keepAlive)
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if min(counter(scenario.UsersLeftClean), counter(scenario.UsersLeftKilled), counter(scenario.UsersLeftVanished), counter(scenario.UsersLeftRoamed)) >= 60 &&
			reg.Latency(scenario.MQTTGhostReaped).Summary().Count >= 20 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	connects := reg.Latency(scenario.MQTTConnect).Summary().Count
	var lines []string
	count := map[*regexp.Regexp]int64{}
	m.WaitForLog(t, func(l []string) bool {
		lines = l
		clear(count)
		for _, line := range l {
			for _, re := range []*regexp.Regexp{mqConnected, mqClean, mqClosed, mqTimeout, mqTakenOver} {
				if re.MatchString(line) {
					count[re]++
				}
			}
		}
		return count[mqConnected] == connects && count[mqClean]+count[mqClosed]+count[mqTimeout]+count[mqTakenOver] == connects
	}, 20*time.Second)

	reaped := reg.Latency(scenario.MQTTGhostReaped).Summary()
	v := map[string]int64{}
	for name := range reg.Values() {
		v[name] = counter(name)
	}
	t.Logf("fleet: connects %d, %v, ghost_reaped %d (mean %v, %v, max %v); mosquitto: connected %d, clean %d, closed %d, timeout %d, taken over %d",
		connects, v, reaped.Count, reaped.Mean, reaped.Percentiles, reaped.Max, count[mqConnected], count[mqClean], count[mqClosed], count[mqTimeout], count[mqTakenOver])
	if count[mqConnected] != connects {
		t.Errorf("mosquitto logged %d connections, the fleet connected %d", count[mqConnected], connects)
	}
	// Ghosts the reaper never saw end were closed with the run.
	leftOpen := v[scenario.UsersLeftVanished] - reaped.Count - v[scenario.MQTTGhostTakenOver] - v[scenario.MQTTGhostUnreaped] +
		v[scenario.UsersLeftRoamed] - v[scenario.MQTTRoamTakenOver] - v[scenario.MQTTRoamClosed] - v[scenario.MQTTRoamSilent]
	timeouts, takeovers := reaped.Count+v[scenario.MQTTRoamClosed], v[scenario.MQTTRoamTakenOver]+v[scenario.MQTTGhostTakenOver]
	// The reaper sees a ghost's end at its next tick (keep-alive/20): one
	// that mosquitto expired just before the user's new CONNECT is seen
	// closed after it and counted a takeover (mosquitto sends no 0x8E to
	// tell them apart). Such a ghost moves one from one count to the other:
	// their sum must hold, and the shift stay within 5 % of the takeovers.
	if shift := count[mqTimeout] - timeouts; shift > 0 && shift == takeovers-count[mqTakenOver] && shift*20 <= takeovers {
		timeouts, takeovers = timeouts+shift, takeovers-shift
		t.Logf("%d ghosts expired by mosquitto just before their user's return, counted as takeovers by the fleet", shift)
	}
	for _, c := range []struct {
		what      string
		got, want int64
	}{
		{"sockets closed without DISCONNECT (killed + ghosts open at the end)", count[mqClosed], v[scenario.UsersLeftKilled] + v[scenario.MQTTGhostUnreaped] + v[scenario.MQTTRoamSilent] + leftOpen},
		{"keep-alive expiries (reaped ghosts + roams expired before the reconnect)", count[mqTimeout], timeouts},
		{"takeovers (roams + vanished users back before the reap)", count[mqTakenOver], takeovers},
		{"clean disconnects (logouts + the users online at the end)", count[mqClean], connects - count[mqClosed] - count[mqTimeout] - count[mqTakenOver]},
	} {
		if !near(c.got, c.want) {
			t.Errorf("%s: mosquitto %d, fleet %d", c.what, c.got, c.want)
		}
	}
	if count[mqClean] < v[scenario.UsersLeftClean] {
		t.Errorf("mosquitto logged %d clean disconnects, fewer than the %d logouts", count[mqClean], v[scenario.UsersLeftClean])
	}
	lo, hi := slices.Min(probed), slices.Max(probed)
	t.Logf("mosquitto reaps a client silent since its CONNACK after %v..%v (1.5 x keep-alive is %v)", lo, hi, keepAlive*3/2)
	if hi >= 6*keepAlive {
		t.Fatalf("mosquitto did not reap the probe's silent clients within %v", 6*keepAlive)
	}
	if reaped.Min < keepAlive/2-100*time.Millisecond || reaped.Max > hi+time.Second {
		t.Errorf("mqtt.ghost_reaped %v..%v, mosquitto's own reaping %v..%v: want within [keep-alive/2, its max + 1s]", reaped.Min, reaped.Max, lo, hi)
	}
	if v[scenario.MQTTGhostUnreaped] != 0 {
		t.Errorf("mqtt.ghost_unreaped = %d: mosquitto reaps within 3 x keep-alive", v[scenario.MQTTGhostUnreaped])
	}
	if t.Failed() {
		t.Logf("mosquitto's last lines:\n%v", lines[max(0, len(lines)-20):])
	}
}

// TestEventRecoveryAgainstMosquitto: an incident takes half of 100 users
// away (vanished) and brings them back over 2..6 s; its recovery p100 is
// the last return as mosquitto saw it (its log line of the last CONNECT,
// stamped as the test read it), within 1 s (the fleet's clock stops at the
// SUBACK, after the CONNECT).
func TestEventRecoveryAgainstMosquitto(t *testing.T) {
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
	sc, err := scenario.Parse("event.yaml", []byte(`
version: 1
name: event
duration: 12s
identity: { app_id: demo-app, app_secret: demo-secret, user_id: "ev-{{.N}}" }
fleet: { users: 100, connect_rate: 1000/s, keep_alive: 4s }
events:
  - { name: tower-down, at: 3s, leave: 50%, how: vanished, back: 2s..6s }
`), scenario.Options{Getenv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	r, err := fleet.New(fleet.Config{Scenario: sc, HTTPURL: srv.HTTPURL(), MQTTURL: "tcp://" + m.TCPAddr, Metrics: metrics.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	// Stamp each CONNECT mosquitto logs as the test reads it (the log is
	// flushed per line; read every 10 ms).
	ctx, cancel := context.WithCancel(t.Context())
	var connects []time.Time
	tailed := make(chan struct{})
	go func() {
		defer close(tailed)
		seen := 0
		for ctx.Err() == nil {
			lines := m.Log(t)
			for _, l := range lines[seen:] {
				if mqConnected.MatchString(l) {
					connects = append(connects, time.Now())
				}
			}
			seen = len(lines)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	res, err := r.Run(t.Context())
	cancel()
	<-tailed
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 1 || res.Events[0].Affected != 50 || res.Events[0].Back != 50 || res.Events[0].Recovery["100"] == nil {
		t.Fatalf("event %+v", res.Events)
	}
	ev := res.Events[0]
	var last time.Time
	returns := 0
	for _, c := range connects {
		if c.After(ev.At) {
			last, returns = c, returns+1
		}
	}
	fleetLast := ev.At.Add(time.Duration(*ev.Recovery["100"] * float64(time.Second)))
	t.Logf("recovery %v; mosquitto logged %d CONNECTs after the event, the last %v after it; the fleet's p100 %v after it",
		ev.Recovery, returns, last.Sub(ev.At), fleetLast.Sub(ev.At))
	if returns != ev.Affected {
		t.Errorf("mosquitto logged %d CONNECTs after the event, %d users came back", returns, ev.Affected)
	}
	if d := fleetLast.Sub(last); d < -time.Second || d > time.Second {
		t.Errorf("recovery p100 is %v off the last return mosquitto logged", d)
	}
}
