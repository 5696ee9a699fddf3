package capacity

import (
	"slices"
	"testing"

	"github.com/eixamsim/eixamsim/scenario"
)

// TestSearchSteps walks the search against a backend that holds every
// load up to a limit, and checks the loads it asks for.
func TestSearchSteps(t *testing.T) {
	users := scenario.Capacity{Dimension: scenario.DimensionUsers, Factor: 2, Resolution: 0.05}
	rate := scenario.Capacity{Dimension: "telemetry.rate", Factor: 2, Resolution: 0.05}
	tests := []struct {
		name  string
		cfg   Config
		start float64
		max   float64
		limit float64 // loads at or under it pass
		want  []float64
		pass  float64
		fail  float64
	}{
		{"climb then bisect", Config{Capacity: users}, 100, 1000, 300,
			[]float64{100, 200, 400, 300, 350, 325, 313}, 300, 313},
		{"the ceiling holds", Config{Capacity: users}, 100, 500, 10000,
			[]float64{100, 200, 400, 500}, 500, 0},
		{"a failed first step descends", Config{Capacity: users}, 100, 1000, 30,
			[]float64{100, 50, 25, 38, 32, 29, 31, 30}, 30, 31},
		{"fails at the floor", Config{Capacity: users}, 4, 100, 0,
			[]float64{4, 2, 1}, 0, 1},
		{"a rate to 3 significant digits", Config{Capacity: rate, Behaviour: "telemetry"}, 60, 400, 100,
			[]float64{60, 120, 90, 105, 97.5, 101}, 97.5, 101},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Start, tt.cfg.Max = tt.start, tt.max
			s := NewSearch(tt.cfg)
			var got []float64
			load, ok := s.First(), true
			for i := 0; ok && i < 50; i++ {
				got = append(got, load)
				load, ok = s.Next(load, load <= tt.limit)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("loads %v, want %v", got, tt.want)
			}
			if s.Pass != tt.pass || s.Fail != tt.fail {
				t.Errorf("pass %v fail %v, want %v and %v", s.Pass, s.Fail, tt.pass, tt.fail)
			}
		})
	}
}

// TestKnee checks the knee's definition on hand-made steps: the lowest
// load whose p99 is at least twice the p99 at the lowest load measured,
// inconclusive steps left out.
func TestKnee(t *testing.T) {
	st := func(load, p99 float64, verdict string) StepResult {
		return StepResult{Load: load, Verdict: verdict, Metrics: map[string]MetricStats{"m": {Count: 10, P99MS: p99}}}
	}
	tests := []struct {
		name  string
		steps []StepResult
		want  float64
	}{
		{"doubles at 300", []StepResult{st(100, 10, VerdictPass), st(400, 90, VerdictFail), st(200, 15, VerdictPass), st(300, 20, VerdictPass)}, 300},
		{"never doubles", []StepResult{st(100, 10, VerdictPass), st(200, 19, VerdictPass)}, 0},
		{"one step", []StepResult{st(100, 10, VerdictPass)}, 0},
		{"inconclusive left out", []StepResult{st(100, 10, VerdictPass), st(150, 50, VerdictInconclusive), st(200, 25, VerdictFail)}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := knee(tt.steps, "m"); got != tt.want {
				t.Errorf("knee %v, want %v", got, tt.want)
			}
		})
	}
}

// TestShortIsBeyondCountingNoise: a step falls short of offered load only
// when the shortfall is more than a short window's counting noise.
func TestShortIsBeyondCountingNoise(t *testing.T) {
	tests := []struct {
		achieved int64
		expected float64
		want     bool
	}{
		{18, 20, false},   // CI saw this: 20 users, 1 s period, 1 s hold
		{20, 20, false},   // all of it
		{300, 450, true},  // a backend at two thirds of the load
		{820, 1000, true}, // 82 % of a large count is real
		{895, 1000, false},
		{0, 20, true},
	}
	for _, tt := range tests {
		if got := short(tt.achieved, tt.expected); got != tt.want {
			t.Errorf("short(%d, %g) = %v, want %v", tt.achieved, tt.expected, got, tt.want)
		}
	}
}
