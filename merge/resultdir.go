package merge

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/eixamsim/eixamsim/report"
)

// clearOwned creates dir if needed and removes the files of a result
// directory that a merge writes (and their temporary files), so no log of
// an earlier result survives beside the merged ones. Other files stay.
func clearOwned(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("result directory: %w", err)
	}
	owned := map[string]bool{
		report.SummaryJSONFile: true, report.SummaryTextFile: true,
		report.ReportHTMLFile: true, report.JUnitFile: true,
	}
	var errs []error
	remove := func(d string, match func(string) bool) {
		entries, err := os.ReadDir(d)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || !match(e.Name()) {
				continue
			}
			if err := os.Remove(filepath.Join(d, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	remove(dir, func(name string) bool {
		if owned[name] {
			return true
		}
		file, _, tmp := strings.Cut(strings.TrimPrefix(name, "."), ".tmp-")
		return tmp && strings.HasPrefix(name, ".") && owned[file]
	})
	remove(filepath.Join(dir, report.HdrDir), func(name string) bool {
		return strings.HasSuffix(name, ".hlog") || strings.HasSuffix(name, ".hlog.tmp")
	})
	if len(errs) > 0 {
		return fmt.Errorf("result directory: clearing the previous result: %w", errors.Join(errs...))
	}
	return nil
}
