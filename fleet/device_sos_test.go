package fleet_test

import (
	"testing"
	"time"

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
		if _, _, twin := scenario.MetricProfile(s.Name); twin {
			t.Errorf("%s recorded: with one origin and no network profiles there are no twins", s.Name)
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

// TestSOSOriginTwins runs app and device SOS side by side (origin: mixed,
// half the users in Protection Mode, whose service finds the device SOS's
// incident at its countdown and creates nothing) against the reference backend: each SOS clock
// has a twin per origin, and the twins' samples and errors add up to the
// total's. Without origin: mixed there are none (TestDeviceOriginatedSOS).
func TestSOSOriginTwins(t *testing.T) {
	defer fleet.SetProtectionTiming(100*time.Millisecond, 100*time.Millisecond)()
	srv := startBackend(t, "demo-secret", 0)
	defer srv.Close()
	sc := parse(t, `
version: 1
name: sos-origins
duration: 1m
identity: { app_id: demo-app, app_secret: demo-secret, user_id: "sos-origin-{{.N}}" }
fleet: { users: 10, connect_rate: 500/s }
behaviours:
  sos: { rate: 10/s, hold: 300ms, origin: mixed, end: cancel }
  protection: { share: 50% }
`)
	reg := metrics.NewRegistry()
	count := func(name string) int64 { return reg.Latency(name).Summary().Count }
	app, device := func(m string) string { return scenario.MetricAtOrigin(m, scenario.OriginApp) },
		func(m string) string { return scenario.MetricAtOrigin(m, scenario.OriginDevice) }
	runSteps(t, sc, srv.HTTPURL(), srv.MQTTURL(), reg,
		eventStep{Step: fleet.Step{Name: "login", Users: 10, Rates: map[string]scenario.Rate{"sos": {}}}},
		eventStep{Step: fleet.Step{Name: "load", Users: 10}, until: func() bool {
			return count(app(scenario.SOSResolved)) >= 3 && count(device(scenario.SOSCancelled)) >= 3
		}})
	got := map[string]metrics.Summary{}
	for _, s := range reg.Summaries() {
		got[s.Name] = s
	}
	// The backend acknowledges at once: the app resolves, a device cycle
	// cancels (contract §6.4).
	for _, m := range []string{scenario.SOSPuback, scenario.SOSDelivered, scenario.SOSAcknowledged, scenario.SOSResolved, scenario.SOSCancelled} {
		total, a, d := got[m], got[app(m)], got[device(m)]
		both := m != scenario.SOSResolved && m != scenario.SOSCancelled
		if total.Count == 0 || both && (a.Count == 0 || d.Count == 0) || a.Count+d.Count != total.Count {
			t.Errorf("%s: %d samples; @app %d, @device %d", m, total.Count, a.Count, d.Count)
		}
		// A dropped arrival (an error of sos.puback) had no SOS, so no origin.
		if e := a.Errors + d.Errors; e > total.Errors || m != scenario.SOSPuback && e != total.Errors {
			t.Errorf("%s: %d errors; @app %d, @device %d", m, total.Errors, a.Errors, d.Errors)
		}
	}
	for name := range got {
		if base, origin, ok := scenario.MetricProfile(name); ok && (!scenario.IsOrigin(origin) || !scenario.HasOriginTwin(base)) {
			t.Errorf("%s recorded: only the SOS clocks have twins here, one per origin", name)
		}
	}
}
