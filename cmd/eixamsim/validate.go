package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// newValidateCmd checks scenario files without running them: everything
// `run` checks before it starts (strict YAML, ${VAR} expansion, defaults,
// validation, threshold rules and metric names, the sessions CSV and TLS
// files), for every file given. Each problem is printed on stderr as
// FILE:LINE:COLUMN: PATH: MESSAGE; each valid file gets one "ok" line on
// stdout. It fails with exit 2 when a file is invalid.
func newValidateCmd(e *env) *cobra.Command {
	var quiet bool
	var baselineDir string
	var sf scenarioFlags // --users, --duration, --set, --seed: as run applies them
	cmd := &cobra.Command{
		Use:   "validate SCENARIO.yaml... [flags]",
		Short: "check scenario files without running them (exit 0 or 2)",
		Long: `Check scenario files without running them: everything run checks before it
starts (strict YAML, ${VAR} expansion, defaults, validation, threshold rules
and metric names, the sessions CSV and TLS files). Every problem is printed as
FILE:LINE:COLUMN: PATH: MESSAGE. Exit 0 when every file is valid, else 2.
A rule against a baseline ("p(99) < baseline * 1.1") needs --baseline DIR,
the result directory of an earlier run, which is read and checked.

--users, --duration, --set and --seed change every file as they change run's:
validate a scenario with the flags the run will get, and what is checked is
what will run.`,
		Example: `  eixamsim validate scenarios/*.yaml
  eixamsim validate scenarios/ci-gate.yaml --users 500 --duration 2m --set behaviours.telemetry.every=5s
  eixamsim validate scenarios/ci-gate.yaml --baseline results/main`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError("validate: want at least one scenario file (see 'eixamsim validate --help')")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var base *report.Baseline
			if baselineDir != "" {
				var err error
				if base, err = report.LoadBaseline(baselineDir); err != nil {
					return withCode(exitUsage, err)
				}
			}
			opts := sf.options(cmd.Flags())
			invalid, problems := 0, 0
			for _, path := range args {
				sc, err := scenario.Load(path, opts)
				if err == nil {
					err = sc.CheckBaseline(base != nil)
				}
				if err != nil {
					invalid++
					var list scenario.ErrorList
					if errors.As(err, &list) {
						problems += list.Count()
					} else {
						problems++
					}
					fmt.Fprintln(e.stderr, err) // one problem per line, located, secrets scrubbed
					continue
				}
				if base != nil {
					for _, msg := range base.Lacks(sc) {
						fmt.Fprintf(e.stderr, "%s: warning: thresholds.%s\n", path, msg)
					}
				}
				if !quiet {
					fmt.Fprintf(e.stdout, "%s: ok (%s: %d users, %s, %d threshold rules)\n",
						path, sc.Name, sc.Fleet.Users, sc.Duration(), countRules(sc.Thresholds))
				}
			}
			if invalid > 0 {
				return usageError("validate: %d of %d files invalid, %d problems", invalid, len(args), problems)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	sf.registerShape(fl)
	sf.registerSet(fl)
	fl.BoolVarP(&quiet, "quiet", "q", false, "print only problems")
	fl.StringVar(&baselineDir, "baseline", "", "the result `DIR` of an earlier run that baseline rules (\"p(99) < baseline * 1.1\") would compare with: checked, and each rule it has no samples for is warned about; without it a baseline rule is an error")
	return cmd
}

// countRules counts the threshold rules of every metric.
func countRules(th scenario.Thresholds) int {
	n := 0
	for _, mr := range th.Metrics {
		n += len(mr.Rules)
	}
	return n
}
