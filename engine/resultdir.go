package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/eixamsim/eixamsim/report"
)

// ClearResultDir removes from dir the files a previous run left that this
// run writes again: summary.json, summary.txt, report.html, junit.xml,
// hdr/*.hlog, and the temporary files of an interrupted write. A stale
// hdr/ log of another scenario would otherwise show in this run's report.
// Any other file is left alone. merge uses it too for its --out.
func ClearResultDir(dir string) error {
	owned := map[string]bool{
		report.SummaryJSONFile: true, report.SummaryTextFile: true,
		report.ReportHTMLFile: true, report.JUnitFile: true,
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
	hdr := filepath.Join(dir, report.HdrDir)
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
