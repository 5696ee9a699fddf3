package merge

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/eixamsim/eixamsim/report"
)

// shard is one input result directory: its summary, its interval logs,
// and the wall-clock instant its interval and series times count from.
type shard struct {
	dir   string
	sum   *report.Summary
	hlogs report.Histograms
	// base is when the shard's hlog timestamps and series times are 0.
	base time.Time
	// logStart is the whole second its logs' header names; zero when it
	// has no log.
	logStart time.Time
}

// index is the shard's index in its run (meta.shard.index).
func (s *shard) index() int { return s.sum.Meta.Shard.Index }

// readShard reads dir's summary.json and hdr/*.hlog.
func readShard(dir string) (*shard, error) {
	sum, err := report.ReadSummaryFile(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	hdrDir := filepath.Join(dir, report.HdrDir)
	hs, err := report.ReadHlogDir(hdrDir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	baseSec, found, err := logBaseSeconds(hdrDir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	s := &shard{dir: dir, sum: sum, hlogs: hs, base: estimateBase(sum.Start, baseSec, found)}
	if found {
		s.logStart = time.Unix(baseSec, 0)
	}
	return s, nil
}

// file is the shard's summary.json, as its errors name it.
func (s *shard) file() string { return filepath.Join(s.dir, report.SummaryJSONFile) }

// window is when the shard's users ran: from its start to the end of its
// last stage (the teardown after it takes a different time in each
// shard), or to its end when it has no stage.
func (s *shard) window() (from, to time.Time) {
	to = s.sum.End
	if n := len(s.sum.Stages); n > 0 && !s.sum.Stages[n-1].End.IsZero() {
		to = s.sum.Stages[n-1].End
	}
	return s.sum.Start, to
}

// estimateBase is the instant a shard's logs count from. The logs' header
// gives it in whole seconds only (baseSec, the HdrHistogram log format's
// "#[BaseTime: N"); the run's start in summary.json (nanoseconds) comes a
// few milliseconds after it (the fleet starts once the logs are open). So
// the base is the start, kept inside the header's second.
func estimateBase(start time.Time, baseSec int64, found bool) time.Time {
	if !found {
		return start
	}
	lo := time.Unix(baseSec, 0)
	hi := lo.Add(time.Second - time.Millisecond)
	switch {
	case start.Before(lo):
		return lo
	case start.After(hi):
		return hi
	}
	return start
}

// logBaseSeconds reads the "#[BaseTime: N" header of the first log in dir
// that has one. found is false when dir has no log.
func logBaseSeconds(dir string) (sec int64, found bool, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("hdr: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".hlog") {
			continue
		}
		sec, found, err := readBaseTime(filepath.Join(dir, e.Name()))
		if err != nil || found {
			return sec, found, err
		}
	}
	return 0, false, nil
}

// readBaseTime scans the comment lines at the top of one log.
func readBaseTime(path string) (int64, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, fmt.Errorf("hdr: %w", err)
	}
	defer f.Close()
	const prefix = "#[BaseTime: "
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "#") {
			break
		}
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, " ")
		v, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, false, fmt.Errorf("hdr/%s: base time %q: %w", filepath.Base(path), num, err)
		}
		return int64(v), true, nil
	}
	return 0, false, sc.Err()
}
