package refbackend

import "github.com/eixamsim/eixamsim/contract"

// EndpointNames returns the names of all SDK endpoints (contract.EndpointNames).
// They key Faults.EndpointLatency, Faults.ErrorRate and HTTPStats.Requests.
//
// Deprecated: use contract.EndpointNames; this forwarder remains so that
// existing callers compile.
func EndpointNames() []string { return contract.EndpointNames() }
