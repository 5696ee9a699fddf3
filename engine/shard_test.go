package engine

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/refbackend"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// TestShardedRun runs the two shards of one scenario at once against one
// external backend, as two processes would, aligned by StartAt: each
// writes its own result directory with the run id, its shard, the whole
// scenario and the run's seed; together they logged in every user once,
// with the unsharded run's ids.
func TestShardedRun(t *testing.T) {
	t.Parallel()
	srv, err := refbackend.Start(context.Background(), refbackend.Config{
		MQTTAddr: "127.0.0.1:0",
		HTTPAddr: "127.0.0.1:0",
		Apps:     map[string][]byte{"demo-app": []byte("demo-secret")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	sc, out := load(t, `version: 1
name: sharded
seed: 77
duration: 2s
target: { http: "`+srv.HTTPURL()+`", mqtt: "`+srv.MQTTURL()+`" }
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 7, connect_rate: 100/s }
behaviours: { login: [me] }
thresholds: { user.login: ["count >= 7"] }
`)
	startAt := time.Now().Add(1500 * time.Millisecond).Truncate(time.Second).Add(time.Second)
	var wg sync.WaitGroup
	results := make([]*Result, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			results[i], errs[i] = Run(ctx, sc, Options{Shard: &scenario.Shard{Index: i, Count: 2}, StartAt: startAt, Health: &unchecked})
		}()
	}
	wg.Wait()
	wantID := DeriveRunID(sc.Hash(), startAt)
	logins := int64(0)
	for i, res := range results {
		if errs[i] != nil || res == nil {
			t.Fatalf("shard %d: %v", i, errs[i])
		}
		if want := out + "-shard-" + string(rune('0'+i)) + "-of-2"; res.Dir != want {
			t.Errorf("shard %d wrote %s, want %s", i, res.Dir, want)
		}
		data, err := os.ReadFile(filepath.Join(res.Dir, report.SummaryJSONFile))
		if err != nil {
			t.Fatal(err)
		}
		var sum struct {
			Meta struct {
				RunID        string        `json:"run_id"`
				Shard        *report.Shard `json:"shard"`
				Seed         uint64        `json:"seed"`
				ScenarioHash string        `json:"scenario_hash"`
				Start        time.Time     `json:"start_utc"`
			} `json:"meta"`
			Scenario struct {
				Seed  uint64 `json:"seed"`
				Fleet struct {
					Users int `json:"users"`
				} `json:"fleet"`
			} `json:"scenario"`
			Metrics map[string]struct {
				Count int64 `json:"count"`
			} `json:"metrics"`
			Thresholds []struct {
				Rule   string `json:"rule"`
				Passed bool   `json:"passed"`
			} `json:"thresholds"`
		}
		if err := json.Unmarshal(data, &sum); err != nil {
			t.Fatal(err)
		}
		m := sum.Meta
		if m.RunID != wantID || m.Shard == nil || *m.Shard != (report.Shard{Index: i, Count: 2}) || m.Seed != 77 || m.ScenarioHash != sc.Hash() {
			t.Errorf("shard %d meta: %+v; want run id %s, shard %d/2, seed 77, the whole scenario's hash", i, m, wantID, i)
		}
		if sum.Scenario.Fleet.Users != 7 || sum.Scenario.Seed != 77 {
			t.Errorf("shard %d echoes %+v, want the whole scenario", i, sum.Scenario)
		}
		if d := res.Summary.Start.Sub(startAt); d < 0 || d > 500*time.Millisecond {
			t.Errorf("shard %d started %v after the start time", i, d)
		}
		n := sum.Metrics[scenario.UserLogin].Count
		if want := int64(4 - i); n != want {
			t.Errorf("shard %d logged in %d users, want %d", i, n, want)
		}
		logins += n
		if len(sum.Thresholds) != 1 || !sum.Thresholds[0].Passed {
			t.Errorf("shard %d verdicts %+v, want the scaled count rule passed", i, sum.Thresholds)
		}
	}
	if got := srv.Stats().MQTT.ConnectsAccepted; got != 7 || logins != 7 {
		t.Errorf("the backend accepted %d connects and the shards logged in %d users, want 7", got, logins)
	}
}

// TestShardedRunRefusals checks what a shard refuses before any traffic.
func TestShardedRunRefusals(t *testing.T) {
	t.Parallel()
	embedded, _ := load(t, header+"name: e\nduration: 1s\n")
	external, _ := load(t, strings.Replace(header, "fleet:", "target: { http: \"http://127.0.0.1:1\", mqtt: \"tcp://127.0.0.1:1\" }\nfleet:", 1)+"name: x\nduration: 1s\n")
	soon := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		name string
		sc   *scenario.Scenario
		opts Options
		want string
	}{
		{"embedded", embedded, Options{Shard: &scenario.Shard{Index: 0, Count: 2}, RunID: "r"}, "needs an external target"},
		{"no run id", external, Options{Shard: &scenario.Shard{Index: 0, Count: 2}}, "give --run-id, or --start-at"},
		{"bad run id", external, Options{Shard: &scenario.Shard{Index: 0, Count: 2}, RunID: "a b"}, `run id "a b"`},
		{"shard past count", external, Options{Shard: &scenario.Shard{Index: 2, Count: 2}, RunID: "r"}, "the index must be 0..1"},
		{"no users", external, Options{Shard: &scenario.Shard{Index: 20, Count: 21}, StartAt: soon}, "shard 20/21 has no users"},
		{"start in the past", external, Options{StartAt: time.Now().Add(-time.Minute), RunID: "r"}, "was 1m0s ago"},
	} {
		res, err := Run(context.Background(), tc.sc, tc.opts)
		if res != nil || outcome.Of(err) != outcome.BadInput || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v (%v), want bad input with %q", tc.name, err, outcome.Of(err), tc.want)
		}
	}
}

// TestStartAtWaitIsInterruptible checks that the wait for the start time
// ends with the context, as an interrupted run, before any traffic.
func TestStartAtWaitIsInterruptible(t *testing.T) {
	t.Parallel()
	sc, _ := load(t, header+"name: wait\nduration: 1s\n")
	ctx, cancel := context.WithCancel(context.Background())
	began := time.Now()
	res, err := Run(ctx, sc, Options{StartAt: time.Now().Add(time.Hour), Waiting: func(time.Time) { cancel() }})
	if res != nil || outcome.Of(err) != outcome.Interrupted {
		t.Fatalf("Run = %v, %v; want an interrupted run without results", res, err)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("took %v", took)
	}
}
