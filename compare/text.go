package compare

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteText writes the comparison as text: the two runs, warnings, the
// method, then per metric its verdict and percentiles side by side, the
// metrics only one run has, counters and the rules.
func WriteText(w io.Writer, r *Result) error {
	var b strings.Builder
	fmt.Fprintln(&b, "eixamsim compare")
	for _, side := range []struct {
		label string
		in    RunInfo
	}{{"BASE", r.Base}, {"NEW ", r.New}} {
		fmt.Fprintf(&b, "  %s  %s  %q, %s, %.1fs %s%s\n", side.label, side.in.Dir, side.in.Name,
			side.in.Start.UTC().Format("2006-01-02 15:04:05Z"), side.in.Seconds, side.in.EndReason, hashNote(side.in))
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", warn)
	}
	fmt.Fprintf(&b, "\nnoise: a metric is slower/faster when a Mann-Whitney U test of its histograms gives p < %g and p50 moved by %s or more;\n", r.Method.Alpha, pct(r.Method.MinChange))
	fmt.Fprintf(&b, "a percentile is significant when it moved by %s or more and its %s confidence intervals do not overlap.\n", pct(r.Method.MinChange), pct(1-r.Method.Alpha))
	fmt.Fprintln(&b, "Both assume independent samples; latencies in a run are autocorrelated, so take small significant changes with care.")

	for _, m := range r.Metrics {
		fmt.Fprintf(&b, "\n%s: %s", m.Name, strings.ToUpper(m.Verdict))
		fmt.Fprintf(&b, "  (count %s, errors %s, rate %s/s", arrow(m.Count, "%.0f"), arrow(m.Errors, "%.0f"), arrow(m.Rate, "%.1f"))
		if t := m.Test; t != nil {
			fmt.Fprintf(&b, "; Mann-Whitney p %s, Cliff's delta %+.2f", fmtP(t.P), t.CliffsDelta)
		}
		fmt.Fprintln(&b, ")")
		if m.Count.Base == 0 && m.Count.New == 0 {
			continue
		}
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "  \tbase\tnew\tdelta\trel\t noise")
		for _, p := range m.Percentiles {
			if p.Judgement == NoSamples {
				fmt.Fprintf(tw, "  %s\t-\t-\t-\t-\t %s\n", fmtQ(p.Q), p.Judgement)
				continue
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t %s\n", fmtQ(p.Q), fmtMs(p.Base), fmtMs(p.New), signedMs(p.Delta.Delta), fmtRel(p.Delta), p.Judgement)
		}
		if m.Count.Base > 0 && m.Count.New > 0 {
			for _, row := range []struct {
				name string
				d    Delta
			}{{"mean", m.Mean}, {"max", m.Max}} {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t\n", row.name, fmtMs(row.d.Base), fmtMs(row.d.New), signedMs(row.d.Delta), fmtRel(row.d))
			}
		}
		tw.Flush()
		if len(m.ErrorsBy) > 0 {
			parts := make([]string, len(m.ErrorsBy))
			for i, c := range m.ErrorsBy {
				parts[i] = fmt.Sprintf("%s %d -> %d", c.Class, c.Base, c.New)
			}
			fmt.Fprintf(&b, "  errors by class: %s (error rate %s -> %s)\n", strings.Join(parts, ", "), pct(m.ErrorRate.Base), pct(m.ErrorRate.New))
		}
	}
	if len(r.OnlyBase) > 0 {
		fmt.Fprintf(&b, "\nonly in BASE: %s\n", strings.Join(r.OnlyBase, ", "))
	}
	if len(r.OnlyNew) > 0 {
		fmt.Fprintf(&b, "\nonly in NEW: %s\n", strings.Join(r.OnlyNew, ", "))
	}
	if len(r.Counters) > 0 {
		fmt.Fprintln(&b, "\ncounters and gauges (at the end of the run):")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "  \tbase\tnew\tdelta\trel\t")
		for _, c := range r.Counters {
			fmt.Fprintf(tw, "  %s\t%.0f\t%.0f\t%+.0f\t%s\t\n", c.Name, c.Base, c.New, c.Delta.Delta, fmtRel(c.Delta))
		}
		tw.Flush()
	}
	if len(r.Rules) > 0 {
		fmt.Fprintln(&b, "\nrules (--fail-on):")
		for _, rr := range r.Rules {
			mark := "ok    "
			if rr.Broken {
				mark = "BROKEN"
			}
			extra := ""
			if rr.Noise != "" {
				extra = ", " + rr.Noise
			}
			fmt.Fprintf(&b, "  %s  %s (observed %s%s)\n", mark, rr.Rule, rr.Observed, extra)
			if rr.Note != "" {
				fmt.Fprintf(&b, "          %s\n", rr.Note)
			}
		}
		if n := len(r.Broken()); n > 0 {
			fmt.Fprintf(&b, "%d of %d rules broken\n", n, len(r.Rules))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func hashNote(in RunInfo) string {
	if in.ScenarioHash == "" {
		return ""
	}
	return ", scenario " + short(in.ScenarioHash)
}

// arrow writes "base -> new" with f as each number's format.
func arrow(d Delta, f string) string {
	return fmt.Sprintf(f+" -> "+f, d.Base, d.New)
}

// pct writes a fraction as a percentage: 0.02 -> "2%", 0.0123 -> "1.23%".
func pct(f float64) string {
	return strconv.FormatFloat(100*f, 'g', 3, 64) + "%"
}
