package suggest

import "testing"

func TestClosest(t *testing.T) {
	names := []string{"telemetry", "sos", "http", "sos.delivered", "fleet.users"}
	for _, tt := range []struct{ in, want string }{
		{"telemtry", "telemetry"},      // one letter dropped
		{"TELEMETRY", "telemetry"},     // case only
		{"delivered", "sos.delivered"}, // the last part of a dotted name
		{"users", "fleet.users"},       // the same after a dot
		{"htp", "http"},                // short names allow one edit
		{"database", ""},               // nothing close
		{"so", "sos"},                  // one edit on a 3-letter name
	} {
		if got := Closest(tt.in, names); got != tt.want {
			t.Errorf("Closest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
