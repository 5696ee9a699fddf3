package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes the end-of-run table: per metric count, rate, p50, p95,
// p99, max and errors, then counters, threshold verdicts and notes.
func WriteText(w io.Writer, s *Summary) error {
	var b strings.Builder
	fmt.Fprintf(&b, "eixamsim run %q against %s target (%s, %s)\n", s.Name, s.Target.Kind, s.EndReason, fmtSeconds(s.Seconds))
	fmt.Fprintln(&b)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "metric\tcount\trate/s\tp50\tp95\tp99\tmax\terrors\t")
	for _, name := range s.MetricNames() {
		m := s.Metrics[name]
		if m.Count == 0 && m.Errors == 0 {
			fmt.Fprintf(tw, "%s\t0\t-\t-\t-\t-\t-\t0\t\n", name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t\n", name, m.Count, m.Rate,
			fmtMs(m.P50), fmtMs(m.P95), fmtMs(m.P99), fmtMs(m.Max), fmtErrors(m))
	}
	tw.Flush()
	if len(s.Counters) > 0 {
		fmt.Fprintln(&b)
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, name := range sortedKeys(s.Counters) {
			fmt.Fprintf(tw, "%s\t%d\n", name, s.Counters[name])
		}
		tw.Flush()
	}
	if len(s.Thresholds) > 0 {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, "thresholds:")
		for _, v := range s.Thresholds {
			mark := "PASS"
			if !v.Passed {
				mark = "FAIL"
			}
			fmt.Fprintf(&b, "  %s  %s: %s (observed %s)\n", mark, v.Metric, v.Rule, v.Observed)
		}
	}
	for _, n := range s.Notes {
		fmt.Fprintf(&b, "\nnote: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func fmtErrors(m Metric) string {
	if m.Errors == 0 {
		return "0"
	}
	parts := make([]string, 0, len(m.ErrorsBy))
	for _, c := range sortedKeys(m.ErrorsBy) {
		parts = append(parts, fmt.Sprintf("%s=%d", c, m.ErrorsBy[c]))
	}
	return fmt.Sprintf("%d (%s)", m.Errors, strings.Join(parts, " "))
}

// fmtMs prints a millisecond value with a unit that keeps 3 significant
// digits readable: 0.412ms, 12.3ms, 1.25s.
func fmtMs(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.3gs", v/1000)
	case v >= 100:
		return fmt.Sprintf("%.0fms", v)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	default:
		return fmt.Sprintf("%.3fms", v)
	}
}

func fmtSeconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(100 * time.Millisecond).String()
}
