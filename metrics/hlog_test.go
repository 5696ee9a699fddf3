package metrics

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// TestHlogEmptyIntervalsMatchTheLibraryWriter writes empty and non-empty
// intervals, at whole and fractional millisecond offsets and across a
// reused histogram, and checks the log is byte for byte what
// hdr.HistogramLogWriter writes for the same intervals: the cached empty
// line must be indistinguishable from a full encode.
func TestHlogEmptyIntervalsMatchTheLibraryWriter(t *testing.T) {
	dir := t.TempDir()
	start := time.UnixMilli(1_700_000_000_123)
	hw, err := NewHlogWriter(dir, start)
	if err != nil {
		t.Fatal(err)
	}

	var want bytes.Buffer
	lw := hdr.NewHistogramLogWriter(&want)
	lw.SetBaseTime(start.UnixMilli())
	for _, err := range []error{
		lw.OutputLogFormatVersion(),
		lw.OutputComment(fmt.Sprintf("[eixamsim metric %s, values in microseconds]", "m")),
		lw.OutputStartTime(start.UnixMilli()),
		lw.OutputBaseTime(start.UnixMilli()),
		lw.OutputLegend(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}

	h := newHistogram()
	prev := start
	for i, n := range []int{0, 0, 7, 0, 1, 0, 0} {
		h.Reset()
		for j := range n {
			_ = h.RecordValue(int64(j+1) * 1234)
		}
		end := prev.Add(time.Second + time.Duration(i*37)*time.Millisecond)
		h.SetStartTimeMs(prev.UnixMilli())
		h.SetEndTimeMs(end.UnixMilli())
		if err := hw.WriteInterval("m", h); err != nil {
			t.Fatal(err)
		}
		if err := lw.OutputIntervalHistogram(h); err != nil {
			t.Fatal(err)
		}
		prev = end
	}
	if err := hw.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "m.hlog"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("hlog differs from the library's writer:\ngot:\n%s\nwant:\n%s", got, want.Bytes())
	}
}
