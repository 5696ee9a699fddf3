package procs

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// loadUsers loads a scenario of users users with a 60 s stage.
func loadUsers(t *testing.T, users int, extra ...string) *scenario.Scenario {
	t.Helper()
	sets := append([]string{"fleet.users=" + strconv.Itoa(users)}, extra...)
	sc, err := scenario.Load("../bench/telemetry-5k.yaml", scenario.Options{Set: sets})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestAuto checks the worker count against the connection plan: the
// fewest processes whose largest slice fits the open-files limit, with
// each count's slice checked by fleet.NewPlan.
func TestAuto(t *testing.T) {
	t.Setenv("EIXAM_APP_SECRET", "x")
	for _, tc := range []struct {
		users, fds, want int
	}{
		{users: 100, fds: 20000, want: 1},
		{users: 17000, fds: 20000, want: 1},   // 17,000 + a 2,048 pool + 64 fits
		{users: 19000, fds: 20000, want: 2},   // 19,000 + 2,048 does not
		{users: 100000, fds: 20000, want: 6},  // 16,667 + 2,048 + 64 each
		{users: 100000, fds: 1024, want: 131}, // 764 users + a 191 pool + 64 each
	} {
		sc := loadUsers(t, tc.users)
		got, err := Auto(sc, tc.fds)
		if err != nil {
			t.Fatalf("%d users, %d fds: %v", tc.users, tc.fds, err)
		}
		if got != tc.want {
			t.Errorf("%d users, %d fds: Auto = %d, want %d", tc.users, tc.fds, got, tc.want)
		}
		part, err := external(sc).Slice(scenario.Shard{Index: 0, Count: got})
		if got > 1 && err != nil {
			t.Fatal(err)
		}
		if got > 1 {
			if need := fleet.NewPlan(part, false).FDs; need > tc.fds {
				t.Errorf("%d users: shard 0 of %d needs %d fds > %d", tc.users, got, need, tc.fds)
			}
			smaller, _ := external(sc).Slice(scenario.Shard{Index: 0, Count: got - 1})
			if smaller != nil && fleet.NewPlan(smaller, false).FDs <= tc.fds {
				t.Errorf("%d users: %d processes would fit too", tc.users, got-1)
			}
		}
	}
	if _, err := Auto(loadUsers(t, 100), 10); err == nil {
		t.Error("Auto with 10 fds: no error")
	}
}

// TestStatusRoundTrip writes two workers' intervals with StatusWriter,
// reads the lines back and combines them: users online and counts are
// summed, the kept histograms merged, the others not sent.
func TestStatusRoundTrip(t *testing.T) {
	now := time.Now()
	lv := newLive(2, now)
	for i, online := range []int64{3, 4} {
		var buf bytes.Buffer
		w := NewStatusWriter(&buf, []string{scenario.TelemetryPuback})
		h := hdr.New(1, 3_600_000_000, 3)
		for v := int64(1); v <= 100; v++ {
			_ = h.RecordValue(v * 1000 * int64(i+1))
		}
		_ = w.WriteInterval(scenario.TelemetryPuback, h)
		_ = w.WriteInterval(scenario.HTTPMe, h) // not kept
		w.Update(fleet.Status{Stage: "steady", Target: 5, Online: online},
			metrics.Point{T: 1, Seconds: 1, Values: map[string]int64{"x": 2},
				Latencies: map[string]metrics.IntervalStat{scenario.TelemetryPuback: {Count: 100, Errors: int64(i)}}})
		if n := strings.Count(buf.String(), "\n"); n != 1 {
			t.Fatalf("worker %d wrote %d lines, want 1", i, n)
		}
		readStatus(&buf, func(s Status) {
			if _, ok := s.Hists[scenario.HTTPMe]; ok {
				t.Error("a histogram that was not kept was sent")
			}
			lv.add(i, s)
		})
	}
	p := &recorder{hists: map[string]int64{}}
	lv.flush(now.Add(time.Second), p)
	if p.st.Online != 7 || p.st.Target != 10 || p.st.Stage != "steady" {
		t.Errorf("status %+v, want 7 online of 10 in steady", p.st)
	}
	if got := p.pt.Latencies[scenario.TelemetryPuback]; got.Count != 200 || got.Errors != 1 {
		t.Errorf("telemetry.puback %+v, want 200 and 1 error", got)
	}
	if p.pt.Values["x"] != 4 || p.pt.Seconds != 1 {
		t.Errorf("point %+v, want x=4 over 1 s", p.pt)
	}
	if got := p.hists[scenario.TelemetryPuback]; got != 200 {
		t.Errorf("merged histogram holds %d values, want 200", got)
	}
	lv.exited(1)
	p = &recorder{hists: map[string]int64{}}
	lv.flush(now.Add(2*time.Second), p)
	if p.st.Online != 3 {
		t.Errorf("after worker 1 exited: %d online, want 3", p.st.Online)
	}
}

type recorder struct {
	st    fleet.Status
	pt    metrics.Point
	hists map[string]int64
}

func (r *recorder) WriteInterval(m string, h *hdr.Histogram) error {
	r.hists[m] += h.TotalCount()
	return nil
}
func (r *recorder) Update(st fleet.Status, pt metrics.Point) { r.st, r.pt = st, pt }

// TestRetarget swaps the embedded target for the parent's backend and
// refuses a scenario that has an external one.
func TestRetarget(t *testing.T) {
	sc, err := scenario.Load("../scenarios/smoke.yaml", scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Retarget(sc, "http://127.0.0.1:1,tcp://127.0.0.1:2")
	if err != nil {
		t.Fatal(err)
	}
	if got.Target.Embedded != nil || got.Target.HTTP != "http://127.0.0.1:1" || got.Target.MQTT != "tcp://127.0.0.1:2" {
		t.Errorf("target %+v", got.Target)
	}
	if sc.Target.Embedded == nil {
		t.Error("Retarget changed its input")
	}
	if _, err := Retarget(got, "http://a,tcp://b"); err == nil {
		t.Error("an external target retargeted: no error")
	}
	if _, err := Retarget(sc, "nonsense"); err == nil {
		t.Error("a malformed target: no error")
	}
}
