package metrics

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// HlogWriter streams per-interval histograms to one HdrHistogram interval
// log per metric, "<dir>/<metric>.hlog", in the standard log format (v1.3),
// so HdrHistogram's own tools read them. Values are microseconds; the
// Interval_Max column is therefore in seconds (the format divides by 10^6).
// Interval timestamps are relative to the run start, which is written as
// the log's StartTime and BaseTime.
//
// Each file is written as "<metric>.hlog.tmp" and renamed into place by
// Close, so a reader never sees a half-written log from a finished run.
type HlogWriter struct {
	dir   string
	start time.Time

	mu    sync.Mutex
	files map[string]*hlogFile
	// empty caches, by histogram geometry, what an empty interval's line
	// needs (its payload and Interval_Max), so an idle metric costs one
	// short line a second instead of a full encode; line is the reused
	// buffer such a line is built in.
	empty map[geometry]emptyInterval
	line  []byte
	// enc encodes non-empty intervals with one reused compressor.
	enc v2Encoder
}

// geometry is the range and precision of a histogram, which alone decide
// the encoding of an empty one.
type geometry struct{ lowest, highest, sigFigs int64 }

// emptyInterval is the part of an interval line that is the same for
// every empty histogram of one geometry.
type emptyInterval struct {
	max     float64 // Interval_Max in seconds
	payload []byte  // the V2 compressed, base64 histogram
}

type hlogFile struct {
	f   *os.File
	buf *bufio.Writer
	w   *hdr.HistogramLogWriter
}

// NewHlogWriter creates dir if needed and returns a writer whose logs start
// at start.
func NewHlogWriter(dir string, start time.Time) (*HlogWriter, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("hlog: %w", err)
	}
	return &HlogWriter{dir: dir, start: start, files: map[string]*hlogFile{}}, nil
}

// WriteInterval appends h, stamped with its start and end times, to the
// metric's log. Empty intervals are written too: an hlog with gaps would
// hide that nothing happened. An empty, untagged interval is written from a
// cached payload, byte for byte the line the HdrHistogram log writer would
// write, without encoding h; any other untagged interval is encoded with
// a reused compressor, also byte for byte as the library does.
func (w *HlogWriter) WriteInterval(metric string, h *hdr.Histogram) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	f, ok := w.files[metric]
	if !ok {
		var err error
		if f, err = w.open(metric); err != nil {
			return err
		}
		w.files[metric] = f
	}
	if h.TotalCount() == 0 && h.Tag() == "" {
		if err := w.writeEmpty(f, h); err != nil {
			return fmt.Errorf("hlog %s: %w", metric, err)
		}
		return nil
	}
	if h.Tag() != "" {
		if err := f.w.OutputIntervalHistogram(h); err != nil {
			return fmt.Errorf("hlog %s: %w", metric, err)
		}
		return nil
	}
	payload, err := w.enc.encode(h)
	if err == nil {
		err = w.writeLine(f, h, float64(h.Max())/hdr.MsToNsRatio, payload)
	}
	if err != nil {
		return fmt.Errorf("hlog %s: %w", metric, err)
	}
	return nil
}

// writeEmpty writes the interval line of the empty histogram h from the
// payload cached for its geometry.
func (w *HlogWriter) writeEmpty(f *hlogFile, h *hdr.Histogram) error {
	g := geometry{h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures()}
	e, ok := w.empty[g]
	if !ok {
		payload, err := h.EncodeV2()
		if err != nil {
			return err
		}
		e = emptyInterval{max: float64(h.Max()) / hdr.MsToNsRatio, payload: payload}
		if w.empty == nil {
			w.empty = map[geometry]emptyInterval{}
		}
		w.empty[g] = e
	}
	return w.writeLine(f, h, e.max, e.payload)
}

// writeLine writes the interval line of the untagged histogram h, whose
// Interval_Max (seconds) and encoded payload are given, as
// hdr.HistogramLogWriter.OutputIntervalHistogram does: start and length in
// seconds relative to the base time, each number with 6 decimals.
func (w *HlogWriter) writeLine(f *hlogFile, h *hdr.Histogram, max float64, payload []byte) error {
	base := float64(f.w.BaseTime())
	start := (float64(h.StartTimeMs()) - base) / 1000.0
	end := (float64(h.EndTimeMs()) - base) / 1000.0
	b := strconv.AppendFloat(w.line[:0], start, 'f', 6, 64)
	b = append(b, ',')
	b = strconv.AppendFloat(b, end-start, 'f', 6, 64)
	b = append(b, ',')
	b = strconv.AppendFloat(b, max, 'f', 6, 64)
	b = append(b, ',')
	b = append(b, payload...)
	b = append(b, '\n')
	w.line = b
	_, err := f.buf.Write(b)
	return err
}

func (w *HlogWriter) open(metric string) (*hlogFile, error) {
	f, err := os.Create(filepath.Join(w.dir, metric+".hlog.tmp"))
	if err != nil {
		return nil, fmt.Errorf("hlog: %w", err)
	}
	buf := bufio.NewWriter(f)
	lw := hdr.NewHistogramLogWriter(buf)
	startMs := w.start.UnixMilli()
	lw.SetBaseTime(startMs)
	err = errors.Join(
		lw.OutputLogFormatVersion(),
		lw.OutputComment(fmt.Sprintf("[eixamsim metric %s, values in microseconds]", metric)),
		lw.OutputStartTime(startMs),
		lw.OutputBaseTime(startMs),
		lw.OutputLegend(),
	)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("hlog %s: %w", metric, err)
	}
	return &hlogFile{f: f, buf: buf, w: lw}, nil
}

// Flush pushes buffered lines to the files, so a crash loses at most the
// intervals since the last Flush.
func (w *HlogWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	for _, f := range w.files {
		errs = append(errs, f.buf.Flush())
	}
	return errors.Join(errs...)
}

// Close flushes, syncs and renames every log into place. A log whose
// write, flush, sync or close failed (a full disk) is removed instead of
// renamed, so a failed write never replaces a file that was there; the
// error names it.
func (w *HlogWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	for metric, f := range w.files {
		tmp := filepath.Join(w.dir, metric+".hlog.tmp")
		err := errors.Join(f.buf.Flush(), f.f.Sync())
		err = errors.Join(err, f.f.Close())
		if err != nil {
			errs = append(errs, fmt.Errorf("hlog %s: %w", metric, err))
			_ = os.Remove(tmp)
			continue
		}
		if err := os.Rename(tmp, filepath.Join(w.dir, metric+".hlog")); err != nil {
			errs = append(errs, fmt.Errorf("hlog %s: %w", metric, err))
			_ = os.Remove(tmp)
		}
	}
	w.files = map[string]*hlogFile{}
	return errors.Join(errs...)
}
