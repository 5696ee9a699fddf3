package capacity

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// series is one line of a chart.
type series struct {
	Name   string
	Color  string
	Dashed bool
	X, Y   []float64
}

// mark is a vertical line at a load.
type mark struct {
	X     float64
	Label string
	Color string
}

// chart sizes, in SVG user units.
const (
	chartW, chartH = 720.0, 300.0
	padL, padR     = 70.0, 20.0
	padT, padB     = 20.0, 45.0
)

// svgChart draws a line chart with markers at each point, a legend, and
// vertical marks; its output is self-contained SVG.
func svgChart(xLabel, yLabel string, ss []series, marks []mark) template.HTML {
	var xmax, ymax float64
	for _, s := range ss {
		for i := range s.X {
			xmax, ymax = math.Max(xmax, s.X[i]), math.Max(ymax, s.Y[i])
		}
	}
	for _, m := range marks {
		xmax = math.Max(xmax, m.X)
	}
	if xmax <= 0 {
		xmax = 1
	}
	if ymax <= 0 {
		ymax = 1
	}
	xmax, ymax = niceCeil(xmax*1.05), niceCeil(ymax*1.1)
	px := func(x float64) float64 { return padL + x/xmax*(chartW-padL-padR) }
	py := func(y float64) float64 { return chartH - padB - y/ymax*(chartH-padT-padB) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" width="100%%" role="img" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="11">`, chartW, chartH)
	for i := 0; i <= 4; i++ {
		y := ymax * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="end">%s</text>`,
			padL, chartW-padR, py(y), py(y), padL-5, py(y)+4, trimFloat(y))
		x := xmax * float64(i) / 4
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, px(x), chartH-padB+15, trimFloat(x))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, (padL+chartW-padR)/2, chartH-8, template.HTMLEscapeString(xLabel))
	fmt.Fprintf(&b, `<text transform="translate(14 %.1f) rotate(-90)" text-anchor="middle">%s</text>`, (padT+chartH-padB)/2, template.HTMLEscapeString(yLabel))
	for i, m := range marks { // labels staggered: close marks stay readable
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="4 3"/><text x="%.1f" y="%.1f" fill="%s">%s</text>`,
			px(m.X), px(m.X), padT, chartH-padB, m.Color, px(m.X)+3, padT+10+float64(i)*13, m.Color, template.HTMLEscapeString(m.Label))
	}
	for i, s := range ss {
		if len(s.X) == 0 {
			continue
		}
		var pts []string
		for j := range s.X {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.X[j]), py(s.Y[j])))
		}
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`, s.Color, dash, strings.Join(pts, " "))
		if !s.Dashed {
			for j := range s.X {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s: %s at %s</title></circle>`,
					px(s.X[j]), py(s.Y[j]), s.Color, template.HTMLEscapeString(s.Name), trimFloat(s.Y[j]), trimFloat(s.X[j]))
			}
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="10" height="3" fill="%s"/><text x="%.1f" y="%.1f">%s</text>`,
			padL+10, padT+5+float64(i)*14, s.Color, padL+24, padT+9+float64(i)*14, template.HTMLEscapeString(s.Name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built here from numbers and escaped labels
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// htmlData is what capacity.html shows.
type htmlData struct {
	R                          *Result
	Latency, Throughput, Error template.HTML
}

// WriteHTML writes capacity.html: a self-contained page (no script, no
// external resource) with the headline, latency percentiles, achieved
// against offered throughput with the ideal line, and the error rate, each
// against load, with the knee, the highest passing and the first failing
// load marked, and the steps' table.
func WriteHTML(w io.Writer, r *Result) error {
	marks := r.marks()
	var p50, p95, p99, off, ach, errs series
	p50 = series{Name: r.KneeMetric + " p50", Color: "#4c78a8"}
	p95 = series{Name: r.KneeMetric + " p95", Color: "#f58518"}
	p99 = series{Name: r.KneeMetric + " p99", Color: "#e45756"}
	off = series{Name: "ideal: achieved = offered", Color: "#888", Dashed: true}
	ach = series{Name: "achieved", Color: "#54a24b"}
	errs = series{Name: "errors %", Color: "#e45756"}
	for _, st := range r.ordered() {
		if m, ok := st.Metrics[r.KneeMetric]; ok && m.Count > 0 {
			p50.X, p50.Y = append(p50.X, st.Load), append(p50.Y, m.P50MS)
			p95.X, p95.Y = append(p95.X, st.Load), append(p95.Y, m.P95MS)
			p99.X, p99.Y = append(p99.X, st.Load), append(p99.Y, m.P99MS)
		}
		if st.OfferedPerSecond > 0 {
			off.X, off.Y = append(off.X, st.OfferedPerSecond), append(off.Y, st.OfferedPerSecond)
			ach.X, ach.Y = append(ach.X, st.OfferedPerSecond), append(ach.Y, st.AchievedPerSecond)
		}
		errs.X, errs.Y = append(errs.X, st.Load), append(errs.Y, st.ErrorShare*100)
	}
	if len(off.X) > 0 {
		off.X, off.Y = []float64{0, off.X[len(off.X)-1]}, []float64{0, off.X[len(off.X)-1]}
	}
	d := htmlData{
		R:          r,
		Latency:    svgChart("load ("+r.Unit+")", "latency (ms)", []series{p50, p95, p99}, marks),
		Throughput: svgChart("offered ("+r.throughputUnit()+"/s)", "achieved (/s)", []series{off, ach}, nil),
		Error:      svgChart("load ("+r.Unit+")", "errors (% of operations)", []series{errs}, marks),
	}
	return htmlTemplate.Execute(w, d)
}

// throughputUnit names what throughput counts.
func (r *Result) throughputUnit() string {
	for _, st := range r.Steps {
		if st.LoadMetric != "" {
			return st.LoadMetric
		}
	}
	return "operations"
}

// marks are the knee, the highest passing and the first failing load.
func (r *Result) marks() []mark {
	var ms []mark
	if r.Knee > 0 {
		ms = append(ms, mark{r.Knee, "knee", "#b279a2"})
	}
	if r.HighestPass > 0 {
		ms = append(ms, mark{r.HighestPass, "holds", "#54a24b"})
	}
	if r.FirstFail > 0 {
		ms = append(ms, mark{r.FirstFail, "fails", "#e45756"})
	}
	return ms
}

var htmlTemplate = template.Must(template.New("capacity.html").Funcs(template.FuncMap{
	"num": trimFloat, "pct": pctString, "join": strings.Join,
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>capacity of {{.R.Name}}</title>
<style>
body{font-family:sans-serif;margin:2em auto;max-width:960px;color:#222}
h1{font-size:1.4em}.headline{font-size:1.15em;background:#f4f4f4;padding:.8em;border-left:4px solid #4c78a8}
table{border-collapse:collapse;font-size:.9em;width:100%}td,th{border-bottom:1px solid #ddd;padding:3px 6px;text-align:right}
td.l,th.l{text-align:left}.pass{color:#2a7a2a}.fail{color:#c0392b}.inconclusive{color:#b8860b}
.note{color:#555;font-size:.9em}
</style></head><body>
<h1>Capacity of {{.R.Name}}</h1>
<p class="headline">{{.R.Headline}}</p>
<p>Outcome <b>{{.R.Outcome}}</b>. Dimension <b>{{.R.Capacity.Dimension}}</b> from {{num .R.Capacity.Start}} to at most {{num .R.Capacity.Max}}:
×{{num .R.Capacity.Factor}} while steps pass, then bisection to {{pct .R.Capacity.Resolution}};
each step warms up {{.R.Capacity.Warmup}} once its users are online, then is measured for {{.R.Capacity.Hold}}.
A step fails when a threshold fails on its hold window, when more than {{pct .R.Capacity.MaxErrors}} of operations fail,
or when achieved throughput is under 90% of offered; a step where the simulator was the bottleneck is inconclusive, never a failure.</p>
{{with .R.Advice}}<ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
<h2>Latency against load</h2>
<p class="note">Percentiles of {{.R.KneeMetric}} over each step's hold window (exact HDR merges of the one-second intervals).
The knee is the lowest load whose p99 is at least twice the p99 at the lowest load measured.</p>
{{.Latency}}
<h2>Achieved against offered throughput</h2>
<p class="note">The dashed line is the ideal (achieved = offered); below 90% of it a step fails.</p>
{{.Throughput}}
<h2>Errors against load</h2>
{{.Error}}
<h2>Steps</h2>
<table><tr><th>step</th><th>load</th><th class="l">verdict</th><th>offered/s</th><th>achieved/s</th><th>errors</th><th>p50 ms</th><th>p99 ms</th><th class="l">generator</th><th class="l">what failed</th></tr>
{{range .R.Steps}}{{$m := index .Metrics $.R.KneeMetric}}<tr><td>{{.Index}}</td><td>{{num .Load}}</td><td class="l {{.Verdict}}">{{.Verdict}}</td><td>{{num .OfferedPerSecond}}</td><td>{{num .AchievedPerSecond}}</td><td>{{pct .ErrorShare}}</td><td>{{num $m.P50MS}}</td><td>{{num $m.P99MS}}</td><td class="l">{{.Generator.State}}</td><td class="l">{{join .Failed "; "}}</td></tr>
{{end}}</table>
<p class="note">The run that carried the search: {{.R.RunDir}} (summary.json, report.html). capacity.json has every step's percentiles per metric, errors by class and generator health.</p>
</body></html>
`))
