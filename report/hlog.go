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
	var out []Interval
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
		h, err := hdr.Decode([]byte(fields[3]))
		if err != nil {
			return nil, fmt.Errorf("hlog line %d: %w", line, err)
		}
		out = append(out, Interval{Start: start, Length: length, Hist: h})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("hlog: %w", err)
	}
	return out, nil
}

// ReadHlogDir reads every "<metric>.hlog" in dir. A missing dir gives an
// empty result, so a run that measured nothing still renders.
func ReadHlogDir(dir string) (Histograms, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return Histograms{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("hdr: %w", err)
	}
	out := Histograms{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".hlog") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("hdr: %w", err)
		}
		ivs, err := ReadHlog(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("hdr/%s: %w", name, err)
		}
		out[strings.TrimSuffix(name, ".hlog")] = ivs
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
