package compare

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/eixamsim/eixamsim/report"
)

//go:embed assets/compare.html.tmpl
var assets embed.FS

// pageTemplate is parsed once.
var pageTemplate = template.Must(template.ParseFS(assets, "assets/compare.html.tmpl"))

// Colours of the two runs in the charts.
const (
	baseColor = "#4e79a7"
	newColor  = "#e15759"
)

// WriteHTML writes compare.html: one self-contained page (inline CSS and
// SVG, no script, nothing fetched) with the verdicts, the percentiles side
// by side and, per metric, both runs' percentile spectra overlaid.
func WriteHTML(w io.Writer, r *Result) error {
	pg, err := buildPage(r)
	if err != nil {
		return fmt.Errorf("compare.html: %w", err)
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, pg); err != nil {
		return fmt.Errorf("compare.html: %w", err)
	}
	if _, err := buf.WriteTo(w); err != nil {
		return fmt.Errorf("compare.html: %w", err)
	}
	return nil
}

type page struct {
	*Result
	CSS                 template.CSS
	Word, Class, Reason string
	Runs                []runRow
	Method              string
	Metrics             []metricView
	Counters            []counterRow
	BaseColor, NewColor string
}

type runRow struct {
	Label             string
	In                RunInfo
	Started, Duration string
	Hash              string
}

type metricView struct {
	Name, Verdict, Class     string
	Count, P50, P99, Errors  string
	P50Rel, P99Rel, P, Cliff string
	P50Sig, P99Sig           bool
	Summary                  string
	SVG                      template.HTML
	NoChart                  string
	Rows                     []statRow
	Classes                  string
}

type statRow struct {
	Name, Base, New, Delta, Rel, Judgement, CI string
	Sig                                        bool
}

type counterRow struct {
	Name, Base, New, Delta, Rel string
}

func buildPage(r *Result) (*page, error) {
	css, err := report.Stylesheet()
	if err != nil {
		return nil, err
	}
	pg := &page{Result: r, CSS: css, BaseColor: baseColor, NewColor: newColor}
	pg.Word, pg.Class, pg.Reason = headline(r)
	for _, side := range []struct {
		label string
		in    RunInfo
	}{{"BASE", r.Base}, {"NEW", r.New}} {
		pg.Runs = append(pg.Runs, runRow{Label: side.label, In: side.in,
			Started: side.in.Start.UTC().Format("2006-01-02 15:04:05Z"), Duration: fmt.Sprintf("%.1fs", side.in.Seconds), Hash: short(side.in.ScenarioHash)})
	}
	pg.Method = fmt.Sprintf("Noise: a metric is slower or faster when a Mann-Whitney U test of the two runs' histograms gives p < %g and its p50 moved by at least %s the same way (Cliff's δ is the effect size: +1 means every NEW value is above every BASE value). "+
		"A percentile is significant when it moved by at least %s and its distribution-free %s confidence intervals (from order statistics) do not overlap. "+
		"Both assume independent samples; latencies within a run are autocorrelated, so p-values and intervals are optimistic: take small significant changes with care, and compare two runs of the same build to see the noise of your setup.",
		r.Method.Alpha, pct(r.Method.MinChange), pct(r.Method.MinChange), pct(1-r.Method.Alpha))
	for _, m := range r.Metrics {
		v, err := metricViewOf(m)
		if err != nil {
			return nil, err
		}
		pg.Metrics = append(pg.Metrics, v)
	}
	for _, c := range r.Counters {
		pg.Counters = append(pg.Counters, counterRow{Name: c.Name, Base: fmt.Sprintf("%.0f", c.Base), New: fmt.Sprintf("%.0f", c.New), Delta: fmt.Sprintf("%+.0f", c.Delta.Delta), Rel: fmtRel(c.Delta)})
	}
	return pg, nil
}

// headline sums the comparison up in a word and a sentence.
func headline(r *Result) (word, class, reason string) {
	counts := map[string]int{}
	for _, m := range r.Metrics {
		counts[m.Verdict]++
	}
	worse := counts[Slower] + counts[TailSlower] + counts[Mixed]
	parts := []string{}
	for _, v := range []string{Slower, TailSlower, Mixed, Faster, TailFaster, WithinNoise, NoSamples, NoHistogram} {
		if counts[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[v], v))
		}
	}
	reason = fmt.Sprintf("%d metrics compared: %s.", len(r.Metrics), strings.Join(parts, ", "))
	if n := len(r.Broken()); n > 0 {
		return "RULES BROKEN", "fail", fmt.Sprintf("%d of %d --fail-on rules broken. ", n, len(r.Rules)) + reason
	}
	if worse > 0 {
		return "SLOWER", "warn", reason
	}
	return "NO REGRESSION", "pass", reason
}

func metricViewOf(m MetricDiff) (metricView, error) {
	v := metricView{Name: m.Name, Verdict: m.Verdict, Class: strings.ReplaceAll(m.Verdict, " ", "-"),
		Count: htmlArrow(m.Count, "%.0f"), Errors: htmlArrow(m.Errors, "%.0f"), P: "-", Cliff: "-"}
	if p, ok := m.percentile(50); ok && p.Judgement != NoSamples {
		v.P50, v.P50Rel, v.P50Sig = fmtMs(p.Base)+" → "+fmtMs(p.New), fmtRel(p.Delta), p.Significant
	}
	if p, ok := m.percentile(99); ok && p.Judgement != NoSamples {
		v.P99, v.P99Rel, v.P99Sig = fmtMs(p.Base)+" → "+fmtMs(p.New), fmtRel(p.Delta), p.Significant
	}
	v.Summary = fmt.Sprintf("%s successful operations in BASE, %s in NEW (%s/s → %s/s); errors %s (error rate %s → %s).",
		fmt.Sprintf("%.0f", m.Count.Base), fmt.Sprintf("%.0f", m.Count.New), fmt.Sprintf("%.1f", m.Rate.Base), fmt.Sprintf("%.1f", m.Rate.New),
		htmlArrow(m.Errors, "%.0f"), pct(m.ErrorRate.Base), pct(m.ErrorRate.New))
	if t := m.Test; t != nil {
		v.P, v.Cliff = fmtP(t.P), fmt.Sprintf("%+.2f", t.CliffsDelta)
		v.Summary += fmt.Sprintf(" Mann-Whitney U: z %+.2f, p %s; Cliff's δ %+.2f.", t.Z, fmtP(t.P), t.CliffsDelta)
	}
	for _, p := range m.Percentiles {
		row := statRow{Name: fmtQ(p.Q), Judgement: p.Judgement, Sig: p.Significant, Base: "-", New: "-", Delta: "-", Rel: "-"}
		if p.Judgement != NoSamples {
			row.Base, row.New, row.Delta, row.Rel = fmtMs(p.Base), fmtMs(p.New), signedMs(p.Delta.Delta), fmtRel(p.Delta)
		}
		if p.BaseCI != nil && p.NewCI != nil {
			row.CI = fmt.Sprintf("confidence intervals: BASE %s..%s, NEW %s..%s", fmtMs(p.BaseCI[0]), fmtMs(p.BaseCI[1]), fmtMs(p.NewCI[0]), fmtMs(p.NewCI[1]))
		}
		v.Rows = append(v.Rows, row)
	}
	if m.Count.Base > 0 && m.Count.New > 0 {
		for _, r := range []struct {
			name string
			d    Delta
		}{{"mean", m.Mean}, {"min", m.Min}, {"max", m.Max}} {
			v.Rows = append(v.Rows, statRow{Name: r.name, Base: fmtMs(r.d.Base), New: fmtMs(r.d.New), Delta: signedMs(r.d.Delta), Rel: fmtRel(r.d)})
		}
	}
	var classes []string
	for _, c := range m.ErrorsBy {
		classes = append(classes, fmt.Sprintf("%s %d → %d", c.Class, c.Base, c.New))
	}
	v.Classes = strings.Join(classes, ", ")
	svg, err := report.PercentileSVG("dist-"+m.Name, m.Name, []report.Curve{
		{Name: "BASE", Hist: m.base, Color: baseColor},
		{Name: "NEW", Hist: m.new, Color: newColor, Dashed: true},
	})
	if err != nil {
		return v, err
	}
	v.SVG = svg
	switch {
	case m.base == nil || m.new == nil:
		v.NoChart = "No chart: a run has no hdr/ log of this metric."
	case svg == "":
		v.NoChart = "No chart: neither run has a successful operation of this metric."
	}
	return v, nil
}

// htmlArrow is arrow with a real arrow.
func htmlArrow(d Delta, f string) string {
	return fmt.Sprintf(f+" → "+f, d.Base, d.New)
}
