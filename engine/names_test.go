package engine

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/eixamsim/eixamsim/scenario"
)

// nameFiles are the only files that may spell a metric name as a string:
// the catalogue and the behaviours' metrics.
var nameFiles = map[string]bool{
	"scenario/metrics.go":    true,
	"scenario/behaviours.go": true,
}

// TestMetricNamesAreConstants walks every non-test Go file of the module
// and fails on a string literal equal to a metric name of the catalogue
// outside nameFiles: everywhere else names are the scenario's constants,
// so a renamed metric cannot leave a reporter, a chart or a gate behind.
func TestMetricNamesAreConstants(t *testing.T) {
	names := map[string]bool{}
	for _, m := range scenario.Metrics {
		names[m.Name] = true
	}
	root := ".."
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if nameFiles[rel] {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			if s, err := strconv.Unquote(lit.Value); err == nil && names[s] {
				pos := fset.Position(lit.Pos())
				t.Errorf("%s:%d: metric name %q as a string literal; use its scenario constant", rel, pos.Line, s)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("walked only %d files from %s", files, root)
	}
}
