package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/eixamsim/eixamsim/engine"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// runFlags are the command-line overrides of `eixamsim run`.
type runFlags struct {
	users      int
	duration   time.Duration
	out        string
	noProgress bool
	quiet      bool
	// metricsAddr serves live Prometheus metrics there (metricsaddr.go).
	metricsAddr string
}

// runRun runs one scenario with the engine, shows it while it goes, prints
// the table at its end and returns its outcome.
func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "[flags] SCENARIO.yaml", stderr)
	var f runFlags
	fs.IntVar(&f.users, "users", 0, "override fleet.users")
	fs.DurationVar(&f.duration, "duration", 0, "override the run length (replaces the stages with one stage at fleet.users)")
	fs.StringVar(&f.out, "out", "", "result directory (default: the scenario's output.dir)")
	fs.BoolVar(&f.noProgress, "no-progress", false, "no live progress")
	fs.BoolVar(&f.quiet, "quiet", false, "print nothing but problems and the final verdict")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve live Prometheus metrics at http://ADDR/metrics (e.g. :9464)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageError("run: want exactly one scenario file, got %d arguments", fs.NArg())
	}
	opts := scenario.Options{}
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "users":
			opts.Users = &f.users
		case "duration":
			opts.Duration = &f.duration
		case "out":
			opts.OutDir = &f.out
		}
	})
	sc, err := scenario.Load(fs.Arg(0), opts)
	if err != nil {
		return withCode(exitUsage, err)
	}
	return runScenario(ctx, sc, f, stdout, stderr)
}

// runScenario runs sc: progress on stderr, the metrics endpoint if asked
// for, the table on stdout at the end.
func runScenario(ctx context.Context, sc *scenario.Scenario, f runFlags, stdout, stderr io.Writer) error {
	prog := newProgress(stderr, f, sc.Fleet.Users) // progress.go
	stopMetrics := func() {}
	defer func() { stopMetrics() }() // after the results are written and printed
	res, err := engine.Run(ctx, sc, engine.Options{
		Progress: prog.engineProgress(),
		Started: func(live engine.Live) error {
			stop, err := serveMetrics(f.metricsAddr, live, stderr, f.quiet) // metricsaddr.go
			if err != nil {
				return err
			}
			stopMetrics = stop
			if !f.quiet {
				fmt.Fprintf(stderr, "eixamsim: running %q: %d users for %v against %s (%s, %s)\n",
					sc.Name, sc.Fleet.Users, sc.Duration(), live.Target.Kind, live.Target.HTTP, live.Target.MQTT)
			}
			return nil
		},
	})
	prog.Close()
	if res != nil && !f.quiet {
		report.WriteText(stdout, res.Summary)
		fmt.Fprintf(stderr, "eixamsim: results in %s\n", res.Dir)
	}
	return err
}
