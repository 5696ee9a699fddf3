package refbackend

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/eixamsim/eixamsim/contract"
)

// segmentIDs are user ids of every character class a topic segment must
// keep apart, each next to the plain "u2" it could be confused with.
var segmentIDs = []struct{ class, id string }{
	{"plain", "u2"},
	{"leading space", " u2"},
	{"trailing space", "u2 "},
	{"tab and newline", "\tu2\n"},
	{"no-break space", "\u00A0u2"},
	{"byte order mark", "\uFEFFu2"},
	{"ideographic space", "u2\u3000"},
	{"whitespace only", " "},
	{"inner space", "u 2"},
	{"unicode", "ü2"},
	{"unicode, combining mark", "u\u03082"},
	{"slash", "u/2"},
	{"percent-encoded slash", "u%2F2"},
	{"percent-encoded space", "%20u2"},
	{"the escaped id of \" u2\"", "%%20u2"},
	{"lone percent", "%"},
	{"plus", "+"},
	{"hash", "#"},
	{"wildcard level", "u2/#"},
	{"colon", "u:2"},
	{"question mark", "u2?"},
	{"control character", "u2\x01"},
	{"DEL", "u2\x7f"},
}

// sdkCanonical is the canonical id the SDK would use for id against s: GET
// /v1/sdk/me's external_user_id, trimmed as the SDK trims it. An id that
// HTTP cannot carry as it is (ASCII controls; surrounding spaces, which
// servers strip off header values) could not log in through the SDK; for
// those it is the backend's own record.
func sdkCanonical(t *testing.T, s *Server, id identity) string {
	t.Helper()
	if strings.ContainsFunc(id.user, func(r rune) bool { return r < 0x20 || r == 0x7f }) || strings.Trim(id.user, " \t") != id.user {
		return s.ids.user(id.app, id.user).canonical
	}
	var me contract.Me
	r := newAPIClient(t, s, id).do(t, "GET", contract.PathMe, nil)
	wantStatus(t, "me "+id.user, r, 200)
	r.decode(t, &me)
	if got := contract.Trim(me.User.ExternalUserID); got != me.User.ExternalUserID {
		t.Errorf("/me of %q answers %q, which the SDK trims to %q", id.user, me.User.ExternalUserID, got)
	}
	return contract.Trim(me.User.ExternalUserID)
}

// TestMQTTNoUserReachesAnothersTopics connects a user of every character
// class to the real broker with its own valid signature and checks that it
// can subscribe to and publish on its own topics (those the SDK would build
// from /me) and on nobody else's, however the other's id is spelt.
func TestMQTTNoUserReachesAnothersTopics(t *testing.T) {
	s := startServer(t, nil)
	type conn struct {
		id            identity
		events, telem string
		c             *mqttClient
	}
	users := make([]conn, len(segmentIDs))
	for i, sid := range segmentIDs {
		id := signed(app1, secret1, sid.id)
		canonical := sdkCanonical(t, s, id)
		// Client ids of their own: the SDK's folds " u2" and "\u00A0u2"
		// alike (contract §1.3), and one would take the other's session
		// over (TestMQTTTakeoverDoesNotLeakEvents).
		c, ca, err := connectMQTTAs(t, dialTCP(t, s), contract.Username(id.app, id.user), id.hash, fmt.Sprintf("acl-test-%d", i))
		if err != nil {
			t.Fatalf("connect %q: %v (connack %+v)", sid.id, err, ca)
		}
		users[i] = conn{id, contract.EventsTopic(canonical), contract.TelemetryTopic(canonical), c}
		for _, other := range users[:i] {
			if other.events == users[i].events || other.telem == users[i].telem {
				t.Errorf("%q and %q share topic %s", other.id.user, sid.id, users[i].events)
			}
		}
	}

	for i, a := range users {
		if code := a.c.subscribe(t, a.events); code != 1 {
			t.Errorf("%s (%q): subscribe own %s: SUBACK 0x%02x, want QoS 1", segmentIDs[i].class, a.id.user, a.events, code)
		}
		if code := a.c.publish(t, a.telem, telemetry(1, 2)); code != 0 {
			t.Errorf("%s (%q): publish own %s: PUBACK 0x%02x, want 0", segmentIDs[i].class, a.id.user, a.telem, code)
		}
		for j, v := range users {
			if i == j {
				continue
			}
			// The victim's real topics, and the spellings a careless
			// encoding would give them (raw, trimmed, unencoded).
			events := []string{v.events, contract.EventsTopic(v.id.user), contract.EventsTopic(strings.TrimSpace(v.id.user)), "sos/events/" + v.id.user}
			telem := []string{v.telem, contract.TelemetryTopic(v.id.user), contract.TelemetryTopic(strings.TrimSpace(v.id.user)), "tel/" + v.id.user + "/data"}
			for k, f := range slices.Compact(events) {
				if k > 0 && f == a.events {
					continue // a careless spelling of v that is a's own topic
				}
				if code := a.c.subscribe(t, f); code < 0x80 {
					t.Errorf("%q subscribed to %q's %q: SUBACK 0x%02x", a.id.user, v.id.user, f, code)
				}
			}
			for k, topic := range slices.Compact(telem) {
				if k > 0 && topic == a.telem || strings.ContainsAny(topic, "+#") {
					continue // a wildcard in a topic name is a protocol error, not an ACL question
				}
				if code := a.c.publish(t, topic, telemetry(1, 2)); code < 0x80 {
					t.Errorf("%q published on %q's %q: PUBACK 0x%02x", a.id.user, v.id.user, topic, code)
				}
			}
		}
	}

	// Every user raises an SOS in turn and its first event is its own:
	// had an earlier user's event reached it, that one would come first.
	seen := map[string]string{}
	for _, u := range users {
		if code := u.c.publish(t, contract.TopicSOSAlerts, alert(1, 1)); code != 0 {
			t.Fatalf("%q: sos alert PUBACK 0x%02x", u.id.user, code)
		}
		ev := u.c.nextEvent(t)
		if owner, ok := seen[ev.IncidentID]; ok {
			t.Errorf("%q received %q's incident %s", u.id.user, owner, ev.IncidentID)
		}
		seen[ev.IncidentID] = u.id.user
	}
}

// TestMQTTEmptyUserIDIsRefused: "sdk:app-1:" names no user.
func TestMQTTEmptyUserIDIsRefused(t *testing.T) {
	s := startServer(t, nil)
	id := signed(app1, secret1, "")
	if _, ca, err := connectMQTT(t, dialTCP(t, s), id); err == nil || ca == nil || ca.ReasonCode != 0x86 {
		t.Fatalf("connect with an empty user id: connack %+v, %v; want 0x86", ca, err)
	}
}
