package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/eixamsim/eixamsim/engine"
	"github.com/eixamsim/eixamsim/procs"
	"github.com/eixamsim/eixamsim/progress"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// procsFlags are `run --procs` and the hidden flags of its workers
// (package procs).
type procsFlags struct {
	procs string // N or auto: run that many worker processes
	// Worker side: write procs.Status lines to this file descriptor, and
	// run against the parent's backend ("HTTP_URL,MQTT_URL").
	statusFD int
	target   string
	// status is the worker's engine.Progress when statusFD is set.
	status engine.Progress
}

func (p *procsFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&p.procs, "procs", "", "run the scenario as `N` worker processes of this binary (or auto: as many as the open-files limit needs), each a shard, merged into one result (docs/distributed.md)")
	fl.IntVar(&p.statusFD, strings.TrimPrefix(procs.StatusFDFlag, "--"), 0, "worker of --procs: write a status line per second to file descriptor `FD`")
	fl.StringVar(&p.target, strings.TrimPrefix(procs.TargetFlag, "--"), "", "worker of --procs: run against the parent's backend `HTTP_URL,MQTT_URL` instead of the embedded one")
	_ = fl.MarkHidden(strings.TrimPrefix(procs.StatusFDFlag, "--"))
	_ = fl.MarkHidden(strings.TrimPrefix(procs.TargetFlag, "--"))
}

// worker applies a worker's hidden flags to its loaded scenario: the
// parent's backend as the target, the status lines as the progress sink.
func (p *procsFlags) worker(sc *scenario.Scenario) (*scenario.Scenario, error) {
	if p.target != "" {
		var err error
		if sc, err = procs.Retarget(sc, p.target); err != nil {
			return nil, usageError("run: %s: %v", procs.TargetFlag, err)
		}
	}
	if p.statusFD > 0 {
		f := os.NewFile(uintptr(p.statusFD), "status")
		if f == nil {
			return nil, usageError("run: %s %d: not an open file descriptor", procs.StatusFDFlag, p.statusFD)
		}
		p.status = procs.NewStatusWriter(f, progress.Metrics)
	}
	return sc, nil
}

// procsRefused are run's flags that --procs cannot take: it runs its own
// shards, and its workers cannot share one metrics port. (A --baseline
// goes to every worker, and the merge judges the whole run by it; so does
// --remote-write, each worker pushing its own series, labelled with its
// shard.)
var procsRefused = []string{"shard", "shards", "metrics-addr", "linger",
	strings.TrimPrefix(procs.StatusFDFlag, "--"), strings.TrimPrefix(procs.TargetFlag, "--")}

// procsOwn are run's flags the parent sets for each worker itself; every
// other flag given is passed on as it was.
var procsOwn = map[string]bool{"procs": true, "out": true, "no-progress": true, "quiet": true, "start-at": true, "run-id": true, "summary-json": true,
	profileOwn[0]: true, profileOwn[1]: true}

// runProcs runs sc (loaded from path) as worker processes: `run --procs`.
func runProcs(cmd *cobra.Command, e *env, f runFlags, path string, sc *scenario.Scenario) error {
	ctx := cmd.Context()
	fl := cmd.Flags()
	for _, name := range procsRefused {
		if fl.Changed(name) {
			return usageError("run: --%s cannot be combined with --procs (the workers are the shards; see docs/distributed.md)", name)
		}
	}
	n, err := procsCount(f.procs.procs, sc, procs.FDLimit())
	if err != nil {
		return err
	}
	cfg := procs.Config{Count: n, RunID: f.engine.RunID, StartAt: f.engine.StartAt, CommandLine: scrubArgs(e.args),
		Args: append([]string{"run", path}, passedOn(fl, procsOwn)...), CPUProfile: f.profile.cpu, MemProfile: f.profile.mem}
	if f.baseline != "" {
		if cfg.Baseline, err = report.LoadBaseline(f.baseline); err != nil {
			return withCode(exitUsage, err)
		}
	}
	if cfg, err = procs.Prepare(ctx, sc, cfg); err != nil {
		return fmt.Errorf("run --procs: %w", err)
	}
	defer cfg.Close()
	targetText := addresses(sc.Target.HTTP, sc.Target.APIs()) + " " + addresses(sc.Target.MQTT, sc.Target.Brokers())
	if b := cfg.Backend; b != nil {
		targetText = "the embedded backend at " + b.HTTP + " " + b.MQTT
	}

	prog := progress.New(e.stderr, f.quiet || f.noProgress, sc.MaxUsers())
	cfg.Progress = prog.Sink()
	cfg.Output = func(w *procs.Worker, line string, stderr bool) {
		if !stderr && f.quiet {
			return // a worker's verdict line: the merged verdict is the run's
		}
		prog.Println(fmt.Sprintf("[worker %d] %s", w.Index, line))
	}
	cfg.Started = func(ws []*procs.Worker) {
		if f.quiet {
			return
		}
		names := make([]string, len(ws))
		for i, w := range ws {
			names[i] = strconv.Itoa(w.PID)
		}
		fmt.Fprintf(e.stderr, "eixamsim: running %q: %d users in %d worker processes (pids %s) for %v against %s, starting at %s (run id %s)\n",
			sc.Name, sc.Fleet.Users, n, strings.Join(names, " "), sc.Duration(), targetText, cfg.StartAt.UTC().Format(time.RFC3339), cfg.RunID)
	}
	res, err := procs.Run(ctx, cfg)
	prog.Close()
	if res != nil {
		for _, x := range res.Died() {
			fmt.Fprintf(e.stderr, "eixamsim: %s\n", x)
		}
	}
	if res != nil && res.Merged != nil {
		human := f.summaryJSON.human(e.stdout, e.stderr)
		if f.quiet {
			word, reason := report.Headline(res.Merged.Summary)
			fmt.Fprintf(human, "eixamsim: %s: %s (results in %s)\n", word, reason, res.Merged.Dir)
		} else {
			report.WriteText(human, res.Merged.Summary)
			fmt.Fprintf(e.stderr, "eixamsim: merged %d of %d shards into %s\n", len(res.Merged.Summary.Meta.Shards), n, res.Merged.Dir)
		}
		f.summaryJSON.write(res.Merged.Dir, e.stdout, e.stderr)
	}
	if errors.Is(err, procs.ErrNoResults) {
		return withCode(noResultsCode(res, ctx.Err() != nil), err)
	}
	return err
}

// passedOn are the flags given on the command line as a worker gets them,
// but for those in own (which the parent sets for each worker itself):
// every repeat of a repeatable flag, each as given.
func passedOn(fl *pflag.FlagSet, own map[string]bool) []string {
	var args []string
	fl.Visit(func(fg *pflag.Flag) {
		if own[fg.Name] {
			return
		}
		if sv, ok := fg.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				args = append(args, "--"+fg.Name, v)
			}
			return
		}
		args = append(args, "--"+fg.Name+"="+fg.Value.String())
	})
	return args
}

// procsCount reads --procs: a number, or auto (procs.Auto).
func procsCount(v string, sc *scenario.Scenario, fds int) (int, error) {
	if v == "auto" {
		n, err := procs.Auto(sc, fds)
		if err != nil {
			return 0, usageError("run: %v", err)
		}
		return n, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > scenario.MaxShards {
		return 0, usageError("run: --procs %q: want a number of processes from 1 to %d, or auto", v, scenario.MaxShards)
	}
	return n, nil
}

// noResultsCode is the exit code when no worker left results: the
// workers' own code when they agree (a scenario they all refused: 2), 130
// when interrupted, else 1.
func noResultsCode(res *procs.Result, interrupted bool) int {
	if interrupted {
		return exitInterrupted
	}
	code := -1
	for _, x := range res.Workers {
		switch {
		case x.Code <= 0:
			return exitInternal
		case code == -1:
			code = x.Code
		case code != x.Code:
			return exitInternal
		}
	}
	if code <= 0 {
		return exitInternal
	}
	return code
}
