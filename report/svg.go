package report

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Chart sizes in points. The HTML scales each SVG to its column's width
// (the viewBox keeps the aspect), so these set proportions and how large
// text is relative to the plot.
const (
	wideWidth   = 900
	narrowWidth = 440
	chartHeight = 210
)

// sans is the chart font. Liberation Sans is metric-compatible with Arial
// and Helvetica, so text measured here fits when a browser without
// Liberation falls back to those (see fontFallback).
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// fontFallback is the CSS font list written into the SVG in place of the
// bare "Liberation Sans".
const fontFallback = "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"

// renderSVG draws c with gonum/plot and returns inline SVG markup: no XML
// prolog, no namespace URLs, sized by its viewBox.
func renderSVG(c chart, wide bool) (template.HTML, error) {
	p := plot.New()
	styleAxes(p)
	var hovers []hoverPoint
	xmax, err := addLines(p, c, &hovers)
	if err != nil {
		return "", fmt.Errorf("chart %s: %w", c.ID, err)
	}
	switch c.Kind {
	case byPercentile:
		setPercentileAxis(p, xmax)
	default:
		setTimeAxis(p, c)
	}
	setYAxis(p, c)

	width := vg.Length(narrowWidth)
	if wide {
		width = wideWidth
	}
	canvas := vgsvg.New(width, chartHeight)
	p.Draw(draw.New(canvas))
	var buf bytes.Buffer
	if _, err := canvas.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("chart %s: %w", c.ID, err)
	}
	return inlineSVG(buf.String(), c.Title, hovers)
}

// inlineSVG turns a standalone SVG document into markup for an HTML page,
// with the hover points (each a transparent circle holding a <title>, which
// browsers show as a tooltip without any script) drawn on top.
func inlineSVG(doc, title string, hovers []hoverPoint) (template.HTML, error) {
	start := strings.Index(doc, "<svg")
	vb := strings.Index(doc, `viewBox="`)
	if start < 0 || vb < 0 {
		return "", fmt.Errorf("chart %s: unexpected SVG header", title)
	}
	vbEnd := strings.IndexByte(doc[vb+len(`viewBox="`):], '"')
	tagEnd := strings.IndexByte(doc[start:], '>')
	if vbEnd < 0 || tagEnd < 0 {
		return "", fmt.Errorf("chart %s: unexpected SVG header", title)
	}
	viewBox := doc[vb : vb+len(`viewBox="`)+vbEnd+1]
	body := doc[start+tagEnd+1:]
	body = strings.ReplaceAll(body, "font-family:Liberation Sans;", fontFallback)
	head := fmt.Sprintf(`<svg class="chart" %s role="img" aria-label="%s">`, viewBox, template.HTMLEscapeString(title))
	if len(hovers) > 0 {
		end := strings.LastIndex(body, "</svg>")
		if end < 0 {
			return "", fmt.Errorf("chart %s: unexpected SVG end", title)
		}
		body = body[:end] + hoverGroup(hovers) + body[end:]
	}
	return template.HTML(head + body), nil
}

// hoverPoint is one data point's position in the SVG's user space
// (points, y down) and the exact value to show over it.
type hoverPoint struct {
	X, Y  float64
	Title string
}

// maxHoverPoints bounds the hover points of one line, so a long run's
// charts stay small: longer lines get every k-th point.
const maxHoverPoints = 150

// hoverGroup is the SVG markup of the hover points.
func hoverGroup(hs []hoverPoint) string {
	var b strings.Builder
	b.WriteString(`<g class="hover" fill="transparent" stroke="none" pointer-events="all">`)
	for _, h := range hs {
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4"><title>%s</title></circle>`, h.X, h.Y, template.HTMLEscapeString(h.Title))
	}
	b.WriteString("</g>\n")
	return b.String()
}

// probe records where its points land on the canvas, for hover points. It
// draws nothing and has no data range, so it never changes the plot.
type probe struct {
	xys    plotter.XYs
	titles []string
	out    *[]hoverPoint
}

var _ plot.Plotter = probe{}

// Plot implements plot.Plotter.
func (pr probe) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	step := (len(pr.xys) + maxHoverPoints - 1) / maxHoverPoints
	for i := 0; i < len(pr.xys); i += max(step, 1) {
		x, y := trX(pr.xys[i].X), trY(pr.xys[i].Y)
		if x < c.Min.X-1 || x > c.Max.X+1 || y < c.Min.Y-1 || y > c.Max.Y+1 {
			continue
		}
		*pr.out = append(*pr.out, hoverPoint{X: x.Points(), Y: chartHeight - y.Points(), Title: pr.titles[i]})
	}
}

func styleAxes(p *plot.Plot) {
	grey := color.Gray{Y: 0x55}
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, 10)
		a.Label.TextStyle.Color = grey
		a.Tick.Label.Font = font.From(sans, 9)
		a.Tick.Label.Color = grey
		a.Color = color.Gray{Y: 0x99}
		a.Tick.Color = color.Gray{Y: 0x99}
		a.Padding = 0
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 0xe6}
	grid.Horizontal.Color = color.Gray{Y: 0xe6}
	p.Add(grid)
}

// addLines adds c's lines (and stage markers) and returns the largest x.
// Each line's points are also added to hovers, with their exact values.
// A stacked chart's lines are drawn last-first, each filled down to zero,
// so every line covers only the band between it and the line below.
func addLines(p *plot.Plot, c chart, hovers *[]hoverPoint) (xmax float64, err error) {
	xdiv, ydiv := 1.0, 1.0
	if c.Kind == overTime {
		xdiv, _ = timeUnit(c.XMax)
	}
	if c.Kind == overTime && len(c.Stages) > 0 {
		p.Add(vlines{xs: c.Stages, div: xdiv, style: draw.LineStyle{Color: color.Gray{Y: 0xaa}, Width: vg.Points(0.75), Dashes: []vg.Length{vg.Points(2), vg.Points(2)}}})
	}
	if c.Kind == overTime && len(c.Events) > 0 {
		p.Add(vlines{xs: c.Events, div: xdiv, style: draw.LineStyle{Color: eventColor, Width: vg.Points(1.25)}})
	}
	if c.Latency {
		ydiv, _ = latencyUnit(c)
	}
	lines := c.Lines
	if c.Stacked {
		lines = slices.Clone(lines)
		slices.Reverse(lines)
	}
	var probes []plot.Plotter
	for _, l := range lines {
		if len(l.Points) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(l.Points))
		for i, pt := range l.Points {
			xys[i] = plotter.XY{X: pt.X / xdiv, Y: pt.Y / ydiv}
			xmax = max(xmax, pt.X)
		}
		col := parseHex(l.Color)
		line, err := plotter.NewLine(xys)
		if err != nil {
			return 0, err
		}
		line.Color = col
		line.Width = vg.Points(1.5)
		if l.Dashed {
			line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		if l.Step {
			line.StepStyle = plotter.PostStep
		}
		if c.Stacked {
			line.FillColor = tint(col)
			line.Width = vg.Points(1)
		}
		p.Add(line)
		probes = append(probes, probe{xys: xys, titles: hoverTitles(c, l), out: hovers})
		if len(xys) <= 60 && !l.Step && !c.Stacked {
			dots, err := plotter.NewScatter(xys)
			if err != nil {
				return 0, err
			}
			dots.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(1.8), Shape: draw.CircleGlyph{}}
			p.Add(dots)
		}
	}
	p.Add(probes...) // last: the plot's transforms are final when they run
	return xmax, nil
}

// hoverTitles are the hover texts of l's points: its Labels when it has
// them, else "<line> at <x>: <y>" with y in the chart's unit.
func hoverTitles(c chart, l chartLine) []string {
	out := make([]string, len(l.Points))
	for i, pt := range l.Points {
		if i < len(l.Labels) && l.Labels[i] != "" {
			out[i] = l.Labels[i]
			continue
		}
		y := strconv.FormatFloat(pt.Y, 'g', 4, 64)
		if c.Latency {
			y = fmtMs(pt.Y / 1000)
		} else if c.YLabel != "" {
			y += " " + c.YLabel
		}
		switch c.Kind {
		case byPercentile:
			out[i] = fmt.Sprintf("%s p%s: %s", l.Name, percentileName(pt.X), y)
		default:
			out[i] = fmt.Sprintf("%s at %s: %s", l.Name, fmtSeconds(pt.X), y)
		}
	}
	return out
}

// percentileName writes the percentile at x = 1/(1-q) of a percentile
// chart: "50", "99", "99.97".
func percentileName(x float64) string {
	q := 100 * (1 - 1/x)
	if q >= 100 {
		return "100"
	}
	digits := 0
	for rest := 100 - q; rest < 1 && digits < 6; rest *= 10 {
		digits++
	}
	return strconv.FormatFloat(q, 'f', digits+1, 64)
}

// tint is col mixed with 60 % white: the fill of a stacked band.
func tint(col color.Color) color.Color {
	r, g, b, _ := col.RGBA()
	mix := func(v uint32) uint8 { return uint8((v>>8)*2/5 + 255*3/5) }
	return color.RGBA{R: mix(r), G: mix(g), B: mix(b), A: 0xff}
}

// timeUnit picks the unit of a time axis that ends at seconds.
func timeUnit(seconds float64) (div float64, label string) {
	switch {
	case seconds > 3*3600:
		return 3600, "time since start (h)"
	case seconds > 15*60:
		return 60, "time since start (min)"
	default:
		return 1, "time since start (s)"
	}
}

// latencyUnit picks milliseconds, or seconds when values reach 10 s.
func latencyUnit(c chart) (div float64, unit string) {
	var top float64
	for _, l := range c.Lines {
		for _, pt := range l.Points {
			top = max(top, pt.Y)
		}
	}
	if top >= 10e6 {
		return 1e6, "s"
	}
	return 1e3, "ms"
}

func setTimeAxis(p *plot.Plot, c chart) {
	div, label := timeUnit(c.XMax)
	p.X.Label.Text = label
	p.X.Min = 0
	p.X.Max = max(c.XMax/div, 1e-9)
	p.X.Tick.Marker = plot.TickerFunc(niceTicks)
}

// niceTicks labels a linear axis every 1, 2 or 5 times a power of ten,
// aiming at four to eight labels, with unlabelled minor ticks between them.
// Labels are as short as the step allows: "50", not "50.00".
func niceTicks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 3, 64)}}
	}
	raw := (hi - lo) / 7
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step, minors := mag, 2
	switch {
	case raw/mag >= 5:
		step, minors = 10*mag, 2
	case raw/mag >= 2:
		step, minors = 5*mag, 5
	case raw/mag >= 1.4:
		step, minors = 2*mag, 2
	}
	decimals := max(0, -int(math.Floor(math.Log10(step))))
	var ticks []plot.Tick
	minor := step / float64(minors)
	for i := math.Ceil(lo / minor); i*minor <= hi*(1+1e-9); i++ {
		v := i * minor
		if math.Abs(math.Remainder(v, step)) < minor/2 {
			ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', decimals, 64)})
		} else {
			ticks = append(ticks, plot.Tick{Value: v})
		}
	}
	return ticks
}

// setPercentileAxis makes x log-scaled in 1/(1-q) with percentile labels,
// up to xmax: the highest percentile the largest sample set resolves.
func setPercentileAxis(p *plot.Plot, xmax float64) {
	top := max(xmax, 10)
	p.X.Scale = plot.LogScale{}
	p.X.Min, p.X.Max = 1, top
	p.X.Label.Text = "percentile"
	ticks := plot.ConstantTicks{{Value: 1, Label: "0%"}, {Value: 2, Label: "50%"}}
	for x, nines := 10.0, 1; x <= top; x, nines = x*10, nines+1 {
		ticks = append(ticks, plot.Tick{Value: x, Label: percentLabel(nines)})
	}
	p.X.Tick.Marker = ticks
}

// percentLabel names the percentile with n nines: 90%, 99%, 99.9%, ...
func percentLabel(nines int) string {
	if nines == 1 {
		return "90%"
	}
	return "99" + strings.TrimSuffix("."+strings.Repeat("9", nines-2), ".") + "%"
}

// setYAxis labels y with its unit and picks linear-from-zero, or log for a
// latency distribution spanning more than two decades.
func setYAxis(p *plot.Plot, c chart) {
	p.Y.Tick.Marker = plot.TickerFunc(niceTicks)
	if !c.Latency {
		p.Y.Label.Text = c.YLabel
		p.Y.Min = 0
		p.Y.Max = max(p.Y.Max*1.05, 1)
		return
	}
	_, unit := latencyUnit(c)
	p.Y.Label.Text = "latency (" + unit + ")"
	lo, hi := p.Y.Min, p.Y.Max
	if c.Kind == byPercentile && lo > 0 && hi/lo > 100 {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.TickerFunc(logTicks125)
		p.Y.Min = lo * 0.9
		p.Y.Max = hi * 1.1
		return
	}
	p.Y.Min = 0
	p.Y.Max = max(hi*1.05, 1e-3)
}

// logTicks125 labels a log axis at 1, 2 and 5 times each power of ten, so
// a range inside one decade still gets labels.
func logTicks125(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v < lo || v > hi {
				continue
			}
			ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', 3, 64)})
		}
	}
	return ticks
}

// parseHex reads "#rrggbb".
func parseHex(s string) color.Color {
	var r, g, b uint8
	if _, err := fmt.Sscanf(s, "#%02x%02x%02x", &r, &g, &b); err != nil {
		return color.Black
	}
	return color.RGBA{R: r, G: g, B: b, A: 0xff}
}

// eventColor marks incidents on the time charts.
var eventColor = color.RGBA{R: 0xc0, G: 0x39, B: 0x2b, A: 0xff}

// vlines draws vertical lines across the whole plot area at data x values
// (stage boundaries). It has no data range, so it never stretches an axis.
type vlines struct {
	xs    []float64
	style draw.LineStyle
	div   float64
}

var _ plot.Plotter = vlines{}

// Plot implements plot.Plotter.
func (v vlines) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	div := v.div
	if div == 0 {
		div = 1
	}
	for _, x := range v.xs {
		px := trX(x / div)
		if px < c.Min.X || px > c.Max.X {
			continue
		}
		c.StrokeLine2(v.style, px, c.Min.Y, px, c.Max.Y)
	}
}
