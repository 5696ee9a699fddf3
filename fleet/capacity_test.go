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
	// the embedded backend, plus slack.
	if p.Connections != 1050 || p.ServerSockets != 1050 || p.FDs != 2100+fdSlack || p.PerSource != 1050 {
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
