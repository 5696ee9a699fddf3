// Package suggest finds the "did you mean" candidate for a misspelt name,
// for the error messages of the scenario parser and the fault and capacity
// specs.
package suggest

import "strings"

// Closest returns the candidate name most likely meant, or "": the one
// equal to name but for case; else the nearest by edit distance when that
// distance is small for the candidate's length (at most 1..3); else one
// that ends in "."+name or "_"+name ("delivered" for "sos.delivered").
func Closest(name string, candidates []string) string {
	best, bestDist := "", -1
	lower := strings.ToLower(name)
	for _, c := range candidates {
		if strings.ToLower(c) == lower {
			return c
		}
		d := editDistance(lower, strings.ToLower(c))
		limit := max(1, min(3, len(c)/3))
		if d <= limit && (bestDist < 0 || d < bestDist) {
			best, bestDist = c, d
		}
	}
	if best != "" {
		return best
	}
	for _, c := range candidates {
		if len(name) >= 3 && (strings.HasSuffix(c, "."+name) || strings.HasSuffix(c, "_"+name)) {
			return c
		}
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
