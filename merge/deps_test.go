package merge

import (
	"strings"
	"testing"

	"github.com/eixamsim/eixamsim/internal/testbin"
)

// TestMergeNeedsNoRun checks merge's import graph: merging result
// directories reads files and judges them (package outcome); it runs
// nothing, so neither the engine, the fleet, the reference backend nor an
// MQTT library is linked into it.
func TestMergeNeedsNoRun(t *testing.T) {
	runs := []string{"github.com/eixamsim/eixamsim/engine", "github.com/eixamsim/eixamsim/fleet",
		"github.com/eixamsim/eixamsim/refbackend", "github.com/mochi-mqtt/", "github.com/eclipse/paho"}
	for _, dep := range testbin.Deps(t, ".") {
		for _, bad := range runs {
			if strings.HasPrefix(dep, bad) {
				t.Errorf("merge depends on %s", dep)
			}
		}
	}
}
