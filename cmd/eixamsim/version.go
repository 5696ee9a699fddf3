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
binary's build information. A run records the same in summary.json's meta.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			b := engine.BuildInfo()
			rev := b.Revision
			if rev == "" {
				rev = "unknown revision"
			}
			if b.Time != "" {
				rev += ", " + b.Time
			}
			fmt.Fprintf(e.stdout, "eixamsim %s (%s) %s %s/%s\n", b.Version, rev, b.GoVersion, runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
