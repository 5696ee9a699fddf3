package report

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Names of the files of a result directory (docs/results.md).
const (
	SummaryJSONFile = "summary.json"
	SummaryTextFile = "summary.txt"
	ReportHTMLFile  = "report.html"
	HdrDir          = "hdr" // holds <metric>.hlog
)

// WriteDir writes every file of a result directory that comes from s:
// summary.json, summary.txt, report.html, then junit.xml, each
// atomically; all are attempted even if one fails. failed says why the run
// failed before this (the run itself, or writing its interval logs); nil
// if it did not. junit.xml, written last, carries a failing case with
// failed and any error writing the other files, so it never shows a run
// that exits 1 for that reason as passed. The interval logs in dir/hdr
// must be closed (renamed into place) first: report.html reads them.
func WriteDir(dir string, s *Summary, failed error) error {
	return render(dir, s, failed, WriteFileAtomic(filepath.Join(dir, SummaryJSONFile), func(w io.Writer) error { return WriteJSON(w, s) }))
}

// RenderedFiles are the files Rerender writes, in the order it writes
// them.
func RenderedFiles() []string { return []string{SummaryTextFile, ReportHTMLFile, JUnitFile} }

// render writes the files derived from summary.json and the logs, junit.xml
// last with failed and the errors so far (prior and its own) as its
// failing case.
func render(dir string, s *Summary, failed, prior error) error {
	err := errors.Join(prior,
		WriteFileAtomic(filepath.Join(dir, SummaryTextFile), func(w io.Writer) error { return WriteText(w, s) }),
		WriteHTMLFile(dir, s),
	)
	return errors.Join(err, WriteJUnitFile(dir, s, errors.Join(failed, err)))
}

// WriteHTMLFile renders dir/report.html atomically from s and the interval
// logs in dir/hdr. Call it after the logs are closed (renamed into place).
func WriteHTMLFile(dir string, s *Summary) error {
	// The logs stay encoded and are decoded one interval at a time: a
	// long run's decoded logs take hundreds of MB.
	logs, err := readLazyLogs(filepath.Join(dir, HdrDir))
	if err != nil {
		return fmt.Errorf("report.html: %w", err)
	}
	return WriteFileAtomic(filepath.Join(dir, ReportHTMLFile), func(w io.Writer) error { return writeHTML(w, s, logs) })
}

// ReadSummaryFile reads dir/summary.json.
func ReadSummaryFile(dir string) (*Summary, error) {
	f, err := os.Open(filepath.Join(dir, SummaryJSONFile))
	if err != nil {
		return nil, fmt.Errorf("result directory: %w", err)
	}
	defer f.Close()
	return ReadJSON(f)
}

// Rerender writes dir/summary.txt, dir/report.html and dir/junit.xml again from
// dir/summary.json and dir/hdr, e.g. after an eixamsim upgrade changed the
// report. summary.json and the logs are only read.
func Rerender(dir string) error {
	s, err := ReadSummaryFile(dir)
	if err != nil {
		return err
	}
	return render(dir, s, nil, nil)
}
