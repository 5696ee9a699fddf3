package capacity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
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

// Options are how a caller places and watches a search. The zero value
// runs silently into the scenario's output.dir.
type Options struct {
	// Dir is the result directory; "" renders the scenario's output.dir.
	Dir string
	// Health are the limits the simulator's health is judged by, for the
	// run and for each step; nil means health.DefaultLimits().
	Health *health.Limits
	// OnStep, if set, is told about each judged step.
	OnStep func(StepResult)
	// Started, if set, is called as engine.Options.Started.
	Started func(engine.Live) error
	// Watch, if set, is given the search's Position before the first
	// step, to call from any goroutine while the search runs.
	Watch func(position func() Position)
	// Warn, if set, is engine.Options.Warn.
	Warn func(string)
	// Logger receives the fleet's debug detail; nil discards it.
	Logger *slog.Logger
	// CommandLine is how the search was invoked, secrets replaced.
	CommandLine []string
	// Workers, if set, runs the search's load in worker processes of this
	// binary (see Workers); nil runs it in this process.
	Workers *Workers
	// Progress, if set, is told about every interval of the search as
	// engine.Options.Progress is about a run's (a live display): in one
	// process the engine's own, with worker processes the workers'
	// intervals merged, users online summed.
	Progress engine.Progress
}

// tee is two engine.Progress sinks as one: the Stepper first, then the
// caller's display.
type tee struct{ first, second engine.Progress }

func (t tee) WriteInterval(metric string, h *hdr.Histogram) error {
	err := t.first.WriteInterval(metric, h)
	_ = t.second.WriteInterval(metric, h) // a display's failure is not the search's
	return err
}

func (t tee) Update(st fleet.Status, p metrics.Point) {
	t.first.Update(st, p)
	t.second.Update(st, p)
}

// progressOf is the engine.Progress of a search in one process.
func progressOf(st *Stepper, display engine.Progress) engine.Progress {
	if display == nil {
		return st
	}
	return tee{st, display}
}

// maxSteps bounds a search's length for the run's nominal duration: more
// steps than any search by factor and resolution takes.
const maxSteps = 200

// Run searches sc (resolved by scenario.Load, with sc.Capacity set) for
// its capacity in one engine run and writes capacity.json, capacity.txt
// and capacity.html into the run's result directory. The error is an
// *outcome.Error whose outcome says what went wrong (BadInput,
// Unreachable, Failed) or Interrupted; the Result is non-nil whenever the
// run started, interrupted too, with the steps done so far. An
// inconclusive search is a Result with Outcome OutcomeInconclusive and a
// nil error.
func Run(ctx context.Context, sc *scenario.Scenario, opts Options) (*Result, error) {
	if sc.Capacity == nil {
		return nil, outcome.Wrap(outcome.BadInput, errors.New("capacity: the scenario has no capacity block and no --start/--max were given"))
	}
	if sc.Shard != nil {
		return nil, outcome.Wrap(outcome.BadInput, errors.New("capacity: a sharded scenario cannot be searched: the search shards itself over worker processes (--procs)"))
	}
	cfg, err := NewConfig(*sc.Capacity, sc)
	if err != nil {
		return nil, outcome.Wrap(outcome.BadInput, err)
	}
	lim := health.DefaultLimits()
	if opts.Health != nil {
		lim = *opts.Health
	}
	run, users := runScenario(sc, cfg)
	if opts.Workers == nil {
		if err := onePlan(run).Check(hosts(run)); err != nil {
			return nil, &outcome.Error{Outcome: outcome.BadInput, Err: fmt.Errorf("capacity: the ceiling (capacity.max %v %s) is more than one process can hold: %w; "+
				"search with worker processes (--procs auto), or lower capacity.max (--max)", cfg.Max, cfg.Unit(), err)}
		}
	}
	st := NewStepper(cfg, sc, users, lim, opts.OnStep)
	if opts.Watch != nil {
		opts.Watch(st.Position)
	}
	res := &Result{Name: sc.Name, Capacity: cfg.Capacity, Start: time.Now()}
	if opts.Workers != nil {
		dir, err := runWorkers(ctx, run, st, opts)
		res.End = time.Now()
		if err != nil {
			return nil, err
		}
		var o outcome.Outcome = outcome.Passed
		if ctx.Err() != nil {
			o = outcome.Interrupted
			err = outcome.Wrap(outcome.Interrupted, context.Cause(ctx))
		}
		return st.complete(res, cfg, sc, dir, o, err)
	}
	eres, err := engine.Run(ctx, run, engine.Options{
		Dir:      opts.Dir,
		Progress: progressOf(st, opts.Progress),
		Steps:    st,
		Started: func(l engine.Live) error {
			st.Begin(l.Start)
			if opts.Started != nil {
				return opts.Started(l)
			}
			return nil
		},
		Warn:        opts.Warn,
		Logger:      opts.Logger,
		Health:      opts.Health,
		CommandLine: opts.CommandLine,
	})
	res.End = time.Now()
	if eres == nil {
		return nil, err
	}
	o := outcome.Of(err)
	switch o {
	case outcome.Passed, outcome.GeneratorBound, outcome.ThresholdsFailed, outcome.NotJudged, outcome.Interrupted:
		// the steps were judged on their own (a whole run too short for
		// its own health verdict still judged its steps)
	default:
		return nil, err // unreachable target, nothing measured, results not written
	}
	return st.complete(res, cfg, sc, eres.Dir, o, err)
}

// complete fills res from the judged steps, writes the capacity files
// into dir, and returns what Run returns for the run's outcome o and
// error err.
func (st *Stepper) complete(res *Result, cfg Config, sc *scenario.Scenario, dir string, o outcome.Outcome, err error) (*Result, error) {
	res.RunDir = dir
	steps, ended := st.Results()
	res.Steps = steps
	res.finish(cfg, sc, ended, o == outcome.Interrupted)
	if werr := WriteDir(dir, res); werr != nil {
		return res, outcome.Wrap(outcome.Failed, werr)
	}
	if o == outcome.Interrupted {
		return res, err
	}
	return res, nil
}

// onePlan is what the search's run scenario needs in one process.
func onePlan(run *scenario.Scenario) fleet.Plan {
	return fleet.NewPlan(run, run.Target.Embedded != nil)
}

// OneProcess reports why the search of sc (with its capacity block
// resolved) does not fit in one process: the ceiling's connection plan
// (fleet.NewPlan, as a run checks it) against this process's limits; nil
// when it fits.
func OneProcess(sc *scenario.Scenario) error {
	cfg, err := NewConfig(*sc.Capacity, sc)
	if err != nil {
		return err
	}
	run, _ := runScenario(sc, cfg)
	return onePlan(run).Check(hosts(run))
}

// AutoWorkers is the number of worker processes a search of sc needs:
// procs.Auto of the search's run scenario (the fewest processes whose
// largest share of the ceiling fits fdLimit open files), refused when it
// is more than cores: a search whose workers outnumber the cores would
// measure the generator, not the target.
func AutoWorkers(sc *scenario.Scenario, fdLimit, cores int) (int, error) {
	cfg, err := NewConfig(*sc.Capacity, sc)
	if err != nil {
		return 0, err
	}
	run, _ := runScenario(sc, cfg)
	n, err := procs.Auto(run, fdLimit)
	if err != nil {
		return 0, fmt.Errorf("capacity: the ceiling (capacity.max %v %s): %w", cfg.Max, cfg.Unit(), err)
	}
	if n > cores {
		return 0, fmt.Errorf("capacity: the ceiling (capacity.max %v %s) needs %d worker processes of at most %d open files each, more than this machine's %d cores: "+
			"lower capacity.max (--max), raise the open-files limit (ulimit -n), or search a smaller share of the target from several machines", cfg.Max, cfg.Unit(), n, fdLimit, cores)
	}
	return n, nil
}

// runScenario is the scenario the engine runs for a search: one stage
// long enough for any search, users enough for the ceiling (users
// dimension), and no thresholds (each step judges them on its own hold
// window; the whole run's numbers mix every step). It returns the online
// users of every step of a rate dimension.
func runScenario(sc *scenario.Scenario, cfg Config) (*scenario.Scenario, int) {
	run := *sc
	run.Thresholds = scenario.Thresholds{}
	users := sc.MaxUsers()
	if cfg.isUsers() {
		run.Fleet.Users = max(sc.Fleet.Users, int(cfg.Max))
		if len(sc.Identity.Sessions) > 0 {
			run.Fleet.Users = sc.Fleet.Users
		}
		users = int(cfg.Max)
	}
	ramp := time.Duration(float64(run.Fleet.Users) / run.Fleet.ConnectRate.PerSecond * float64(time.Second))
	step := cfg.Warmup + cfg.Hold + ramp + 2*time.Second
	budget := time.Duration(math.Min(float64(maxSteps)*float64(step), float64(scenario.MaxRunLength)))
	run.Stages = []scenario.Stage{{Name: "capacity", For: budget, Users: users}}
	return &run, users
}

// hosts are the target's host names, for the plan check (as the engine
// checks them).
func hosts(sc *scenario.Scenario) []string {
	if sc.Target.Embedded != nil {
		return []string{"127.0.0.1"}
	}
	var out []string
	for _, raw := range append(sc.Target.APIs(), sc.Target.Brokers()...) {
		if u, err := url.Parse(raw); err == nil {
			out = append(out, u.Hostname())
		}
	}
	return out
}
