package fleet

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/scenario"
)

// wholeRun is a hand-built whole scenario with SOS arrivals at rate/s over
// a step and a linear ramp.
func wholeRun(rate float64, arrivals string) *scenario.Scenario {
	return &scenario.Scenario{
		Seed:  99,
		Fleet: scenario.Fleet{Users: 100, ConnectRate: scenario.Rate{PerSecond: 100}},
		Stages: []scenario.Stage{
			{Name: "a", Users: 100, For: 10 * time.Second},
			{Name: "b", Users: 100, For: 10 * time.Second, Ramp: scenario.RampLinear, Rates: map[string]scenario.Rate{"sos": {PerSecond: 2 * rate}}},
		},
		Behaviours: scenario.Behaviours{SOS: &scenario.SOS{Rate: scenario.Rate{PerSecond: rate}, Arrivals: arrivals}},
	}
}

// shardOffsets returns the arrivals of every shard of whole, merged in
// time order.
func shardOffsets(t *testing.T, whole *scenario.Scenario, n int) []time.Duration {
	t.Helper()
	var all []time.Duration
	for i := range n {
		part, err := whole.Slice(scenario.Shard{Index: i, Count: n})
		if err != nil {
			t.Fatal(err)
		}
		s := newSchedule(newRateCurve(part, "sos"), part.Behaviours.SOS.Arrivals, newRand(part.Seed, domainSchedule, 2))
		s.shift(part.Shard)
		all = append(all, offsets(s)...)
	}
	slices.Sort(all)
	return all
}

// TestShardConstantArrivalsInterleave checks that the constant arrivals of
// N shards, each at 1/N of the rate and shifted by its phase, are the
// arrivals of the unsharded run, over a step and a linear ramp.
func TestShardConstantArrivalsInterleave(t *testing.T) {
	whole := wholeRun(30, scenario.ArrivalsConstant)
	want := offsets(newSchedule(newRateCurve(whole, "sos"), scenario.ArrivalsConstant, seeded(1)))
	for _, n := range []int{2, 3, 7} {
		got := shardOffsets(t, whole, n)
		// A shard's arrival that falls on the run's very end (its expected
		// count equals the curve's area but for rounding) is not a
		// difference in the schedule.
		if end := whole.Duration(); len(got) > 0 && end-got[len(got)-1] < time.Microsecond {
			got = got[:len(got)-1]
		}
		if len(got) != len(want) {
			t.Errorf("%d shards: %d arrivals, want %d", n, len(got), len(want))
			continue
		}
		for k := range want {
			if absDur(got[k]-want[k]) > 10*time.Microsecond {
				t.Errorf("%d shards: arrival %d at %v, want %v", n, k, got[k], want[k])
				break
			}
		}
	}
}

// TestShardPoissonArrivalsUnion checks that the union of N shards'
// independent Poisson streams of rate λ/N is a Poisson stream of rate λ:
// the count is within 4 standard deviations of its mean, and in the
// first (flat) stage the gaps have mean 1/λ and a coefficient of
// variation near 1, as exponential gaps do (identical streams, which
// shards sharing a seed would give, have gaps of 0).
func TestShardPoissonArrivalsUnion(t *testing.T) {
	const rate = 200.0
	whole := wholeRun(rate, scenario.ArrivalsPoisson)
	mean := rate*10 + (rate+2*rate)/2*10 // the area under the curve
	for _, n := range []int{2, 5} {
		got := shardOffsets(t, whole, n)
		if d := math.Abs(float64(len(got)) - mean); d > 4*math.Sqrt(mean) {
			t.Errorf("%d shards: %d arrivals, want %.0f ± %.0f", n, len(got), mean, 4*math.Sqrt(mean))
		}
		var gaps []float64
		for k := 1; k < len(got) && got[k] < 10*time.Second; k++ {
			gaps = append(gaps, (got[k] - got[k-1]).Seconds())
		}
		var sum, sq float64
		for _, g := range gaps {
			sum += g
		}
		m := sum / float64(len(gaps))
		for _, g := range gaps {
			sq += (g - m) * (g - m)
		}
		cv := math.Sqrt(sq/float64(len(gaps))) / m
		if math.Abs(m*rate-1) > 0.1 || math.Abs(cv-1) > 0.1 {
			t.Errorf("%d shards: gaps mean %.4fs (want %.4fs), CV %.3f (want 1)", n, m, 1/rate, cv)
		}
	}
}
