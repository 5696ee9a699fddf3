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
	switch {
	case s.GeneratorBound():
		fmt.Fprintf(&b, "GENERATOR-BOUND: the simulator was the bottleneck, not the target: %s\n", generatorReasons(s))
	case s.GeneratorNotJudged():
		fmt.Fprintf(&b, "NOT JUDGED: %s\n", generatorReasons(s))
	}
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
	writeProfileTable(&b, s)
	writeStageTable(&b, s)
	if len(s.Events) > 0 {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, "events:")
		for _, e := range s.Events {
			fmt.Fprintf(&b, "  %s\n", EventLine(e))
		}
	}
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
			why := ""
			if s.NotJudged(v) {
				why = "; " + endOnlyNote
			}
			fmt.Fprintf(&b, "  %s  %s: %s (observed %s%s)\n", s.verdictMark(v), v.Key(), v.Rule, v.ObservedText(), why)
		}
		if !s.Judged() {
			fmt.Fprintf(&b, "  (SKIP: %s)\n", s.notJudgedReason())
		}
	}
	if o := s.UsersOnline; o != nil {
		fmt.Fprintln(&b)
		fmt.Fprintf(&b, "users online: peak %d", o.Peak)
		for _, st := range o.Stages {
			fmt.Fprintf(&b, "; %s %d..%d", st.Name, st.Min, st.Max)
		}
		fmt.Fprintln(&b, " (per-second samples, min..max per stage)")
	}
	if c := s.Connect; c != nil {
		fmt.Fprintf(&b, "connect rate: %s\n", c)
	}
	if g := s.Generator; g != nil {
		fmt.Fprintln(&b)
		fmt.Fprintf(&b, "generator: %s (CPU mean %.0f%% peak %.0f%% of %d cores, scheduler p99 %s, schedule.lag peak p99 %s, backpressure %d of %d, arrivals dropped late %d of %d)\n",
			g.Verdict.String(), g.CPU.MeanPct, g.CPU.PeakPct, g.Cores, fmtMs(g.SchedLatency.P99MS), fmtMs(g.ScheduleLag.PeakP99MS),
			g.Backpressure.Dropped, g.Backpressure.Attempts, g.LateArrivals.Dropped, g.LateArrivals.Arrivals)
	}
	for _, n := range s.Notes {
		fmt.Fprintf(&b, "\nnote: %s\n", n)
	}
	if lines := s.Meta.Lines(); len(lines) > 0 {
		fmt.Fprintln(&b)
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, l := range lines {
			fmt.Fprintf(tw, "%s:\t%s\n", l.Key, l.Value)
		}
		tw.Flush()
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeProfileTable writes, with network profiles or per-origin SOS
// twins, each profile's (or origin's) latency metrics that measured
// something: "sos.delivered on 3g" is one line.
func writeProfileTable(b *strings.Builder, s *Summary) {
	profiles := s.ProfileMetrics()
	if profiles == nil {
		return
	}
	fmt.Fprintln(b)
	fmt.Fprintln(b, "per network profile and SOS origin:")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "profile\tmetric\tcount\trate/s\tp50\tp95\tp99\tmax\terrors\t")
	for _, p := range s.ProfileNames() {
		for _, name := range sortedKeys(profiles[p]) {
			m := profiles[p][name]
			switch {
			case m.Count == 0 && m.Errors == 0:
			case m.Count == 0:
				fmt.Fprintf(tw, "%s\t%s\t0\t-\t-\t-\t-\t-\t%s\t\n", p, name, fmtErrors(m))
			default:
				fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t\n", p, name, m.Count, m.Rate,
					fmtMs(m.P50), fmtMs(m.P95), fmtMs(m.P99), fmtMs(m.Max), fmtErrors(m))
			}
		}
	}
	tw.Flush()
}

// writeStageTable writes, when stages kept statistics and there are
// several, each stage's row for every key metric (StageMetrics).
func writeStageTable(b *strings.Builder, s *Summary) {
	names := s.StageMetrics()
	if len(names) == 0 {
		return
	}
	fmt.Fprintln(b)
	fmt.Fprintln(b, "per stage:")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\tmetric\tcount\trate/s\tp50\tp95\tp99\terrors\t")
	for _, st := range s.Stages {
		for _, name := range names {
			m := st.Metrics[name]
			if m.Count == 0 {
				fmt.Fprintf(tw, "%s\t%s\t0\t-\t-\t-\t-\t%s\t\n", st.Name, name, fmtErrors(m))
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t\n", st.Name, name, m.Count, m.Rate,
				fmtMs(m.P50), fmtMs(m.P95), fmtMs(m.P99), fmtErrors(m))
		}
	}
	tw.Flush()
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

// generatorReasons lists why the run was generator-bound (or not judged),
// "; "-separated.
func generatorReasons(s *Summary) string {
	msgs := make([]string, len(s.Generator.Reasons))
	for i, r := range s.Generator.Reasons {
		msgs[i] = r.Message
	}
	return strings.Join(msgs, "; ")
}
