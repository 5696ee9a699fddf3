package main

// A sharded run whose shards share no volume: each shard sends its
// result directory to a collector (`run --results-to URL`), and the
// collector merges what came (`merge --collect ADDR`). Package collect
// has the protocol; docs/distributed.md the Kubernetes setup built on it.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/eixamsim/eixamsim/collect"
	"github.com/eixamsim/eixamsim/engine"
)

// resultsTo is run's --results-to: where a shard sends its results.
type resultsTo struct {
	url string
	dir string // the result directory the run wrote; "" until it did
}

func (s *resultsTo) register(fl *pflag.FlagSet) {
	fl.StringVar(&s.url, "results-to", "", "when the run is over, send the result directory (or, without one, why) to the collector at `URL` (eixamsim merge --collect); needs --shard or --shards and --run-id")
}

// ran records the result directory of a run; res may be nil.
func (s *resultsTo) ran(res *engine.Result) {
	if s != nil && res != nil {
		s.dir = res.Dir
	}
}

// wrapRun makes the run command send its results after it ran, whatever
// its verdict. A shard whose results did not reach the collector exits 1:
// they are lost to the merge.
func (s *resultsTo) wrapRun(cmd *cobra.Command, e *env, f *runFlags) {
	inner := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if s.url == "" {
			return inner(cmd, args)
		}
		fl := cmd.Flags()
		switch {
		case fl.Changed("procs"):
			return usageError("run: --results-to cannot be combined with --procs (its parent merges the workers itself)")
		case !fl.Changed("shard") && !fl.Changed("shards"):
			return usageError("run: --results-to sends a shard's results: it needs --shard INDEX/COUNT or --shards COUNT")
		case !fl.Changed("run-id"):
			return usageError("run: --results-to needs --run-id: the collector takes only its run's shards")
		}
		if err := collect.CheckURL(s.url); err != nil {
			return usageError("run: --results-to: %v", err)
		}
		err := inner(cmd, args)
		sh := f.engine.Shard
		if sh == nil { // refused before the shard was known
			return err
		}
		c := collect.Client{URL: s.url, RunID: f.engine.RunID, Index: sh.Index, Logf: func(format string, args ...any) {
			fmt.Fprintf(e.stderr, "eixamsim: warning: "+format+"\n", args...)
		}}
		// Not the command's context: an interrupted shard still sends
		// what it wrote, within collect.SendFor.
		ctx := context.Background()
		if s.dir == "" {
			if serr := c.SendFailure(ctx, collect.Failure{ExitCode: codeOf(err), Error: errText(err)}); serr != nil {
				fmt.Fprintf(e.stderr, "eixamsim: warning: %v\n", serr)
			}
			return err
		}
		if serr := c.SendResults(ctx, s.dir); serr != nil {
			if err != nil {
				return withCode(exitInternal, fmt.Errorf("%w; and the results were not sent: %v", err, serr))
			}
			return withCode(exitInternal, fmt.Errorf("the results were not sent: %w", serr))
		}
		if !f.quiet {
			fmt.Fprintf(e.stderr, "eixamsim: results sent to %s (shard %s of run %s)\n", s.url, sh, f.engine.RunID)
		}
		return err
	}
}

func errText(err error) string {
	if err == nil {
		return "ended without results"
	}
	return err.Error()
}

// collectFlags are merge's --collect options: the collector.
type collectFlags struct {
	addr    string
	shards  int
	runID   string
	timeout time.Duration
}

func (c *collectFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&c.addr, "collect", "", "instead of reading directories, listen at `ADDR` (e.g. :8080) for the results the shards send (run --results-to), then merge them")
	fl.IntVar(&c.shards, "shards", 0, "with --collect: the run's shard count `N`")
	fl.StringVar(&c.runID, "run-id", "", "with --collect: the run's `ID`; another run's shards are refused")
	fl.DurationVar(&c.timeout, "collect-timeout", time.Hour, "with --collect: stop waiting for missing shards after `DURATION` (and 2m after the first shard that ran to its end)")
}

// on says --collect was given.
func (c *collectFlags) on() bool { return c.addr != "" }

// receive runs the collector until every shard has reported or the time
// is up, and returns the result directories that came, under out/shards.
// A shard that sent nothing, or a failure, is left out: the merge then
// names it missing.
func (c *collectFlags) receive(ctx context.Context, out string, args []string, stderr io.Writer) ([]string, error) {
	switch {
	case len(args) > 0:
		return nil, usageError("merge: --collect receives the shards' directories: give no directory (got %q)", args[0])
	case c.shards < 1:
		return nil, usageError("merge: --collect needs --shards N, the run's shard count")
	case c.runID == "":
		return nil, usageError("merge: --collect needs --run-id ID, the run's id")
	case c.timeout <= 0:
		return nil, usageError("merge: --collect-timeout %v: want a positive duration", c.timeout)
	}
	if err := engine.CheckRunID(c.runID); err != nil {
		return nil, usageError("merge: --run-id: %v", err)
	}
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "eixamsim: "+format+"\n", args...) }
	r, err := collect.NewReceiver(c.runID, c.shards, filepath.Join(out, "shards"), logf)
	if err != nil {
		return nil, withCode(exitInternal, err)
	}
	l, err := net.Listen("tcp", c.addr)
	if err != nil {
		return nil, usageError("merge: --collect: %v", err)
	}
	srv := r.Server()
	go func() { _ = srv.Serve(l) }()
	logf("collector listening on %s", l.Addr())
	reports, missing := r.Wait(ctx, c.timeout)
	stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(stop); err != nil {
		_ = srv.Close()
	}
	if len(missing) > 0 {
		logf("shards %s of %d sent nothing: merging the others (the result is partial)", collect.Indexes(missing), c.shards)
	}
	var dirs []string
	codes := map[int]bool{}
	for _, rep := range reports {
		if rep.Dir != "" {
			dirs = append(dirs, rep.Dir)
		} else {
			codes[rep.Failure.ExitCode] = true
		}
	}
	if len(dirs) > 0 {
		return dirs, nil
	}
	code := exitUnreachable // nothing measured
	if len(missing) == 0 && len(codes) == 1 {
		for c := range codes {
			if c != exitOK {
				code = c // every shard failed the same way (a scenario they all refused: 2)
			}
		}
	}
	return nil, withCode(code, errors.New("no shard of run "+c.runID+" sent results: nothing to merge"))
}
