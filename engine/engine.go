package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/health"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// Options are how a caller places and watches a run. The zero value runs
// silently into the scenario's output.dir.
type Options struct {
	// Dir is the result directory; "" renders the scenario's output.dir
	// for the run's planned start (StartAt, else when Run is called). The
	// files a previous run left there (report.ClearDir) are removed before
	// the target is reached or the start awaited.
	Dir string
	// Progress, if set, is told about every one-second interval.
	Progress Progress
	// Started, if set, is called once everything is ready, just before
	// the fleet starts, with a live view of the run: to serve its metrics
	// or say what runs. An error from it ends Run before any traffic and
	// is returned as is (wrap it in an *outcome.Error to pick its
	// outcome; other errors are Failed).
	Started func(Live) error
	// Logger receives the fleet's debug detail; nil discards it.
	Logger *slog.Logger
	// Warn, if set, is told about problems worth a line while the run
	// works: at most once that the simulator is the bottleneck (from the
	// ticker goroutine), and before the fleet starts, each scheduled fault
	// that falls after the run's end. Each also becomes a note in the
	// summary (the bottleneck warning stated against the final verdict,
	// which may overrule it). It must not block.
	Warn func(msg string)
	// CommandLine is how the run was invoked, for summary.json's meta,
	// with secrets already replaced (the app secret is redacted again
	// here). Nil for a run started from code.
	CommandLine []string
	// Health are the limits the simulator's own health is judged by; nil
	// means health.DefaultLimits().
	Health *health.Limits

	// Shard, if set, runs only that slice of the scenario (scenario.Slice)
	// as one process of a sharded run against an external target; the
	// result directory is the scenario's output.dir with
	// "-shard-<i>-of-<n>" added, summary.json echoes the whole scenario
	// with the run's seed and records the run id and the shard in meta.
	Shard *scenario.Shard
	// RunID names the run every shard belongs to (CheckRunID); "" for a
	// sharded run derives it from the scenario hash and StartAt
	// (DeriveRunID). Recorded in summary.json's meta.run_id.
	RunID string
	// StartAt, if not zero, is when the fleet starts: the plan is checked
	// and the target reached first, then the run waits (interruptibly).
	// More than StartSlack in the past is refused. A sharded run without
	// it starts on the next whole second.
	StartAt time.Time
	// Waiting, if set, is told once before the run waits for its start
	// time.
	Waiting func(until time.Time)
	// Baseline is the earlier run the scenario's baseline rules compare
	// with (report.LoadBaseline); nil when there is none, and then a scenario
	// with baseline rules is BadInput before anything starts.
	Baseline *report.Baseline
	// Steps, if set, decides the run's stages while it runs
	// (fleet.Config.Steps); the scenario's stages then only bound its
	// length. The capacity search is one.
	Steps fleet.StageSource
}

// Progress is told about a run once a second, from the engine's ticker
// goroutine: first every latency metric's finished interval histogram
// (WriteInterval; the histogram is valid during the call only), then the
// fleet's status and the interval's point (Update). Implementations must
// not block.
type Progress interface {
	metrics.IntervalSink
	Update(fleet.Status, metrics.Point)
}

// Live is a run about to start, as Options.Started sees it. Registry and
// Status stay valid while the run goes; Status is safe to call from any
// goroutine.
type Live struct {
	Scenario *scenario.Scenario
	Target   report.Target
	Dir      string
	Start    time.Time
	Registry *metrics.Registry
	Status   func() fleet.Status
	// RunID is the run's id as summary.json's meta.run_id has it: every
	// shard's; "" for a whole run without Options.RunID.
	RunID string
}

// Result is what a run that started left behind: its result directory and
// the summary written there.
type Result struct {
	Dir     string
	Summary *report.Summary
}

// Run runs sc (resolved and validated by scenario.Load) to its end, until
// ctx is cancelled, or until an abort_on_fail threshold breaks, and
// writes the result directory. Every error it makes is an
// *outcome.Error whose Outcome says how the run ended (outcome.Of; a run
// that started is judged by outcome.Judge); an error of Options.Started
// comes back as it was. The Result is non-nil once the run
// started, whatever the outcome: its files are written, unless the error
// says writing them failed.
func Run(ctx context.Context, sc *scenario.Scenario, opts Options) (*Result, error) {
	hash := sc.Hash() // of the scenario as given: the same file, the same hash; every shard's
	sh, err := shardRun(sc, hash, opts, time.Now())
	if err != nil {
		return nil, outcome.Wrap(outcome.BadInput, err)
	}
	sc = sh.part
	if err := sc.CheckBaseline(opts.Baseline != nil); err != nil {
		return nil, outcome.Wrap(outcome.BadInput, err)
	}
	var base *metrics.Measured
	if opts.Baseline != nil {
		base = &opts.Baseline.Measured
	}
	planned, err := startTime(opts, sh.shard != nil, time.Now())
	if err != nil {
		return nil, outcome.Wrap(outcome.BadInput, err) // before the target checks, which take a while
	}
	if err := fleet.NewPlan(sc, sc.Target.Embedded != nil).Check(targetHosts(sc)); err != nil {
		return nil, outcome.Wrap(outcome.BadInput, err)
	}
	if planned.IsZero() {
		planned = time.Now()
	}
	dir, err := resultDir(sc, sh, opts, planned)
	if err != nil {
		return nil, outcome.Wrap(outcome.BadInput, err)
	}
	// From here on the directory holds this run's files only: a previous
	// run's summary.json and junit.xml must not stand for this run when
	// the target turns out to be down or the wait for the start is
	// interrupted.
	if err := report.ClearDir(dir); err != nil {
		return nil, outcome.Wrap(outcome.Failed, err)
	}
	tgt, err := startTarget(ctx, sc)
	if err != nil {
		return nil, err
	}
	defer tgt.close()
	at, err := startTime(opts, sh.shard != nil, time.Now())
	if err != nil {
		return nil, outcome.Wrap(outcome.BadInput, err)
	}
	if !at.IsZero() {
		if opts.Waiting != nil && time.Until(at) > 0 {
			opts.Waiting(at)
		}
		if err := waitUntil(ctx, at); err != nil {
			return nil, outcome.Wrap(outcome.Interrupted, err)
		}
	}

	start := time.Now()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, outcome.Wrap(outcome.Failed, fmt.Errorf("result directory: %w", err))
	}
	reg := metrics.NewRegistry()
	hlogs, err := metrics.NewHlogWriter(filepath.Join(dir, report.HdrDir), start)
	if err != nil {
		return nil, outcome.Wrap(outcome.Failed, err)
	}
	var sink metrics.IntervalSink = hlogs
	if opts.Progress != nil {
		sink = teeSink{hlogs, opts.Progress}
	}
	collector := metrics.NewCollector(reg, start, sink)
	runner, err := fleet.New(fleet.Config{
		Scenario: sc,
		HTTPURLs: tgt.apis,
		MQTTURLs: tgt.brokers,
		TLS:      tgt.tls,
		Metrics:  reg,
		Logger:   opts.Logger,
		Steps:    opts.Steps,
	})
	if err != nil {
		_ = hlogs.Close() // no interval was written yet: nothing to lose
		return nil, outcome.Wrap(outcome.BadInput, err)
	}
	notes := &noteList{warn: opts.Warn}
	for _, msg := range lateFaults(sc) {
		notes.add(msg)
	}
	if opts.Baseline != nil {
		for _, msg := range opts.Baseline.Lacks(sc) {
			notes.add(msg)
		}
	}
	if opts.Started != nil {
		live := Live{Scenario: sc, Target: tgt.Target, Dir: dir, Start: start, Registry: reg, Status: runner.Status, RunID: sh.runID}
		if err := opts.Started(live); err != nil {
			_ = hlogs.Close() // as above
			return nil, err
		}
	}

	limits := health.DefaultLimits()
	if opts.Health != nil {
		limits = *opts.Health
	}
	tk := &ticker{
		c: collector, hlogs: hlogs, reg: reg, status: runner.Status, stages: len(sc.Stages),
		mon: health.NewMonitor(limits, start), online: newOnlineTracker(sc), warn: opts.Warn,
		stageOf: newStageClock(sc), prev: start,
	}
	// The fleet runs until stop: abort_on_fail (gate.go) or ctx stops it.
	// Either way the users online are read first, before the fleet sees
	// the stop and they leave: a run stopped before its first sample
	// still had them (the peak of users_online).
	runCtx, stopRun := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stopRun(nil)
	stop := func(cause error) {
		tk.online.stopping(runner.Status().Online)
		stopRun(cause)
	}
	defer context.AfterFunc(ctx, func() { stop(context.Cause(ctx)) })()
	if opts.Progress != nil {
		tk.each = opts.Progress.Update
	}
	tickStop, tickDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(tickDone)
		tk.run(tickStop, func() bool { return runCtx.Err() != nil })
	}()
	stopWatch := watchAborts(sc, collector, start, runner.Status, base, stop)
	res, runErr := runner.Run(runCtx)
	stopWatch()
	close(tickStop)
	<-tickDone
	tk.tick(time.Now(), true) // the last partial interval: teardown

	sum := buildSummary(sc, tgt.Target, res, reg, collector, endReason(runCtx, res))
	if opts.Baseline != nil {
		sum.Notes = append(sum.Notes, "baseline rules compared with "+opts.Baseline.Dir)
	}
	sum.Scenario = sh.whole // a shard's summary echoes the whole run; meta.shard says which slice ran
	sum.Meta = newMeta(sc, opts.CommandLine, res.Start, res.End)
	sum.Meta.ScenarioHash = hash
	sh.meta(sum.Meta)
	sum.UsersOnline = tk.online.summary()
	// A capacity search's steps are not its stages; with churn, users
	// leave during the ramp, so users.online times no connect rate.
	if opts.Steps == nil && sc.Fleet.Churn == nil {
		sum.Connect = report.ConnectOf(sum.Stages, sum.Series, sc.Fleet.ConnectRate.PerSecond)
	}
	wholeRun(tk.mon, sum)
	gen := tk.mon.Report()
	sum.Generator = &gen
	sum.Notes = append(sum.Notes, notes.list()...)
	sum.Notes = append(sum.Notes, generatorNotes(sum, tk.live, limits)...)
	var abort *AbortError
	if errors.As(context.Cause(runCtx), &abort) {
		sum.Notes = append(sum.Notes, abort.Error())
	}
	sum.Thresholds = judge(sc, collector, sum.Seconds, base, abort)
	logErr := hlogs.Close() // before the reports: report.html reads the logs
	writeErr := errors.Join(logErr, report.WriteDir(dir, sum, errors.Join(runErr, logErr)))
	return &Result{Dir: dir, Summary: sum}, outcome.Judge(outcome.Facts{Summary: sum, RunErr: runErr, WriteErr: writeErr, Stop: context.Cause(runCtx)})
}

// resultDir is the run's result directory: Options.Dir, or the
// scenario's output.dir rendered for the planned start, with a shard's
// suffix.
func resultDir(sc *scenario.Scenario, sh *sharding, opts Options, planned time.Time) (string, error) {
	if opts.Dir != "" {
		return opts.Dir, nil
	}
	dir, err := sc.Output.Render(sc.Name, planned)
	if err != nil {
		return "", err
	}
	return dir + sh.dirSuffix(), nil
}

// noteList collects the notes of a run (for summary.json) and passes each
// to a warn callback as it comes. Safe for concurrent use.
type noteList struct {
	warn  func(string)
	mu    sync.Mutex
	notes []string
}

func (n *noteList) add(msg string) {
	n.mu.Lock()
	n.notes = append(n.notes, msg)
	n.mu.Unlock()
	if n.warn != nil {
		n.warn(msg)
	}
}

func (n *noteList) list() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.notes...)
}

// lateFaults names each scheduled fault of the embedded target that falls
// at or after the end of the stages (e.g. a run shortened with
// --duration): it would never fire.
func lateFaults(sc *scenario.Scenario) []string {
	if sc.Target.Embedded == nil {
		return nil
	}
	end := sc.Duration()
	var out []string
	for _, f := range sc.Target.Embedded.Schedule {
		if f.At >= end {
			out = append(out, fmt.Sprintf("scheduled fault %s never fires: the run ends after %v", f.String(), end))
		}
	}
	return out
}

// teeSink hands each interval to every sink in turn; the first error is
// returned after all were called.
type teeSink []metrics.IntervalSink

var _ metrics.IntervalSink = teeSink{}

// WriteInterval implements metrics.IntervalSink.
func (t teeSink) WriteInterval(metric string, h *hdr.Histogram) error {
	var first error
	for _, s := range t {
		if err := s.WriteInterval(metric, h); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// buildSummary assembles summary.json from the run.
func buildSummary(sc *scenario.Scenario, tgt report.Target, res fleet.Result, reg *metrics.Registry, c *metrics.Collector, end report.EndReason) *report.Summary {
	seconds := res.End.Sub(res.Start).Seconds()
	s := &report.Summary{
		Schema:    report.SchemaName,
		Version:   report.SchemaVersion,
		Name:      sc.Name,
		Scenario:  sc,
		Target:    tgt,
		Start:     res.Start,
		End:       res.End,
		Seconds:   seconds,
		EndReason: end,
		Metrics:   map[string]report.Metric{},
		Counters:  reg.Values(),
		Series:    report.SeriesFrom(c.Series()),
	}
	s.Stages = stagesSummary(res.Stages, c)
	s.Events = res.Events
	for _, m := range reg.Summaries() {
		s.Metrics[m.Name] = report.MetricFrom(m, seconds).WithSamples(reg.Latency(m.Name).ErrorSamples())
	}
	return s
}
