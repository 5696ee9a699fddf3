package scenario

import (
	"testing"
	"time"
)

// keyDocs lists name, shape and description of every key of a table (a
// row without decode is echoed only: not a key of the file).
func keyDocs[T any](ks keys[T]) [][3]string {
	var out [][3]string
	for _, k := range ks {
		if k.decode != nil {
			out = append(out, [3]string{k.name, k.shape, k.doc})
		}
	}
	return out
}

// TestKeyTablesDescribed checks that every key of every block table, and
// every behaviour, has a shape and a one-line description (a JSON Schema of
// the format is generated from them), and that names are unique per block.
func TestKeyTablesDescribed(t *testing.T) {
	tables := map[string][][3]string{
		"target": keyDocs(targetKeys), "target.tls": keyDocs(tlsKeys), "target.embedded": keyDocs(embeddedKeys),
		"identity": keyDocs(identityKeys), "fleet": keyDocs(fleetKeys), "fleet.reconnect": keyDocs(reconnectKeys),
		"output": keyDocs(outputKeys), "behaviours.telemetry": keyDocs(telemetryKeys),
		"behaviours.telemetry.position": keyDocs(positionKeys), "behaviours.sos": keyDocs(sosKeys),
		"behaviours.contacts": keyDocs(contactsKeys), "behaviours.devices": keyDocs(devicesKeys),
		"": keyDocs(scenarioKeys), "stages[]": keyDocs(stageKeys), "thresholds": keyDocs(thresholdKeys),
		"capacity": keyDocs(capacityKeys),
	}
	var rows [][3]string
	for _, b := range behaviourTable {
		rows = append(rows, [3]string{b.name, b.shape, b.doc})
		if b.read == nil || b.check == nil || b.echo == nil || b.on == nil {
			t.Errorf("behaviour %s lacks read, check, echo or on", b.name)
		}
	}
	tables["behaviours"] = rows
	for block, rows := range tables {
		if len(rows) == 0 {
			t.Errorf("block %q has no keys: its table is not wired in", block)
		}
		seen := map[string]bool{}
		for _, r := range rows {
			if r[1] == "" || r[2] == "" {
				t.Errorf("%s.%s: shape %q, description %q: both are required", block, r[0], r[1], r[2])
			}
			if seen[r[0]] {
				t.Errorf("%s.%s is listed twice", block, r[0])
			}
			seen[r[0]] = true
		}
	}
}

// TestBehaviourMetrics checks that each metric is in the catalogue once and
// that every behaviour's metric can get samples when (and only when) one
// of its needs is on (fleet.churn's metrics: when churn is on).
func TestBehaviourMetrics(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range Metrics {
		if seen[m.Name] {
			t.Errorf("%s is in the catalogue twice", m.Name)
		}
		seen[m.Name] = true
	}
	all := &validator{s: &Scenario{Behaviours: Behaviours{Login: DefaultLogin(), Telemetry: &Telemetry{Relay: &Relay{}}, SOS: &SOS{VisiblePoll: time.Second}, Protection: &Protection{Share: 1}, Contacts: &HTTPMix{}, Devices: &HTTPMix{}}, Fleet: Fleet{Churn: &Churn{}}}}
	none := &validator{s: &Scenario{}}
	for _, m := range Metrics {
		if on, _ := all.metricHasSamples(m); !on {
			t.Errorf("%s has no samples with every behaviour on", m.Name)
		}
		if on, want := none.metricHasSamples(m); on != (len(m.needs) == 0 && m.needsFleet == nil) || (!on && want == "") {
			t.Errorf("%s with every behaviour off: samples %v, needs %q", m.Name, on, want)
		}
	}
	if _, want := none.metricHasSamples(mustMetric(t, HTTPSOSGet)); want != "behaviours.login.sos_rehydrate or behaviours.sos" {
		t.Errorf("http.sos_get needs %q", want)
	}
}

func mustMetric(t *testing.T, name string) Metric {
	t.Helper()
	m, ok := LookupMetric(name)
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	return m
}
