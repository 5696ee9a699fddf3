package fleet

import (
	"math/rand/v2"
	"time"

	"github.com/eixamsim/eixamsim/scenario"
)

// Backoff returns how long to wait before reconnect attempt number attempt
// (0 for the first attempt after a loss), drawing any jitter from rng.
type Backoff func(attempt int, rng *rand.Rand) time.Duration

// newBackoff builds the reconnect policy p exactly as the scenario
// resolved it (for sdk: Initial = Max = 2s, Jitter 0):
//
//	wait(n) = min(Max, Initial·2ⁿ) · (1 + Jitter·u),  u uniform in [-1, 1)
func newBackoff(p scenario.Reconnect) Backoff {
	return func(attempt int, rng *rand.Rand) time.Duration {
		d := p.Initial
		for range attempt {
			if d >= p.Max {
				break
			}
			d *= 2
		}
		d = min(d, p.Max)
		if p.Jitter > 0 {
			d = time.Duration(float64(d) * (1 + p.Jitter*(2*rng.Float64()-1)))
		}
		return d
	}
}
