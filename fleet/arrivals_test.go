package fleet

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/scenario"
)

// offsets returns every arrival offset of a schedule.
func offsets(s *schedule) []time.Duration {
	var out []time.Duration
	for {
		at, ok := s.next()
		if !ok {
			return out
		}
		out = append(out, at)
	}
}

func stages(st ...scenario.Stage) *scenario.Scenario {
	return &scenario.Scenario{
		Stages:     st,
		Behaviours: scenario.Behaviours{SOS: &scenario.SOS{Rate: scenario.Rate{PerSecond: 10}}},
	}
}

func TestScheduleConstant(t *testing.T) {
	// 10/s for 1 s: arrivals at 0, 100 ms, …, 900 ms — ten of them.
	got := offsets(newSchedule(newRateCurve(stages(scenario.Stage{Users: 1, For: time.Second}), "sos"), "constant", seeded(1)))
	if len(got) != 10 {
		t.Fatalf("got %d arrivals, want 10: %v", len(got), got)
	}
	for k, at := range got {
		if want := time.Duration(k) * 100 * time.Millisecond; absDur(at-want) > time.Microsecond {
			t.Errorf("arrival %d at %v, want %v", k, at, want)
		}
	}
}

func TestScheduleStagesAndRamps(t *testing.T) {
	rate := func(v float64) map[string]scenario.Rate { return map[string]scenario.Rate{"sos": {PerSecond: v}} }
	tests := []struct {
		name   string
		stages []scenario.Stage
		want   int // arrivals: the area under the rate curve
	}{
		// A step to 30/s in the second second: 10 + 30.
		{"step", []scenario.Stage{{Users: 1, For: time.Second}, {Users: 1, For: time.Second, Rates: rate(30)}}, 40},
		// A linear ramp from 10/s to 30/s over 2 s: average 20/s.
		{"linear up", []scenario.Stage{{Users: 1, For: time.Second}, {Users: 1, For: 2 * time.Second, Rates: rate(30), Ramp: scenario.RampLinear}}, 10 + 40},
		// A linear ramp down to zero over 2 s: average 5/s.
		{"linear down", []scenario.Stage{{Users: 1, For: time.Second}, {Users: 1, For: 2 * time.Second, Rates: rate(0), Ramp: scenario.RampLinear}}, 10 + 10},
		// A paused stage contributes nothing.
		{"pause", []scenario.Stage{{Users: 1, For: time.Second, Rates: rate(0)}, {Users: 1, For: time.Second}}, 10},
		// Neither does a stage with no users online (a ramp-down).
		{"no users", []scenario.Stage{{Users: 1, For: time.Second}, {For: time.Second, Users: 0}, {Users: 1, For: time.Second}}, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := offsets(newSchedule(newRateCurve(stages(tt.stages...), "sos"), "constant", seeded(1)))
			if math.Abs(float64(len(got)-tt.want)) > 1 {
				t.Fatalf("got %d arrivals, want %d±1", len(got), tt.want)
			}
			for i := 1; i < len(got); i++ {
				if got[i] < got[i-1] {
					t.Fatalf("arrivals out of order at %d: %v < %v", i, got[i], got[i-1])
				}
			}
		})
	}
}

func TestScheduleLinearRampSpacing(t *testing.T) {
	// On a ramp from 0 to 20/s over 2 s the gaps must shrink: arrivals are
	// denser at the end. Half of the 20 arrivals come in the last 0.59 s
	// (N(t) = 5t² reaches 10 at t = √2).
	st := []scenario.Stage{{Users: 1, For: 2 * time.Second, Rates: map[string]scenario.Rate{"sos": {PerSecond: 20}}, Ramp: scenario.RampLinear}}
	sc := stages(st...)
	sc.Behaviours.SOS.Rate.PerSecond = 0 // previous rate: the ramp starts from 0
	got := offsets(newSchedule(newRateCurve(sc, "sos"), "constant", seeded(1)))
	if len(got) < 19 || len(got) > 21 {
		t.Fatalf("got %d arrivals, want ~20", len(got))
	}
	if at := got[10]; absDur(at-1414*time.Millisecond) > 5*time.Millisecond {
		t.Errorf("arrival 10 at %v, want √2 s", at)
	}
}

func TestSchedulePoisson(t *testing.T) {
	// Poisson at 10/s for 100 s: about 1,000 arrivals (±5σ ≈ ±160), with
	// gaps whose mean is 100 ms and whose spread is that of an
	// exponential (coefficient of variation 1, unlike constant spacing).
	got := offsets(newSchedule(newRateCurve(stages(scenario.Stage{Users: 1, For: 100 * time.Second}), "sos"), scenario.ArrivalsPoisson, seeded(42)))
	if n := len(got); n < 840 || n > 1160 {
		t.Fatalf("got %d arrivals, want ~1000", n)
	}
	var sum, sumSq float64
	for i := 1; i < len(got); i++ {
		g := (got[i] - got[i-1]).Seconds()
		sum += g
		sumSq += g * g
	}
	n := float64(len(got) - 1)
	mean := sum / n
	cv := math.Sqrt(sumSq/n-mean*mean) / mean
	if cv < 0.8 || cv > 1.2 {
		t.Errorf("gap coefficient of variation %.2f, want ~1 for Poisson", cv)
	}
	// The same seed gives the same schedule.
	again := offsets(newSchedule(newRateCurve(stages(scenario.Stage{Users: 1, For: 100 * time.Second}), "sos"), scenario.ArrivalsPoisson, seeded(42)))
	if len(again) != len(got) || again[500] != got[500] {
		t.Error("a seeded Poisson schedule is not reproducible")
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// seeded returns the schedule source of table row 0 for a run seed.
func seeded(seed uint64) *rand.Rand { return newRand(seed, domainSchedule, 0) }

// TestRateCurveExpected: the arrivals due between two offsets are the
// curve's integral there, across a step and a linear ramp.
func TestRateCurveExpected(t *testing.T) {
	c := newRateCurve(stages(
		scenario.Stage{Users: 1, For: 10 * time.Second, Rates: map[string]scenario.Rate{"sos": {PerSecond: 2}}},
		scenario.Stage{Users: 1, For: 10 * time.Second, Rates: map[string]scenario.Rate{"sos": {PerSecond: 4}}, Ramp: scenario.RampLinear},
	), scenario.BehaviourSOS)
	for _, tt := range []struct {
		a, b time.Duration
		want float64
	}{
		{0, 10 * time.Second, 20},
		{5 * time.Second, 15 * time.Second, 10 + 12.5}, // 5 s at 2/s, then 2 → 3/s over 5 s
		{15 * time.Second, time.Minute, 17.5},          // 3 → 4/s over 5 s; nothing past the end
		{3 * time.Second, 3 * time.Second, 0},
	} {
		if got := c.expected(tt.a, tt.b); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("expected(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
	if n := rateCurve(nil).expected(0, time.Hour); n != 0 {
		t.Errorf("no curve: %v", n)
	}
}
