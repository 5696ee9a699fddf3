package capacity

import (
	"github.com/eixamsim/eixamsim/errclass"

	"context"
	"fmt"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/health"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// windowSlack is how far an interval may reach outside a step's hold
// window and still count for it: the engine's ticks and the step's start
// are not aligned to the millisecond.
const windowSlack = 150 * time.Millisecond

// backpressureClass is the telemetry.puback error class of a tick dropped
// because the user's in-flight window was full (as engine/ticker.go reads it).
const backpressureClass = errclass.Backpressure

// Stepper runs a search inside one engine run: it is the run's
// fleet.StageSource (the steps) and its progress sink (every finished
// interval), and judges each step when its hold window has been measured.
// Next and Settled are called from the fleet's controller goroutine,
// WriteInterval and Update from the engine's ticker goroutine.
type Stepper struct {
	cfg    Config
	sc     *scenario.Scenario
	users  int // the online users of every step of a rate dimension
	lim    health.Limits
	search *Search
	// onStep, if set, is told about each judged step (from the controller
	// goroutine).
	onStep func(StepResult)

	mu      sync.Mutex
	start   time.Time // the run start: Point.T counts from it
	cur     *stepState
	pending map[string]*hdr.Histogram // this tick's interval histograms
	prev    map[string]int64          // counter and gauge values at the previous tick
	results []StepResult
	// ended says why the search stopped early (inconclusive); "" otherwise.
	ended string
	// stop is closed by Stop: Next returns false.
	stop    chan struct{}
	stopped bool
	// workerName names worker i in a generator-health reason when the
	// search runs in worker processes (UpdateWorkers); nil in one process.
	workerName func(i int) string
}

// stepState is the step in progress.
type stepState struct {
	res      StepResult
	window   bool                    // Settled was called: from is set
	from     time.Time               // the end of the warm-up
	mon      *health.Monitor         // one process: this process's health
	samples  map[int][]health.Sample // worker processes: each one's, by index
	hists    map[string]*hdr.Histogram
	errs     map[string]int64
	classes  map[string]map[string]int64
	first    map[string]int64 // counter and gauge values at the window's start
	last     map[string]int64 // and at its end
	gauges   map[string]*metrics.GaugeStats
	seconds  float64 // interval time inside the window
	measured chan struct{}
	closed   bool
}

// NewStepper returns the stepper of a search of sc by cfg, judging each
// step by sc's thresholds and the generator's health by lim (its warm-up
// is each step's, its sustain at most half the hold). users is the online
// users of every step when the dimension is a rate.
func NewStepper(cfg Config, sc *scenario.Scenario, users int, lim health.Limits, onStep func(StepResult)) *Stepper {
	lim.Warmup = cfg.Warmup
	lim.Sustain = min(lim.Sustain, cfg.Hold/2)
	lim.LiveAfter = min(lim.LiveAfter, lim.Sustain)
	return &Stepper{cfg: cfg, sc: sc, users: users, lim: lim, search: NewSearch(cfg), onStep: onStep,
		pending: map[string]*hdr.Histogram{}, stop: make(chan struct{})}
}

// Stop ends the search: a Next waiting for its step returns false, and
// the search is inconclusive because of reason (the first reason given
// stands). A worker process that died stops it.
func (s *Stepper) Stop(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	if s.ended == "" {
		s.ended = reason
	}
	close(s.stop)
}

// Begin sets the run's start (engine.Live.Start): the intervals' times
// count from it. Call it before the fleet starts.
func (s *Stepper) Begin(start time.Time) {
	s.mu.Lock()
	s.start = start
	s.mu.Unlock()
}

var _ fleet.StageSource = (*Stepper)(nil)

// Next implements fleet.StageSource: it waits for the step in progress to
// be measured, judges it, and returns the search's next step.
func (s *Stepper) Next(ctx context.Context) (fleet.Step, bool) {
	s.mu.Lock()
	cur := s.cur
	s.mu.Unlock()
	load := s.search.First()
	select {
	case <-s.stop:
		return fleet.Step{}, false
	default:
	}
	if cur != nil {
		select {
		case <-ctx.Done():
			return fleet.Step{}, false
		case <-s.stop:
			return fleet.Step{}, false
		case <-cur.measured:
		}
		res := s.judge(cur)
		s.mu.Lock()
		s.results = append(s.results, res)
		s.cur = nil
		s.mu.Unlock()
		if s.onStep != nil {
			s.onStep(res)
		}
		if res.Verdict == VerdictInconclusive {
			s.mu.Lock()
			if s.ended == "" {
				s.ended = res.Failed[0]
			}
			s.mu.Unlock()
			return fleet.Step{}, false
		}
		next, ok := s.search.Next(res.Load, res.Verdict == VerdictPass)
		if !ok {
			return fleet.Step{}, false
		}
		load = next
	}
	st := s.step(load)
	s.mu.Lock()
	s.cur = &stepState{
		res:      StepResult{Index: len(s.results), Load: load, Users: st.Users, Start: time.Now()},
		measured: make(chan struct{}),
	}
	s.mu.Unlock()
	return st, true
}

// step is the fleet step of a load.
func (s *Stepper) step(load float64) fleet.Step {
	st := fleet.Step{Name: fmt.Sprintf("step-%d", len(s.results)), Users: s.users}
	if s.cfg.isUsers() {
		st.Users = int(load)
	} else {
		st.Rates = map[string]scenario.Rate{s.cfg.Behaviour: {PerSecond: load}}
	}
	return st
}

// Settled implements fleet.StageSource: the step's warm-up starts at at.
func (s *Stepper) Settled(_ int, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cur
	if c == nil {
		return
	}
	c.res.Settled = at
	c.from = at.Add(s.cfg.Warmup)
	c.window = true
	if s.workerName == nil {
		c.mon = health.NewMonitor(s.lim, at)
	} else {
		c.samples = map[int][]health.Sample{}
	}
	c.hists, c.errs, c.classes = map[string]*hdr.Histogram{}, map[string]int64{}, map[string]map[string]int64{}
	c.gauges = map[string]*metrics.GaugeStats{}
}

// WriteInterval implements metrics.IntervalSink: it keeps a copy of the
// interval's histogram until Update says where the interval lies.
func (s *Stepper) WriteInterval(metric string, h *hdr.Histogram) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[metric]
	if p == nil {
		p = hdr.New(h.LowestTrackableValue(), h.HighestTrackableValue(), int(h.SignificantFigures()))
		s.pending[metric] = p
	}
	p.Reset()
	p.Merge(h)
	return nil
}

// Update implements engine.Progress: the intervals that start after the
// step's warm-up (less windowSlack) count for it, until they cover its
// hold; then the step is measured. The hold window thus starts on the
// engine's first tick after the warm-up, and is whole intervals.
func (s *Stepper) Update(_ fleet.Status, p metrics.Point) { s.update(p, nil) }

// UpdateWorkers is Update for an interval merged from the worker processes
// of a search (their histograms merged and given to WriteInterval first,
// their counts and values summed): samples are each worker's own health
// over the interval, by worker index, judged per worker instead of this
// process's. Call WithWorkers before the first step.
func (s *Stepper) UpdateWorkers(p metrics.Point, samples map[int]health.Sample) {
	if samples == nil {
		samples = map[int]health.Sample{}
	}
	s.update(p, samples)
}

// WithWorkers makes the stepper judge generator health from the samples
// UpdateWorkers is given, naming worker i by name(i) in its reasons.
func (s *Stepper) WithWorkers(name func(i int) string) *Stepper {
	s.workerName = name
	return s
}

// update counts interval p; samples is nil in one process.
func (s *Stepper) update(p metrics.Point, samples map[int]health.Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pending, prev := s.pending, s.prev
	s.pending, s.prev = map[string]*hdr.Histogram{}, p.Values
	c := s.cur
	if c == nil || !c.window || c.closed || s.start.IsZero() {
		return
	}
	end := s.start.Add(time.Duration(p.T * float64(time.Second)))
	from := end.Add(-time.Duration(p.Seconds * float64(time.Second)))
	if c.mon != nil {
		c.mon.Sample(time.Now(), healthInput(p))
	}
	for i, h := range samples {
		if c.samples != nil {
			h.At = end.Sub(c.res.Settled) // from the step's start, as its own monitor counts
			c.samples[i] = append(c.samples[i], h)
		}
	}
	if from.Before(c.from.Add(-windowSlack)) {
		return // still warming up
	}
	c.add(p, pending, prev)
	if c.seconds >= (s.cfg.Hold - windowSlack).Seconds() {
		c.closed = true
		close(c.measured)
	}
}

// add counts one interval inside the window.
// prev are the counter values at the interval's start.
func (c *stepState) add(p metrics.Point, hists map[string]*hdr.Histogram, prev map[string]int64) {
	if c.first == nil {
		c.first = prev
	}
	c.last = p.Values
	c.seconds += p.Seconds
	for name, h := range hists {
		t := c.hists[name]
		if t == nil {
			t = hdr.New(h.LowestTrackableValue(), h.HighestTrackableValue(), int(h.SignificantFigures()))
			c.hists[name] = t
		}
		t.Merge(h)
	}
	for name, st := range p.Latencies {
		c.errs[name] += st.Errors
		for cl, n := range st.ErrorsBy {
			if c.classes[name] == nil {
				c.classes[name] = map[string]int64{}
			}
			c.classes[name][cl] += n
		}
	}
	for name, v := range p.Values {
		if m, ok := scenario.LookupMetric(name); ok && m.Kind == scenario.KindGauge {
			g := c.gauges[name]
			if g == nil {
				g = new(metrics.GaugeStats)
				c.gauges[name] = g
			}
			g.Add(v, p.Seconds)
		}
	}
}

// healthInput is what the health monitor needs from an interval.
func healthInput(p metrics.Point) health.Input {
	lag := p.Latencies[scenario.ScheduleLag]
	return health.Input{
		ScheduleLagP99: lag.P99,
		Attempts:       lag.Count + lag.Errors,
		Backpressure:   p.Latencies[scenario.TelemetryPuback].ErrorsBy[backpressureClass],
	}
}

// Results returns the judged steps so far, and why the search ended early
// ("" when it did not).
func (s *Stepper) Results() ([]StepResult, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]StepResult(nil), s.results...), s.ended
}
