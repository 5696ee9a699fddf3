package scenario

import (
	"strings"
	"testing"
	"time"
)

// TestBounds checks the limits of one process (issue 11): each refused
// with its bound in one clear message, and each accepted at the bound.
func TestBounds(t *testing.T) {
	noDuration := strings.Replace(base, "duration: 10s\n", "", 1)
	tests := []struct {
		name string
		yaml string
		opts Options
		want string // "" = valid
	}{
		{"rate above the ceiling", base + "behaviours: { contacts: { rate: 5000000/s } }\n", Options{},
			`/s/t.yaml:6:33: behaviours.contacts.rate: 5000000/s is more than one process can schedule (at most 20000/s in all open-model behaviours); split the load with --procs or shards`},
		{"rate at the ceiling", base + "behaviours: { contacts: { rate: 20000/s } }\n", Options{}, ""},
		{"rates adding up", base + "behaviours: { contacts: { rate: 15000/s }, telemetry: { rate: 10000/s } }\n", Options{},
			`/s/t.yaml:6:13: behaviours: the open-model behaviours add up to 25000/s during stage stage-0 (telemetry 10000/s, contacts 15000/s), more than one process can schedule (at most 20000/s in all); split the load with --procs or shards`},
		{"a stage's rates adding up", noDuration + "stages: [{ for: 1s, rates: { sos: 1/s } }, { for: 1s, rates: { sos: 19000/s } }]\nbehaviours: { contacts: { rate: 1001/s }, sos: { rate: 1/s } }\n", Options{},
			`/s/t.yaml:5:62: stages[1].rates: the open-model behaviours add up to 20001/s during stage stage-1 (sos 19000/s, contacts 1001/s), more than one process can schedule (at most 20000/s in all); split the load with --procs or shards`},
		{"rates adding up while paused", noDuration + "stages: [{ for: 1s }, { for: 1s, users: 0, rates: { sos: 20000/s } }]\nbehaviours: { contacts: { rate: 10/s }, sos: { rate: 1/s } }\n", Options{}, ""},
		{"a set rate", base, Options{Set: []string{"behaviours.sos.rate=1e9/s"}},
			`--set behaviours.sos.rate=1e9/s: 1000000000/s is more than one process can schedule (at most 20000/s in all open-model behaviours); split the load with --procs or shards`},
		{"telemetry period below the floor", base + "behaviours: { telemetry: { every: 1ns } }\n", Options{},
			`/s/t.yaml:6:35: behaviours.telemetry.every: must be at least 10ms (each online user publishes this often; shorter periods only flood this process), got 1ns`},
		{"telemetry period at the floor", base + "behaviours: { telemetry: { every: 10ms } }\n", Options{}, ""},
		{"stages overflowing", noDuration + "stages: [{ for: 2000000h }, { for: 2000000h }]\n", Options{},
			`/s/t.yaml:5:9: stages: the stages last more than 292 years in all, more than the longest run eixamsim accepts (8784h, a year)`},
		{"a run longer than a year", noDuration + "stages: [{ for: 8000h }, { for: 785h }]\n", Options{},
			`/s/t.yaml:5:9: stages: the stages last 8785h in all, more than the longest run eixamsim accepts (8784h, a year)`},
		{"a run of a year", noDuration + "stages: [{ for: 8000h }, { for: 784h }]\n", Options{}, ""},
		{"a duration longer than a year", strings.Replace(base, "10s", "9000h", 1), Options{},
			`/s/t.yaml:3:11: duration: the stages last 9000h in all, more than the longest run eixamsim accepts (8784h, a year)`},
		{"--duration cutting huge stages", noDuration + "stages: [{ for: 2000000h }, { for: 2000000h }, { for: 1s }]\n", Options{DurationText: ptr("2000000h")},
			`/s/t.yaml:5:9: stages: the stages last 2000000h in all, more than the longest run eixamsim accepts (8784h, a year)`},
		{"--duration overflowing", base, Options{DurationText: ptr("3000000h")},
			`--duration 3000000h: must be a duration like 500ms, 30s or 1h30m, got "3000000h" (too long: at most 2562047h (292 years))`},
		{"negative users, one message", strings.Replace(base, "users: 10", "users: -5", 1), Options{},
			`/s/t.yaml:5:17: fleet.users: must be >= 1, got -5`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := testParse(tc.yaml, tc.opts)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("want valid, got:\n%v", err)
			case tc.want != "" && err == nil:
				t.Errorf("valid (%s), want:\n%s", s.Duration(), tc.want)
			case tc.want != "" && err.Error() != tc.want:
				t.Errorf("got:\n%v\nwant:\n%s", err, tc.want)
			}
		})
	}
	if d := (&Scenario{Stages: []Stage{{For: 1 << 62}, {For: 1 << 62}, {For: 1 << 62}}}).Duration(); d <= 0 || d < time.Duration(1<<62) {
		t.Errorf("Duration() of huge stages = %v, want the largest duration", d)
	}
}

func ptr[T any](v T) *T { return &v }
