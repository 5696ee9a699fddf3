package refbackend

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestFaultControlEndpoints(t *testing.T) {
	s := startServer(t, func(c *Config) { c.FaultControl = true })
	id := signed(app1, secret1, "user-1")
	api := newAPIClient(t, s, id)
	post := func(path string, body any) response {
		t.Helper()
		return api.doWith(t, "POST", path, body, func(h http.Header) {})
	}
	answer := func(r response) map[string]any {
		t.Helper()
		var m map[string]any
		r.decode(t, &m)
		return m
	}

	for i := range 4 {
		connectWatched(t, dialTCP(t, s), signed(app1, secret1, "ctl-"+string(rune('a'+i))))
	}
	eventually(t, "4 sessions", func() bool { return s.Stats().MQTT.Connected == 4 })
	r := post("/debug/faults/kick?fraction=50%25", nil)
	wantStatus(t, "kick", r, 200)
	if m := answer(r); m["kicked"] != 2.0 {
		t.Errorf("kick answer %s", r.body)
	}

	r = post("/debug/faults/stall?d=1h", nil)
	wantStatus(t, "stall", r, 200)
	if m := answer(r); m["stalled_until"] == nil {
		t.Errorf("stall answer %s", r.body)
	}
	r = post("/debug/faults/stall?d=0", nil) // the control itself is never stalled
	wantStatus(t, "end stall", r, 200)
	if m := answer(r); m["stalled_until"] != nil {
		t.Errorf("end-stall answer %s", r.body)
	}
	wantStatus(t, "GET me after the stall ended", api.do(t, "GET", "/v1/sdk/me", nil), 200)

	r = post("/debug/faults/stop-mqtt", nil)
	wantStatus(t, "stop-mqtt", r, 200)
	if s.Stats().MQTT.Listening || s.Stats().MQTT.Connected != 0 {
		t.Errorf("after stop-mqtt: %+v", s.Stats().MQTT)
	}
	wantStatus(t, "start-mqtt", post("/debug/faults/start-mqtt", nil), 200)
	r = post("/debug/faults/restart-mqtt?down=100ms", nil)
	wantStatus(t, "restart-mqtt", r, 200)
	if m := answer(r); m["listening"] != false || m["restart_in"] != "100ms" {
		t.Errorf("restart answer %s", r.body)
	}
	eventually(t, "listeners back", func() bool { return s.Stats().MQTT.Listening })
	sosRoundTrip(t, dialTCP(t, s), id)

	r = post("/debug/faults/schedule", "# a comment\nset_faults@0s:error-rate=me=1\n\nkick@0s:1\n")
	wantStatus(t, "schedule", r, 200)
	if m := answer(r); m["scheduled"] != 2.0 {
		t.Errorf("schedule answer %s", r.body)
	}
	eventually(t, "scheduled faults fired", func() bool { return s.Stats().Schedule.Fired["set_faults"] == 1 })
	wantStatus(t, "GET me with error-rate 1", api.do(t, "GET", "/v1/sdk/me", nil), 503)

	bad := []struct {
		method, path string
		body         any
		status       int
	}{
		{"GET", "/debug/faults/kick?fraction=1", nil, 405},                   // POST only
		{"POST", "/debug/faults/reboot", nil, 404},                           // unknown control
		{"POST", "/debug/faults/kick", nil, 400},                             // no fraction
		{"POST", "/debug/faults/kick?fraction=2", nil, 400},                  // above 1
		{"POST", "/debug/faults/stall?d=soon", nil, 400},                     // bad duration
		{"POST", "/debug/faults/restart-mqtt", nil, 400},                     // no down time
		{"POST", "/debug/faults/restart-mqtt?down=-1s", nil, 400},            // negative
		{"POST", "/debug/faults/schedule", "", 400},                          // empty
		{"POST", "/debug/faults/schedule", "kick@0s:1\nreboot@1s:1s", 400},   // one bad line
		{"POST", "/debug/faults/schedule", strings.Repeat("#", 70<<10), 413}, // too large
	}
	for _, b := range bad {
		r := api.doWith(t, b.method, b.path, b.body, func(http.Header) {})
		wantStatus(t, b.method+" "+b.path, r, b.status)
		r.errorMessage(t)
	}
}

func TestFaultControlDisabledAndNoMQTT(t *testing.T) {
	s := startServer(t, nil) // FaultControl off
	api := newAPIClient(t, s, signed(app1, secret1, "u"))
	for _, name := range []string{"kick?fraction=1", "stop-mqtt", "stall?d=1s"} {
		wantStatus(t, name, api.doWith(t, "POST", "/debug/faults/"+name, nil, func(http.Header) {}), 404)
	}
	if st := s.Stats(); st.MQTT.ListenerStops != 0 || st.HTTP.Stalls != 0 {
		t.Errorf("a disabled control acted: %+v", st)
	}
	wantStatus(t, "unknown debug path", api.do(t, "GET", "/debug/nope", nil), 404)

	s2 := startServer(t, func(c *Config) { c.MQTTAddr, c.WSAddr, c.FaultControl = "", "", true })
	api2 := newAPIClient(t, s2, signed(app1, secret1, "u"))
	r := api2.doWith(t, "POST", "/debug/faults/stop-mqtt", nil, func(http.Header) {})
	wantStatus(t, "stop-mqtt without MQTT", r, 409)
	var e errorBody
	if json.Unmarshal(r.body, &e) != nil || !strings.Contains(e.Error, "no MQTT listener") {
		t.Errorf("answer %s", r.body)
	}
	wantStatus(t, "schedule restart without MQTT", api2.doWith(t, "POST", "/debug/faults/schedule", "restart_mqtt@0s:1s", func(http.Header) {}), 400)
}
