package fleet

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/eixamsim/eixamsim/scenario"
)

func TestPlanCounts(t *testing.T) {
	sc := &scenario.Scenario{Fleet: scenario.Fleet{Users: 1000}, Stages: []scenario.Stage{{Users: 800}}}
	p := NewPlan(sc, true)
	// 800 MQTT + 250 HTTP from the simulator, the same again accepted by
	// the embedded backend, plus slack; the 800 MQTT connections to one
	// destination share one port range (the HTTP ones go to another).
	if p.Connections != 1050 || p.ServerSockets != 1050 || p.FDs != 2100+fdSlack || p.PerSource != 800 {
		t.Fatalf("plan = %+v", p)
	}
	sc.Fleet.SourceIPs = []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")}
	if p := NewPlan(sc, false); p.ServerSockets != 0 || p.PerSource != 525 {
		t.Fatalf("external plan = %+v", p)
	}
}

func TestPlanThatCannotFitIsRefused(t *testing.T) {
	// A million users need more descriptors than any test machine allows.
	sc := &scenario.Scenario{Fleet: scenario.Fleet{Users: 1_000_000}, Stages: []scenario.Stage{{Users: 1_000_000}}}
	err := NewPlan(sc, true).Check([]string{"127.0.0.1"})
	if err == nil || !strings.Contains(err.Error(), "file descriptors") || !strings.Contains(err.Error(), "shard") {
		t.Fatalf("err = %v, want a file-descriptor refusal that says what to do", err)
	}
	small := &scenario.Scenario{Fleet: scenario.Fleet{Users: 10}, Stages: []scenario.Stage{{Users: 10}}}
	if err := NewPlan(small, true).Check([]string{"127.0.0.1"}); err != nil {
		t.Fatalf("10 users refused: %v", err)
	}
}

// TestPlanPortRanges checks what shares one ephemeral port range: bound
// source addresses whatever the destination; without them, one
// destination's connections; and the shards that share the addresses.
func TestPlanPortRanges(t *testing.T) {
	two := []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")}
	tests := []struct {
		name string
		sc   scenario.Scenario
		want int
	}{
		// 1000 MQTT over two brokers, 250 HTTP to one API: 500 per broker.
		{"two brokers", scenario.Scenario{Target: scenario.Target{MQTTs: []string{"tcp://a", "tcp://b"}, HTTP: "http://a"},
			Fleet: scenario.Fleet{Users: 1000}, Stages: []scenario.Stage{{Users: 1000}}}, 500},
		// Bound addresses: every connection of the address, to any destination.
		{"bound", scenario.Scenario{Target: scenario.Target{MQTTs: []string{"tcp://a", "tcp://b"}, HTTP: "http://a"},
			Fleet: scenario.Fleet{Users: 1000, SourceIPs: two}, Stages: []scenario.Stage{{Users: 1000}}}, 625},
		// Shard of 4 with 2 addresses: every shard uses both, so 4 shards' worth.
		{"shards share addresses", scenario.Scenario{Target: scenario.Target{MQTT: "tcp://a", HTTP: "http://a"}, Shard: &scenario.Shard{Index: 1, Count: 4},
			Fleet: scenario.Fleet{Users: 1000, SourceIPs: two}, Stages: []scenario.Stage{{Users: 1000}}}, 2500},
		// Shard of 2 with its own address (Slice gave it one of two).
		{"own address", scenario.Scenario{Target: scenario.Target{MQTT: "tcp://a", HTTP: "http://a"}, Shard: &scenario.Shard{Index: 1, Count: 2, OwnSources: true},
			Fleet: scenario.Fleet{Users: 1000, SourceIPs: two[:1]}, Stages: []scenario.Stage{{Users: 1000}}}, 1250},
		// Shards without source_ips all share the system's address.
		{"shards, no addresses", scenario.Scenario{Target: scenario.Target{MQTT: "tcp://a", HTTP: "http://a"}, Shard: &scenario.Shard{Index: 0, Count: 3},
			Fleet: scenario.Fleet{Users: 1000}, Stages: []scenario.Stage{{Users: 1000}}}, 3000},
	}
	for _, tc := range tests {
		if got := NewPlan(&tc.sc, false).PerSource; got != tc.want {
			t.Errorf("%s: PerSource = %d, want %d", tc.name, got, tc.want)
		}
	}
}
