package scenario

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/faults"
)

// TestEmbeddedCapacity checks that Load parses target.embedded.capacity
// once into Embedded.Capacity, echoes it in its canonical form, reports a
// bad one at its value, and validates one built in code.
func TestEmbeddedCapacity(t *testing.T) {
	s, err := testParse(base+"target: { embedded: { capacity: \"telemetry=2000/s, http=500/s, queue=250ms\" } }\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Target.Embedded.Capacity
	if len(c.Rates) != 2 || c.Rates[faults.ResourceTelemetry] != 2000 || c.Rates[faults.ResourceHTTP] != 500 || c.Queue != 250*time.Millisecond {
		t.Errorf("Capacity = %+v", c)
	}
	js, err := json.Marshal(s.Target.Embedded)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"capacity":"http=500/s,telemetry=2000/s,queue=250ms"`) {
		t.Errorf("echo: %s", js)
	}

	// None by default, and no echo.
	s, err = testParse(base+"target: { embedded: { ack_delay: 1s } }\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Target.Embedded.Capacity.IsZero() {
		t.Errorf("default Capacity = %+v, want none", s.Target.Embedded.Capacity)
	}
	if js, _ := json.Marshal(s.Target.Embedded); strings.Contains(string(js), "capacity") {
		t.Errorf("echo without a model mentions capacity: %s", js)
	}

	// A bad one is reported at its value, every problem on one line.
	_, err = testParse(base+"target: { embedded: { capacity: \"telemtry=5/s,http=5\" } }\n", Options{})
	wantErr := `/s/t.yaml:6:33: target.embedded.capacity: capacity "telemtry=5/s,http=5": unknown resource "telemtry" (did you mean telemetry?); http: rate "5": missing /s, /min or /h (want a rate like 500/s or 60/min)`
	if err == nil || err.Error() != wantErr {
		t.Errorf("bad capacity:\ngot:  %v\nwant: %s", err, wantErr)
	}

	// One built in code is validated at its path.
	s, err = testParse(base+"target: { embedded: { ack_delay: 1s } }\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Target.Embedded.Capacity = faults.Capacity{Rates: map[string]float64{"sos": -1, "https": 1}}
	err = s.Validate()
	if err == nil || !strings.Contains(err.Error(), "target.embedded.capacity: ") {
		t.Fatalf("Validate of a bad capacity: %v", err)
	}
	for _, want := range []string{`unknown resource "https" (did you mean http?)`, "sos: rate -1/s: must be a finite number greater than 0"} {
		if !strings.Contains(err.Error(), want) || strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("Validate: %q, want one line with %q", err, want)
		}
	}
}
