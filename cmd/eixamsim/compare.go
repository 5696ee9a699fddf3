package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/eixamsim/eixamsim/compare"
)

func newCompareCmd(e *env) *cobra.Command {
	var (
		rules           []string
		out             string
		alpha           float64
		minChange       string
		onlySignificant bool
		quiet           bool
	)
	cmd := &cobra.Command{
		Use: "compare BASE_DIR NEW_DIR [flags]",
		Example: `  eixamsim compare results/main results/pr
  eixamsim compare results/main results/pr -o results/compare --fail-on 'telemetry.puback: p(99) > +10%'
  eixamsim compare results/main results/pr -o results/compare --quiet   # files only`,
		Short: "compare two result directories: percentiles side by side, noise judged, --fail-on rules",
		Long: `Compare two result directories (BASE, the reference, and NEW): per metric the
percentiles side by side with absolute and relative changes, counts, rates and
errors by class, whether each change is larger than run-to-run noise
(Mann-Whitney U test over the HDR histograms and percentile confidence
intervals), counters, and the metrics only one run has. Runs of different
scenarios get a warning.

--fail-on 'METRIC: AGG OP VALUE' rules (repeatable) fail the comparison:
AGG is p(N), avg, min, max, errors, count or rate; OP is >, >=, <, <=; VALUE a
change of NEW against BASE, relative (+10%) or absolute (+50ms, +0.5pp, +100,
+5/s). Example: --fail-on 'telemetry.puback: p(99) > +10%'.

The text goes to stdout; -o/--out DIR also writes compare.json, compare.txt
(the same text) and compare.html there, as -o names the result directory of
every command; --quiet leaves stdout to problems and the files to --out. Exit codes: 0 no rule broken, 1 internal error, 2 bad
usage, a directory that is not a result or a rule naming a metric neither run
has, 99 a rule broken (docs/ci.md).`,
		Args: exactArgs(2, "two result directories (BASE_DIR NEW_DIR)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			parsed, err := compare.ParseRules(rules)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("compare: %w", err))
			}
			floor, err := parsePercent(minChange)
			if err != nil {
				return usageError("compare: --min-change: %v", err)
			}
			if alpha <= 0 || alpha >= 0.5 {
				return usageError("compare: --alpha must be above 0 and below 0.5, got %g", alpha)
			}
			base, err := compare.Load(args[0])
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("compare: BASE %w", err))
			}
			next, err := compare.Load(args[1])
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("compare: NEW %w", err))
			}
			if floor == 0 {
				floor = -1 // Options: negative is none, zero the default
			}
			res := compare.Compare(base, next, compare.Options{Alpha: alpha, MinChange: floor, ExtraPercentiles: compare.RulePercentiles(parsed)})
			if err := res.Judge(parsed, onlySignificant); err != nil {
				return withCode(exitUsage, fmt.Errorf("compare: %w", err))
			}
			if out != "" {
				if err := compare.WriteDir(out, res); err != nil {
					return withCode(exitInternal, fmt.Errorf("compare: %w", err))
				}
			}
			if !quiet {
				if err := compare.WriteText(e.stdout, res); err != nil {
					return withCode(exitInternal, err)
				}
			}
			if broken := res.Broken(); len(broken) > 0 {
				parts := make([]string, len(broken))
				for i, b := range broken {
					parts[i] = b.Rule + " (observed " + b.Observed + ")"
				}
				return withCode(exitThresholds, fmt.Errorf("%d of %d --fail-on rules broken: %s", len(broken), len(res.Rules), strings.Join(parts, "; ")))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&rules, "fail-on", nil, "a `RULE` 'METRIC: AGG OP VALUE' that fails the comparison when NEW's change holds it (repeatable)")
	f.StringVarP(&out, "out", "o", "", "also write compare.json, compare.txt (the text of stdout) and compare.html into `DIR`")
	f.Float64Var(&alpha, "alpha", compare.DefaultAlpha, "significance level `ALPHA` of the noise tests (above 0, below 0.5)")
	f.StringVar(&minChange, "min-change", "2%", "smallest relative change of a percentile, `PERCENT`, that counts as beyond noise")
	f.BoolVar(&onlySignificant, "only-significant", false, "a p(N) rule breaks only when its change is also beyond noise")
	f.BoolVarP(&quiet, "quiet", "q", false, "print only problems (the files of --out are still written)")
	return cmd
}

// parsePercent reads "2%" (or "0.02") as a fraction.
func parsePercent(s string) (float64, error) {
	t := strings.TrimSpace(s)
	div := 1.0
	if strings.HasSuffix(t, "%") {
		t, div = strings.TrimSuffix(t, "%"), 100
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 {
		return 0, errors.New("want a percentage such as 2%, got " + strconv.Quote(s))
	}
	return v / div, nil
}
