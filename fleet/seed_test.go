package fleet

import (
	"slices"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// seededRun is what a runner drew from its seed before anything ran: each
// stream's arrival offsets, each user's position and the first draws of
// its source (tick phases, jitter, backoff), and the first user picks and
// choices of each stream.
type seededRun struct {
	offsets   [][]time.Duration
	positions [][2]float64
	userDraws []uint64
	picks     []int
}

func drawRun(t *testing.T, seed uint64) (seededRun, uint64) {
	t.Helper()
	sc, err := scenario.Parse("seed.yaml", []byte(`
version: 1
name: seed
duration: 20s
identity: { app_id: a, app_secret: s }
fleet: { users: 5 }
behaviours:
  telemetry: { rate: 7/s, arrivals: poisson, position: { around: [41.4, 2.2], radius_km: 5 } }
  sos: { rate: 2/s, arrivals: poisson, hold: 1s..9s }
  contacts: { rate: 3/s, arrivals: poisson }
`), scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sc.Seed = seed
	rn, err := New(Config{Scenario: sc, HTTPURL: "http://127.0.0.1:1", MQTTURL: "tcp://127.0.0.1:1", Metrics: metrics.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	r := rn.r
	var out seededRun
	for _, b := range r.arrivals {
		out.offsets = append(out.offsets, offsets(newSchedule(newRateCurve(sc, b.name), b.when().process, newRand(r.seed, domainSchedule, b.row))))
		rng := newRand(r.seed, domainStream, b.row)
		for range 5 {
			out.picks = append(out.picks, rng.IntN(1000))
		}
	}
	for _, u := range r.users {
		out.positions = append(out.positions, [2]float64{u.dev.lat, u.dev.lon})
		out.userDraws = append(out.userDraws, u.rng.Uint64())
	}
	return out, rn.Seed()
}

// TestSeedMakesRunsReproducible builds two runners from one seed: their
// arrival schedules, positions and random sources are identical; another
// seed changes every one of them.
func TestSeedMakesRunsReproducible(t *testing.T) {
	a, seedA := drawRun(t, 7)
	b, _ := drawRun(t, 7)
	c, _ := drawRun(t, 8)
	if seedA != 7 {
		t.Errorf("Seed() = %d, want the scenario's 7", seedA)
	}
	if len(a.offsets) != 3 || len(a.offsets[0]) < 100 {
		t.Fatalf("schedules %d, first has %d arrivals; want 3 streams, ~140 telemetry arrivals", len(a.offsets), len(a.offsets[0]))
	}
	for i := range a.offsets {
		if !slices.Equal(a.offsets[i], b.offsets[i]) {
			t.Errorf("stream %d: the same seed gave different schedules", i)
		}
		if slices.Equal(a.offsets[i], c.offsets[i]) {
			t.Errorf("stream %d: seeds 7 and 8 gave the same schedule", i)
		}
	}
	if slices.Equal(a.offsets[0], a.offsets[1][:min(len(a.offsets[0]), len(a.offsets[1]))]) {
		t.Error("two streams of one run share a schedule")
	}
	for name, eq := range map[string][2]bool{
		"positions":  {slices.Equal(a.positions, b.positions), slices.Equal(a.positions, c.positions)},
		"user draws": {slices.Equal(a.userDraws, b.userDraws), slices.Equal(a.userDraws, c.userDraws)},
		"picks":      {slices.Equal(a.picks, b.picks), slices.Equal(a.picks, c.picks)},
	} {
		if !eq[0] {
			t.Errorf("%s differ with the same seed", name)
		}
		if eq[1] {
			t.Errorf("%s are the same with another seed", name)
		}
	}
	if a.positions[0] == a.positions[1] {
		t.Error("two users share a position")
	}
}

// TestRunPicksASeedWhenNoneIsGiven checks that a scenario without a seed
// still runs from one, reported so the run can be repeated.
func TestRunPicksASeedWhenNoneIsGiven(t *testing.T) {
	_, seed := drawRun(t, 0)
	if seed == 0 || seed > scenario.MaxSeed {
		t.Errorf("Seed() = %d, want 1..MaxSeed", seed)
	}
}
