package refbackend

import "github.com/eixamsim/eixamsim/faults"

// The fault types and their text forms live in package faults, which the
// scenario package reads too; the backend applies them (http.go, events.go,
// fault_run.go). The names below keep existing callers compiling.

// Faults are the injected faults in force (Config.Faults, Server.SetFaults).
//
// Deprecated: use faults.Set.
type Faults = faults.Set

// Latency is an added-latency distribution.
//
// Deprecated: use faults.Latency.
type Latency = faults.Latency

// Latency kinds.
//
// Deprecated: use the faults.Latency* constants.
const (
	LatencyNone      = faults.LatencyNone
	LatencyFixed     = faults.LatencyFixed
	LatencyUniform   = faults.LatencyUniform
	LatencyLognormal = faults.LatencyLognormal
)

// ParseLatency reads the text form of a Latency.
//
// Deprecated: use faults.ParseLatency.
func ParseLatency(s string) (Latency, error) { return faults.ParseLatency(s) }

// ParseFaults reads the text form of a fault set.
//
// Deprecated: use faults.ParseSet.
func ParseFaults(spec string) (Faults, error) { return faults.ParseSet(spec) }
