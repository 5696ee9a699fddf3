package fleet

import (
	"math/rand/v2"
	"time"

	"github.com/eixamsim/eixamsim/scenario"
)

// Every random choice of a run comes from one run seed: each arrival
// stream and each user has its own PCG source, seeded by mixing the run
// seed with the stream's behaviour-table row or the user's index. The
// global source is never used, so one seed and one scenario give the same
// arrival times, jitter, positions, holds, mixes and user picks, and a
// stream's numbers do not depend on how many other streams or users draw
// at the same time.

// randDomain keeps the sources of different kinds of owner apart: user 2
// and the stream of table row 2 get unrelated sources.
type randDomain uint64

const (
	domainSchedule randDomain = iota + 1 // an arrival schedule (Poisson gaps), by table row
	domainStream                         // an arrival stream's choices (user picks, claims), by table row
	domainUser                           // a user (position, jitter, backoff, per-user ticks), by index
	domainEvent                          // an incident (who leaves, when each comes back), by its index in events
)

// newRand returns the random source of owner index in domain d for the
// run seed.
func newRand(seed uint64, d randDomain, index int) *rand.Rand {
	hi := splitmix64(seed ^ splitmix64(uint64(d)))
	lo := splitmix64(hi + splitmix64(uint64(index)+0x632be59bd9b4e019))
	return rand.New(rand.NewPCG(hi, lo))
}

// splitmix64 is the SplitMix64 finaliser: a bijection on uint64 that
// spreads every input bit over the output, so nearby seeds and indexes
// give unrelated PCG states.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// runSeed returns the scenario's seed, or — when it gives none (0) — one
// picked from now's clock in 1..scenario.MaxSeed, so the run can still be
// repeated with the seed it reports.
func runSeed(sc *scenario.Scenario, now time.Time) uint64 {
	if sc.Seed != 0 {
		return sc.Seed
	}
	return 1 + uint64(now.UnixNano())%uint64(scenario.MaxSeed)
}
