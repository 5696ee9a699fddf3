package scenario

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestDependenciesFlowOneWay checks the import graph: the scenario, the
// metrics and the report never pull in the reference backend or its broker
// (scenario → fleet → metrics → report; refbackend is only a target).
func TestDependenciesFlowOneWay(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command runs this test, yet is not on PATH: %v", err)
	}
	forbidden := []string{"github.com/eixamsim/eixamsim/refbackend", "github.com/mochi-mqtt/"}
	for _, pkg := range []string{"./scenario", "./metrics", "./report"} {
		t.Run(strings.TrimPrefix(pkg, "./"), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, goTool, "list", "-deps", pkg)
			cmd.Dir = ".." // the module root
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list -deps %s: %v", pkg, err)
			}
			for _, dep := range strings.Fields(string(out)) {
				for _, bad := range forbidden {
					if dep == strings.TrimSuffix(bad, "/") || strings.HasPrefix(dep, bad) {
						t.Errorf("%s depends on %s", pkg, dep)
					}
				}
			}
		})
	}
}
