package scenario

import (
	"slices"
	"testing"
)

// TestBehaviourRowsComplete walks behaviourTable and fails on a row that
// lacks what the row's readers need: an open-model behaviour needs a
// slicing rule (shard.go) and load metrics (capacity) that it records,
// whose successes count in a throughput family (the report's chart).
func TestBehaviourRowsComplete(t *testing.T) {
	names := map[string]bool{}
	for _, row := range behaviourTable {
		if row.name == "" || names[row.name] {
			t.Fatalf("row %q: a behaviour needs a name of its own", row.name)
		}
		names[row.name] = true
		if row.doc == "" || row.read == nil || row.check == nil || row.echo == nil || row.on == nil {
			t.Errorf("behaviours.%s: a row needs doc, read, check, echo and on", row.name)
		}
		if row.rate == nil {
			if row.slice != nil || row.load != nil {
				t.Errorf("behaviours.%s has no open-model rate, so nothing to slice or count load on", row.name)
			}
			continue
		}
		if row.slice == nil {
			t.Errorf("behaviours.%s has an open-model rate but no slicing rule: every shard would send the full rate", row.name)
		}
		if len(row.load) == 0 {
			t.Errorf("behaviours.%s has an open-model rate but no load metric: capacity cannot count its throughput", row.name)
		}
		for _, name := range row.load {
			i := slices.IndexFunc(row.metrics, func(m Metric) bool { return m.Name == name })
			switch {
			case i < 0:
				t.Errorf("behaviours.%s: load metric %s is not one of the metrics it records", row.name, name)
			case row.metrics[i].Kind != KindLatency:
				t.Errorf("behaviours.%s: load metric %s is a %s; successes are counted on latencies", row.name, name, row.metrics[i].Kind)
			case !slices.Contains(ThroughputFamilies, row.metrics[i].family):
				t.Errorf("behaviours.%s: load metric %s counts in no throughput family %v", row.name, name, ThroughputFamilies)
			}
		}
		if len(row.metrics) == 0 {
			t.Errorf("behaviours.%s records no metric", row.name)
		}
	}
	for _, m := range Metrics {
		if m.family != "" && !slices.Contains(ThroughputFamilies, m.family) {
			t.Errorf("%s: family %q is not one of %v", m.Name, m.family, ThroughputFamilies)
		}
	}
}

// TestSliceDividesEveryRate turns every behaviour on with a rate and checks
// that a shard of 4 gets a quarter of each, while the whole keeps its own:
// a row whose slicing rule misses its rate, or writes through to the whole
// scenario's block, fails here.
func TestSliceDividesEveryRate(t *testing.T) {
	r := Rate{PerSecond: 8}
	whole := Behaviours{
		Login:     DefaultLogin(),
		Telemetry: &Telemetry{Rate: r},
		SOS:       &SOS{Rate: r},
		Contacts:  &HTTPMix{Rate: r},
		Devices:   &HTTPMix{Rate: r},
	}
	for _, name := range RateBehaviours {
		if got, on := whole.RateOf(name); !on || got != r {
			t.Fatalf("behaviours.%s is not on with rate %s in the test's Behaviours (got %s, %v): turn it on here", name, r, got, on)
		}
	}
	part := sliceBehaviours(whole, 4)
	for _, name := range RateBehaviours {
		if got, _ := part.RateOf(name); got.PerSecond != 2 {
			t.Errorf("behaviours.%s: a shard of 4 has rate %s, want 2/s", name, got)
		}
		if got, _ := whole.RateOf(name); got != r {
			t.Errorf("behaviours.%s: slicing changed the whole scenario's rate to %s", name, got)
		}
	}
	off := sliceBehaviours(Behaviours{Login: DefaultLogin()}, 4)
	for _, name := range RateBehaviours {
		if _, on := off.RateOf(name); on {
			t.Errorf("behaviours.%s: slicing turned an off behaviour on", name)
		}
	}
}

// TestLoadMetrics: capacity's load metrics are the rows'.
func TestLoadMetrics(t *testing.T) {
	for _, name := range RateBehaviours {
		row, _ := lookupBehaviour(name)
		if got := LoadMetrics(name); !slices.Equal(got, row.load) || len(got) == 0 {
			t.Errorf("LoadMetrics(%q) = %v, want the row's %v", name, got, row.load)
		}
	}
	if got := LoadMetrics("login"); got != nil {
		t.Errorf("LoadMetrics(login) = %v; login has no open-model rate", got)
	}
}
