package errclass

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// family matches a literal that spells a family class in full.
var family = regexp.MustCompile(`^(http_[0-9]{3}|(connack|suback|puback)_0x[0-9a-f]{2})$`)

// TestNoClassLiteralsOutside fails when a package that produces or matches
// error classes spells one as a string literal instead of using errclass.
func TestNoClassLiteralsOutside(t *testing.T) {
	// Words that spell a class but mean something else.
	allowed := map[string]bool{
		"health/verdict.go:backpressure":   true, // a signal name
		"fleet/behaviour_sos.go:cancelled": true, // an SOS lifecycle word
	}
	for _, dir := range []string{"fleet", "engine", "capacity", "health", "report", "merge"} {
		files, _ := filepath.Glob(filepath.Join("..", dir, "*.go"))
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if _, ok := n.(*ast.Field); ok {
					return false // struct tags are JSON names, not classes
				}
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil || !(slices.Contains(Fixed, s) || family.MatchString(s)) {
					return true
				}
				if allowed[dir+"/"+filepath.Base(path)+":"+s] {
					return true
				}
				t.Errorf("%s: class literal %q: use errclass", fset.Position(lit.Pos()), s)
				return true
			})
		}
	}
}
