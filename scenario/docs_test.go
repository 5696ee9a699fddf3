package scenario

import (
	"os"
	"strings"
	"testing"
)

// TestDocs keeps docs/scenario.md honest: every YAML block that starts with
// `version: 1` parses, and every metric of the catalogue is in its table.
func TestDocs(t *testing.T) {
	data, err := os.ReadFile("../docs/scenario.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	blocks := 0
	for _, part := range strings.Split(doc, "```yaml\n")[1:] {
		block, _, _ := strings.Cut(part, "```")
		if !strings.HasPrefix(block, "version: 1") {
			continue
		}
		blocks++
		env := func(name string) (string, bool) { return "doc-secret", name == "EIXAM_APP_SECRET" }
		if _, err := Parse("docs/scenario.md", []byte(block), Options{Getenv: env}); err != nil {
			t.Errorf("example %d does not parse:\n%v\n%s", blocks, err, block)
		}
	}
	if blocks < 2 {
		t.Errorf("found %d complete examples, want 2", blocks)
	}
	for _, m := range Metrics {
		if !strings.Contains(doc, "| `"+m.Name+"` | "+string(m.Kind)+" |") {
			t.Errorf("docs/scenario.md has no table row for %s (%s)", m.Name, m.Kind)
		}
	}
}
