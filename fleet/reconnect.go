package fleet

import (
	"math/rand/v2"
	"time"

	"github.com/eixamsim/eixamsim/scenario"
)

// sdkReconnectDelay is the real SDK's fixed delay between MQTT attempts: no
// backoff, no cap, forever (contract §3.8). It is what shapes the reconnect
// storm after a broker restart.
const sdkReconnectDelay = 2 * time.Second

// Backoff returns how long to wait before reconnect attempt number attempt
// (0 for the first attempt after a loss).
type Backoff func(attempt int) time.Duration

// newBackoff builds the policy of the scenario:
//
//	sdk:     2s, 2s, 2s, …
//	backoff: min(max, initial·2^attempt) ± jitter
func newBackoff(p scenario.Reconnect) Backoff {
	if p.Policy != "backoff" {
		return func(int) time.Duration { return sdkReconnectDelay }
	}
	initial, ceiling := p.Initial, p.Max
	if initial <= 0 {
		initial = time.Second
	}
	if ceiling < initial {
		ceiling = initial
	}
	return func(attempt int) time.Duration {
		d := ceiling
		if attempt < 30 {
			d = min(ceiling, initial<<attempt)
		}
		if p.Jitter > 0 {
			d = time.Duration(float64(d) * (1 + p.Jitter*(2*rand.Float64()-1)))
		}
		return max(d, time.Millisecond)
	}
}
