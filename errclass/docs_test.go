package errclass

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestClassTable checks docs/errors.md's class table against Fixed: every
// constant has a row and every plain row is a constant.
func TestClassTable(t *testing.T) {
	doc, err := os.ReadFile("../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|").FindAllSubmatch(doc, -1) {
		rows = append(rows, string(m[1]))
	}
	for _, c := range Fixed {
		if !slices.Contains(rows, c) {
			t.Errorf("docs/errors.md: class %q has no row", c)
		}
	}
	for _, r := range rows {
		if !slices.Contains(Fixed, r) {
			t.Errorf("docs/errors.md: row %q is not an errclass constant", r)
		}
	}
}
