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

// SetProtectionTiming shortens the Protection Mode countdown and backoff
// for a test; the returned func restores them. Not for parallel tests.
func SetProtectionTiming(countdown, backoff time.Duration) (restore func()) {
	c, b := protectionCountdown, protectionBackoff
	protectionCountdown, protectionBackoff = countdown, backoff
	return func() { protectionCountdown, protectionBackoff = c, b }
}
