package report

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// This file reads hdr/*.hlog with a decoder written from the published
// HdrHistogram formats alone (the interval log v1.3 and the V2 compressed
// histogram encoding), sharing no code with hdrhistogram-go, to show that
// the logs are standard and not just readable by the library that wrote
// them.
//
// A compressed histogram, after base64:
//
//	int32 cookie 0x1c849314 (low nibble of the second byte: word size)
//	int32 length of the zlib stream
//	zlib stream of:
//	  int32 cookie 0x1c849313, int32 payload length,
//	  int32 normalizing index offset, int32 significant digits,
//	  int64 lowest discernible value, int64 highest trackable value,
//	  float64 integer-to-double ratio,
//	  payload: ZigZag LEB128 varints (at most 9 bytes, the 9th holding 8
//	  bits): a positive v is the count of the next index, a negative v
//	  skips -v empty indexes.
//
// All integers are big-endian.

// refHist is a decoded histogram: counts by index plus the geometry that
// maps an index to its value range.
type refHist struct {
	lowest, highest int64
	digits          int
	counts          []int64 // by counts index; trailing zeros omitted
	total           int64

	unitMagnitude      uint
	subBucketHalfMag   uint
	subBucketHalfCount int64
}

const (
	refCompressedCookie = 0x1c849304
	refEncodingCookie   = 0x1c849303
)

func refDecode(b64 string) (*refHist, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, err
	}
	if len(raw) < 8 {
		return nil, errors.New("short histogram")
	}
	if c := binary.BigEndian.Uint32(raw); c&^0xf0 != refCompressedCookie {
		return nil, fmt.Errorf("cookie %#x is not a V2 compressed histogram", c)
	}
	n := int(binary.BigEndian.Uint32(raw[4:]))
	if n > len(raw)-8 {
		return nil, errors.New("truncated zlib stream")
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw[8 : 8+n]))
	if err != nil {
		return nil, err
	}
	inner, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	if len(inner) < 40 {
		return nil, errors.New("short inner header")
	}
	be := binary.BigEndian
	if c := be.Uint32(inner); c&^0xf0 != refEncodingCookie {
		return nil, fmt.Errorf("inner cookie %#x is not V2", c)
	}
	payloadLen := int(be.Uint32(inner[4:]))
	h := &refHist{
		digits:  int(int32(be.Uint32(inner[12:]))),
		lowest:  int64(be.Uint64(inner[16:])),
		highest: int64(be.Uint64(inner[24:])),
	}
	if ratio := math.Float64frombits(be.Uint64(inner[32:])); ratio != 1 {
		return nil, fmt.Errorf("integer-to-double ratio %v, want 1", ratio)
	}
	if 40+payloadLen != len(inner) {
		return nil, fmt.Errorf("payload is %d bytes, header says %d", len(inner)-40, payloadLen)
	}
	// Geometry: the smallest power of two of sub-buckets that holds
	// 2*10^digits values at unit resolution; buckets then double.
	largest := 2 * math.Pow10(h.digits)
	subBucketCountMag := uint(math.Ceil(math.Log2(largest)))
	h.subBucketHalfMag = subBucketCountMag - 1
	h.subBucketHalfCount = 1 << h.subBucketHalfMag
	h.unitMagnitude = uint(63 - bits.LeadingZeros64(uint64(h.lowest)))

	payload := inner[40:]
	for len(payload) > 0 {
		v, size, err := refVarint(payload)
		if err != nil {
			return nil, err
		}
		payload = payload[size:]
		if v < 0 {
			h.counts = append(h.counts, make([]int64, -v)...)
			continue
		}
		h.counts = append(h.counts, v)
		h.total += v
	}
	return h, nil
}

// refVarint reads one ZigZag LEB128-64b9B value.
func refVarint(b []byte) (int64, int, error) {
	var u uint64
	for i := 0; i < 9; i++ {
		if i >= len(b) {
			return 0, 0, errors.New("truncated varint")
		}
		if i == 8 {
			u |= uint64(b[i]) << 56
			return zigzag(u), 9, nil
		}
		u |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return zigzag(u), i + 1, nil
		}
	}
	panic("unreachable")
}

func zigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// rangeAt returns the lowest and highest value that index i stands for.
func (h *refHist) rangeAt(i int) (lo, hi int64) {
	bucket := (i >> h.subBucketHalfMag) - 1
	sub := int64(i)&(h.subBucketHalfCount-1) + h.subBucketHalfCount
	if bucket < 0 {
		sub -= h.subBucketHalfCount
		bucket = 0
	}
	shift := uint(bucket) + h.unitMagnitude
	return sub << shift, sub<<shift + (1 << shift) - 1
}

// percentile returns the highest value equivalent to the recorded value
// at nearest rank q (0..100, in tenths: 99.9), ceil(q/100 · n), the
// convention of HdrHistogram's getValueAtPercentile.
func (h *refHist) percentile(q float64) int64 {
	if h.total == 0 {
		return 0
	}
	rank := nearestRank(q, h.total)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := h.rangeAt(i)
			return hi
		}
	}
	_, hi := h.rangeAt(len(h.counts) - 1)
	return hi
}

func (h *refHist) max() int64 {
	for i := len(h.counts) - 1; i >= 0; i-- {
		if h.counts[i] > 0 {
			_, hi := h.rangeAt(i)
			return hi
		}
	}
	return 0
}

// add merges o (same geometry) into h.
func (h *refHist) add(o *refHist) {
	if len(o.counts) > len(h.counts) {
		h.counts = append(h.counts, make([]int64, len(o.counts)-len(h.counts))...)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
}

// refInterval is one parsed log line.
type refInterval struct {
	start, length, maxSec float64
	hist                  *refHist
}

// refReadLog parses an interval log v1.3 and checks its header lines.
func refReadLog(t *testing.T, path string) []refInterval {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []refInterval
	var sawVersion, sawStart, sawBase, sawLegend bool
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "#[Histogram log format version 1.3]":
			sawVersion = true
		case strings.HasPrefix(line, "#[StartTime: "):
			sawStart = true
		case strings.HasPrefix(line, "#[BaseTime: "):
			sawBase = true
		case line == `"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"`:
			sawLegend = true
		case strings.HasPrefix(line, "#"):
		default:
			f := strings.Split(line, ",")
			if len(f) != 4 {
				t.Fatalf("%s: line %q has %d fields", path, line, len(f))
			}
			var iv refInterval
			var errs [3]error
			iv.start, errs[0] = strconv.ParseFloat(f[0], 64)
			iv.length, errs[1] = strconv.ParseFloat(f[1], 64)
			iv.maxSec, errs[2] = strconv.ParseFloat(f[2], 64)
			if err := errors.Join(errs[:]...); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if iv.hist, err = refDecode(f[3]); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			out = append(out, iv)
		}
	}
	if !sawVersion || !sawStart || !sawBase || !sawLegend {
		t.Errorf("%s: header incomplete: version %v start %v base %v legend %v", path, sawVersion, sawStart, sawBase, sawLegend)
	}
	return out
}

func TestHlogRoundTripIndependentDecoder(t *testing.T) {
	run := makeRun(t)
	for metric, values := range run.recorded {
		ivs := refReadLog(t, filepath.Join(run.dir, HdrDir, metric+".hlog"))
		if len(ivs) != 40 {
			t.Fatalf("%s: %d intervals, want 40 (one per second, empty ones too)", metric, len(ivs))
		}
		var total *refHist
		for i, iv := range ivs {
			if math.Abs(iv.start-float64(i)) > 0.001 || math.Abs(iv.length-1) > 0.001 {
				t.Errorf("%s interval %d: start %v length %v, want %d and 1", metric, i, iv.start, iv.length, i)
			}
			if iv.hist.total != run.perTick[metric][i] {
				t.Errorf("%s interval %d: count %d, recorded %d", metric, i, iv.hist.total, run.perTick[metric][i])
			}
			if iv.hist.lowest != 1 || iv.hist.highest != 3_600_000_000 || iv.hist.digits != 3 {
				t.Fatalf("%s: geometry %d..%d/%d, want 1..3.6e9 µs, 3 digits", metric, iv.hist.lowest, iv.hist.highest, iv.hist.digits)
			}
			// Interval_Max is in seconds for microsecond values.
			if want := float64(iv.hist.max()) / 1e6; math.Abs(iv.maxSec-want) > 1e-6 {
				t.Errorf("%s interval %d: Interval_Max %v, decoded max %v s", metric, i, iv.maxSec, want)
			}
			if total == nil {
				empty := *iv.hist
				empty.counts, empty.total = nil, 0
				total = &empty
			}
			total.add(iv.hist)
		}
		if total.total != int64(len(values)) {
			t.Fatalf("%s: decoded %d values, recorded %d", metric, total.total, len(values))
		}
		m := run.sum.Metrics[metric]
		checks := []struct {
			q     float64
			inSum float64 // what summary.json says, ms
		}{{50, m.P50}, {90, m.P90}, {95, m.P95}, {99, m.P99}, {99.9, m.P999}, {100, m.Max}}
		for _, c := range checks {
			got := total.percentile(c.q)
			// Same value as the library computed for summary.json...
			if float64(got)/1000 != c.inSum {
				t.Errorf("%s p%v: independent decoder %d µs, summary.json %v ms", metric, c.q, got, c.inSum)
			}
			// ...and within the histogram's 3 significant digits of the truth.
			exact := exactPercentile(values, c.q)
			if d := math.Abs(float64(got - exact)); d > float64(exact)/1000+1 {
				t.Errorf("%s p%v: decoded %d µs, exact %d µs", metric, c.q, got, exact)
			}
		}
	}
}

func TestRefVarint(t *testing.T) {
	tests := []struct {
		in   []byte
		want int64
	}{
		{[]byte{0x00}, 0},
		{[]byte{0x01}, -1},
		{[]byte{0x02}, 1},
		{[]byte{0xac, 0x02}, 150}, // 300 zigzagged
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, math.MinInt64}, // 9th byte: all 8 bits
	}
	for _, tt := range tests {
		got, n, err := refVarint(tt.in)
		if err != nil || got != tt.want || n != len(tt.in) {
			t.Errorf("refVarint(% x) = %d, %d, %v; want %d, %d", tt.in, got, n, err, tt.want, len(tt.in))
		}
	}
	if _, _, err := refVarint([]byte{0x80}); err == nil {
		t.Error("truncated varint accepted")
	}
}

func TestReadHlogMatchesIndependentDecoder(t *testing.T) {
	run := makeRun(t)
	hs, err := ReadHlogDir(filepath.Join(run.dir, HdrDir))
	if err != nil {
		t.Fatal(err)
	}
	for metric := range run.recorded {
		ref := refReadLog(t, filepath.Join(run.dir, HdrDir, metric+".hlog"))
		got := hs[metric]
		if len(got) != len(ref) {
			t.Fatalf("%s: ReadHlog %d intervals, reference %d", metric, len(got), len(ref))
		}
		for i := range got {
			if got[i].Start != ref[i].start || got[i].Hist.TotalCount() != ref[i].hist.total {
				t.Errorf("%s interval %d: ReadHlog %v/%d, reference %v/%d", metric, i, got[i].Start, got[i].Hist.TotalCount(), ref[i].start, ref[i].hist.total)
			}
		}
		if tot := hs.Total(metric); tot.TotalCount() != int64(len(run.recorded[metric])) {
			t.Errorf("%s: Total has %d values, want %d", metric, tot.TotalCount(), len(run.recorded[metric]))
		}
	}
}

func TestReadHlogRejectsGarbage(t *testing.T) {
	for _, in := range []string{"0.0,1.0,0.1\n", "0.0,1.0,0.1,!!notbase64\n", "x,1.0,0.1,HISTFAAAAA==\n", "Tag=a\n"} {
		if _, err := ReadHlog(strings.NewReader(in)); err == nil {
			t.Errorf("ReadHlog(%q) accepted", in)
		}
	}
	ivs, err := ReadHlog(strings.NewReader("#[Histogram log format version 1.3]\n\"StartTimestamp\",\"x\"\n\n"))
	if err != nil || len(ivs) != 0 {
		t.Errorf("header-only log: %v, %v", ivs, err)
	}
}

// The report decodes the logs one interval at a time (lazyLogs) rather
// than all at once; what it draws must not change. Both readers see the
// same files; the page built from each must be identical, and so must a
// long log whose intervals merge into groups.
func TestLazyLogsDrawLikeDecodedLogs(t *testing.T) {
	run := makeRun(t)
	lazy, err := readLazyLogs(filepath.Join(run.dir, HdrDir))
	if err != nil {
		t.Fatal(err)
	}
	var fromLazy, fromDecoded bytes.Buffer
	if err := writeHTML(&fromLazy, run.sum, lazy); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&fromDecoded, run.sum, run.hs); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fromLazy.Bytes(), fromDecoded.Bytes()) {
		t.Error("report.html from lazily decoded logs differs from the one from decoded logs")
	}
	for metric := range run.recorded {
		if got, want := lazy.intervals(metric), len(run.hs[metric]); got != want {
			t.Errorf("%s: %d intervals, want %d", metric, got, want)
		}
		a, err := readLatencyLog(lazy, metric)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := readLatencyLog(run.hs, metric)
		if !a.total.Equals(b.total) || fmt.Sprint(a.groups) != fmt.Sprint(b.groups) || a.first != b.first || a.last != b.last {
			t.Errorf("%s: lazy log reads %+v, decoded %+v", metric, a.groups, b.groups)
		}
		if a.total.TotalCount() != int64(len(run.recorded[metric])) {
			t.Errorf("%s: total has %d values, want %d", metric, a.total.TotalCount(), len(run.recorded[metric]))
		}
	}
	// 700 one-second intervals (idle ones among them) merge 3 by 3.
	long := &lazyLogs{logs: map[string][]rawInterval{}}
	decoded := Histograms{}
	src := lazy.logs["telemetry.puback"]
	for i := range 700 {
		r := src[i%len(src)]
		r.start = float64(i)
		long.logs["m"] = append(long.logs["m"], r)
		iv := run.hs["telemetry.puback"][i%len(src)]
		decoded["m"] = append(decoded["m"], Interval{Start: float64(i), Length: iv.Length, Hist: iv.Hist})
	}
	a, err := readLatencyLog(long, "m")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := readLatencyLog(decoded, "m")
	if a.k != 3 || len(a.groups) != 234 || fmt.Sprint(a.groups) != fmt.Sprint(b.groups) || !a.total.Equals(b.total) {
		t.Errorf("long log: k=%d, %d groups; lazy and decoded agree: %v", a.k, len(a.groups), fmt.Sprint(a.groups) == fmt.Sprint(b.groups))
	}
}
