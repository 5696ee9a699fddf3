package report

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Interval is one line of an HdrHistogram interval log: the histogram of
// the values recorded between Start and Start+Length, in seconds since the
// run started. eixamsim's histograms hold microseconds.
type Interval struct {
	Start  float64
	Length float64
	Hist   *hdr.Histogram
}

// End returns the end of the interval in seconds since the run started.
func (iv Interval) End() float64 { return iv.Start + iv.Length }

// Histograms is every metric's interval log of one run, by metric name,
// each in file order.
type Histograms map[string][]Interval

// ReadHlog reads an interval log written by metrics.HlogWriter (or any
// writer of the standard v1.3 format whose timestamps are relative to its
// BaseTime): comment lines (#...) and the legend line are skipped, a
// "Tag=" prefix is dropped, and each remaining line is
// "start,length,max,base64 histogram".
func ReadHlog(r io.Reader) ([]Interval, error) {
	raw, err := readRawHlog(r)
	if err != nil {
		return nil, err
	}
	out := make([]Interval, 0, len(raw))
	for _, l := range raw {
		h, err := hdr.Decode([]byte(l.payload))
		if err != nil {
			return nil, fmt.Errorf("hlog line %d: %w", l.line, err)
		}
		out = append(out, Interval{Start: l.start, Length: l.length, Hist: h})
	}
	return out, nil
}

// rawInterval is one interval line of a log, its histogram still encoded:
// a few dozen bytes where the decoded histogram takes ~190 KB.
type rawInterval struct {
	start, length float64
	payload       string // base64 of the compressed V2 encoding
	line          int    // line number in the file, for errors
}

// readRawHlog reads r's interval lines without decoding their histograms.
func readRawHlog(r io.Reader) ([]rawInterval, error) {
	var out []rawInterval
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' || text[0] == '"' {
			continue
		}
		if strings.HasPrefix(text, "Tag=") {
			comma := strings.IndexByte(text, ',')
			if comma < 0 {
				return nil, fmt.Errorf("hlog line %d: tag without a histogram", line)
			}
			text = text[comma+1:]
		}
		fields := strings.SplitN(text, ",", 4)
		if len(fields) != 4 {
			return nil, fmt.Errorf("hlog line %d: want start,length,max,histogram", line)
		}
		start, err1 := strconv.ParseFloat(fields[0], 64)
		length, err2 := strconv.ParseFloat(fields[1], 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("hlog line %d: %w", line, err)
		}
		out = append(out, rawInterval{start: start, length: length, payload: fields[3], line: line})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("hlog: %w", err)
	}
	return out, nil
}

// intervalSource gives each metric's interval log one interval at a time,
// so a reader of many long logs holds one decoded histogram, not all of
// them.
type intervalSource interface {
	// intervals is how many intervals metric's log holds (0: no log).
	intervals(metric string) int
	// each calls f with every interval of metric's log, in file order.
	// f must neither keep nor change iv.Hist.
	each(metric string, f func(iv Interval)) error
}

func (hs Histograms) intervals(metric string) int { return len(hs[metric]) }

func (hs Histograms) each(metric string, f func(iv Interval)) error {
	for _, iv := range hs[metric] {
		f(iv)
	}
	return nil
}

// lazyLogs is a directory's interval logs kept encoded; each decodes
// one interval at a time.
type lazyLogs struct {
	logs map[string][]rawInterval // by metric name
}

// readLazyLogs reads every "<metric>.hlog" in dir without decoding its
// histograms. A missing dir gives no logs.
func readLazyLogs(dir string) (*lazyLogs, error) {
	out := &lazyLogs{logs: map[string][]rawInterval{}}
	err := eachHlogFile(dir, func(metric string, r io.Reader) error {
		raw, err := readRawHlog(r)
		out.logs[metric] = raw
		return err
	})
	return out, err
}

func (l *lazyLogs) intervals(metric string) int { return len(l.logs[metric]) }

func (l *lazyLogs) each(metric string, f func(iv Interval)) error {
	// Idle intervals all carry the same payload: decode it once.
	var emptyPayload string
	var empty *hdr.Histogram
	for _, r := range l.logs[metric] {
		h := empty
		if empty == nil || r.payload != emptyPayload {
			var err error
			if h, err = hdr.Decode([]byte(r.payload)); err != nil {
				return fmt.Errorf("hdr/%s.hlog line %d: %w", metric, r.line, err)
			}
			if h.TotalCount() == 0 && empty == nil {
				empty, emptyPayload = h, r.payload
			}
		}
		f(Interval{Start: r.start, Length: r.length, Hist: h})
	}
	return nil
}

// eachHlogFile calls f with every "<metric>.hlog" file of dir, opened. A
// missing dir calls f for nothing.
func eachHlogFile(dir string, f func(metric string, r io.Reader) error) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("hdr: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".hlog") {
			continue
		}
		fh, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("hdr: %w", err)
		}
		err = f(strings.TrimSuffix(name, ".hlog"), fh)
		fh.Close()
		if err != nil {
			return fmt.Errorf("hdr/%s: %w", name, err)
		}
	}
	return nil
}

// ReadHlogDir reads every "<metric>.hlog" in dir. A missing dir gives an
// empty result, so a run that measured nothing still renders.
func ReadHlogDir(dir string) (Histograms, error) {
	out := Histograms{}
	err := eachHlogFile(dir, func(metric string, r io.Reader) error {
		ivs, err := ReadHlog(r)
		out[metric] = ivs
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Total merges all intervals of metric into one histogram (nil if the
// metric has no log). It equals the run's cumulative histogram, since each
// recorded value falls into exactly one interval.
func (hs Histograms) Total(metric string) *hdr.Histogram {
	ivs := hs[metric]
	if len(ivs) == 0 {
		return nil
	}
	total := newLike(ivs[0].Hist)
	for _, iv := range ivs {
		total.Merge(iv.Hist)
	}
	return total
}

// newLike returns an empty histogram with h's range and precision.
func newLike(h *hdr.Histogram) *hdr.Histogram {
	return hdr.New(h.LowestTrackableValue(), h.HighestTrackableValue(), int(h.SignificantFigures()))
}
