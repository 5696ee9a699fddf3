package scenario

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCapacityBlock checks that the capacity block is read with its
// defaults, echoed, and that a scenario without one has none.
func TestCapacityBlock(t *testing.T) {
	s, err := testParse(base+"capacity: { dimension: telemetry.rate, start: 50, max: 400, resolution: 10% }\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := Capacity{Dimension: "telemetry.rate", Start: 50, Max: 400, Factor: DefaultCapacityFactor, Resolution: 0.1,
		Warmup: DefaultCapacityWarmup, Hold: DefaultCapacityHold, MaxErrors: DefaultCapacityMaxErrors}
	if s.Capacity == nil || *s.Capacity != want {
		t.Fatalf("capacity %+v, want %+v", s.Capacity, want)
	}
	if b, ok := s.Capacity.RateBehaviour(); !ok || b != "telemetry" {
		t.Errorf("RateBehaviour %q %v, want telemetry", b, ok)
	}
	data, err := json.Marshal(s)
	if err != nil || !strings.Contains(string(data), `"capacity":{"dimension":"telemetry.rate","start":50,"max":400,"factor":2,"resolution":10,"warmup":"5s","hold":"10s","max_errors":1}`) {
		t.Errorf("echo %s (%v)", data, err)
	}
	s, err = testParse(base, Options{})
	if err != nil || s.Capacity != nil {
		t.Errorf("without the block: capacity %+v, err %v; want nil", s.Capacity, err)
	}
	if _, err := testParse(base+"capacity: { start: 1, hold: soon }\n", Options{}); err == nil || !strings.Contains(err.Error(), "capacity.hold") {
		t.Errorf("a bad hold: err %v, want one naming capacity.hold", err)
	}
}
