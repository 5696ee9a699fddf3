package testbin

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"testing"
)

// Deps lists the packages pkg imports, directly or not, pkg itself
// included (`go list -deps -json`; pkg as go list takes it: "." for the
// calling test's own package). Test files are not counted. The test is
// skipped when there is no go command to ask.
func Deps(t testing.TB, pkg string) []string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to list the dependencies of %s: %v", pkg, err)
	}
	cmd := exec.CommandContext(t.Context(), goTool, "list", "-deps", "-json=ImportPath", pkg)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var deps []string
	dec := json.NewDecoder(out)
	for {
		var p struct{ ImportPath string }
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("go list -deps -json %s: %v", pkg, err)
		}
		deps = append(deps, p.ImportPath)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list -deps -json %s: %v", pkg, err)
	}
	if len(deps) == 0 {
		t.Fatalf("go list named no package for %s, not even itself", pkg)
	}
	return deps
}
