package metrics

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
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

// TestV2EncoderMatchesTheLibrary encodes histograms of several shapes with
// one reused encoder and checks each payload is byte for byte
// hdr.Histogram.EncodeV2's: empty, one value, values at both ends of the
// range, dense and sparse spreads, counts that need every LEB128 length,
// and other geometries, interleaved so that reuse would show.
func TestV2EncoderMatchesTheLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var cases []*hdr.Histogram
	add := func(h *hdr.Histogram, fill func(h *hdr.Histogram)) {
		fill(h)
		cases = append(cases, h)
	}
	add(newHistogram(), func(*hdr.Histogram) {})
	add(newHistogram(), func(h *hdr.Histogram) { _ = h.RecordValue(1) })
	add(newHistogram(), func(h *hdr.Histogram) { _ = h.RecordValue(highestMicros) })
	add(newHistogram(), func(h *hdr.Histogram) {
		_ = h.RecordValue(lowestMicros)
		_ = h.RecordValue(highestMicros)
	})
	add(newHistogram(), func(h *hdr.Histogram) {
		for range 100_000 {
			_ = h.RecordValue(1 + rng.Int64N(200_000))
		}
	})
	add(newHistogram(), func(h *hdr.Histogram) {
		for range 1000 {
			_ = h.RecordValue(int64(math.Exp(rng.Float64() * 21))) // 1 µs .. ~22 min, log-spread
		}
	})
	add(newHistogram(), func(h *hdr.Histogram) {
		// Counts of 1, 2 .. 9 bytes as ZigZag LEB128.
		for i, n := range []int64{1, 100, 10_000, 1 << 22, 1 << 29, 1 << 36, 1 << 43, 1 << 50, 1 << 57} {
			_ = h.RecordValues(int64(i+1)*1000, n)
		}
	})
	add(hdr.New(1, 1000, 2), func(h *hdr.Histogram) { _ = h.RecordValues(999, 3) })
	add(hdr.New(1000, 10_000_000, 5), func(h *hdr.Histogram) { _ = h.RecordValue(123_456) })
	var enc v2Encoder
	for round := range 2 {
		for i, h := range cases {
			want, err := h.EncodeV2()
			if err != nil {
				t.Fatal(err)
			}
			got, err := enc.encode(h)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("round %d, histogram %d: encoding differs from EncodeV2:\ngot  %s\nwant %s", round, i, got, want)
			}
			back, err := hdr.Decode(got)
			if err != nil || !back.Equals(h) {
				t.Errorf("round %d, histogram %d: does not decode to itself (%v)", round, i, err)
			}
		}
	}
}
