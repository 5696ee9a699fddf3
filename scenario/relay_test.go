package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// loadRelay loads a minimal scenario whose behaviours.telemetry.relay
// block is body (lines indented by six spaces, starting at line 11).
func loadRelay(t *testing.T, body string) (*Scenario, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "relay.yaml")
	text := "version: 1\nname: relay\ntarget: { embedded: {} }\nidentity: { app_id: a, app_secret: s }\nfleet: { users: 10 }\nduration: 10s\nbehaviours:\n  telemetry:\n    every: 5s\n    relay:\n" + body
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(path, Options{Getenv: fixtureEnv})
}

func TestRelay(t *testing.T) {
	for _, c := range []struct {
		body   string
		lo, hi int
		every  time.Duration
		echo   string
	}{
		{"      peers: 3\n", 3, 3, MinRelayEvery, `{"peers":"3","every":"1m0s"}`},
		{"      peers: 0..8\n      every: 2m\n", 0, 8, 2 * time.Minute, `{"peers":"0..8","every":"2m0s"}`},
		{"      peers: 0\n", 0, 0, MinRelayEvery, `{"peers":"0","every":"1m0s"}`},
	} {
		s, err := loadRelay(t, c.body)
		if err != nil {
			t.Fatalf("%q: %v", c.body, err)
		}
		r := s.Behaviours.Telemetry.Relay
		if r == nil || r.PeersMin != c.lo || r.PeersMax != c.hi || r.Every != c.every {
			t.Fatalf("%q: relay %+v, want peers %d..%d every %s", c.body, r, c.lo, c.hi, c.every)
		}
		echo, err := r.MarshalJSON()
		if err != nil || string(echo) != c.echo {
			t.Errorf("%q: echo %s (%v), want %s", c.body, echo, err, c.echo)
		}
	}
	s, err := loadRelay(t, "      peers: 1\n")
	if err != nil {
		t.Fatal(err)
	}
	if !relayOn(s.Behaviours) || relayOn(Behaviours{Telemetry: &Telemetry{}}) {
		t.Error("relayOn: want true with a relay block, false without")
	}
}

func TestRelayErrors(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{"      peers: 9\n", "relay.yaml:11:14: behaviours.telemetry.relay.peers: must be 0..8"},
		{"      peers: -1\n", "relay.yaml:11:14: behaviours.telemetry.relay.peers: must be 0..8 (a tag relays at most 8 peer nodes), got -1"},
		{"      peers: 2..9\n", "relay.yaml:11:14: behaviours.telemetry.relay.peers: must be 0..8"},
		{"      peers: 3..1\n", "lo <= hi, got 3..1"},
		{"      peers: a..3\n", "relay.yaml:11:14: behaviours.telemetry.relay.peers: must be an integer"},
		{"      peers: 3\n      every: 30s\n", "relay.yaml:12:14: behaviours.telemetry.relay.every: must be at least 60s: the SDK's tag relays each peer at most once per 60 s (contract §5), got 30s"},
		{"      every: 60s\n", "behaviours.telemetry.relay.peers: is required"},
		{"      peers: 3\n      hops: 2\n", "relay.yaml:12:7"},
	} {
		_, err := loadRelay(t, c.body)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want an error containing %q", c.body, err, c.want)
		}
	}
}
