package scenario

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/netem"
)

// networkHead is a scenario up to its fleet block; a test appends the
// network block's lines, indented under fleet.
const networkHead = "version: 1\nname: net\nduration: 1m\nidentity: { app_id: app, app_secret: k }\nfleet:\n  users: 10\n"

func parseNetwork(t *testing.T, block string) (*Scenario, error) {
	t.Helper()
	return Parse("net.yaml", []byte(networkHead+block), Options{})
}

func TestNetworkOffByDefault(t *testing.T) {
	s, err := parseNetwork(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Fleet.Network.On() {
		t.Fatalf("network on without the block: %+v", s.Fleet.Network)
	}
	data, _ := json.Marshal(s.Fleet)
	if strings.Contains(string(data), "network") {
		t.Errorf("the echo shows a network that is off: %s", data)
	}
}

func TestNetworkEmptyBlockIsTheDefaultMix(t *testing.T) {
	s, err := parseNetwork(t, "  network: {}\n")
	if err != nil {
		t.Fatal(err)
	}
	got := s.Fleet.Network
	if !got.On() || got.Mix["wifi"] != 50 || got.Mix["4g"] != 35 || got.Mix["3g"] != 12 || got.Mix["edge"] != 3 {
		t.Fatalf("mix = %v, want the default", got.Mix)
	}
	if names := strings.Join(got.Names(), ","); names != "3g,4g,edge,wifi" {
		t.Errorf("Names() = %s", names)
	}
}

func TestNetworkProfiles(t *testing.T) {
	s, err := parseNetwork(t, `  network:
    mix: { wifi: 50, bad-4g: 10, 3g: 5 }
    profiles:
      bad-4g: { rtt: 80ms..300ms, down: 5Mbit, up: 1Mbit, loss: 1%, stalls: { every: 2m, for: 1s..8s } }
      3g: { stalls: { every: 1m, for: 2s } }
`)
	if err != nil {
		t.Fatal(err)
	}
	nw := s.Fleet.Network
	bad, ok := nw.Profile("bad-4g")
	want := netem.Profile{RTT: netem.Between(80*time.Millisecond, 300*time.Millisecond), Down: 5 * netem.Mbit, Up: netem.Mbit, Loss: 0.01,
		Stalls: netem.Stalls{Every: 2 * time.Minute, For: netem.Between(time.Second, 8*time.Second)}}
	if !ok || bad != want {
		t.Errorf("bad-4g = %+v, want %+v", bad, want)
	}
	g3, _ := nw.Profile("3g")
	builtin, _ := netem.Builtin("3g")
	builtin.Stalls = netem.Stalls{Every: time.Minute, For: netem.Exactly(2 * time.Second)}
	if g3 != builtin {
		t.Errorf("overridden 3g = %+v, want the built-in with stalls %+v", g3, builtin)
	}
	data, err := json.Marshal(s.Fleet)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"bad-4g":{"down":"5Mbit","jitter":"0s","loss":"1%","rtt":"80ms..300ms","stalls":{"every":"2m0s","for":"1s..8s"},"up":"1Mbit"}`, `"mix":{"3g":5,"bad-4g":10,"wifi":50}`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("echo %s\nlacks %s", data, want)
		}
	}
}

// TestNetworkBadInput: each mistake is reported at its line, naming the
// key and what was expected.
func TestNetworkBadInput(t *testing.T) {
	for _, tt := range []struct {
		name, block string
		want        []string
	}{
		{"unknown profile", "  network:\n    mix: { wifi: 5, lte: 3 }\n",
			[]string{`net.yaml:8:`, `fleet.network.mix.lte`, `unknown network profile "lte"`, `wifi, 4g, 3g, edge`}},
		{"negative rtt", "  network:\n    mix: { slow: 1 }\n    profiles:\n      slow:\n        rtt: -1ms\n",
			[]string{`net.yaml:11:`, `fleet.network.profiles.slow.rtt`, `-1ms is negative`}},
		{"loss above 100%", "  network:\n    mix: { slow: 1 }\n    profiles:\n      slow: { rtt: 100ms, loss: 120% }\n",
			[]string{`net.yaml:10:`, `fleet.network.profiles.slow.loss`, `120% is above 100%`}},
		{"weights sum to 0", "  network:\n    mix: { wifi: 0, 3g: 0 }\n",
			[]string{`net.yaml:8:`, `fleet.network.mix`, `weights must add up to more than 0`}},
		{"empty mix", "  network:\n    mix: {}\n",
			[]string{`net.yaml:8:`, `weights must add up to more than 0`}},
		{"negative weight", "  network:\n    mix: { wifi: -1, 3g: 2 }\n",
			[]string{`net.yaml:8:`, `fleet.network.mix.wifi`, `weight must be >= 0, got -1`}},
		{"bad bitrate", "  network:\n    profiles: { slow: { down: 5 megabits } }\n",
			[]string{`net.yaml:8:`, `fleet.network.profiles.slow.down`, `a bitrate like 5Mbit`}},
		{"stall without length", "  network:\n    profiles:\n      slow:\n        stalls: { every: 1m }\n",
			[]string{`net.yaml:10:`, `fleet.network.profiles.slow.stalls`, `a stall needs a length above 0`}},
		{"inverted range", "  network:\n    profiles:\n      slow:\n        rtt: 300ms..80ms\n",
			[]string{`net.yaml:10:`, `fleet.network.profiles.slow.rtt`, `lower bound 300ms is above the upper bound 80ms`}},
		{"unknown key", "  network:\n    profiles:\n      slow: { latency: 80ms }\n",
			[]string{`net.yaml:9:`, `fleet.network.profiles.slow.latency`, `unknown key`}},
		{"reserved profile name", "  network:\n    mix: { wifi: 1, device: 1 }\n    profiles:\n      device: { rtt: 100ms }\n",
			[]string{`net.yaml:10:`, `fleet.network.profiles.device`, `device is reserved`, `sos.delivered@device`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseNetwork(t, tt.block)
			if err == nil {
				t.Fatal("parsed")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
}

func TestParseBitrate(t *testing.T) {
	for in, want := range map[string]netem.Bitrate{"5Mbit": 5 * netem.Mbit, "768kbit": 768 * netem.Kbit, "1.5Mbit/s": 1500 * netem.Kbit, "0": 0, "200bit": 200, "1Gbit": 1000 * netem.Mbit} {
		got, err := ParseBitrate(in)
		if err != nil || got != want {
			t.Errorf("ParseBitrate(%q) = %d, %v; want %d", in, got, err, want)
		}
		if in != "1.5Mbit/s" && in != "1Gbit" {
			if back := formatBitrate(got); back != in {
				t.Errorf("formatBitrate(%d) = %q, want %q", got, back, in)
			}
		}
	}
	for _, in := range []string{"", "5", "-1Mbit", "5 MB", "0.1bit", "Mbit"} {
		if _, err := ParseBitrate(in); err == nil {
			t.Errorf("ParseBitrate(%q) accepted", in)
		}
	}
}

func TestMetricAtProfile(t *testing.T) {
	name := MetricAtProfile("sos.delivered", "3g")
	m, ok := LookupMetric(name)
	if !ok || m.Name != name || m.Kind != KindLatency || !strings.Contains(m.Description, "profile 3g") {
		t.Errorf("LookupMetric(%s) = %+v, %v", name, m, ok)
	}
	if _, ok := LookupMetric(MetricAtProfile(UsersOnline, "3g")); ok {
		t.Error("a gauge has a per-profile twin")
	}
	origin := MetricAtOrigin(SOSDelivered, OriginDevice)
	if m, ok := LookupMetric(origin); !ok || m.Name != origin || !strings.Contains(m.Description, "raised from the device only") {
		t.Errorf("LookupMetric(%s) = %+v, %v", origin, m, ok)
	}
	if _, ok := LookupMetric(MetricAtOrigin(HTTPSOSGet, OriginApp)); ok {
		t.Error("an HTTP metric has a per-origin twin")
	}
	if _, ok := MetricAddress(name); ok {
		t.Error("a per-profile name read as a per-address one")
	}
	if addr, ok := MetricAddress(MQTTConnectAt("10.0.0.7:1883")); !ok || addr != "10.0.0.7:1883" {
		t.Errorf("MetricAddress = %q, %v", addr, ok)
	}
	if _, _, ok := MetricProfile(MQTTConnectAt("10.0.0.7:1883")); ok {
		t.Error("a per-address name read as a per-profile one")
	}
}

func TestThresholdOnAProfile(t *testing.T) {
	const th = "behaviours: { telemetry: { every: 5s } }\nthresholds:\n  telemetry.puback@%s: [\"p(99) < 2s\"]\n"
	if _, err := parseNetwork(t, "  network: {}\n"+fmt.Sprintf(th, "3g")); err != nil {
		t.Errorf("a rule on telemetry.puback@3g: %v", err)
	}
	_, err := parseNetwork(t, "  network: {}\n"+fmt.Sprintf(th, "5g"))
	if err == nil || !strings.Contains(err.Error(), "5g is not a profile of fleet.network.mix (3g, 4g, edge, wifi)") {
		t.Errorf("a rule on an unknown profile: %v", err)
	}
	_, err = parseNetwork(t, fmt.Sprintf(th, "3g"))
	if err == nil || !strings.Contains(err.Error(), "only with fleet.network") {
		t.Errorf("a rule on a profile without network: %v", err)
	}
}

// TestThresholdOnAnOrigin: a rule may name an SOS clock's per-origin twin
// in a run that records it (origin: mixed), and nothing else.
func TestThresholdOnAnOrigin(t *testing.T) {
	const th = "behaviours: { sos: { rate: 1/s, origin: %s } }\nthresholds:\n  %s: [\"p(99) < 2s\"]\n"
	if _, err := parseNetwork(t, fmt.Sprintf(th, "mixed", "sos.delivered@device")); err != nil {
		t.Errorf("a rule on sos.delivered@device: %v", err)
	}
	for _, tt := range []struct{ origin, metric, want string }{
		{"device", "sos.delivered@app", "thresholds.sos.delivered@app: is recorded only with behaviours.sos.origin: mixed"},
		{"mixed", "http.sos_get@device", "thresholds.http.sos_get@device: unknown metric"},
	} {
		_, err := parseNetwork(t, fmt.Sprintf(th, tt.origin, tt.metric))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "net.yaml:") {
			t.Errorf("a rule on %s with origin %s: %v", tt.metric, tt.origin, err)
		}
	}
}
