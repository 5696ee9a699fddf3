package engine

import (
	"context"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/outcome"
)

// TestRunStoppedBeforeItsFirstSampleHasAPeak stops a run as soon as its
// 20 users are online, before the first one-second sample: its
// users_online peak is the 20 that were online when it stopped, not 0,
// and the report says so.
func TestRunStoppedBeforeItsFirstSampleHasAPeak(t *testing.T) {
	t.Parallel()
	sc, _ := load(t, `version: 1
identity: { app_id: e2e, app_secret: e2e-secret }
fleet: { users: 20, connect_rate: 2000/s }
behaviours: { login: [me] }
name: early
duration: 30s
`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stopped := make(chan struct{})
	res, err := Run(ctx, sc, Options{Dir: t.TempDir(), Started: func(l Live) error {
		go func() {
			defer close(stopped)
			for ctx.Err() == nil && l.Status().Online < 20 {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		return nil
	}})
	<-stopped
	if outcome.Of(err) != outcome.Interrupted || res == nil {
		t.Fatalf("Run = %v, %v; want an interrupted run with results", res, err)
	}
	if on := res.Summary.UsersOnline; on == nil || on.Peak != 20 {
		t.Errorf("users_online %+v, want a peak of 20: the users were online when the run stopped", on)
	}
}
