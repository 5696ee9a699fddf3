package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/eixamsim/eixamsim/capacity"
	"github.com/eixamsim/eixamsim/engine"
	"github.com/eixamsim/eixamsim/metrics/prom"
	"github.com/eixamsim/eixamsim/procs"
	"github.com/eixamsim/eixamsim/progress"
	"github.com/eixamsim/eixamsim/scenario"
)

// sinkOrNil is s as an engine.Progress, nil when the display is off (a
// nil progress.Sink in an interface is not nil).
func sinkOrNil(s progress.Sink) engine.Progress {
	if s == nil {
		return nil
	}
	return s
}

// capacityFlags are the command-line options of `eixamsim capacity`: each
// overrides one key of the scenario's capacity block.
type capacityFlags struct {
	dimension             string
	start, max, factor    float64
	resolution, maxErrors string // percentages, parsed as the scenario's
	warmup, hold          time.Duration
	out                   string
	// scenario: --set and --seed (scenarioflags.go).
	scenario   scenarioFlags
	quiet      bool
	noProgress bool
	// procs: --procs N|auto, and a worker's hidden flags (--status-fd,
	// --procs-target, --steps-fd, --shard, --run-id, --start-at).
	procs   procsFlags
	stepsFD int
	shard   shardFlags
	// prom: --metrics-addr and --remote-write, as run has them
	// (metricsaddr.go).
	prom promFlags
	// profile: --cpuprofile, --memprofile (profile.go).
	profile profileFlags
}

func newCapacityCmd(e *env) *cobra.Command {
	var f capacityFlags
	cmd := &cobra.Command{
		Use:   "capacity SCENARIO.yaml [flags]",
		Short: "find the load at which the target stops meeting the scenario's thresholds",
		Long: `Search for the target's capacity: the scenario's behaviours are the load, its
thresholds the SLOs. One dimension grows (online users, or one behaviour's
arrival rate) in steps: geometric until a step fails, then bisection down to the
resolution. Each step warms up, then is measured over its hold window and judged
on its own: thresholds, error share, achieved against offered throughput, and the
simulator's own health (a generator-bound step is inconclusive, never a backend
failure). The fleet grows between steps; it never reconnects from zero.

A ceiling one process cannot hold (its open-files limit) is searched with worker
processes of this binary, as run --procs runs them: this process keeps the search
and judges each step on the workers' merged measurements (--procs N|auto; without
--procs, auto is chosen when the ceiling needs it, and said on stderr).

Writes capacity.json, capacity.txt and capacity.html beside the run's own files
(docs/capacity.md). Exit codes: 0 a result (found, or the ceiling held), 2 bad
usage or scenario, 3 target unreachable, 4 inconclusive (generator-bound, or a
worker process died), 130 interrupted (the steps done so far are reported), 1
internal error.`,
		Example: `  eixamsim capacity scenarios/capacity.yaml
  eixamsim capacity my.yaml --dimension users --start 500 --max 20000 --hold 30s
  eixamsim capacity my.yaml --dimension sos.rate --start 1 --max 200 --resolution 10%
  eixamsim capacity my.yaml --start 5000 --max 60000 --procs auto`,
		Args: exactArgs(1, "one scenario file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			opts := f.scenario.options(fl)
			if fl.Changed("out") {
				opts.OutDir = &f.out
			}
			sc, err := scenario.Load(args[0], opts)
			if err != nil {
				return withCode(exitUsage, err)
			}
			if err := f.apply(fl, sc); err != nil {
				return err
			}
			if f.stepsFD > 0 {
				return profiled(f.profile, e, func() error { return runCapacityWorker(cmd, sc, f, scrubArgs(e.args), e.stderr) })
			}
			for _, name := range []string{"shard", "shards", "run-id", "start-at", "status-fd", "procs-target"} {
				if fl.Changed(name) {
					return usageError("capacity: --%s is for the worker processes of a search (--procs)", name)
				}
			}
			workers, err := f.workers(fl, args[0], sc, e.stderr)
			if err != nil {
				return err
			}
			if workers != nil && fl.Changed("metrics-addr") {
				return usageError("capacity: --metrics-addr serves one process's metrics, and this search runs in %d worker processes: use --remote-write, which every worker pushes with its shard label", workers.Count)
			}
			return profiled(f.profile, e, func() error { return runCapacity(cmd, sc, f, workers, scrubArgs(e.args), e.stdout, e.stderr) })
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.StringVar(&f.dimension, "dimension", "", "what grows, `DIMENSION`: users or <behaviour>.rate (capacity.dimension)")
	fl.Float64Var(&f.start, "start", 0, "the first step's `LOAD`, users or arrivals per second (capacity.start)")
	fl.Float64Var(&f.max, "max", 0, "the ceiling `LOAD` (capacity.max)")
	fl.Float64Var(&f.factor, "factor", 0, "geometric step `FACTOR` until the first failure (capacity.factor, default 2)")
	fl.StringVar(&f.resolution, "resolution", "", "bisect until the failing load is within `PERCENT` of the passing one (capacity.resolution, default 5%)")
	fl.DurationVar(&f.warmup, "warmup", 0, "each step runs for `DURATION` once its users are online before it is measured (capacity.warmup, default 5s)")
	fl.DurationVar(&f.hold, "hold", 0, "each step is measured for `DURATION` (capacity.hold, default 10s)")
	fl.StringVar(&f.maxErrors, "max-errors", "", "a step with more failed operations than `PERCENT` fails (capacity.max_errors, default 1%)")
	fl.StringVarP(&f.out, "out", "o", "", "result `DIR` (default: the scenario's output.dir)")
	f.scenario.registerSet(fl)
	fl.BoolVar(&f.noProgress, "no-progress", false, "no live progress (without it: bars on a terminal, otherwise one status line every 10s; the steps are printed either way)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print only problems and the headline")
	f.prom.register(fl)
	f.procs.register(fl)
	f.profile.register(fl)
	fl.IntVar(&f.stepsFD, strings.TrimPrefix(procs.StepsFDFlag, "--"), 0, "worker of --procs: read the steps from file descriptor `FD`")
	f.shard.getenv = os.LookupEnv
	f.shard.register(fl)
	for _, name := range []string{strings.TrimPrefix(procs.StepsFDFlag, "--"), "shard", "shards", "run-id", "start-at"} {
		_ = fl.MarkHidden(name)
	}
	return cmd
}

// capacityOwn are capacity's flags the parent does not pass on to its
// workers: procs.Run sets --out, --quiet and the profiles for each (a
// worker shows no progress: its status lines feed the parent's).
var capacityOwn = map[string]bool{"procs": true, "out": true, "quiet": true, "no-progress": true, profileOwn[0]: true, profileOwn[1]: true}

// workers decides where the search's load runs: nil for this process
// (--procs 1, or no --procs and a ceiling one process holds), else worker
// processes of this binary running `capacity path` with the flags given.
func (f *capacityFlags) workers(fl *pflag.FlagSet, path string, sc *scenario.Scenario, stderr io.Writer) (*capacity.Workers, error) {
	n := 1
	switch v := f.procs.procs; {
	case v == "auto":
		var err error
		if n, err = capacity.AutoWorkers(sc, procs.FDLimit(), runtime.NumCPU()); err != nil {
			return nil, withCode(exitUsage, err)
		}
		if n == 1 && capacity.OneProcess(sc) == nil {
			return nil, nil
		}
	case v != "":
		var err error
		if n, err = procsCount(v, sc, procs.FDLimit()); err != nil {
			return nil, err
		}
		if n == 1 {
			return nil, nil
		}
	default:
		why := capacity.OneProcess(sc)
		if why == nil {
			return nil, nil
		}
		var err error
		if n, err = capacity.AutoWorkers(sc, procs.FDLimit(), runtime.NumCPU()); err != nil {
			return nil, withCode(exitUsage, fmt.Errorf("%w (one process cannot hold it either: %v)", err, why))
		}
		fmt.Fprintf(stderr, "eixamsim: capacity: the ceiling (capacity.max %v) is more than one process holds; searching with %d worker process(es) (--procs auto)\n", sc.Capacity.Max, n)
	}
	args := append([]string{"capacity", path}, passedOn(fl, capacityOwn)...)
	return &capacity.Workers{Count: n, Args: args, CPUProfile: f.profile.cpu, MemProfile: f.profile.mem}, nil // this binary (procs.Prepare)
}

// runCapacityWorker is one worker process of a search (--steps-fd): its
// shard of the search's load, steps from the parent, status lines back.
func runCapacityWorker(cmd *cobra.Command, sc *scenario.Scenario, f capacityFlags, commandLine []string, stderr io.Writer) error {
	plan, err := planMetrics(f.prom, cmd.Flags()) // --remote-write, passed on by the parent
	if err != nil {
		return err
	}
	defer plan.close()
	var live *promOutputs
	defer func() { live.stop(stderr) }()
	var opts engine.Options
	opts.Started = func(l engine.Live) (err error) {
		live, err = plan.start(l, lineWriter(stderr))
		return err
	}
	if err := f.shard.apply(cmd.Flags(), &opts, time.Now()); err != nil {
		return err
	}
	if f.procs.statusFD <= 0 {
		return usageError("capacity: %s needs %s", procs.StepsFDFlag, procs.StatusFDFlag)
	}
	steps := os.NewFile(uintptr(f.stepsFD), "steps")
	status := os.NewFile(uintptr(f.procs.statusFD), "status")
	if steps == nil || status == nil {
		return usageError("capacity: %s %d / %s %d: not open file descriptors", procs.StepsFDFlag, f.stepsFD, procs.StatusFDFlag, f.procs.statusFD)
	}
	opts.CommandLine = commandLine
	_, err = capacity.RunWorker(cmd.Context(), sc, capacity.WorkerOptions{
		Steps: steps, Status: status, Target: f.procs.target, Engine: opts,
	})
	return err
}

// apply puts the flags that were given into the scenario's capacity block
// (created with its defaults when the file has none).
func (f *capacityFlags) apply(fl *pflag.FlagSet, sc *scenario.Scenario) error {
	c := scenario.Capacity{Dimension: scenario.DimensionUsers, Factor: scenario.DefaultCapacityFactor,
		Resolution: scenario.DefaultCapacityResolution, Warmup: scenario.DefaultCapacityWarmup,
		Hold: scenario.DefaultCapacityHold, MaxErrors: scenario.DefaultCapacityMaxErrors}
	if sc.Capacity != nil {
		c = *sc.Capacity
	}
	pct := func(name, v string, into *float64) error {
		if !fl.Changed(name) {
			return nil
		}
		p, err := scenario.ParsePercent(v)
		if err != nil {
			return usageError("capacity: --%s: %v", name, err)
		}
		*into = p
		return nil
	}
	if fl.Changed("dimension") {
		c.Dimension = f.dimension
	}
	if fl.Changed("start") {
		c.Start = f.start
	}
	if fl.Changed("max") {
		c.Max = f.max
	}
	if fl.Changed("factor") {
		c.Factor = f.factor
	}
	if fl.Changed("warmup") {
		c.Warmup = f.warmup
	}
	if fl.Changed("hold") {
		c.Hold = f.hold
	}
	if err := errors.Join(pct("resolution", f.resolution, &c.Resolution), pct("max-errors", f.maxErrors, &c.MaxErrors)); err != nil {
		return err
	}
	sc.Capacity = &c
	if _, err := capacity.NewConfig(c, sc); err != nil {
		return withCode(exitUsage, fmt.Errorf("%s: %w", sc.File, err))
	}
	return nil
}

// runCapacity runs the search, printing each step as it is judged, then
// the headline; the exit code says how it ended.
func runCapacity(cmd *cobra.Command, sc *scenario.Scenario, f capacityFlags, workers *capacity.Workers, commandLine []string, stdout, stderr io.Writer) error {
	plan, err := planMetrics(f.prom, cmd.Flags()) // metricsaddr.go: before anything is created
	if err != nil {
		return err
	}
	defer plan.close()
	var live *promOutputs
	defer func() { live.stop(stderr) }()
	c := sc.Capacity
	if !f.quiet {
		fmt.Fprintf(stderr, "eixamsim: capacity of %q: %s from %v to at most %v, warm-up %v, hold %v per step\n",
			sc.Name, c.Dimension, c.Start, c.Max, c.Warmup, c.Hold)
	}
	// The live display, as run's: every line the search prints goes
	// through it (Println: above the bars, from any goroutine).
	barUsers := sc.MaxUsers()
	if c.Dimension == scenario.DimensionUsers {
		barUsers = int(c.Max)
	}
	prog := progress.New(stderr, f.quiet || f.noProgress, barUsers)
	defer prog.Close()
	if workers != nil {
		workers.Output = func(w *procs.Worker, line string, toStderr bool) {
			if f.quiet && !toStderr {
				return
			}
			prog.Println(fmt.Sprintf("[worker %d] %s", w.Index, line))
		}
		workers.Started = func(ws []*procs.Worker, startAt time.Time) {
			if f.quiet {
				return
			}
			pids := make([]string, len(ws))
			for i, w := range ws {
				pids[i] = strconv.Itoa(w.PID)
			}
			prog.Println(fmt.Sprintf("eixamsim: searching with %d worker processes (pids %s), starting at %s",
				len(ws), strings.Join(pids, " "), startAt.UTC().Format(time.RFC3339)))
		}
	}
	res, err := capacity.Run(cmd.Context(), sc, capacity.Options{
		Workers:     workers,
		CommandLine: commandLine,
		Progress:    sinkOrNil(prog.Sink()),
		Watch: func(position func() capacity.Position) {
			plan.step = func() prom.Step { return prom.Step(position()) }
		},
		Started: func(l engine.Live) (err error) { // one process; workers push their own
			live, err = plan.start(l, func(msg string) { prog.Println("eixamsim: warning: " + msg) })
			if u := live.URL(); u != "" && !f.quiet {
				prog.Println("eixamsim: Prometheus metrics at " + u)
			}
			return err
		},
		Warn: func(msg string) {
			if !f.quiet {
				prog.Println("eixamsim: warning: " + msg)
			}
		},
		OnStep: func(st capacity.StepResult) {
			if f.quiet {
				return
			}
			why := ""
			if len(st.Failed) > 0 {
				why = ": " + strings.Join(st.Failed, "; ")
			}
			prog.Println(fmt.Sprintf("eixamsim: step %d at %v: %s (achieved %.4g/s of %.4g/s offered, errors %.3g%%)%s",
				st.Index, st.Load, st.Verdict, st.AchievedPerSecond, st.OfferedPerSecond, st.ErrorShare*100, why))
		},
	})
	prog.Close()
	if res != nil {
		fmt.Fprintf(stdout, "eixamsim: %s\n", res.Headline)
		for _, a := range res.Advice {
			fmt.Fprintf(stdout, "  - %s\n", a)
		}
		fmt.Fprintf(stderr, "eixamsim: results in %s (%s, %s, %s)\n", res.RunDir, capacity.JSONFile, capacity.TextFile, capacity.HTMLFile)
	}
	if err != nil {
		return err // an *outcome.Error: its outcome is the exit code
	}
	if res.Outcome == capacity.OutcomeInconclusive {
		// The headline says why: the step the generator could not carry,
		// or the worker process that ended before the search did.
		return withCode(exitGeneratorBound, fmt.Errorf("capacity: %s (docs/capacity.md)", res.Headline))
	}
	return nil
}
