package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/eixamsim/eixamsim/engine"
)

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print eixamsim's version, VCS revision and Go version",
		Long: `Print the module version, the VCS revision the binary was built from (with
its commit time, "-dirty" if the tree had changes) and the Go version, from the
binary's build information, or the values scripts/build.sh stamped into it.
A run records the same in summary.json's meta. eixamsim --version prints the
same line.`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintln(e.stdout, versionLine())
			return nil
		},
	}
}

// versionLine is what `eixamsim version` and `eixamsim --version` print:
// the stamped version (scripts/build.sh's -ldflags, engine/stamp.go) or
// the module's, the VCS revision with its commit time, the Go version and
// the platform.
func versionLine() string {
	b := engine.BuildInfo()
	rev := b.Revision
	if rev == "" {
		rev = "unknown revision"
	}
	if b.Time != "" {
		rev += ", " + b.Time
	}
	return fmt.Sprintf("eixamsim %s (%s) %s %s/%s", b.Version, rev, b.GoVersion, runtime.GOOS, runtime.GOARCH)
}
