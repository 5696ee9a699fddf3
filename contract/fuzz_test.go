package contract

import (
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// The fuzz targets below run their seed corpus (testdata/fuzz/<name>/) as
// ordinary tests; `go test -fuzz=FuzzParseSOSAlert ./contract` explores
// further. Properties: the parsers never panic, every error is one of the
// documented kinds, and an accepted payload is valid and survives a round
// trip through the SDK's encoding unchanged.

// wantKnownError fails unless err is one of the parser errors.
func wantKnownError(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrBadJSON) && !errors.Is(err, ErrBadPosition) && !errors.Is(err, ErrBadTime) {
		t.Fatalf("error %v is none of ErrBadJSON, ErrBadPosition, ErrBadTime", err)
	}
}

// wantValidPosition checks what the parsers promise of an accepted payload.
func wantValidPosition(t *testing.T, timestamp string, lat, lon, alt Double) {
	t.Helper()
	if _, err := ParseTimestamp(timestamp); err != nil {
		t.Fatalf("accepted timestamp %q does not parse: %v", timestamp, err)
	}
	if !(lat >= -90 && lat <= 90) || !(lon >= -180 && lon <= 180) {
		t.Fatalf("accepted position %v, %v out of range", lat, lon)
	}
	if math.IsNaN(float64(alt)) || math.IsInf(float64(alt), 0) {
		t.Fatalf("accepted altitude %v", alt)
	}
}

func FuzzParseSOSAlert(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		a, err := ParseSOSAlert(payload)
		if err != nil {
			wantKnownError(t, err)
			return
		}
		wantValidPosition(t, a.Timestamp, a.Latitude, a.Longitude, a.Altitude)
		again, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("accepted alert %+v does not encode: %v", a, err)
		}
		b, err := ParseSOSAlert(again)
		if err != nil {
			t.Fatalf("re-encoded alert %s refused: %v", again, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip changed the alert: %+v -> %s -> %+v", a, again, b)
		}
	})
}

func FuzzParseTelemetry(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := ParseTelemetry(payload)
		if err != nil {
			wantKnownError(t, err)
			return
		}
		wantValidPosition(t, m.Timestamp, m.Latitude, m.Longitude, m.Altitude)
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("accepted telemetry %+v does not encode: %v", m, err)
		}
		back, err := ParseTelemetry(again)
		if err != nil {
			t.Fatalf("re-encoded telemetry %s refused: %v", again, err)
		}
		if !reflect.DeepEqual(m, back) {
			t.Fatalf("round trip changed the telemetry: %+v -> %s -> %+v", m, again, back)
		}
	})
}

// FuzzEncodeSegment checks that a topic segment names one id: percent-
// decoding gives the id back (so no two ids share a segment), and the
// segment holds only encodeURIComponent's unreserved characters and %XX,
// so it is one topic level and never a wildcard.
func FuzzEncodeSegment(f *testing.F) {
	for _, s := range []string{"u2", " u2", "u2 ", "partner/user 42", "+", "#", "%2F", "a:b?c", "\x00", "\xff", "ñ", "\uFEFFu2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		seg := EncodeSegment(id)
		back, err := url.PathUnescape(seg)
		if err != nil || back != id {
			t.Fatalf("EncodeSegment(%q) = %q decodes to %q, %v", id, seg, back, err)
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if c == '%' {
				if i+2 >= len(seg) || !strings.ContainsRune("0123456789ABCDEF", rune(seg[i+1])) || !strings.ContainsRune("0123456789ABCDEF", rune(seg[i+2])) {
					t.Fatalf("EncodeSegment(%q) = %q: bad escape at %d", id, seg, i)
				}
				i += 2
				continue
			}
			if !segmentUnreserved(c) {
				t.Fatalf("EncodeSegment(%q) = %q holds %q", id, seg, c)
			}
		}
	})
}
