package fleet_test

import (
	"testing"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

const deviceSOSScenario = `
version: 1
name: device-sos
duration: 1m
identity: { app_id: demo-app, app_secret: demo-secret, user_id: "dev-sos-{{.N}}" }
fleet: { users: 10, connect_rate: 500/s }
behaviours:
  sos: { rate: 10/s, hold: 300ms, origin: device }
`

// TestDeviceOriginatedSOS runs device SOS against the reference backend:
// each one is GET, PUBLISH, GET, then at the close GET and cancel
// (contract §6.4), and what the simulator counted is what the backend saw.
func TestDeviceOriginatedSOS(t *testing.T) {
	srv := startBackend(t, "demo-secret", 0)
	defer srv.Close()
	sc := parse(t, deviceSOSScenario)
	reg := metrics.NewRegistry()
	count := func(name string) int64 { return reg.Latency(name).Summary().Count }
	runSteps(t, sc, srv.HTTPURL(), srv.MQTTURL(), reg,
		eventStep{Step: fleet.Step{Name: "login", Users: 10, Rates: map[string]scenario.Rate{"sos": {}}}},
		eventStep{Step: fleet.Step{Name: "load", Users: 10}, until: func() bool { return count(scenario.SOSPuback) >= 5 }})
	got := map[string]metrics.Summary{}
	for _, s := range reg.Summaries() {
		got[s.Name] = s
		if s.Errors != 0 {
			t.Errorf("%s: %d errors %v", s.Name, s.Errors, s.ErrorsBy)
		}
	}
	st := srv.Stats()
	sos := got[scenario.SOSPuback].Count
	if sos == 0 || sos != st.SOS.AlertsAccepted {
		t.Errorf("sos: simulator acknowledged %d alerts, backend accepted %d", sos, st.SOS.AlertsAccepted)
	}
	if n := got[scenario.SOSCancelled].Count; n != sos || st.SOS.IncidentsCancelled != sos || st.SOS.IncidentsOpen != 0 {
		t.Errorf("sos.cancelled %d, backend cancelled %d open %d, want %d cancelled", n, st.SOS.IncidentsCancelled, st.SOS.IncidentsOpen, sos)
	}
	// One GET per user at login (sos_rehydrate), three per device SOS.
	if n, want := got[scenario.HTTPSOSGet].Count, 10+3*sos; n != want {
		t.Errorf("http.sos_get = %d, want %d (10 logins + 3 per device SOS)", n, want)
	}
	if n := got[scenario.HTTPSOSResolve].Count; n != 0 {
		t.Errorf("http.sos_resolve = %d: a device cycle only cancels", n)
	}
}
