package scenario

import (
	"strings"
	"testing"

	"github.com/eixamsim/eixamsim/contract"
)

// endpointsWithoutMetric are the contract endpoints no behaviour calls
// yet; one that gains its metric comes off this list.
var endpointsWithoutMetric = map[string]bool{contract.EndpointSOSCreate: true}

// Every contract endpoint has its http.<endpoint> latency metric in the
// catalogue, and every http. metric names a contract endpoint.
func TestHTTPMetricsAreContractEndpoints(t *testing.T) {
	for _, ep := range contract.EndpointNames() {
		m, ok := LookupMetric(HTTPMetric(ep))
		switch {
		case endpointsWithoutMetric[ep] && ok:
			t.Errorf("endpoint %s has its metric %s now: take it off endpointsWithoutMetric", ep, m.Name)
		case !endpointsWithoutMetric[ep] && !ok:
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
