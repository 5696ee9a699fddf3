// Package rate reads and writes the rate syntax that scenarios and the
// reference backend's capacity specs share: "N/s", "N/min" or "N/h".
package rate

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Parse reads "N/s", "N/min" or "N/h", where N is a decimal number greater
// than zero ("0.5/s", "60/min"), and returns it per second. On bad input it
// returns a short reason that does not repeat the input ("missing /s,
// /min or /h"), for the caller's own message.
func Parse(s string) (perSecond float64, reason string) {
	num, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return 0, "missing /s, /min or /h"
	}
	num, unit = strings.TrimSpace(num), strings.TrimSpace(unit)
	var per float64
	switch unit {
	case "s":
		per = 1
	case "min":
		per = 60
	case "h":
		per = 3600
	case "m":
		return 0, `"/m" is ambiguous: write /min`
	default:
		return 0, fmt.Sprintf("unknown unit %q", unit)
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) || strings.ContainsAny(num, "xXpP_") {
		return 0, fmt.Sprintf("%q is not a number", num)
	}
	if n <= 0 {
		return 0, "must be greater than 0"
	}
	return n / per, ""
}

// Format writes a per-second rate per second if that is a whole number,
// else per minute, else per hour, else as a decimal per second; Parse
// reads it back. 0 is "0/s".
func Format(perSecond float64) string {
	if perSecond == 0 {
		return "0/s"
	}
	for _, u := range []struct {
		name string
		secs float64
	}{{"s", 1}, {"min", 60}, {"h", 3600}} {
		n := perSecond * u.secs
		if rn := math.Round(n); rn >= 1 && math.Abs(n-rn) <= 1e-9*rn {
			return strconv.FormatFloat(rn, 'f', -1, 64) + "/" + u.name
		}
	}
	return strconv.FormatFloat(perSecond, 'g', -1, 64) + "/s"
}
