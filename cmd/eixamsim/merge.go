package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/eixamsim/eixamsim/merge"
	"github.com/eixamsim/eixamsim/report"
)

func newMergeCmd(e *env) *cobra.Command {
	var out, baseline string
	var quiet bool
	var sj summaryJSON
	var col collectFlags // --collect: collect.go
	cmd := &cobra.Command{
		Use:   "merge RESULT_DIR... --out DIR [flags]",
		Short: "merge the result directories of the shards of one run into one",
		Long: `Merge the result directories of the shards of one sharded run into the result
directory of the whole run: HDR histograms and hlog intervals add exactly (aligned
by wall-clock second), counters and per-second gauges sum, and the scenario's
thresholds are judged again on the merged data. Every report format is written
to --out, and the exit code is the merged verdict, as for run (docs/merge.md).

Directories of different runs or scenarios, the same shard twice, shards that
did not run at the same time (together for at least 90 % of the run), a
summary.json with values no run writes, and an --out that is one of the inputs
are refused (exit 2). When shards are missing, what is there is merged and the
result is partial: exit 130, like an interrupted run. Rules against a baseline
("p(99) < baseline * 1.1") compare with --baseline DIR, as run's do.

With --collect ADDR the shards are not read from directories: merge listens
there for the result directories the shards send (run --results-to URL),
keeps them under --out/shards, and merges once every shard has sent its
results (or its failure), or when the wait is over (--collect-timeout, or 2
minutes after the first shard that ran to its end): a shard that sent
nothing is missing.`,
		Example: `  eixamsim merge results/shard-0 results/shard-1 results/shard-2 --out results/all
  eixamsim merge results/shard-* --out results/all --baseline results/main
  eixamsim merge --collect :8080 --shards 4 --run-id soak-7 --out /results/soak-7/merged`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && !col.on() {
				return usageError("merge: want one or more result directories (see 'eixamsim merge --help')")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageError("merge: --out DIR is required: where the merged result goes")
			}
			if col.on() {
				dirs, err := col.receive(cmd.Context(), out, args, e.stderr)
				if err != nil {
					return err
				}
				args = dirs
			}
			opts := merge.Options{Out: out, CommandLine: scrubArgs(e.args)}
			if baseline != "" {
				b, err := report.LoadBaseline(baseline)
				if err != nil {
					return usageError("merge: %w", err)
				}
				opts.Baseline = b
			}
			res, err := merge.Merge(args, opts)
			if res != nil {
				human := sj.human(e.stdout, e.stderr)
				if quiet {
					word, reason := report.Headline(res.Summary)
					fmt.Fprintf(human, "eixamsim: %s: %s (results in %s)\n", word, reason, res.Dir)
				} else {
					report.WriteText(human, res.Summary)
					fmt.Fprintf(e.stderr, "eixamsim: merged %d shards into %s\n", len(res.Summary.Meta.Shards), res.Dir)
				}
				sj.write(res.Dir, e.stdout, e.stderr)
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "the merged result `DIR` (required)")
	sj.register(cmd.Flags())
	cmd.Flags().StringVar(&baseline, "baseline", "", "judge the thresholds written against a baseline (\"p(99) < baseline * 1.1\") with the result `DIR` of an earlier run")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only problems and the verdict")
	col.register(cmd.Flags())
	return cmd
}
