package report

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ClearDir removes from the result directory dir the files a previous run
// left that a run writes again: summary.json, summary.txt, report.html,
// junit.xml, hdr/*.hlog, and the temporary files of an interrupted write.
// A stale hdr/ log of another scenario would otherwise show in this run's
// report. Any other file is left alone. engine clears a run's directory
// with it, merge its --out, procs every shard's before the workers start.
func ClearDir(dir string) error {
	owned := map[string]bool{
		SummaryJSONFile: true, SummaryTextFile: true,
		ReportHTMLFile: true, JUnitFile: true,
	}
	var errs []error
	remove := func(path string) {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("result directory: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.Type().IsRegular() && (owned[name] || isTempOf(name, owned)) {
			remove(filepath.Join(dir, name))
		}
	}
	hdr := filepath.Join(dir, HdrDir)
	entries, err = os.ReadDir(hdr)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("result directory: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.Type().IsRegular() && (strings.HasSuffix(name, ".hlog") || strings.HasSuffix(name, ".hlog.tmp")) {
			remove(filepath.Join(hdr, name))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("result directory: clearing the previous run: %w", errors.Join(errs...))
	}
	return nil
}

// isTempOf reports whether name is a temporary file of report's atomic
// writes of one of the owned files: ".<file>.tmp-<random>".
func isTempOf(name string, owned map[string]bool) bool {
	rest, ok := strings.CutPrefix(name, ".")
	if !ok {
		return false
	}
	file, _, ok := strings.Cut(rest, ".tmp-")
	return ok && owned[file]
}
