package procs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/eixamsim/eixamsim/engine"
	"github.com/eixamsim/eixamsim/merge"
	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/report"
)

// Worker command-line flags that Run adds to Config.Args. The worker's
// command (`run`, or `capacity` for a search) must accept them;
// StatusFDFlag, TargetFlag and StepsFDFlag are hidden there (they exist
// for workers only).
const (
	StatusFDFlag = "--status-fd"
	TargetFlag   = "--procs-target"
	StepsFDFlag  = "--steps-fd"
)

// StepsFD is the file descriptor a worker reads its steps from when
// Config.Steps is set: the second of exec.Cmd.ExtraFiles.
const StepsFD = 4

// ShardsDir is where the workers' result directories go, under the run's
// result directory: shards/run-shard-<i>-of-<n>.
const ShardsDir = "shards"

// Config is one multi-process run.
type Config struct {
	// Exe is the binary the workers run (os.Executable()).
	Exe string
	// Args are every worker's arguments before the ones Run adds: "run",
	// the scenario file and the flags that shape the scenario (--set,
	// --users, --duration, --seed). Run adds --shard i/N, --run-id,
	// --start-at, --out, --quiet and StatusFDFlag, and TargetFlag when
	// Backend is set.
	Args []string
	// Count is the number of workers (>= 1).
	Count int
	// Dir is the run's result directory: the merged result goes there,
	// the shards under Dir/shards.
	Dir string
	// RunID is the run id every shard records (engine.CheckRunID).
	RunID string
	// StartAt is when the workers start their users: late enough for
	// every worker to be ready (they refuse a start more than
	// engine.StartSlack in the past).
	StartAt time.Time
	// Backend, if set, is the parent's embedded backend the workers use.
	Backend *Backend
	// Progress, if set, is told about the combined run once a second.
	Progress engine.Progress
	// Output, if set, gets each line a worker prints, from the workers'
	// reader goroutines: on stderr (stderr true) its warnings and
	// problems, on stdout its verdict line.
	Output func(w *Worker, line string, stderr bool)
	// Started, if set, is called once every worker runs.
	Started func([]*Worker)
	// CommandLine is the parent's command line (secrets replaced), for
	// the merged summary's meta.
	CommandLine []string
	// Baseline, if set, is what the merge judges baseline rules by (the
	// workers get the same --baseline among Args and judge their shards).
	Baseline *report.Baseline
	// Interrupt is the signal a cancelled ctx sends each worker once; zero
	// means os.Interrupt.
	Interrupt os.Signal

	// Steps gives each worker a pipe from the parent on StepsFD (Run adds
	// StepsFDFlag to its arguments), written with Worker.Send: a capacity
	// search sends its steps there. Closed when the worker exits.
	Steps bool
	// Status, if set, gets every Status line of worker i as it arrives
	// (from the workers' reader goroutines) instead of the combined
	// progress view: Progress is then not told anything.
	Status func(i int, s Status)
	// Exited, if set, is told about each worker as soon as it has exited
	// (from a goroutine of its own per worker), before Run returns.
	Exited func(Exit)

	// CPUProfile and MemProfile, if set, are the parent's --cpuprofile and
	// --memprofile files: worker i writes its own, ProfileFile(path, i).
	CPUProfile, MemProfile string
}

// Result is a finished multi-process run.
type Result struct {
	// Workers are how each worker ended, by index.
	Workers []Exit
	// Merged is the merged result directory; nil when no worker left
	// results or the merge was refused.
	Merged *merge.Result
}

// Died lists the workers whose shards failed (Exit.Died).
func (r *Result) Died() []Exit {
	var out []Exit
	for _, e := range r.Workers {
		if e.Died() {
			out = append(out, e)
		}
	}
	return out
}

// ErrNoResults is returned (wrapped) when no worker ran its shard to a
// verdict with this run's results: nothing to merge. The workers' exit codes (Result.Workers)
// say why.
var ErrNoResults = errors.New("no worker wrote this run's results")

// ShardDir is shard i of n's result directory under the run's dir: the
// --out a worker is given, with the suffix engine.Run adds for a shard.
func ShardDir(dir string, i, n int) string {
	return filepath.Join(dir, ShardsDir, "run") + fmt.Sprintf("-shard-%d-of-%d", i, n)
}

// Run starts cfg.Count workers, shows their combined progress, forwards a
// cancelled ctx to them as one cfg.Interrupt each, waits for all of them,
// and merges the shards of the workers that ran to a verdict with this
// run's results into cfg.Dir (merge.Merge). cfg.Dir and every shard
// directory under it are cleared of a previous run's files first.
//
// The error is the merged verdict as merge gives it (an *outcome.Error),
// prefixed with the workers that died: a missing shard makes the result
// partial (outcome.Interrupted). ErrNoResults when no shard has results;
// a start error when a worker could not start (those that did are
// interrupted and waited for).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Count < 1 {
		return nil, fmt.Errorf("procs: %d workers: want at least 1", cfg.Count)
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, ShardsDir), 0o755); err != nil {
		return nil, fmt.Errorf("result directory: %w", err)
	}
	if err := cfg.clearDirs(); err != nil {
		return nil, err
	}
	interrupt := cfg.Interrupt
	if interrupt == nil {
		interrupt = os.Interrupt
	}
	lv := newLive(cfg.Count, time.Now())
	workers := make([]*Worker, cfg.Count)
	var startErr error
	for i := range cfg.Count {
		status := func(i int, s Status) {
			if s.Settled == nil {
				lv.add(i, s)
			}
		}
		if cfg.Status != nil {
			status = cfg.Status
		}
		w, err := startWorker(i, cfg.Exe, cfg.workerArgs(i), ShardDir(cfg.Dir, i, cfg.Count), cfg.Steps, status, cfg.Output)
		if err != nil {
			startErr = err
			workers = workers[:i]
			break
		}
		workers[i] = w
	}
	if startErr == nil && cfg.Started != nil {
		cfg.Started(workers)
	}
	if startErr != nil {
		for _, w := range workers {
			w.signal(interrupt)
		}
	}

	exits := make([]Exit, len(workers))
	done := make(chan int, len(workers))
	for i, w := range workers {
		go func() {
			exits[i] = w.wait()
			exits[i].Results = cfg.ownResults(w.Dir, i)
			lv.exited(i)
			if cfg.Exited != nil {
				cfg.Exited(exits[i])
			}
			done <- i
		}()
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	stop := ctx.Done()
	for left := len(workers); left > 0; {
		select {
		case <-done:
			left--
		case now := <-tick.C:
			lv.flush(now, cfg.Progress)
		case <-stop:
			for _, w := range workers {
				w.signal(interrupt)
			}
			stop = nil // once: a second signal would stop a worker without results
		}
	}
	lv.flush(time.Now(), cfg.Progress)
	res := &Result{Workers: exits}
	if startErr != nil {
		return res, startErr
	}
	return res, res.merge(cfg)
}

// workerArgs are worker i's arguments.
func (cfg Config) workerArgs(i int) []string {
	args := append([]string(nil), cfg.Args...)
	args = append(args,
		"--shard", fmt.Sprintf("%d/%d", i, cfg.Count),
		"--run-id", cfg.RunID,
		"--start-at", cfg.StartAt.UTC().Format(time.RFC3339),
		"--out", filepath.Join(cfg.Dir, ShardsDir, "run"),
		"--quiet",
		StatusFDFlag, strconv.Itoa(StatusFD))
	if cfg.Backend != nil {
		args = append(args, TargetFlag, cfg.Backend.TargetArg())
	}
	if cfg.Steps {
		args = append(args, StepsFDFlag, strconv.Itoa(StepsFD))
	}
	return append(args, cfg.profileArgs(i)...)
}

// clearDirs removes the files a previous run left in the run's result
// directory and in every shard directory under it (report.ClearDir)
// before any worker starts: a worker that dies before its own run clears
// its directory must leave no earlier shard there to be merged.
func (cfg Config) clearDirs() error {
	dirs := []string{cfg.Dir}
	entries, err := os.ReadDir(filepath.Join(cfg.Dir, ShardsDir))
	if err != nil {
		return fmt.Errorf("result directory: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "run-shard-") {
			dirs = append(dirs, filepath.Join(cfg.Dir, ShardsDir, e.Name()))
		}
	}
	for _, d := range dirs {
		if err := report.ClearDir(d); err != nil {
			return err
		}
	}
	return nil
}

// ownResults reports whether dir holds worker i's results of this run: a
// summary.json with the run id, shard i of Count, and a start no earlier
// than StartAt (to the second: the workers are given it in RFC 3339).
// Whatever else is there is not this run's.
func (cfg Config) ownResults(dir string, i int) bool {
	s, err := report.ReadSummaryFile(dir)
	if err != nil || s.Meta == nil || s.Meta.Shard == nil {
		return false
	}
	return s.Meta.RunID == cfg.RunID && *s.Meta.Shard == (report.Shard{Index: i, Count: cfg.Count}) &&
		!s.Start.Before(cfg.StartAt.Truncate(time.Second))
}

// merge merges the shards of the workers that ran to a verdict with this
// run's results, and says which failed.
func (r *Result) merge(cfg Config) error {
	var dirs []string
	for _, e := range r.Workers {
		if !e.Died() {
			dirs = append(dirs, e.Worker.Dir)
		}
	}
	var died []string
	for _, e := range r.Died() {
		died = append(died, e.String())
	}
	if len(dirs) == 0 {
		return fmt.Errorf("%w (%s)", ErrNoResults, strings.Join(died, "; "))
	}
	m, err := merge.Merge(dirs, merge.Options{Out: cfg.Dir, CommandLine: cfg.CommandLine, Baseline: cfg.Baseline})
	r.Merged = m
	if len(died) == 0 {
		return err
	}
	prefix := strings.Join(died, "; ")
	var ee *outcome.Error
	if errors.As(err, &ee) {
		return &outcome.Error{Outcome: ee.Outcome, Err: fmt.Errorf("%s; %w", prefix, ee.Err), Hints: ee.Hints}
	}
	if err != nil {
		return fmt.Errorf("%s; %w", prefix, err)
	}
	// Every shard merged although a worker died after writing its
	// results: the merge's verdict stands, the death is still said.
	return outcome.Wrap(outcome.Interrupted, errors.New(prefix))
}
