package contract

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestSignMatchesContractVector(t *testing.T) {
	// Contract §1.1: key "test-secret", message "user-123".
	const want = "0472633cf459d59890066f38b1f5bae4ca8839dc25078ee7af231a97e7b3d703"
	if got := Sign([]byte("test-secret"), "user-123"); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if !Verify([]byte("test-secret"), "user-123", want) {
		t.Fatal("Verify rejected the contract vector")
	}
	if Verify([]byte("test-secret"), "user-124", want) || Verify([]byte("other"), "user-123", want) {
		t.Fatal("Verify accepted a wrong user or secret")
	}
}

func TestEncodeSegment(t *testing.T) {
	tests := []struct{ in, want string }{
		{"partner/user 42", "partner%2Fuser%2042"}, // contract §3.4 test vector
		{"a+b#c:d@e", "a%2Bb%23c%3Ad%40e"},
		{"-_.!~*'()", "-_.!~*'()"},           // encodeURIComponent leaves these
		{"  padded  ", "%20%20padded%20%20"}, // never trimmed: " u2" is not "u2"
		{"", ""},
		{"\t\x00\x7f", "%09%00%7F"}, // control characters
		{"%20", "%2520"},            // '%' itself is escaped
		{"ñ", "%C3%B1"},             // UTF-8 bytes, uppercase hex
		{"a&b=c?d", "a%26b%3Dc%3Fd"},
	}
	for _, tt := range tests {
		if got := EncodeSegment(tt.in); got != tt.want {
			t.Errorf("EncodeSegment(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := TelemetryTopic("partner/user 42"); got != "tel/partner%2Fuser%2042/data" {
		t.Errorf("TelemetryTopic = %q", got)
	}
	if got := EventsTopic("partner/user 42"); got != "sos/events/partner%2Fuser%2042" {
		t.Errorf("EventsTopic = %q", got)
	}
	if seg, ok := TelemetrySegment("tel/partner%2Fuser%2042/data"); !ok || seg != "partner%2Fuser%2042" {
		t.Errorf("TelemetrySegment = %q, %v", seg, ok)
	}
	for _, bad := range []string{"tel//data", "tel/a/b/data", "tel/a", "x/a/data"} {
		if _, ok := TelemetrySegment(bad); ok {
			t.Errorf("TelemetrySegment(%q) accepted", bad)
		}
	}
}

// TestTrimIsDartStringTrim pins the whitespace the SDK trims off GET
// /v1/sdk/me's ids: Dart's String.trim set, U+FEFF included.
func TestTrimIsDartStringTrim(t *testing.T) {
	dart := []rune{0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680,
		0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
		0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF}
	for _, r := range dart {
		if got := Trim(string(r) + "u2" + string(r)); got != "u2" {
			t.Errorf("Trim(U+%04X u2 U+%04X) = %q, want u2", r, r, got)
		}
	}
	// Kept: inner whitespace, other controls and format characters
	// (U+180E stopped being White_Space in Unicode 6.3), zero-width space.
	for _, s := range []string{"a b", "\x00u2", "u2\x1f", "\u180Eu2", "\u200Bu2", "u2\u00AD"} {
		if got := Trim(s); got != s {
			t.Errorf("Trim(%q) = %q, want it unchanged", s, got)
		}
	}
}

func TestClientIDAndUsername(t *testing.T) {
	if got := ClientID("partner-app", "user.1@x"); got != "eixam_partner-app_user_1_x" {
		t.Errorf("ClientID = %q", got)
	}
	long := ClientID("app", string(make([]byte, 100)))
	if len(long) != 64 {
		t.Errorf("ClientID length = %d, want 64", len(long))
	}
	u := Username("partner-app", "id:with:colons")
	app, user, ok := ParseUsername(u)
	if !ok || app != "partner-app" || user != "id:with:colons" {
		t.Errorf("ParseUsername(%q) = %q %q %v", u, app, user, ok)
	}
	for _, bad := range []string{"", "sdk:", "sdk:app", "sdk::user", "sdk:app:", "user:app:x"} {
		if _, _, ok := ParseUsername(bad); ok {
			t.Errorf("ParseUsername(%q) accepted", bad)
		}
	}
}

func TestTimestamp(t *testing.T) {
	ms := time.Date(2026, 4, 19, 13, 40, 5, 123000000, time.UTC)
	if got := Timestamp(ms); got != "2026-04-19T13:40:05.123Z" {
		t.Errorf("Timestamp(ms) = %s", got)
	}
	us := time.Date(2026, 4, 19, 13, 40, 5, 123456789, time.UTC)
	if got := Timestamp(us); got != "2026-04-19T13:40:05.123456Z" {
		t.Errorf("Timestamp(µs) = %s", got)
	}
}

func TestPayloadsMatchContractExamples(t *testing.T) {
	// Contract §3.5 composed example, byte for byte.
	alert := SOSAlert{Timestamp: "2026-04-19T13:40:05.123456Z", Latitude: 41.3851, Longitude: 2.1734, Altitude: 12.0, UserID: "partner-user-123", DeviceID: "CF:82:12:34:56:78"}
	b, _ := json.Marshal(alert)
	const wantAlert = `{"timestamp":"2026-04-19T13:40:05.123456Z","latitude":41.3851,"longitude":2.1734,"altitude":12.0,"userId":"partner-user-123","deviceId":"CF:82:12:34:56:78"}`
	if string(b) != wantAlert {
		t.Errorf("alert JSON:\n got %s\nwant %s", b, wantAlert)
	}
	if _, err := ParseSOSAlert(b); err != nil {
		t.Errorf("ParseSOSAlert(own output): %v", err)
	}
	// Contract §3.6 composed example parses.
	const tel = `{"timestamp":"2026-04-19T13:45:00.000Z","latitude":41.3851,"longitude":2.1734,"altitude":12.0,"userId":"partner-user-123","deviceId":"CF:82:12:34:56:78","deviceBattery":80.0,"deviceCoverage":3,"mobileBattery":55.5,"mobileCoverage":4}`
	got, err := ParseTelemetry([]byte(tel))
	if err != nil {
		t.Fatalf("ParseTelemetry: %v", err)
	}
	if got.DeviceCoverage == nil || *got.DeviceCoverage != 3 || got.MobileBattery == nil || *got.MobileBattery != 55.5 {
		t.Errorf("optional fields lost: %+v", got)
	}
	b, _ = json.Marshal(IncidentBody{})
	if string(b) != `{"incident":null}` {
		t.Errorf("empty IncidentBody = %s", b)
	}
}

func TestPayloadRejections(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    error
	}{
		{"not json", `hello`, ErrBadJSON},
		{"array", `[1,2]`, ErrBadJSON},
		{"no coordinates", `{"timestamp":"2026-04-19T13:45:00.000Z"}`, ErrBadPosition},
		{"latitude out of range", `{"timestamp":"2026-04-19T13:45:00.000Z","latitude":91,"longitude":0,"altitude":0}`, ErrBadPosition},
		{"longitude out of range", `{"timestamp":"2026-04-19T13:45:00.000Z","latitude":0,"longitude":-181,"altitude":0}`, ErrBadPosition},
		{"bad time", `{"timestamp":"yesterday","latitude":0,"longitude":0,"altitude":0}`, ErrBadTime},
		{"no time", `{"latitude":0,"longitude":0,"altitude":0}`, ErrBadTime},
		{"string latitude", `{"timestamp":"2026-04-19T13:45:00.000Z","latitude":"0","longitude":0,"altitude":0}`, ErrBadJSON},
	}
	for _, tt := range tests {
		if _, err := ParseTelemetry([]byte(tt.payload)); !errors.Is(err, tt.want) {
			t.Errorf("%s: ParseTelemetry err = %v, want %v", tt.name, err, tt.want)
		}
		if _, err := ParseSOSAlert([]byte(tt.payload)); !errors.Is(err, tt.want) {
			t.Errorf("%s: ParseSOSAlert err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := ParseTelemetry([]byte(`{"timestamp":"2026-04-19T13:45:00.000Z","latitude":0,"longitude":0}`)); !errors.Is(err, ErrBadPosition) {
		t.Errorf("telemetry without altitude: %v", err)
	}
}
