package fleet

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/scenario"
)

// TestBackoffUsesTheResolvedPolicy checks each wait against the formula
// with the policy's own values, with no fallback of the fleet's.
func TestBackoffUsesTheResolvedPolicy(t *testing.T) {
	tests := []struct {
		name   string
		policy scenario.Reconnect
		want   []time.Duration // attempts 0, 1, 2, …; with jitter, the centre
	}{
		// The SDK's: as resolved, 2s forever.
		{"sdk", scenario.Reconnect{Policy: scenario.ReconnectSDK, Initial: 2 * time.Second, Max: 2 * time.Second},
			[]time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second}},
		// Doubling up to the cap.
		{"backoff", scenario.Reconnect{Policy: scenario.ReconnectBackoff, Initial: 100 * time.Millisecond, Max: 500 * time.Millisecond},
			[]time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond}},
		// Initial == Max: flat.
		{"flat", scenario.Reconnect{Policy: scenario.ReconnectBackoff, Initial: time.Second, Max: time.Second},
			[]time.Duration{time.Second, time.Second}},
		// Jitter 20% around the same doubling.
		{"jitter", scenario.Reconnect{Policy: scenario.ReconnectBackoff, Initial: time.Second, Max: 4 * time.Second, Jitter: 0.2},
			[]time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackoff(tt.policy)
			rng := rand.New(rand.NewPCG(1, 2))
			for attempt, centre := range tt.want {
				for range 50 {
					got := b(attempt, rng)
					lo := time.Duration(float64(centre) * (1 - tt.policy.Jitter))
					hi := time.Duration(float64(centre) * (1 + tt.policy.Jitter))
					if got < lo || got > hi {
						t.Fatalf("attempt %d: wait %v, want %v..%v", attempt, got, lo, hi)
					}
				}
			}
			// Far attempts stay at the cap and never overflow.
			if got := b(1000, rng); got > time.Duration(float64(tt.policy.Max)*(1+tt.policy.Jitter)) || got <= 0 {
				t.Errorf("attempt 1000: wait %v, want about %v", got, tt.policy.Max)
			}
		})
	}
}
