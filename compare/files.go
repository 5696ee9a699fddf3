package compare

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/eixamsim/eixamsim/report"
)

// Names of the files WriteDir writes.
const (
	JSONFile = "compare.json"
	TextFile = "compare.txt"
	HTMLFile = "compare.html"
)

// WriteJSON writes r as indented JSON (compare.json).
func WriteJSON(w io.Writer, r *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("compare.json: %w", err)
	}
	return nil
}

// WriteDir writes compare.json, compare.txt and compare.html into dir
// (created if missing), each atomically; all are attempted even if one
// fails.
func WriteDir(dir string, r *Result) error {
	return errors.Join(
		report.WriteFileAtomic(filepath.Join(dir, JSONFile), func(w io.Writer) error { return WriteJSON(w, r) }),
		report.WriteFileAtomic(filepath.Join(dir, TextFile), func(w io.Writer) error { return WriteText(w, r) }),
		report.WriteFileAtomic(filepath.Join(dir, HTMLFile), func(w io.Writer) error { return WriteHTML(w, r) }),
	)
}
