package engine

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eixamsim/eixamsim/internal/testnet"
	"github.com/eixamsim/eixamsim/scenario"
)

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// listeningOn reports whether this process listens on addr.
func listeningOn(t *testing.T, addr string) bool {
	t.Helper()
	ok, err := testnet.ListeningOn(addr)
	if err != nil {
		t.Skipf("cannot list this process's sockets: %v", err)
	}
	return ok
}

// TestRunTwiceLeavesNothingBehind runs two short embedded runs back to
// back in this process, as a capacity search would, and checks that they
// leave no goroutine, no listening port and no open file behind.
func TestRunTwiceLeavesNothingBehind(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two scenarios")
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	baseline := openFDs(t)
	var addrs []string
	for i := range 2 {
		sc, _ := load(t, `version: 1
name: twice
identity: { app_id: twice, app_secret: twice-secret }
fleet: { users: 10, connect_rate: 200/s }
duration: 2s
behaviours:
  login: [me, sos_rehydrate]
  telemetry: { every: 500ms }
  sos: { rate: 120/min, hold: 300ms }
  contacts: { rate: 5/s }
`)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		res, err := Run(ctx, sc, Options{
			Health:   &unchecked, // a 2 s run: too short to judge the simulator
			Progress: &recorder{},
			Started: func(l Live) error {
				for _, raw := range []string{l.Target.HTTP, l.Target.MQTT} {
					u, err := url.Parse(raw)
					if err != nil {
						return err
					}
					addrs = append(addrs, u.Host)
					if !listeningOn(t, u.Host) {
						t.Errorf("the embedded backend's %s is not among this process's listeners", u.Host)
					}
				}
				return nil
			},
		})
		cancel()
		if err != nil || res.Summary.Metrics[scenario.UserLogin].Count != 10 {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}
	if len(addrs) != 4 {
		t.Fatalf("listeners seen: %v", addrs)
	}
	// This process's own sockets, not a dial: the port may already be
	// another process's.
	for _, addr := range addrs {
		if listeningOn(t, addr) {
			t.Errorf("%s is still listening after the run", addr)
		}
	}
	// Descriptors close as the runs' goroutines end; a loaded machine may
	// take a while, so the bound is generous.
	deadline := time.Now().Add(30 * time.Second)
	for openFDs(t) > baseline && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := openFDs(t); n > baseline {
		t.Errorf("%d open files after two runs, %d before", n, baseline)
	}
}
