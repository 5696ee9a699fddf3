package contract

import (
	"strconv"
	"strings"
)

// Double is a float64 that encodes like a Dart double: always with a
// decimal point ("12.0", not Go's "12"), so payloads are byte-identical to
// the SDK's (contract §3.5, §3.6).
type Double float64

// MarshalJSON implements json.Marshaler.
func (d Double) MarshalJSON() ([]byte, error) {
	s := strconv.FormatFloat(float64(d), 'f', -1, 64)
	if !strings.ContainsAny(s, ".eEn") { // n: NaN/Inf are rejected by json anyway
		s += ".0"
	}
	return []byte(s), nil
}
