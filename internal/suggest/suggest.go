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

// editDistance is the optimal-string-alignment distance between a and b,
// in bytes: Levenshtein's, with a swap of two neighbours ("rnu" for "run",
// the commonest slip) costing one edit, not two.
func editDistance(a, b string) int {
	rows := [3][]int{make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)}
	for j := range rows[1] {
		rows[1][j] = j
	}
	for i := 1; i <= len(a); i++ {
		// Row k of the table is rows[(k+1)%3].
		before, prev, cur := rows[(i+2)%3], rows[i%3], rows[(i+1)%3]
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], before[j-2]+1)
			}
		}
	}
	return rows[(len(a)+1)%3][len(b)]
}
