package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/eixamsim/eixamsim/engine"
	"github.com/eixamsim/eixamsim/progress"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// runFlags are the command-line options of `eixamsim run`.
type runFlags struct {
	// scenario: --users, --duration, --set, --seed (scenarioflags.go).
	scenario   scenarioFlags
	out        string
	noProgress bool
	quiet      bool
	// prom: --metrics-addr and --remote-write with its options
	// (metricsaddr.go); linger keeps serving the metrics after the run
	// until interrupted.
	prom   promFlags
	linger bool
	// baseline is the result directory baseline rules compare with.
	baseline string
	// sharding: --shard, --shards, --start-at, --run-id (shard.go), as
	// engine options.
	shard  shardFlags
	engine engine.Options
	// procs: --procs N|auto, and its workers' hidden flags (procs.go).
	procs procsFlags
	// results: --results-to, a shard sending its results (collect.go).
	results *resultsTo
	// profile: --cpuprofile, --memprofile (profile.go).
	profile profileFlags
	// summaryJSON: --summary-json FILE|- (summaryjson.go).
	summaryJSON summaryJSON
}

func newRunCmd(e *env) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run SCENARIO.yaml [flags]",
		Short: "run a scenario against a target (default: the embedded backend)",
		Long: `Run one scenario: start the target (the embedded reference backend unless the
scenario names one), bring the users online stage by stage, measure, judge the
thresholds, and write the result directory (summary.json, summary.txt,
report.html, junit.xml, hdr/*.hlog; docs/results.md). Flags may come before or
after the file. The exit code is the verdict (docs/ci.md).`,
		Example: `  eixamsim run scenarios/smoke.yaml
  eixamsim run scenarios/smoke.yaml --users 50 --duration 30s --out results/smoke
  eixamsim run scenarios/smoke.yaml --set behaviours.telemetry.every=5s --seed 42
  eixamsim run my.yaml --baseline results/main
  eixamsim run my.yaml --metrics-addr :9464 --linger
  eixamsim run my.yaml --shard 0/4 --start-at 2026-11-29T21:00:00Z
  JOB_COMPLETION_INDEX=2 eixamsim run my.yaml --shards 4 --run-id soak-7
  eixamsim run my.yaml --procs auto`,
		Args: exactArgs(1, "one scenario file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := f.options(cmd)
			if err != nil {
				return err
			}
			if err := f.shard.apply(cmd.Flags(), &f.engine, time.Now()); err != nil {
				return err
			}
			if f.linger && f.prom.metricsAddr == "" {
				return usageError("run: --linger keeps the metrics endpoint up after the run: it needs --metrics-addr")
			}
			sc, err := scenario.Load(args[0], opts)
			if err != nil {
				return withCode(exitUsage, err)
			}
			if err := sc.CheckBaseline(f.baseline != ""); err != nil {
				return withCode(exitUsage, err)
			}
			if f.procs.procs != "" {
				return profiled(f.profile, e, func() error { return runProcs(cmd, e, f, args[0], sc) })
			}
			if f.baseline != "" {
				if f.engine.Baseline, err = report.LoadBaseline(f.baseline); err != nil {
					return withCode(exitUsage, err)
				}
			}
			if sc, err = f.procs.worker(sc); err != nil {
				return err
			}
			return profiled(f.profile, e, func() error {
				return runScenario(cmd.Context(), sc, f, cmd.Flags(), scrubArgs(e.args), e.stdout, e.stderr)
			})
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	f.scenario.registerShape(fl)
	fl.StringVarP(&f.out, "out", "o", "", "result `DIR` (default: the scenario's output.dir); the previous run's files there are replaced")
	f.summaryJSON.register(fl)
	f.scenario.registerSet(fl)
	fl.StringVar(&f.baseline, "baseline", "", "judge the thresholds written against a baseline (\"p(99) < baseline * 1.1\") with the result `DIR` of an earlier run (its summary.json and hdr/*.hlog)")
	f.shard.getenv = os.LookupEnv
	f.shard.register(fl)
	f.procs.register(fl)
	f.results = &resultsTo{}
	f.results.register(fl)
	f.profile.register(fl)
	fl.BoolVar(&f.noProgress, "no-progress", false, "no live progress (without it: bars on a terminal, otherwise one status line every 10s)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print only problems and the one-line verdict")
	f.prom.register(fl)
	fl.BoolVar(&f.linger, "linger", false, "keep serving --metrics-addr after the run until interrupted (for a last scrape)")
	f.results.wrapRun(cmd, e, &f)
	return cmd
}

// options turns the flags that were given into scenario overrides.
func (f *runFlags) options(cmd *cobra.Command) (scenario.Options, error) {
	fl := cmd.Flags()
	opts := f.scenario.options(fl)
	if fl.Changed("out") {
		opts.OutDir = &f.out
	}
	return opts, nil
}

// runScenario runs sc: progress on stderr, the metrics endpoint if asked
// for, the table (or, with --quiet, the verdict line) on stdout at the end
// (on stderr when stdout is --summary-json's).
func runScenario(ctx context.Context, sc *scenario.Scenario, f runFlags, fl *pflag.FlagSet, commandLine []string, stdout, stderr io.Writer) error {
	// The port is taken and the URL checked before anything else, so a
	// clash is a usage error that leaves no result directory behind.
	plan, err := planMetrics(f.prom, fl) // metricsaddr.go
	if err != nil {
		return err
	}
	defer plan.close()
	prog := progress.New(stderr, f.quiet || f.noProgress, sc.MaxUsers())
	var live *promOutputs
	defer func() { live.stop(stderr) }() // after the results are written and printed
	opts := f.engine                     // --shard, --shards, --start-at, --run-id
	opts.Progress, opts.Warn, opts.CommandLine = prog.Sink(), prog.Warn, commandLine
	if f.procs.status != nil { // a worker of --procs
		opts.Progress = f.procs.status
	}
	opts.Waiting = func(until time.Time) {
		if !f.quiet {
			fmt.Fprintf(stderr, "eixamsim: target reached; starting at %s (in %v)\n", until.UTC().Format(time.RFC3339), time.Until(until).Round(time.Second))
		}
	}
	opts.Started = func(l engine.Live) error {
		m, err := plan.start(l, warnLine(prog))
		if err != nil {
			return err
		}
		live = m
		if u := m.URL(); u != "" && !f.quiet {
			fmt.Fprintf(stderr, "eixamsim: Prometheus metrics at %s\n", u)
		}
		if !f.quiet {
			part := ""
			if sh := l.Scenario.Shard; sh != nil {
				part = fmt.Sprintf(" (shard %s, users %d-%d)", sh, l.Scenario.Identity.Offset, l.Scenario.Identity.Offset+l.Scenario.Fleet.Users-1)
			}
			fmt.Fprintf(stderr, "eixamsim: running %q: %d users%s for %v against %s (%s, %s)\n",
				sc.Name, l.Scenario.Fleet.Users, part, sc.Duration(), l.Target.Kind, addresses(l.Target.HTTP, l.Target.HTTPs), addresses(l.Target.MQTT, l.Target.MQTTs))
		}
		return nil
	}
	res, err := engine.Run(ctx, sc, opts)
	f.results.ran(res)
	prog.Close()
	live.finish(stderr)
	if res != nil {
		human := f.summaryJSON.human(stdout, stderr)
		if f.quiet {
			word, reason := report.Headline(res.Summary)
			fmt.Fprintf(human, "eixamsim: %s: %s (results in %s)\n", word, reason, res.Dir)
		} else {
			report.WriteText(human, res.Summary)
			fmt.Fprintf(stderr, "eixamsim: results in %s\n", res.Dir)
		}
		f.summaryJSON.write(res.Dir, stdout, stderr)
	}
	if u := live.URL(); f.linger && u != "" && ctx.Err() == nil {
		fmt.Fprintf(stderr, "eixamsim: serving the final metrics at %s until interrupted (--linger)\n", u)
		<-ctx.Done()
	}
	return err
}

// addresses shows a target's address, or all of them when it has several.
func addresses(first string, all []string) string {
	if len(all) > 1 {
		return strings.Join(all, " ")
	}
	return first
}
