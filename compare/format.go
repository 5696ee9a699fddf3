package compare

import (
	"fmt"
	"math"
)

// fmtMs writes milliseconds with 3 significant digits and a unit: 0.412ms,
// 12.3ms, 1.25s.
func fmtMs(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1000:
		return fmt.Sprintf("%.3gs", v/1000)
	case a >= 100:
		return fmt.Sprintf("%.0fms", v)
	case a >= 10:
		return fmt.Sprintf("%.1fms", v)
	}
	return fmt.Sprintf("%.3fms", v)
}

// signedMs is fmtMs with a sign.
func signedMs(v float64) string {
	if v >= 0 {
		return "+" + fmtMs(v)
	}
	return fmtMs(v)
}

// fmtRel writes a relative change: "+12.3%", "-0.4%", "new" (from 0), "0%".
func fmtRel(d Delta) string {
	if d.Rel == nil {
		return "new"
	}
	r := 100 * *d.Rel
	if r == 0 {
		return "0%"
	}
	return fmt.Sprintf("%+.*f%%", decimals(r), r)
}

// fmtP writes a p-value: "0.43", "0.0021", "< 1e-16".
func fmtP(p float64) string {
	switch {
	case p < 1e-16:
		return "< 1e-16"
	case p < 0.001:
		return fmt.Sprintf("%.1e", p)
	}
	return fmt.Sprintf("%.3g", p)
}

// fmtQ writes a percentile: p50, p99.9.
func fmtQ(q float64) string { return fmt.Sprintf("p%g", q) }
