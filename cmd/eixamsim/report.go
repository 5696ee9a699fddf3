package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/eixamsim/eixamsim/report"
)

// runReport re-renders summary.txt, report.html and junit.xml of a result directory
// from its summary.json and hdr/*.hlog.
func runReport(_ context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlagSet("report", "[flags] RESULT_DIR", stderr)
	quiet := flags.Bool("quiet", false, "print nothing but problems")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if flags.NArg() != 1 {
		flags.Usage()
		return usageError("report: want exactly one result directory, got %d arguments", flags.NArg())
	}
	dir := flags.Arg(0)
	if err := report.Rerender(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return withCode(exitUsage, fmt.Errorf("report: %s is not a result directory: %w", dir, err))
		}
		return withCode(exitInternal, err)
	}
	if !*quiet {
		fmt.Fprintf(stdout, "eixamsim: wrote %s and %s\n",
			filepath.Join(dir, report.SummaryTextFile), filepath.Join(dir, report.ReportHTMLFile))
	}
	return nil
}
