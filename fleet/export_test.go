package fleet

import "time"

// SetProtectionTiming shortens the Protection Mode countdown and backoff
// for a test; the returned func restores them. Not for parallel tests.
func SetProtectionTiming(countdown, backoff time.Duration) (restore func()) {
	c, b := protectionCountdown, protectionBackoff
	protectionCountdown, protectionBackoff = countdown, backoff
	return func() { protectionCountdown, protectionBackoff = c, b }
}
