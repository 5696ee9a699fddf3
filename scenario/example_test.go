package scenario_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/eixamsim/eixamsim/scenario"
)

func ExampleParse() {
	yaml := `version: 1
name: example
duration: 1m
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 100 }
behaviours:
  sos: { rate: 60/min }
thresholds:
  sos.delivered: ["p(95) < 2s"]
`
	s, err := scenario.Parse("example.yaml", []byte(yaml), scenario.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	u, _ := s.Identity.Session(7)
	fmt.Println(s.Name, s.Duration(), s.Fleet.Users, s.Behaviours.SOS.Rate, s.Behaviours.SOS.End)
	fmt.Println(u.ExternalUserID, u.UserHash)
	fmt.Println(s.Thresholds.Metrics[0].Metric, s.Thresholds.Metrics[0].Rules[0])
	// Output:
	// example 1m0s 100 1/s cancel
	// eixamsim-7 [redacted]
	// sos.delivered p(95) < 2s
}

func ExampleParse_errors() {
	yaml := `version: 1
name: example
duration: 1m
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 100, conect_rate: 10/s }
stages: [{ for: 10s, users: 300 }]
thresholds:
  sos.deliverd: ["p(95) < 2s"]
`
	_, err := scenario.Parse("example.yaml", []byte(yaml), scenario.Options{})
	var list scenario.ErrorList
	if errors.As(err, &list) {
		fmt.Println(len(list), "problems:")
		fmt.Println(err)
	}
	// Output:
	// 4 problems:
	// example.yaml:3:11: duration: use either duration (one stage with fleet.users online) or stages, not both
	// example.yaml:5:22: fleet.conect_rate: unknown key (did you mean connect_rate?)
	// example.yaml:6:29: stages[0].users: must be <= fleet.users (100), got 300
	// example.yaml:8:3: thresholds.sos.deliverd: unknown metric (did you mean sos.delivered?)
}

func ExampleParseRate() {
	r, _ := scenario.ParseRate("120/min")
	fmt.Println(r.PerSecond, r.Interval(), r)
	// Output: 2 500ms 2/s
}

func ExampleRule_Pass() {
	r, _ := scenario.ParseRule(scenario.KindLatency, "p(99) < 250ms")
	observed := (180 * time.Millisecond).Seconds()
	fmt.Println(r.Pass(observed), r.FormatValue(observed))
	// Output: true 180ms
}
