package contract

import "strings"

// Fixed MQTT topics (contract §3.3).
const (
	TopicSOSAlerts = "sos/alerts"
)

// TelemetryTopic is "tel/<seg>/data" for a canonical user id.
func TelemetryTopic(canonicalID string) string {
	return "tel/" + EncodeSegment(canonicalID) + "/data"
}

// EventsTopic is "sos/events/<seg>" for a canonical user id.
func EventsTopic(canonicalID string) string {
	return "sos/events/" + EncodeSegment(canonicalID)
}

// EncodeSegment encodes a canonical user id for use as one topic level,
// exactly as JavaScript encodeURIComponent (Dart Uri.encodeComponent) does:
// ASCII letters, digits and - _ . ! ~ * ' ( ) stay; every other byte of the
// UTF-8 form becomes %XX with uppercase hex (contract §3.4). Neither
// url.PathEscape nor url.QueryEscape has this set. Nothing is trimmed: the
// SDK trims the canonical id once, where it reads GET /v1/sdk/me (see
// Trim), so the id given here is used as it is. The encoding is injective
// (percent-decoding gives the id back), which is what keeps two users'
// topics apart: " u2" and "u2" are "%20u2" and "u2".
func EncodeSegment(canonicalID string) string {
	s := canonicalID
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if segmentUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func segmentUnreserved(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '_', '.', '!', '~', '*', '\'', '(', ')':
		return true
	}
	return false
}

// TelemetrySegment returns the <seg> of a telemetry topic "tel/<seg>/data".
func TelemetrySegment(topic string) (seg string, ok bool) {
	rest, found := strings.CutPrefix(topic, "tel/")
	if !found {
		return "", false
	}
	seg, found = strings.CutSuffix(rest, "/data")
	if !found || seg == "" || strings.Contains(seg, "/") {
		return "", false
	}
	return seg, true
}
