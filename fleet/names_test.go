package fleet

import (
	"testing"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// TestMetricNamesAreInTheCatalogue keeps the names the fleet records and
// the scenario's metric catalogue (what thresholds may name) in step, both
// ways: a threshold can never name a metric that is not recorded, and
// nothing is recorded that a threshold could not name.
func TestMetricNamesAreInTheCatalogue(t *testing.T) {
	sc, err := scenario.Parse("all.yaml", []byte(`
version: 1
name: all
duration: 1s
identity: { app_id: a, app_secret: s }
fleet: { users: 1 }
behaviours:
  telemetry: { every: 1s }
  sos: { rate: 1/s }
  contacts: { rate: 1/s, mix: { list: 1, create: 1, update: 1, delete: 1 } }
  devices: { rate: 1/s, mix: { list: 1, upsert: 1, delete: 1 } }
`), scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rn, err := New(Config{Scenario: sc, HTTPURL: "http://127.0.0.1:1", MQTTURL: "tcp://127.0.0.1:1", Metrics: metrics.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]bool{cOnline: true, cDisconnects: true, cUnsent: true, cDropped: true}
	for _, name := range rn.r.metricNames() {
		recorded[name] = true
	}
	for name := range recorded {
		if _, ok := scenario.LookupMetric(name); !ok {
			t.Errorf("the fleet records %q, which the scenario catalogue does not know", name)
		}
	}
	for _, m := range scenario.Metrics {
		if !recorded[m.Name] {
			t.Errorf("the catalogue lists %q, which the fleet never records", m.Name)
		}
	}
}
