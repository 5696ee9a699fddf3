package scenario

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestChurnParses(t *testing.T) {
	s, err := parseNetwork(t, "  churn: { online: 20m, offline: 5m..40m, leave: { killed: 3, roam: 1 }, back: login }\n")
	if err != nil {
		t.Fatal(err)
	}
	c := s.Fleet.Churn
	want := Churn{Online: Span{Mean: 20 * time.Minute}, Offline: Span{Min: 5 * time.Minute, Max: 40 * time.Minute}, Leave: Leave{Killed: 3, Roam: 1}, Back: BackLogin}
	if c == nil || *c != want {
		t.Fatalf("churn = %+v, want %+v", c, want)
	}
	data, _ := json.Marshal(s.Fleet)
	if w := `"churn":{"online":"20m0s","offline":"5m0s..40m0s","leave":{"clean":0,"killed":3,"vanished":0,"roam":1},"back":"login"}`; !strings.Contains(string(data), w) {
		t.Errorf("echo %s\nlacks %s", data, w)
	}
	s, err = parseNetwork(t, "  churn: { online: 1m, offline: 0s..10s }\n")
	if err != nil {
		t.Fatal(err)
	}
	if c := s.Fleet.Churn; c.Leave != defaultLeave || c.Back != BackColdStart {
		t.Errorf("defaults: %+v", c)
	}
	if s, _ := parseNetwork(t, ""); s.Fleet.Churn != nil {
		t.Errorf("churn on without the block")
	}
}

func TestChurnBadInput(t *testing.T) {
	for _, tt := range []struct{ block, want string }{
		{"  churn: { offline: 5m }\n", "net.yaml:7:3: fleet.churn.online: required"},
		{"  churn: { online: 0s, offline: 5m }\n", "net.yaml:7:20: fleet.churn.online: must be > 0, got 0s"},
		{"  churn: { online: -1m, offline: 5m }\n", "fleet.churn.online: must not be negative, got -1m0s"},
		{"  churn: { online: 0s..1m, offline: 5m }\n", "fleet.churn.online: the range must start above 0s"},
		{"  churn: { online: 2m..1m, offline: 5m }\n", "fleet.churn.online: a range lo..hi needs lo <= hi, got 2m0s..1m0s"},
		{"  churn: { online: 1m, offline: 5m, leave: { clean: 0 } }\n", "fleet.churn.leave: weights must add up to more than 0 (modes: clean, killed, vanished, roam)"},
		{"  churn: { online: 1m, offline: 5m, leave: { clean: -1, killed: 2 } }\n", "fleet.churn.leave.clean: weight must be >= 0, got -1"},
		{"  churn: { online: 1m, offline: 5m, leave: { vanish: 1 } }\n", `fleet.churn.leave.vanish: unknown key`},
		{"  churn: { online: 1m, offline: 5m, back: cold }\n", `fleet.churn.back: unknown back "cold" (expected one of: cold_start, login)`},
		{"  churn: { online: 1m, offline: 5m, back: cold }\nthresholds: { mqtt.ghost_reaped: [\"p(99) < 1m\"] }\n", `fleet.churn.back`},
	} {
		_, err := parseNetwork(t, tt.block)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v\nwant %q", strings.TrimSpace(tt.block), err, tt.want)
		}
	}
	_, err := parseNetwork(t, "thresholds: { mqtt.ghost_reaped: [\"p(99) < 1m\"] }\n")
	if err == nil || !strings.Contains(err.Error(), "mqtt.ghost_reaped: has no samples in this scenario: it needs fleet.churn") {
		t.Errorf("a churn metric's rule without churn: %v", err)
	}
}

func TestChurnDraws(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := Span{Min: time.Second, Max: 3 * time.Second}
	for range 1000 {
		if d := r.Draw(rng); d < time.Second || d > 3*time.Second {
			t.Fatalf("range draw %s out of 1s..3s", d)
		}
	}
	var sum time.Duration
	for range 10000 {
		sum += Span{Mean: time.Minute}.Draw(rng)
	}
	if mean := sum / 10000; mean < 57*time.Second || mean > 63*time.Second {
		t.Errorf("exponential mean %s, want about 1m", mean)
	}
	got := map[string]int{}
	for range 10000 {
		got[Leave{Clean: 1, Vanished: 3}.Pick(rng)]++
	}
	if got[LeaveKilled] != 0 || got[LeaveRoam] != 0 || got[LeaveVanished] < 7000 || got[LeaveVanished] > 8000 {
		t.Errorf("picks %v, want about 1:3 clean:vanished", got)
	}
}
