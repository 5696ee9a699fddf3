package rate

import "testing"

func TestParseAndFormat(t *testing.T) {
	for _, tt := range []struct {
		in     string
		per    float64
		reason string
	}{
		{"5/s", 5, ""},
		{" 60 / min ", 1, ""},
		{"0.5/s", 0.5, ""},
		{"3600/h", 1, ""},
		{"5", 0, "missing /s, /min or /h"},
		{"5/m", 0, `"/m" is ambiguous: write /min`},
		{"5/d", 0, `unknown unit "d"`},
		{"0x5/s", 0, `"0x5" is not a number`},
		{"0/s", 0, "must be greater than 0"},
	} {
		per, reason := Parse(tt.in)
		if per != tt.per || reason != tt.reason {
			t.Errorf("Parse(%q) = %v, %q; want %v, %q", tt.in, per, reason, tt.per, tt.reason)
		}
	}
	for _, per := range []float64{5, 1.0 / 60, 1.0 / 3600, 0.3, 2000} {
		if got, _ := Parse(Format(per)); got != per {
			t.Errorf("Parse(Format(%v)) = %v (%q)", per, got, Format(per))
		}
	}
}
