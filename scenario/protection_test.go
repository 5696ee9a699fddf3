package scenario

import (
	"encoding/json"
	"strings"
	"testing"
)

// loadSOS's file: line 8 is "  sos:", the body follows; protection is
// written after it at behaviours level.
func TestProtection(t *testing.T) {
	s, err := loadSOS(t, "    rate: 1/s\n    origin: device\n  protection: { share: 30% }\n")
	if err != nil {
		t.Fatal(err)
	}
	p := s.Behaviours.Protection
	if p == nil || p.Share != 0.3 || !p.Protected(0.29) || p.Protected(0.3) {
		t.Fatalf("protection = %+v", p)
	}
	echo, err := json.Marshal(s.Behaviours)
	if err != nil || !strings.Contains(string(echo), `"protection":{"share":"30%"}`) {
		t.Errorf("echo %s, %v", echo, err)
	}
	off, err := loadSOS(t, "    rate: 1/s\n    origin: mixed\n")
	if err != nil || off.Behaviours.Protection != nil || off.Behaviours.Protection.Protected(0) {
		t.Errorf("no protection key: %+v, %v", off.Behaviours.Protection, err)
	}
}

func TestProtectionErrors(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{"    rate: 1/s\n  protection: { share: 30% }\n", "sos.yaml:10:15"},
		{"    rate: 1/s\n  protection: { share: 30% }\n", "needs behaviours.sos with origin: device or mixed"},
		{"    rate: 1/s\n    origin: device\n  protection: { share: 150% }\n", "between 0% and 100%"},
		{"    rate: 1/s\n    origin: device\n  protection: { share: 0% }\n", "above 0%"},
		{"    rate: 1/s\n    origin: device\n  protection: {}\n", "share"},
		{"    rate: 1/s\n    origin: device\n  protection: { shares: 30% }\n", "shares"},
		{"    rate: 1/s\n    origin: device\n  protection: { share: lots }\n", "sos.yaml:11:24"},
	} {
		_, err := loadSOS(t, c.body)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want an error containing %q", c.body, err, c.want)
		}
	}
}
