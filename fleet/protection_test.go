package fleet_test

import (
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/faults"
	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// Every user runs Protection Mode; the hold (600 ms) outlasts the
// countdown the test sets (100 ms), so each device SOS is also created
// over HTTP.
const protectionScenario = `
version: 1
name: protection
duration: 1m
identity: { app_id: demo-app, app_secret: demo-secret, user_id: "prot-{{.N}}" }
fleet: { users: 10, connect_rate: 500/s }
behaviours:
  sos: { rate: 10/s, hold: 600ms, origin: device }
  protection: { share: 100% }
`

// runProtection runs device SOS with Protection Mode against the reference
// backend until five alerts and five creates were answered.
func runProtection(t *testing.T, dup bool) (*metrics.Registry, int64) {
	t.Helper()
	defer fleet.SetProtectionTiming(100*time.Millisecond, 100*time.Millisecond)()
	srv := startBackend(t, "demo-secret", time.Hour)
	defer srv.Close()
	if err := srv.SetFaults(faults.Set{DuplicateIncidents: dup}); err != nil {
		t.Fatal(err)
	}
	sc := parse(t, protectionScenario)
	reg := metrics.NewRegistry()
	count := func(name string) int64 { return reg.Latency(name).Summary().Count }
	runSteps(t, sc, srv.HTTPURL(), srv.MQTTURL(), reg,
		eventStep{Step: fleet.Step{Name: "login", Users: 10, Rates: map[string]scenario.Rate{"sos": {}}}},
		eventStep{Step: fleet.Step{Name: "load", Users: 10}, until: func() bool {
			return count(scenario.SOSPuback) >= 5 && count(scenario.HTTPSOSCreate) >= 5
		}})
	st := srv.Stats().SOS
	return reg, st.HTTPCreated + st.HTTPExisting
}

// With the idempotent backend every POST finds the MQTT-created incident:
// no duplicate, and sos.http_created is measured.
func TestProtectionModeIdempotent(t *testing.T) {
	reg, posts := runProtection(t, false)
	creates := reg.Latency(scenario.HTTPSOSCreate).Summary()
	if creates.Count == 0 || creates.Errors != 0 || creates.Count != posts {
		t.Errorf("http.sos_create %d (errors %d), backend answered %d POST /v1/sdk/sos", creates.Count, creates.Errors, posts)
	}
	if n := reg.Latency(scenario.SOSHTTPCreated).Summary(); n.Count == 0 || n.Errors != 0 {
		t.Errorf("sos.http_created %d (errors %d %v)", n.Count, n.Errors, n.ErrorsBy)
	}
	if n := reg.Counter(scenario.SOSDuplicateIncidents).Value(); n != 0 {
		t.Errorf("sos.duplicate_incidents = %d against an idempotent backend", n)
	}
}

// With the DuplicateIncidents fault the POST opens a second incident and
// the counter catches it.
func TestProtectionModeCatchesDuplicates(t *testing.T) {
	reg, _ := runProtection(t, true)
	if n := reg.Counter(scenario.SOSDuplicateIncidents).Value(); n == 0 {
		t.Errorf("sos.duplicate_incidents = 0 against a backend that opens a second incident")
	}
}

// A device SOS whose hold ends before the countdown is cancelled on the
// device: the service sends no POST /v1/sdk/sos.
func TestProtectionModeShortHoldSendsNoCreate(t *testing.T) {
	defer fleet.SetProtectionTiming(time.Hour, time.Hour)()
	srv := startBackend(t, "demo-secret", time.Hour)
	defer srv.Close()
	sc := parse(t, protectionScenario)
	reg := metrics.NewRegistry()
	count := func(name string) int64 { return reg.Latency(name).Summary().Count }
	runSteps(t, sc, srv.HTTPURL(), srv.MQTTURL(), reg,
		eventStep{Step: fleet.Step{Name: "login", Users: 10, Rates: map[string]scenario.Rate{"sos": {}}}},
		eventStep{Step: fleet.Step{Name: "load", Users: 10}, until: func() bool { return count(scenario.SOSCancelled) >= 5 }})
	if n := count(scenario.HTTPSOSCreate); n != 0 {
		t.Errorf("http.sos_create = %d with a hold shorter than the countdown", n)
	}
	if st := srv.Stats().SOS; st.HTTPCreated+st.HTTPExisting != 0 {
		t.Errorf("backend saw %d POST /v1/sdk/sos", st.HTTPCreated+st.HTTPExisting)
	}
}
