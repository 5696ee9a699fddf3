package netem

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestDocsListTheBuiltins keeps docs/network.md's table of built-in
// profiles true to the code.
func TestDocsListTheBuiltins(t *testing.T) {
	doc, err := os.ReadFile("../docs/network.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for line := range strings.Lines(string(doc)) {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) > 6 && strings.HasPrefix(cells[0], "`") {
			rows[strings.Trim(cells[0], "`")] = cells[1:7]
		}
	}
	for _, name := range BuiltinNames() {
		p, _ := Builtin(name)
		want := []string{p.RTT.String(), "±" + p.Jitter.String(), bitrate(p.Down), bitrate(p.Up), percent(p.Loss), "none"}
		if got := rows[name]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("docs/network.md lists %s as %q; the code has %q", name, got, want)
		}
	}
}

func bitrate(r Bitrate) string {
	if r >= Mbit {
		return fmt.Sprintf("%g Mbit/s", float64(r)/float64(Mbit))
	}
	return fmt.Sprintf("%g kbit/s", float64(r)/float64(Kbit))
}

func percent(f float64) string {
	if f == 0 {
		return "0"
	}
	return fmt.Sprintf("%g %%", f*100)
}
