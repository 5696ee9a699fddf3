package scenario

import (
	"strings"
	"testing"

	"github.com/eixamsim/eixamsim/contract"
)

// Every contract endpoint has its http.<endpoint> latency metric in the
// catalogue, and every http. metric names a contract endpoint.
func TestHTTPMetricsAreContractEndpoints(t *testing.T) {
	for _, ep := range contract.EndpointNames() {
		m, ok := LookupMetric(HTTPMetric(ep))
		switch {
		case !ok:
			t.Errorf("contract endpoint %s has no metric %s in the catalogue", ep, HTTPMetric(ep))
		case ok && m.Kind != KindLatency:
			t.Errorf("%s is a %s, want a latency", m.Name, m.Kind)
		}
	}
	for _, m := range Metrics {
		ep, ok := strings.CutPrefix(m.Name, httpPrefix)
		if ok && m.Kind == KindLatency && !contract.IsEndpoint(ep) {
			t.Errorf("catalogue metric %s names no contract endpoint (contract.EndpointNames)", m.Name)
		}
	}
}
