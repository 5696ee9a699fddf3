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
		{"sso", "sos"},                 // two neighbours swapped: one edit
		{"telemetyr", "telemetry"},     // the same at the end
	} {
		if got := Closest(tt.in, names); got != tt.want {
			t.Errorf("Closest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "ab", 2}, {"kitten", "sitting", 3},
		{"rnu", "run", 1}, {"ca", "abc", 3}, {"abcd", "badc", 2}, {"same", "same", 0},
	} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
