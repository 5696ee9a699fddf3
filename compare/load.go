package compare

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/eixamsim/eixamsim/report"
)

// ErrNotResultDir is returned by Load for a directory without a
// summary.json.
var ErrNotResultDir = errors.New("not a result directory (no summary.json)")

// Run is one side of a comparison: a result directory's summary and the
// whole-run histogram of each latency metric that has an interval log.
type Run struct {
	Dir     string
	Summary *report.Summary
	// Hists holds each metric's merged hdr/<metric>.hlog; a metric without
	// a log is absent (a summary-only directory has none).
	Hists map[string]*hdr.Histogram
}

// Load reads the result directory dir.
func Load(dir string) (*Run, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: %w", dir, ErrNotResultDir)
	}
	s, err := report.ReadSummaryFile(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dir, ErrNotResultDir)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	hs, err := report.ReadHlogDir(filepath.Join(dir, report.HdrDir))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	r := &Run{Dir: dir, Summary: s, Hists: map[string]*hdr.Histogram{}}
	for name := range hs {
		if h := hs.Total(name); h != nil {
			r.Hists[name] = h
		}
	}
	return r, nil
}
