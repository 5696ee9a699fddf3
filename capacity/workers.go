package capacity

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/eixamsim/eixamsim/engine"
	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/health"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/procs"
	"github.com/eixamsim/eixamsim/scenario"
)

// A search past one process: the parent keeps the Search and the Stepper
// and judges every step; the workers are the same binary, each an engine
// run of its shard of the search's run scenario (`eixamsim capacity FILE
// --shard i/N ... --steps-fd 4`, RunWorker). The parent sends each step
// to every worker as one stepLine (its share of the users and rates);
// each worker's fleet grows to it and says so with a Settled status line;
// the parent merges interval k of every worker (HDR merges, counts
// summed) and hands it to the Stepper as if one process had measured it.

// Workers are how a search runs in worker processes (Options.Workers).
type Workers struct {
	// Count is the number of worker processes, at least 1 (one worker
	// holds more users than one process does with the embedded backend:
	// the backend stays in this process).
	Count int
	// Exe is the binary the workers run; "" is os.Executable().
	Exe string
	// Args are every worker's arguments before the ones procs.Run adds:
	// "capacity", the scenario file and the flags that shape the scenario
	// and the search (--set, --seed, --start, --max, ...), so that each
	// worker resolves the same search.
	Args []string
	// Output, if set, gets each line a worker prints (procs.Config.Output).
	Output func(w *procs.Worker, line string, stderr bool)
	// Started, if set, is told about the workers once every one runs, and
	// when their users start.
	Started func(ws []*procs.Worker, startAt time.Time)
	// CPUProfile and MemProfile, if set, have each worker write its own
	// profile (procs.Config.CPUProfile).
	CPUProfile, MemProfile string
}

// runWorkers carries a search in worker processes: the multi-process
// counterpart of the engine run in Run. It returns the result directory
// and the steps, and why the search ended early.
func runWorkers(ctx context.Context, run *scenario.Scenario, st *Stepper, opts Options) (string, error) {
	wk := opts.Workers
	cfg, err := procs.Prepare(ctx, run, procs.Config{
		Exe: wk.Exe, Args: wk.Args, Count: wk.Count, Dir: opts.Dir,
		Output: wk.Output, CommandLine: opts.CommandLine, Steps: true,
		CPUProfile: wk.CPUProfile, MemProfile: wk.MemProfile,
	})
	if err != nil {
		return "", fmt.Errorf("capacity: %w", err)
	}
	defer cfg.Close()
	dir, startAt := cfg.Dir, cfg.StartAt

	names := make([]string, wk.Count)
	for i := range names {
		names[i] = fmt.Sprintf("worker %d", i)
	}
	var namesMu sync.Mutex
	st.WithWorkers(func(i int) string {
		namesMu.Lock()
		defer namesMu.Unlock()
		return names[i]
	})
	st.Begin(startAt)
	iv := newIntervals(wk.Count, st)
	iv.display = opts.Progress
	cfg.Status = iv.add
	drove := make(chan struct{})
	var searching sync.WaitGroup
	searching.Add(1)
	cfg.Started = func(ws []*procs.Worker) {
		namesMu.Lock()
		for i, w := range ws {
			names[i] = w.String()
		}
		namesMu.Unlock()
		if wk.Started != nil {
			wk.Started(ws, startAt)
		}
		go func() {
			defer close(drove)
			drive(ctx, st, iv, ws, wk.Count, run, searching.Done)
		}()
	}
	cfg.Exited = func(e procs.Exit) {
		if iv.searching() && ctx.Err() == nil {
			// Before the search ended: whatever the worker's reason, its
			// share of the load is gone and no step can be measured. The
			// search stops, naming the worker, before the exit lets the
			// intervals without its share through to judge a step.
			st.Stop(e.String())
		}
		iv.exited(e.Worker.Index)
	}
	res, err := procs.Run(ctx, cfg)
	if res == nil || len(res.Workers) < wk.Count { // a worker could not start; the others were stopped
		return "", outcome.Wrap(outcome.Failed, fmt.Errorf("capacity: %w", err))
	}
	<-drove
	iv.flushAll()
	if res.Merged == nil && opts.Warn != nil {
		opts.Warn(fmt.Sprintf("the workers' results were not merged into %s: %v (each worker's are under %s)", dir, err, procs.ShardsDir))
	}
	return dir, nil
}

// drive sends the search's steps to the workers: each step once the
// Stepper gives it (it judges the step before), each worker its share;
// then waits until every worker running has settled it. done is called
// when the search has ended (its last step judged, stopped, or ctx done);
// every worker's steps pipe is then closed, which ends its run.
func drive(ctx context.Context, st *Stepper, iv *intervals, ws []*procs.Worker, n int, run *scenario.Scenario, done func()) {
	defer func() {
		iv.finish()
		done()
		for _, w := range ws {
			w.CloseInput()
		}
	}()
	for i := 0; ; i++ {
		step, ok := st.Next(ctx)
		if !ok {
			return
		}
		for _, w := range ws {
			line := splitStep(step, i, w.Index, n)
			if b, err := line.marshal(); err == nil {
				// A worker that cannot take it has exited, or is about
				// to: its exit stops the search and says why.
				_ = w.Send(b)
			}
		}
		at, ok := iv.awaitSettled(ctx, i, st.stop)
		if !ok {
			return
		}
		st.Settled(i, at)
	}
}

// intervals merges the workers' Status lines into one interval at a time
// for the Stepper, and collects their Settled marks. Interval k of every
// worker (the one ending k seconds after the common start) is merged once
// every worker still running has sent interval k or a later one.
type intervals struct {
	st mergedSink
	// display, if set, is told about each merged interval too, with the
	// workers' users online and wanted summed (Options.Progress).
	display engine.Progress

	mu      sync.Mutex
	n       int
	dead    []bool
	latest  []int              // the last interval index each worker sent; -1 for none
	values  []map[string]int64 // each worker's counter and gauge values at its last flushed interval
	status  []fleet.Status     // each worker's fleet status in its last line
	slots   map[int]*slot
	settled map[int]map[int]time.Time // step -> worker -> at
	ended   bool                      // the search ended: an exit is no longer a death
	changed chan struct{}             // closed (and replaced) at each Settled mark and exit
}

// mergedSink is where merged intervals go: a Stepper.
type mergedSink interface {
	metrics.IntervalSink
	UpdateWorkers(metrics.Point, map[int]health.Sample)
}

// slot is interval k as the workers sent it.
type slot struct {
	t, seconds float64
	hists      map[string]*hdr.Histogram
	lat        map[string]metrics.IntervalStat
	values     map[int]map[string]int64
	samples    map[int]health.Sample
}

func newIntervals(n int, st mergedSink) *intervals {
	iv := &intervals{st: st, n: n, dead: make([]bool, n), latest: make([]int, n), values: make([]map[string]int64, n), status: make([]fleet.Status, n),
		slots: map[int]*slot{}, settled: map[int]map[int]time.Time{}, changed: make(chan struct{})}
	for i := range iv.latest {
		iv.latest[i] = -1
	}
	return iv
}

// add takes worker i's line (procs.Config.Status).
func (iv *intervals) add(i int, s procs.Status) {
	if s.Settled != nil {
		iv.mu.Lock()
		if iv.settled[s.Settled.Step] == nil {
			iv.settled[s.Settled.Step] = map[int]time.Time{}
		}
		iv.settled[s.Settled.Step][i] = s.Settled.At
		iv.notify()
		iv.mu.Unlock()
		return
	}
	hs, _ := s.DecodeHists() // a histogram that does not decode is lost; its counts stay
	k := int(s.T + 0.5)
	iv.mu.Lock()
	defer iv.mu.Unlock()
	sl := iv.slots[k]
	if sl == nil {
		sl = &slot{hists: map[string]*hdr.Histogram{}, lat: map[string]metrics.IntervalStat{},
			values: map[int]map[string]int64{}, samples: map[int]health.Sample{}}
		iv.slots[k] = sl
	}
	sl.t, sl.seconds = max(sl.t, s.T), max(sl.seconds, s.Seconds)
	for name, h := range hs {
		if m := sl.hists[name]; m != nil {
			m.Merge(h)
		} else {
			sl.hists[name] = h
		}
	}
	for name, c := range s.Counts {
		cur := sl.lat[name]
		cur.Count += c.N
		cur.Errors += c.Errors
		for cl, v := range c.ErrorsBy {
			if cur.ErrorsBy == nil {
				cur.ErrorsBy = map[string]int64{}
			}
			cur.ErrorsBy[cl] += v
		}
		sl.lat[name] = cur
	}
	sl.values[i] = s.Values
	iv.status[i] = fleet.Status{Stage: s.Stage, StageIndex: s.StageIndex, StageEnd: s.StageEnd, Target: s.Target, Online: s.Online}
	if s.Health != nil {
		sl.samples[i] = *s.Health
	}
	iv.latest[i] = max(iv.latest[i], k)
	iv.flush()
}

// flush hands the Stepper every interval that every running worker has
// sent, in order; iv.mu is held.
func (iv *intervals) flush() {
	upTo, running := -1, false
	for i := range iv.n {
		if iv.dead[i] {
			continue
		}
		if !running || iv.latest[i] < upTo {
			upTo = iv.latest[i]
		}
		running = true
	}
	if !running {
		upTo = int(^uint(0) >> 1)
	}
	var ks []int
	for k := range iv.slots {
		if k <= upTo {
			ks = append(ks, k)
		}
	}
	sort.Ints(ks)
	for _, k := range ks {
		iv.emit(iv.slots[k])
		delete(iv.slots, k)
	}
}

// emit hands one merged interval to the Stepper; iv.mu is held.
func (iv *intervals) emit(sl *slot) {
	p := metrics.Point{T: sl.t, Seconds: sl.seconds, Values: map[string]int64{}, Latencies: sl.lat}
	for i := range iv.n {
		if v, ok := sl.values[i]; ok {
			iv.values[i] = v
		}
		for name, x := range iv.values[i] { // a worker that skipped this tick counts with its last values
			p.Values[name] += x
		}
	}
	for name, st := range p.Latencies {
		if h := sl.hists[name]; h != nil && h.TotalCount() > 0 {
			q := metrics.IntervalStatOf(h, st.Errors)
			st.P50, st.P95, st.P99, st.Max = q.P50, q.P95, q.P99, q.Max
			p.Latencies[name] = st
		}
	}
	for name, h := range sl.hists {
		_ = iv.st.WriteInterval(name, h)
	}
	iv.st.UpdateWorkers(p, sl.samples)
	if iv.display != nil {
		for name, h := range sl.hists {
			_ = iv.display.WriteInterval(name, h)
		}
		iv.display.Update(iv.fleetStatus(), p)
	}
}

// fleetStatus is the workers' status summed: users online and wanted of
// the workers still running, the stage of the first of them (all run the
// same steps); iv.mu is held.
func (iv *intervals) fleetStatus() fleet.Status {
	var st fleet.Status
	staged := false
	for i, s := range iv.status {
		if iv.dead[i] {
			continue
		}
		st.Online += s.Online
		st.Target += s.Target
		if !staged && s.Stage != "" {
			st.Stage, st.StageIndex, st.StageEnd, staged = s.Stage, s.StageIndex, s.StageEnd, true
		}
	}
	return st
}

// exited marks worker i as gone and says whether that happened before
// the search ended (the worker died).
func (iv *intervals) exited(i int) bool {
	iv.mu.Lock()
	defer iv.mu.Unlock()
	iv.dead[i] = true
	iv.flush()
	iv.notify()
	return !iv.ended
}

// searching reports whether the search has not ended yet: an exit now is
// a death.
func (iv *intervals) searching() bool {
	iv.mu.Lock()
	defer iv.mu.Unlock()
	return !iv.ended
}

// gone reports whether worker i has exited.
func (iv *intervals) gone(i int) bool {
	iv.mu.Lock()
	defer iv.mu.Unlock()
	return iv.dead[i]
}

// finish says the search has ended: the workers' exits from now on are
// their runs ending.
func (iv *intervals) finish() {
	iv.mu.Lock()
	iv.ended = true
	iv.mu.Unlock()
}

// flushAll hands the Stepper what is left (every worker has exited).
func (iv *intervals) flushAll() {
	iv.mu.Lock()
	defer iv.mu.Unlock()
	for i := range iv.dead {
		iv.dead[i] = true
	}
	iv.flush()
}

// notify wakes awaitSettled; iv.mu is held.
func (iv *intervals) notify() {
	close(iv.changed)
	iv.changed = make(chan struct{})
}

// awaitSettled waits until every running worker has settled step i and
// returns the latest of their times; false when ctx ends, stop is closed,
// or no worker runs any more.
func (iv *intervals) awaitSettled(ctx context.Context, i int, stop <-chan struct{}) (time.Time, bool) {
	for {
		iv.mu.Lock()
		var at time.Time
		all, running := true, false
		for w := range iv.n {
			if iv.dead[w] {
				continue
			}
			running = true
			t, ok := iv.settled[i][w]
			if !ok {
				all = false
				break
			}
			if t.After(at) {
				at = t
			}
		}
		changed := iv.changed
		iv.mu.Unlock()
		if !running {
			return time.Time{}, false
		}
		if all {
			return at, true
		}
		select {
		case <-ctx.Done():
			return time.Time{}, false
		case <-stop:
			return time.Time{}, false
		case <-changed:
		}
	}
}

// generator is the step's generator health: this process's monitor, or,
// with workers, each worker's samples judged on their own (a step is
// generator-bound when any worker is), combined by combineReports.
func (s *Stepper) generator(c *stepState) health.Report {
	if c.mon != nil {
		return c.mon.Report()
	}
	idx := make([]int, 0, len(c.samples))
	for i := range c.samples {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	reports := make([]health.Report, len(idx))
	for k, i := range idx {
		reports[k] = health.ReportOf(c.samples[i], s.lim)
		for r := range reports[k].Reasons {
			reports[k].Reasons[r].Message = s.workerName(i) + ": " + reports[k].Reasons[r].Message
		}
	}
	return combineReports(reports, s.lim)
}

// combineReports is the workers' reports as one (health.Report.Fold):
// the worst worker's state (health.Worst) with the reasons of every worker
// in it (each names its worker), the busiest worker's mean CPU; Cores is
// this machine's.
func combineReports(rs []health.Report, lim health.Limits) health.Report {
	out := health.ReportOf(nil, lim) // the limits
	out.State, out.Reasons = health.Healthy, nil
	out.Cores = runtime.NumCPU()
	for _, r := range rs {
		out.State = health.Worst(out.State, r.State)
		out.CPU.MeanPct = max(out.CPU.MeanPct, r.CPU.MeanPct)
		out.Fold(r)
	}
	for _, r := range rs { // the reasons of the verdict: those of the workers that share it
		if r.State == out.State {
			out.Reasons = append(out.Reasons, r.Reasons...)
		}
	}
	out.FinishFolding()
	return out
}
