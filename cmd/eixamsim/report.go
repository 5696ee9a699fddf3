package main

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/eixamsim/eixamsim/report"
)

func newReportCmd(e *env) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "report RESULT_DIR [flags]",
		Short: "render summary.txt, report.html and junit.xml of a result directory again",
		Long: `Render summary.txt, report.html and junit.xml of a result directory again from
its summary.json and hdr/*.hlog, e.g. after an upgrade improved the report.
summary.json and the logs are only read.`,
		Args: exactArgs(1, "one result directory"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if err := report.Rerender(dir); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return withCode(exitUsage, fmt.Errorf("report: %s is not a result directory: %w", dir, err))
				}
				return withCode(exitInternal, err)
			}
			if !quiet {
				var files []string
				for _, name := range report.RenderedFiles() {
					files = append(files, filepath.Join(dir, name))
				}
				fmt.Fprintf(e.stdout, "eixamsim: wrote %s\n", join(files))
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only problems")
	return cmd
}
