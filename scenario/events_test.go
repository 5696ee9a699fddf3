package scenario

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const eventsHead = "version: 1\nname: ev\nduration: 10m\nidentity: { app_id: app, app_secret: k }\nfleet: { users: 10 }\n"

func TestEventsParse(t *testing.T) {
	s, err := Parse("ev.yaml", []byte(eventsHead+`events:
  - { name: tower-down, at: 5m, leave: 30%, how: vanished, back: 20s..90s }
  - { name: app-update, at: 1m, leave: 100%, how: killed, back: 0s..9m }
  - { name: blip, at: 2m, leave: 1%, back: 10s }
thresholds: { "event.tower-down.recovery": ["p(99) < 60s"] }
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{Name: "tower-down", At: 5 * time.Minute, Leave: 0.3, How: LeaveVanished, Back: Span{Min: 20 * time.Second, Max: 90 * time.Second}},
		{Name: "app-update", At: time.Minute, Leave: 1, How: LeaveKilled, Back: Span{Max: 9 * time.Minute}},
		{Name: "blip", At: 2 * time.Minute, Leave: 0.01, How: LeaveVanished, Back: Span{Min: 10 * time.Second, Max: 10 * time.Second}},
	}
	if len(s.Events) != len(want) {
		t.Fatalf("events %+v", s.Events)
	}
	for i := range want {
		if s.Events[i] != want[i] {
			t.Errorf("events[%d] = %+v, want %+v", i, s.Events[i], want[i])
		}
	}
	data, _ := json.Marshal(s)
	if w := `"events":[{"name":"tower-down","at":"5m0s","leave":"30%","how":"vanished","back":"20s..1m30s"}`; !strings.Contains(string(data), w) {
		t.Errorf("echo %s\nlacks %s", data, w)
	}
	if m, ok := LookupMetric(EventRecovery("tower-down")); !ok || m.Kind != KindLatency {
		t.Errorf("event.tower-down.recovery: %+v %v", m, ok)
	}
}

func TestEventsBadInput(t *testing.T) {
	for _, tt := range []struct{ block, want string }{
		{"events: [{ name: a, at: 1m, leave: 150%, back: 1s }]\n", "ev.yaml:6:36: events[0].leave: must be more than 0% and at most 100%, got 150%"},
		{"events: [{ name: a, at: 1m, leave: 0%, back: 1s }]\n", "events[0].leave: must be more than 0% and at most 100%, got 0%"},
		{"events: [{ name: a, at: 1m, back: 1s }]\n", "events[0].leave: required"},
		{"events: [{ name: a, at: 9m, leave: 10%, back: 30s..2m }]\n", "events[0].back: ends after the run: the event at 9m0s plus 2m0s is past the run's end (10m0s)"},
		{"events: [{ name: a, at: 10m, leave: 10%, back: 1s }]\n", "events[0].at: must be before the run ends (10m0s), got 10m0s"},
		{"events: [{ name: a, at: 1m, leave: 10%, how: exploded, back: 1s }]\n", `events[0].how: unknown how "exploded" (expected one of: clean, killed, vanished)`},
		{"events: [{ name: a, at: 1m, leave: 10%, how: roam, back: 1s }]\n", "events[0].how: roam is no absence"},
		{"events: [{ name: a, at: 1m, leave: 10%, back: 2m..1m }]\n", "events[0].back: a range lo..hi needs lo <= hi"},
		{"events: [{ name: a, at: 1m, leave: 10% }]\n", "events[0].back: required"},
		{"events: [{ at: 1m, leave: 10%, back: 1s }]\n", "events[0].name: required"},
		{"events:\n  - { name: a, at: 1m, leave: 10%, back: 1s }\n  - { name: a, at: 2m, leave: 10%, back: 1s }\n", `ev.yaml:8:13: events[1].name: "a" is also the name of events[0]`},
		{"events: [{ name: a, at: 1m, leave: 10%, back: 1s, when: 3 }]\n", "events[0].when: unknown key"},
		{"events: [{ name: a, at: 1m, leave: 10%, back: 1s }]\nthresholds: { event.b.recovery: [\"p(99) < 1m\"] }\n", `thresholds.event.b.recovery: unknown event "b"`},
	} {
		_, err := Parse("ev.yaml", []byte(eventsHead+tt.block), Options{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v\nwant %q", strings.TrimSpace(tt.block), err, tt.want)
		}
	}
}
