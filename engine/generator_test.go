package engine

import (
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/health"
	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// TestTickerCountsLateArrivalsApart: of the arrivals due each second,
// those dropped late reach the health monitor and make the run
// generator-bound; those dropped for want of an idle user do not (the
// scenario's limit: generatorNotes says so).
func TestTickerCountsLateArrivalsApart(t *testing.T) {
	for _, tc := range []struct {
		name       string
		late, idle int64 // dropped per second, of 1000 due
		bound      bool
	}{
		{"every user busy", 0, 900, false},
		{"the simulator late", 900, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			lim := onlyLimits(func(l *health.Limits) { l.LateShare, l.MinAttempts = 0.01, 100 })
			tk, reg := newTestTicker(t, start, start.Add(time.Hour), lim)
			for i := range 3 {
				reg.Counter(scenario.ArrivalsScheduled).Add(1000)
				if tc.late > 0 {
					reg.Counter(scenario.ArrivalsDroppedLate).Add(tc.late)
				}
				if tc.idle > 0 {
					reg.Counter(scenario.ArrivalsDroppedNoIdleUser).Add(tc.idle)
				}
				tk.tick(start.Add(time.Duration(i+1)*time.Second), false)
			}
			rep := tk.mon.Report()
			if rep.LateArrivals.Arrivals != 3000 || rep.LateArrivals.Dropped != 3*tc.late {
				t.Errorf("late arrivals %+v, want %d of 3000", rep.LateArrivals, 3*tc.late)
			}
			if got := rep.State == health.GeneratorBound; got != tc.bound {
				t.Errorf("generator-bound %v, want %v: %s", got, tc.bound, rep.Verdict)
			}
		})
	}
}

// TestTickerSamplesTheIntervalTheStagesEndIn: the tick that first finds
// the last stage over still closes an interval of load when the stage
// ended late in it (the ticker started a hair before the fleet, or after
// it), so a 3 s run has 3 s of samples; when the stage ended early in it,
// that interval is the teardown's.
func TestTickerSamplesTheIntervalTheStagesEndIn(t *testing.T) {
	for _, tc := range []struct {
		name    string
		end     time.Duration
		last    time.Duration // the final tick, after the fleet returned; 0: none
		sampled float64
	}{
		{"ended a millisecond before the tick", 2999 * time.Millisecond, 0, 3},
		{"ended early in the interval", 2200 * time.Millisecond, 0, 2},
		// The fleet returned before the ticker's third tick: the final
		// tick closes the interval.
		{"ended before the final tick", 3 * time.Second, 3020 * time.Millisecond, 3.02},
		// A long teardown: the final tick's interval is mostly that.
		{"long teardown", 3 * time.Second, 9 * time.Second, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			tk, _ := newTestTicker(t, start, start.Add(tc.end), health.Limits{})
			n := 5
			if tc.last > 0 {
				n = 2
			}
			for i := range n {
				tk.tick(start.Add(time.Duration(i+1)*time.Second), false)
			}
			if tc.last > 0 {
				tk.tick(start.Add(tc.last), true)
			}
			if got := tk.mon.Report().SampledS; got != tc.sampled {
				t.Errorf("sampled %vs, want %vs", got, tc.sampled)
			}
		})
	}
}

// TestLiveWarningAgreesWithTheVerdict: schedule.lag over its limit for
// 3 s gives the live warning; the lag then falls back, the limit is not
// exceeded for 5 s, and the final note says the verdict overruled the
// warning instead of repeating it next to "generator: healthy".
func TestLiveWarningAgreesWithTheVerdict(t *testing.T) {
	start := time.Now()
	lim := onlyLimits(func(l *health.Limits) {
		l.ScheduleLagP99, l.Sustain, l.LiveAfter = 100*time.Millisecond, 5*time.Second, 3*time.Second
	})
	tk, reg := newTestTicker(t, start, start.Add(time.Hour), lim)
	var warned warnings
	tk.warn = warned.add
	lag := reg.Latency(scenario.ScheduleLag)
	for i := range 10 {
		d := time.Millisecond
		if i < 3 {
			d = time.Second // a reconnect storm
		}
		for range 100 {
			lag.Record(d)
		}
		tk.tick(start.Add(time.Duration(i+1)*time.Second), false)
	}
	if w := warned.list(); len(w) != 1 || w[0] != tk.live || !strings.Contains(w[0], "bottleneck") {
		t.Fatalf("warnings %q (live %q): want one, the bottleneck", w, tk.live)
	}
	rep := tk.mon.Report()
	if rep.State != health.Healthy {
		t.Fatalf("verdict %s, want healthy", rep.Verdict)
	}
	notes := generatorNotes(&report.Summary{Generator: &rep}, tk.live, lim)
	if len(notes) != 1 || !strings.Contains(notes[0], "overruled by the final verdict") || !strings.Contains(notes[0], "healthy") {
		t.Errorf("notes %q: want the warning, overruled", notes)
	}
}

func TestGeneratorNotes(t *testing.T) {
	lim := health.DefaultLimits()
	live := "the simulator is the bottleneck, not the target: process CPU at or over 90% for 3s from 6s (peak 99%)"
	of := func(s health.State) *report.Summary {
		return &report.Summary{Generator: &health.Report{Verdict: health.Verdict{State: s}}}
	}
	for _, tc := range []struct {
		name string
		sum  *report.Summary
		live string
		want []string // in the notes, in order
	}{
		{"no warning", of(health.Healthy), "", nil},
		{"confirmed", of(health.GeneratorBound), live, []string{live}},
		{"overruled", of(health.Healthy), live, []string{"was overruled by the final verdict: no limit stayed exceeded for 5s, so the generator was healthy"}},
		{"not confirmed", of(health.NotJudged), live, []string{"was not confirmed: the run was too short to judge"}},
		{"every user busy", &report.Summary{
			Generator: &health.Report{Verdict: health.Verdict{State: health.Healthy}},
			Counters:  map[string]int64{scenario.ArrivalsScheduled: 200, scenario.ArrivalsDroppedNoIdleUser: 150},
			Metrics:   map[string]report.Metric{scenario.SOSPuback: {ErrorsBy: map[string]int64{scenario.DropNoIdleUser: 150}}},
		}, "", []string{"150 of 200 (75.0%) open-model arrivals were dropped because every online user was busy (arrivals.dropped.no_idle_user) (sos.puback 150): the rate needs more users"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := generatorNotes(tc.sum, tc.live, lim)
			if len(got) != len(tc.want) {
				t.Fatalf("notes %q, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("note %q lacks %q", got[i], w)
				}
			}
		})
	}
}

// TestShortRunIsNotJudged: a 3 s run cannot show a limit exceeded for
// 5 s after the 5 s warm-up. Its generator is not judged, not healthy;
// the rule that held is skipped, the headline says NOT JUDGED and the
// outcome is NotJudged (exit 5), never a pass.
func TestShortRunIsNotJudged(t *testing.T) {
	t.Parallel()
	sc, _ := load(t, header+`name: short
duration: 3s
thresholds:
  user.login: ["count >= 20"]
`)
	res, err := Run(context.Background(), sc, Options{})
	if outcome.Of(err) != outcome.NotJudged || res == nil {
		t.Fatalf("outcome %v: %v", outcome.Of(err), err)
	}
	if !strings.Contains(err.Error(), "too short to judge the simulator's health") || !strings.Contains(err.Error(), "1 of 1 thresholds held, not judged") {
		t.Errorf("error: %v", err)
	}
	g := res.Summary.Generator
	if g == nil || g.State != health.NotJudged || len(g.Reasons) != 1 || g.Reasons[0].Signal != health.SignalDuration {
		t.Fatalf("generator %+v", g)
	}
	if word, _ := report.Headline(res.Summary); word != "NOT JUDGED" {
		t.Errorf("headline %s", word)
	}
	text, err := os.ReadFile(filepath.Join(res.Dir, report.SummaryTextFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"NOT JUDGED: the run was too short", "generator: not judged: ", "SKIP  user.login: count >= 20"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("summary.txt lacks %q:\n%s", want, text)
		}
	}
	raw, err := os.ReadFile(filepath.Join(res.Dir, report.JUnitFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Skipped int `xml:"skipped,attr"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil || doc.Skipped != 1 || !strings.Contains(string(raw), `value="not_judged"`) {
		t.Errorf("junit.xml: %d skipped (%v):\n%s", doc.Skipped, err, raw)
	}
}

// TestSlowSaturatedRampIsGeneratorBound: users asked at 200/s come
// online at about 5/s (every login waits 3 s for the backend) while the
// process counts as saturated (a CPU limit any CPU reaches): the ramp,
// inside the warm-up, makes the run generator-bound however short it is.
// Without the connect check the same run is not judged.
func TestSlowSaturatedRampIsGeneratorBound(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		connect float64
		want    outcome.Outcome
	}{
		{"judged", 0.5, outcome.GeneratorBound},
		{"not checked", 0, outcome.NotJudged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sc, _ := load(t, header+`name: slow-ramp
target: { embedded: { http_latency: 3s } }
stages:
  - { name: up, for: 6s, users: 20 }
`)
			lim := health.DefaultLimits()
			lim.CPU, lim.ConnectShare = 1e-9, tc.connect
			res, err := Run(context.Background(), sc, Options{Health: &lim})
			if outcome.Of(err) != tc.want || res == nil {
				t.Fatalf("outcome %v, want %v: %v", outcome.Of(err), tc.want, err)
			}
			c, g := res.Summary.Connect, res.Summary.Generator
			if c == nil || c.ReachedPerS > 10 || c.AskedPerS != 200 {
				t.Fatalf("connect %+v: want 200/s asked, at most 10/s reached", c)
			}
			var sig []health.Signal
			for _, r := range g.Reasons {
				sig = append(sig, r.Signal)
			}
			if tc.connect > 0 && (!slices.Equal(sig, []health.Signal{health.SignalConnect}) || g.Connect == nil || g.Connect.SaturatedS < g.Connect.Seconds/2) {
				t.Errorf("generator %s, connect %+v: want generator-bound by the ramp alone", g.Verdict, g.Connect)
			}
		})
	}
}

// TestBusyUsersAreNotLateArrivals: 3 users and SOS alerts at 20/s held
// 2 s each: most arrivals find every user busy. They are the scenario's
// limit, in a note with the hint, and not among the late arrivals the
// generator verdict counts.
func TestBusyUsersAreNotLateArrivals(t *testing.T) {
	t.Parallel()
	sc, _ := load(t, `version: 1
identity: { app_id: e2e, app_secret: e2e-secret }
fleet: { users: 3, connect_rate: 100/s }
name: busy
duration: 3s
behaviours:
  login: [me]
  sos: { rate: 20/s, hold: 2s }
`)
	lim := onlyLimits(func(l *health.Limits) { l.LateShare, l.DecisiveLateShare, l.MinAttempts = 0.01, 0.1, 1 })
	res, err := Run(context.Background(), sc, Options{Health: &lim})
	if res == nil {
		t.Fatalf("run: %v", err)
	}
	s := res.Summary
	idle, late := s.Counters[scenario.ArrivalsDroppedNoIdleUser], s.Counters[scenario.ArrivalsDroppedLate]
	if idle < 10 {
		t.Fatalf("%d arrivals dropped for want of an idle user, want most of ~60 (%v)", idle, s.Counters)
	}
	g := s.Generator
	if g.LateArrivals.Arrivals != s.Counters[scenario.ArrivalsScheduled] || g.LateArrivals.Dropped != late {
		t.Errorf("generator late arrivals %+v with %d late and %d busy drops: want only the late ones, of the run's arrivals", g.LateArrivals, late, idle)
	}
	if late == 0 && outcome.Of(err) != outcome.Passed {
		t.Errorf("outcome %v with no late arrival: %v", outcome.Of(err), err)
	}
	found := false
	for _, n := range s.Notes {
		found = found || strings.Contains(n, "every online user was busy") && strings.Contains(n, "the rate needs more users") && strings.Contains(n, scenario.SOSPuback)
	}
	if !found {
		t.Errorf("notes %q lack the busy users, with the hint", s.Notes)
	}
}

// TestWholeRunGivesTheMonitorTheRun: the engine hands the health monitor
// the run's arrival totals (a simulator far behind drops most of its late
// arrivals in the teardown, after the last sample: the 8 s run
// sampled 8,920 late of 37,505 but dropped 131,320 of 159,904) and its
// connect ramp, on the monitor's clock.
func TestWholeRunGivesTheMonitorTheRun(t *testing.T) {
	lim := onlyLimits(func(l *health.Limits) {
		l.Warmup, l.Sustain, l.MinAttempts, l.DecisiveLateShare, l.ConnectShare = 5*time.Second, 5*time.Second, 100, 0.1, 0.5
	})
	start := time.Now()
	mon := health.NewMonitor(lim, start)
	for sec := 1; sec <= 5; sec++ {
		mon.Sample(start.Add(time.Duration(sec)*time.Second), health.Input{Arrivals: 7501, Late: 400})
	}
	sum := &report.Summary{
		Counters: map[string]int64{scenario.ArrivalsScheduled: 159904, scenario.ArrivalsDroppedLate: 131320},
		Stages:   []report.Stage{{Name: "warm", From: 0, To: 2}, {Name: "up", From: 2, To: 8}},
		Connect:  &report.Connect{Stage: "up", AskedPerS: 100, ReachedPerS: 99, Seconds: 1},
	}
	wholeRun(mon, sum)
	rep := mon.Report()
	if rep.State != health.GeneratorBound || rep.LateArrivals.Dropped != 131320 || rep.LateArrivals.Arrivals != 159904 {
		t.Errorf("verdict %s, late arrivals %+v: want generator-bound on the run's totals", rep.Verdict, rep.LateArrivals)
	}
	if c := rep.Connect; c == nil || c.Seconds != 1 || c.ReachedPct != 99 {
		t.Errorf("connect %+v: want the 1 s ramp of stage up at 99%% of the rate asked", c)
	}
}
