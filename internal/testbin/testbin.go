// Package testbin builds the eixamsim binary once per test binary, for
// tests that run it as a user or a parent process would: with -race when
// the tests run with it. Deps asks the same go command what a package
// links, for tests of the import graph.
package testbin

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sync"
	"testing"
)

var built struct {
	once sync.Once
	path string
	err  error
}

// Path builds the main package in dir (relative to the calling test's
// package, e.g. "../cmd/eixamsim") the first time it is called, and
// returns the binary's path. The test is skipped with -short.
func Path(t testing.TB, dir string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	built.once.Do(func() {
		tmp, err := os.MkdirTemp("", "eixamsim-test-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(tmp, "eixamsim")
		args := []string{"build", "-o", built.path}
		if RaceEnabled() {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, dir)...).CombinedOutput()
		if err != nil {
			built.err = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// Cleanup removes the binary Path built, if any: call it from TestMain
// after m.Run.
func Cleanup() {
	if built.path != "" {
		os.RemoveAll(filepath.Dir(built.path))
	}
}

// RaceEnabled reports whether the running test binary was built with -race.
func RaceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}
