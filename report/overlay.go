package report

import (
	"html/template"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Curve is one distribution of a PercentileSVG chart.
type Curve struct {
	// Name is the curve's legend and hover name.
	Name string
	// Hist holds microseconds, as eixamsim's histograms do; an empty or
	// nil one is left out.
	Hist *hdr.Histogram
	// Color is "#rrggbb"; "" takes the palette colour of its position.
	Color  string
	Dashed bool
}

// PercentileSVG draws curves as overlaid percentile spectra, like
// report.html's "Latency by percentile" chart: x is the percentile on a
// scale that stretches the tail (each step right ten times rarer), y the
// latency; each point's exact value shows on hover. The result is inline
// SVG for an HTML page; "" when no curve has a value.
func PercentileSVG(id, title string, curves []Curve) (template.HTML, error) {
	c := chart{ID: id, Title: title, Kind: byPercentile, Latency: true}
	for i, cv := range curves {
		if cv.Hist == nil || cv.Hist.TotalCount() == 0 {
			continue
		}
		col := cv.Color
		if col == "" {
			col = colorAt(i)
		}
		c.Lines = append(c.Lines, chartLine{Name: cv.Name, Color: col, Dashed: cv.Dashed, Points: percentileCurve(cv.Hist)})
	}
	if !c.populated() {
		return "", nil
	}
	return renderSVG(c, true)
}

// Stylesheet is report.html's CSS, for other pages that should look the
// same (the comparison page).
func Stylesheet() (template.CSS, error) {
	b, err := assets.ReadFile("assets/report.css")
	return template.CSS(b), err
}
