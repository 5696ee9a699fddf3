package fleet_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
)

// TestIdleUsersCostNoGoroutineOfOurs brings 200 users online with nothing
// to do and counts, mid-run, the goroutines that have a frame of package
// fleet on their stack. Timers are runtime timers and paho's goroutines are
// paho's, so the count must not grow with the users: only the stage
// controller and the run itself remain.
func TestIdleUsersCostNoGoroutineOfOurs(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const users = 200
	srv := startBackend(t, "demo-secret", -1)
	defer srv.Close()
	sc := parse(t, `
version: 1
name: idle
duration: 4s
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 200, connect_rate: 2000/s }
behaviours: { telemetry: { every: 1h } }
`)
	reg := metrics.NewRegistry()
	r, err := fleet.New(fleet.Config{Scenario: sc, HTTPURL: srv.HTTPURL(), MQTTURL: srv.MQTTURL(), Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	// The run lasts 4 s at most; it is stopped once the count is taken.
	stop := startRun(t, r)
	defer stop()
	waitOnline(t, reg, users, 3*time.Second)
	// The last logins' goroutines end just after their users are counted
	// online: wait for the count to settle (bounded), not for a while.
	ours, total := fleetGoroutines()
	for deadline := time.Now().Add(10 * time.Second); ours > 5 && time.Now().Before(deadline); ours, total = fleetGoroutines() {
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("%d users online: %d goroutines in the process, %d with a fleet frame", users, total, ours)
	if ours > 5 {
		t.Errorf("%d goroutines run fleet code with %d idle users; want a handful regardless of users", ours, users)
	}
}

// fleetGoroutines counts the goroutines whose stack has a non-test frame of
// package fleet.
func fleetGoroutines() (ours, total int) {
	buf := make([]byte, 64<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		total++
		for _, line := range strings.Split(g, "\n") {
			if strings.HasPrefix(line, "github.com/eixamsim/eixamsim/fleet.") && !strings.Contains(line, "_test.") && !strings.Contains(line, "fleet_test.") {
				ours++
				break
			}
		}
	}
	return ours, total
}
