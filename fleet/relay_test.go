package fleet_test

import (
	"math"
	"regexp"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

const relayScenario = `
version: 1
name: relay
duration: 1m
identity: { app_id: demo-app, app_secret: demo-secret, user_id: "relay-{{.N}}" }
fleet: { users: 4, connect_rate: 500/s }
behaviours:
  telemetry: { every: 1h, device_id: true, relay: { peers: 3, every: 60s } }
`

// TestRelayedTelemetry runs relayed telemetry against the reference
// backend with each peer relayed every 400ms (the scenario's 60s, scaled
// down): every relayed TEL is accepted on the user's own topic with the
// user's tag id, and no user's tag relays more than its 3 peers once per
// period.
func TestRelayedTelemetry(t *testing.T) {
	const period, users, peers = 400 * time.Millisecond, 4, 3
	fleet.SetRelayPeriod(t, period)
	srv := startBackend(t, "demo-secret", 0)
	defer srv.Close()
	sc := parse(t, relayScenario)
	reg := metrics.NewRegistry()
	relayed := func() int64 { return reg.Latency(scenario.TelemetryRelayPuback).Summary().Count }
	res := runSteps(t, sc, srv.HTTPURL(), srv.MQTTURL(), reg,
		eventStep{Step: fleet.Step{Name: "load", Users: users}, until: func() bool { return relayed() >= 3*users*peers }})
	span := res.End.Sub(res.Start)

	got := map[string]metrics.Summary{}
	for _, s := range reg.Summaries() {
		got[s.Name] = s
		if s.Errors != 0 {
			t.Errorf("%s: %d errors %v", s.Name, s.Errors, s.ErrorsBy)
		}
	}
	own, rel := got[scenario.TelemetryPuback].Count, got[scenario.TelemetryRelayPuback].Count
	st := srv.Stats()
	if st.Telemetry.Accepted != own+rel || st.Telemetry.Rejected != 0 {
		t.Errorf("backend accepted %d rejected %d telemetry, simulator acknowledged %d own + %d relayed",
			st.Telemetry.Accepted, st.Telemetry.Rejected, own, rel)
	}
	if len(st.Telemetry.Users) != users {
		t.Fatalf("telemetry from %d users, want %d", len(st.Telemetry.Users), users)
	}
	// Each peer at most once per period: at most span/period+1 per peer,
	// and at most one own message (every 1h).
	bound := int64(peers*(math.Floor(float64(span)/float64(period))+1)) + 1
	tagID := regexp.MustCompile(`^CF:82:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2}$`)
	tags := map[string]bool{}
	for id, u := range st.Telemetry.Users {
		if u.Accepted > bound {
			t.Errorf("user %s: %d messages in %s, more than %d peers once per %s (+1 own)", id, u.Accepted, span, peers, period)
		}
		if u.Last == nil || !tagID.MatchString(u.Last.DeviceID) {
			t.Errorf("user %s: last message %+v, want the tag's deviceId", id, u.Last)
			continue
		}
		tags[u.Last.DeviceID] = true
	}
	if len(tags) != users {
		t.Errorf("%d distinct deviceIds, want one tag per user (%d): %v", len(tags), users, tags)
	}
	if n := reg.Counter(scenario.TelemetryRelayUnsent).Value(); n != 0 {
		t.Errorf("telemetry.relay_unsent = %d with every user online", n)
	}
}
