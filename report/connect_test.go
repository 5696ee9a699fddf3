package report

import (
	"testing"

	"github.com/eixamsim/eixamsim/scenario"
)

func TestConnectOfTheMainRamp(t *testing.T) {
	online := func(ts []float64, vs []int64) []Point {
		var out []Point
		for i := range ts {
			out = append(out, Point{T: ts[i], Seconds: 1, Values: map[string]int64{scenario.UsersOnline: vs[i]}})
		}
		return out
	}
	stages := []Stage{
		{Name: "warm", Users: 10, From: 0, To: 3},
		{Name: "ramp", Users: 100, From: 3, To: 20},
		{Name: "steady", Users: 100, From: 20, To: 30},
	}
	tests := []struct {
		name   string
		series []Point
		want   *Connect
	}{
		{"reached", online([]float64{1, 2, 3, 4, 5, 6, 7, 8}, []int64{10, 10, 10, 40, 70, 100, 100, 100}),
			&Connect{Stage: "ramp", AskedPerS: 50, ReachedPerS: 30, FromUsers: 10, ToUsers: 100, TargetUsers: 100, Seconds: 3, Reached: true}},
		{"never reached", online([]float64{3, 10, 20, 21}, []int64{10, 40, 50, 50}),
			&Connect{Stage: "ramp", AskedPerS: 50, ReachedPerS: 40.0 / 17, FromUsers: 10, ToUsers: 50, TargetUsers: 100, Seconds: 17}},
		{"crossed within an interval", online([]float64{3, 4, 5, 6, 7}, []int64{10, 25, 50, 75, 125}),
			&Connect{Stage: "ramp", AskedPerS: 50, ReachedPerS: 90 / 3.5, FromUsers: 10, ToUsers: 100, TargetUsers: 100, Seconds: 3.5, Reached: true}},
		{"under the series' resolution", online([]float64{3, 4, 5}, []int64{10, 60, 100}), nil},
		{"no sample in the stage", online([]float64{1, 2}, []int64{5, 10}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ConnectOf(stages, tt.series, 50)
			if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
				t.Errorf("ConnectOf = %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if got := ConnectOf([]Stage{{Name: "down", Users: 0, To: 5}}, online([]float64{1}, []int64{0}), 50); got != nil {
		t.Errorf("no stage raised the target, got %+v", got)
	}
}

// TestConnectInTheFacts: report.html's headline facts say the connect
// rate reached against asked when the summary has one.
func TestConnectInTheFacts(t *testing.T) {
	s := &Summary{Connect: &Connect{Stage: "ramp-up", AskedPerS: 5000, ReachedPerS: 2915, ToUsers: 100000, Seconds: 34.3, Reached: true}}
	for _, p := range facts(s) {
		if p.Key == "Connect rate" {
			if want := "2915/s of 5000/s asked (100000 users in 34.3s, ramp-up)"; p.Value != want {
				t.Errorf("connect rate fact %q, want %q", p.Value, want)
			}
			return
		}
	}
	t.Errorf("no connect rate among the facts %+v", facts(s))
}
