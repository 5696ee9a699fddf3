package fleet

import (
	"slices"
	"strings"
	"testing"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// TestMetricNamesAreInTheCatalogue keeps the names the fleet records and
// the scenario's metric catalogue (what thresholds may name) in step, both
// ways: a threshold can never name a metric that is not recorded, and
// nothing is recorded that a threshold could not name. With every
// behaviour on, New creates exactly the catalogue's metrics.
func TestMetricNamesAreInTheCatalogue(t *testing.T) {
	sc, err := scenario.Parse("all.yaml", []byte(`
version: 1
name: all
duration: 1s
identity: { app_id: a, app_secret: s }
fleet: { users: 1, churn: { online: 1m, offline: 1m } }
behaviours:
  telemetry: { every: 1s, relay: { peers: 1 } }
  sos: { rate: 1/s, origin: device }
  protection: { share: 100% }
  contacts: { rate: 1/s, mix: { list: 1, create: 1, update: 1, delete: 1 } }
  devices: { rate: 1/s, mix: { list: 1, upsert: 1, delete: 1 } }
`), scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := metrics.NewRegistry()
	rn, err := New(Config{Scenario: sc, HTTPURL: "http://127.0.0.1:1", MQTTURL: "tcp://127.0.0.1:1", Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	r := rn.r
	if n := len(r.loginSteps) + len(r.perUser) + len(r.arrivals); n != len(behaviourTable()) {
		t.Fatalf("%d behaviours on, want all %d", n, len(behaviourTable()))
	}
	created := map[string]bool{}
	for _, l := range reg.Latencies() {
		created[l.Name()] = true
	}
	for name := range reg.Values() {
		created[name] = true
	}
	for name := range created {
		if _, ok := scenario.LookupMetric(name); !ok {
			t.Errorf("the fleet records %q, which the scenario catalogue does not know", name)
		}
	}
	for _, m := range scenario.Metrics {
		if !created[m.Name] {
			t.Errorf("the catalogue lists %q, which the fleet never records", m.Name)
		}
	}
}

// TestBehaviourTableMatchesScenario: the fleet builds every behaviour the
// scenario knows, under the scenario's name (an open-model behaviour finds
// its rate by that name; a misspelt row would never fire). A row of its
// own for part of a behaviour (telemetry.relay) is named after that
// behaviour's key.
func TestBehaviourTableMatchesScenario(t *testing.T) {
	rows := map[string]bool{}
	for _, row := range behaviourTable() {
		rows[row.name] = true
	}
	// behaviours.protection changes how the sos row runs a device SOS
	// (Protection Mode); it has no work of its own.
	carriedBy := map[string]string{"protection": "sos"}
	known := scenario.BehaviourNames()
	for _, name := range known {
		if by, ok := carriedBy[name]; ok && rows[by] {
			continue
		}
		if !rows[name] {
			t.Errorf("scenario behaviour %q has no fleet row", name)
		}
	}
	for name := range rows {
		parent, _, _ := strings.Cut(name, ".")
		if !slices.Contains(known, parent) {
			t.Errorf("fleet row %q is named after no scenario behaviour %v", name, known)
		}
	}
}
