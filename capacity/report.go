package capacity

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/eixamsim/eixamsim/report"
)

// The files a search writes beside the run's own.
const (
	JSONFile = "capacity.json"
	TextFile = "capacity.txt"
	HTMLFile = "capacity.html"
)

// WriteDir writes capacity.json, capacity.txt and capacity.html into dir,
// each atomically.
func WriteDir(dir string, r *Result) error {
	for _, f := range []struct {
		name  string
		write func(io.Writer, *Result) error
	}{{JSONFile, WriteJSON}, {TextFile, WriteText}, {HTMLFile, WriteHTML}} {
		if err := report.WriteFileAtomic(filepath.Join(dir, f.name), func(w io.Writer) error { return f.write(w, r) }); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return nil
}

// WriteJSON writes capacity.json.
func WriteJSON(w io.Writer, r *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// ordered returns the steps sorted by load (then by order run).
func (r *Result) ordered() []StepResult {
	out := append([]StepResult(nil), r.Steps...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Load < out[j].Load })
	return out
}

// WriteText writes capacity.txt: the headline, the steps in the order
// they ran, and the bounds.
func WriteText(w io.Writer, r *Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "capacity of %s: %s\n\n", r.Name, r.Headline)
	c := r.Capacity
	fmt.Fprintf(&b, "outcome %s; dimension %s from %v to at most %v, ×%v then bisection to %s; warm-up %v, hold %v per step\n\n",
		r.Outcome, c.Dimension, c.Start, c.Max, c.Factor, pctString(c.Resolution), c.Warmup, c.Hold)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "step\tload\tverdict\toffered/s\tachieved/s\terrors\t%s p50\tp99\tgenerator\twhy\n", r.KneeMetric)
	for _, st := range r.Steps {
		m := st.Metrics[r.KneeMetric]
		why := strings.Join(st.Failed, "; ")
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.4g\t%.4g\t%s\t%.4gms\t%.4gms\t%s\t%s\n", st.Index, trimFloat(st.Load), st.Verdict,
			st.OfferedPerSecond, st.AchievedPerSecond, pctString(st.ErrorShare), m.P50MS, m.P99MS, st.Generator.State, why)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\n")
	if r.HighestPass > 0 {
		fmt.Fprintf(&b, "highest passing load: %s\n", r.load(r.HighestPass))
	}
	if r.FirstFail > 0 {
		fmt.Fprintf(&b, "first failing load:   %s: %s\n", r.load(r.FirstFail), strings.Join(r.FailedBecause, "; "))
	}
	if r.Knee > 0 {
		fmt.Fprintf(&b, "knee:                 %s (p99 of %s at least twice its value at the lowest load)\n", r.load(r.Knee), r.KneeMetric)
	}
	for _, a := range r.Advice {
		fmt.Fprintf(&b, "- %s\n", a)
	}
	fmt.Fprintf(&b, "run: %s (summary.json, report.html)\n", r.RunDir)
	_, err := io.WriteString(w, b.String())
	return err
}
