package fleet

import (
	"testing"
	"time"
)

// SetRelayPeriod makes telemetry.relay relay each peer every d instead of
// the scenario's every (at least 60 s), until t ends. Tests using it must
// not run in parallel with other relay tests.
func SetRelayPeriod(t testing.TB, d time.Duration) {
	old := relayPeriod
	relayPeriod = d
	t.Cleanup(func() { relayPeriod = old })
}
