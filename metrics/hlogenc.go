package metrics

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// V2 compressed histogram encoding cookies, as hdrhistogram-go writes them
// (the base cookies with word size 8 in the low nibble of the second byte).
const (
	v2EncodingCookie           = hdr.V2EncodingCookieBase | 0x10
	v2CompressedEncodingCookie = hdr.V2CompressedEncodingCookieBase | 0x10
)

// v2Encoder encodes histograms in the V2 compressed format byte for byte
// as hdr.Histogram.EncodeV2 does, but reuses its zlib compressor and
// buffers: the library allocates a new compressor (~800 KB) for every
// histogram, this costs one copy of the counts per histogram. The zero
// value is ready; it is not safe for concurrent use.
type v2Encoder struct {
	raw  []byte       // header and zig-zag LEB128 counts, uncompressed
	zbuf bytes.Buffer // the zlib stream
	zw   *zlib.Writer // reused through Reset
	bin  []byte       // cookie, length, zlib stream
	out  []byte       // base64 of bin; valid until the next encode
}

// encode returns h's V2 compressed, base64 encoding. The slice is reused
// by the next call.
func (e *v2Encoder) encode(h *hdr.Histogram) ([]byte, error) {
	snap := h.Export()
	limit := 1 // the library writes counts up to the index of Max(), at least one
	for i := len(snap.Counts) - 1; i >= 0; i-- {
		if snap.Counts[i] != 0 {
			limit = i + 1
			break
		}
	}
	counts := snap.Counts[:limit]

	ratio := snap.IntegerToDoubleConversionRatio
	if ratio == 0 {
		ratio = 1
	}
	b := e.raw[:0]
	b = binary.BigEndian.AppendUint32(b, uint32(v2EncodingCookie))
	b = binary.BigEndian.AppendUint32(b, 0) // payload length, filled in below
	b = binary.BigEndian.AppendUint32(b, 0) // normalizing index offset: counts are stored unrotated
	b = binary.BigEndian.AppendUint32(b, uint32(int32(snap.SignificantFigures)))
	b = binary.BigEndian.AppendUint64(b, uint64(snap.LowestTrackableValue))
	b = binary.BigEndian.AppendUint64(b, uint64(snap.HighestTrackableValue))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(ratio))
	const header = 40
	for i := 0; i < len(counts); {
		c := counts[i]
		i++
		if c == 0 {
			zeros := int64(1)
			for i < len(counts) && counts[i] == 0 {
				zeros++
				i++
			}
			if zeros > 1 {
				c = -zeros
			}
		}
		b = appendZigZag(b, c)
	}
	binary.BigEndian.PutUint32(b[4:8], uint32(int32(len(b)-header)))
	e.raw = b

	e.zbuf.Reset()
	if e.zw == nil {
		zw, err := zlib.NewWriterLevel(&e.zbuf, zlib.BestCompression)
		if err != nil {
			return nil, fmt.Errorf("encode histogram: %w", err)
		}
		e.zw = zw
	} else {
		e.zw.Reset(&e.zbuf)
	}
	if _, err := e.zw.Write(b); err != nil {
		return nil, fmt.Errorf("encode histogram: %w", err)
	}
	if err := e.zw.Close(); err != nil {
		return nil, fmt.Errorf("encode histogram: %w", err)
	}

	bin := e.bin[:0]
	bin = binary.BigEndian.AppendUint32(bin, uint32(v2CompressedEncodingCookie))
	bin = binary.BigEndian.AppendUint32(bin, uint32(int32(e.zbuf.Len())))
	bin = append(bin, e.zbuf.Bytes()...)
	e.bin = bin
	e.out = base64.StdEncoding.AppendEncode(e.out[:0], bin)
	return e.out, nil
}

// appendZigZag appends v as a ZigZag LEB128 long of at most 9 bytes, the
// V2 encoding's count format: 7 bits a byte, the last (ninth) byte whole.
func appendZigZag(b []byte, v int64) []byte {
	u := uint64((v << 1) ^ (v >> 63))
	for n := 0; n < 8; n++ {
		if u>>7 == 0 {
			return append(b, byte(u))
		}
		b = append(b, byte(u&0x7f|0x80))
		u >>= 7
	}
	return append(b, byte(u))
}
