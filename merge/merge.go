package merge

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/report"
)

// Options say where a merge writes and how it was invoked.
type Options struct {
	// Out is the merged result directory (required). It must not be one of
	// the inputs, however either is written (symlinks, relative paths). The files a run owns there (summary.json, summary.txt,
	// report.html, junit.xml, hdr/*.hlog) are replaced; others are left.
	Out string
	// CommandLine is how the merge was invoked, secrets already replaced,
	// for the merged meta; nil from code.
	CommandLine []string
	// Baseline, if set, is the earlier run that baseline rules ("p(99) <
	// baseline * 1.1") compare with; without it they fail, as a run's do.
	Baseline *report.Baseline
}

// Result is the merged result directory and the summary written there.
type Result struct {
	Dir     string
	Summary *report.Summary
	// Missing are the indexes of the run's shards that were not among the
	// inputs (0-based); nil when every shard was merged.
	Missing []int
}

// Merge merges the result directories dirs, the shards of one sharded run,
// into opts.Out and returns the merged summary. Its error says the merged
// verdict, with run's outcomes (an *outcome.Error; nil: passed):
//
//	BadInput         refused: not shards of one run of one scenario, a
//	                 duplicate shard, shards judged by different
//	                 thresholds or that did not run at the same time
//	                 (checkOverlap), a value no run writes (checkValues),
//	                 a log that disagrees with its summary, no --out or
//	                 an --out that is an input (nothing written)
//	Failed           writing the merged directory failed
//	Interrupted      shards are missing (the result is partial), or a
//	                 shard was interrupted
//	Aborted          a shard was stopped by abort_on_fail
//	Unreachable      no user of any shard logged in and connected
//	GeneratorBound   a shard was generator-bound
//	ThresholdsFailed a threshold failed on the merged data
//	NotJudged        a shard was too short to judge its generator
//
// The Result is non-nil once the merged files were written (also when
// writing some failed).
func Merge(dirs []string, opts Options) (*Result, error) {
	shards, err := readAll(dirs, opts.Out)
	if err != nil {
		return nil, outcome.Wrap(outcome.BadInput, err)
	}
	missing, err := checkShards(shards)
	if err != nil {
		return nil, outcome.Wrap(outcome.BadInput, err)
	}
	if err := checkOverlap(shards); err != nil {
		return nil, outcome.Wrap(outcome.BadInput, err)
	}
	tl, err := align(shards)
	if err != nil {
		return nil, outcome.Wrap(outcome.BadInput, err)
	}
	sum, err := build(shards, tl, missing, opts)
	if err != nil {
		return nil, outcome.Wrap(outcome.BadInput, err)
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return nil, outcome.Wrap(outcome.Failed, fmt.Errorf("result directory: %w", err))
	}
	if err := report.ClearDir(opts.Out); err != nil {
		return nil, outcome.Wrap(outcome.Failed, err)
	}
	// The logs first: report.html reads them.
	logErr := tl.writeLogs(filepath.Join(opts.Out, report.HdrDir))
	writeErr := errors.Join(logErr, report.WriteDir(opts.Out, sum, logErr))
	res := &Result{Dir: opts.Out, Summary: sum, Missing: missing}
	if writeErr != nil {
		return res, outcome.Wrap(outcome.Failed, writeErr)
	}
	return res, verdict(sum, shards, missing)
}

// readAll reads every input directory and checks its values; none may
// be the output directory.
func readAll(dirs []string, out string) ([]*shard, error) {
	if out == "" {
		return nil, errors.New("merge: the merged result directory (--out) is missing")
	}
	if len(dirs) == 0 {
		return nil, errors.New("merge: no result directory to merge")
	}
	now := time.Now()
	var shards []*shard
	for _, d := range dirs {
		if err := notOutput(d, out); err != nil {
			return nil, err
		}
		s, err := readShard(d)
		if err != nil {
			return nil, err
		}
		if err := checkValues(s, now); err != nil {
			return nil, err
		}
		shards = append(shards, s)
	}
	return shards, nil
}

// notOutput refuses an input directory that is the output directory,
// however either is written (a relative path, a symlink, a hard-linked or
// bind-mounted directory: the same file), or whose hdr/ is the output's:
// the merge clears the output's files before it writes.
func notOutput(dir, out string) error {
	for _, sub := range []string{"", report.HdrDir} {
		in, err := os.Stat(filepath.Join(dir, sub))
		if err != nil {
			continue // reading it says what is wrong
		}
		o, err := os.Stat(filepath.Join(out, sub))
		if err != nil {
			continue // not there yet: not an input
		}
		if os.SameFile(in, o) {
			return fmt.Errorf("merge: --out %s is one of the directories to merge (%s)", filepath.Join(out, sub), filepath.Join(dir, sub))
		}
	}
	return nil
}

// align puts every shard's intervals on one grid, after checking that
// each log holds what its summary counts (a log cut short cannot merge
// exactly).
func align(shards []*shard) (*timeline, error) {
	ref := shards[0].base
	for _, s := range shards[1:] {
		if s.base.Before(ref) {
			ref = s.base
		}
	}
	tl := newTimeline(ref)
	for _, s := range shards {
		off := s.base.Sub(ref)
		for _, name := range slices.Sorted(keys(s.hlogs, s.sum.Metrics)) {
			ivs := s.hlogs[name]
			var n int64
			at := make([]intervalAt, len(ivs))
			for i, iv := range ivs {
				n += iv.Hist.TotalCount()
				at[i] = intervalAt{start: secs(iv.Start), end: secs(iv.End()), hist: iv.Hist}
			}
			if want := s.sum.Metrics[name].Count; n != want {
				return nil, fmt.Errorf("refusing to merge: %s: hdr/%s.hlog holds %d values of %s, summary.json counts %d (a log is missing or was cut short)",
					s.dir, name, n, name, want)
			}
			tl.add(name, off, at)
		}
	}
	return tl, nil
}

// keys is the union of the keys of a and b.
func keys[A, B any](a map[string]A, b map[string]B) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range a {
			if !yield(k) {
				return
			}
		}
		for k := range b {
			if _, dup := a[k]; !dup && !yield(k) {
				return
			}
		}
	}
}

// indexes lists shard indexes as "0, 1 and 3".
func indexes(ix []int) string {
	parts := make([]string, len(ix))
	for i, n := range ix {
		parts[i] = fmt.Sprint(n)
	}
	if len(parts) <= 1 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
