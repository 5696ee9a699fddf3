package scenario

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/faults"
)

// TestEmbeddedSchedule checks that Load parses target.embedded.faults once
// into Embedded.Schedule, in order, and that the echo keeps the texts as
// written.
func TestEmbeddedSchedule(t *testing.T) {
	s, err := testParse(base+"target: { embedded: { faults: [\"kick@10s:25%\", restart_mqtt@20s:5s, \"set_faults@30s:error-rate=*=0.5\"] } }\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := s.Target.Embedded
	want := []string{"kick@10s:0.25", "restart_mqtt@20s:5s", "set_faults@30s:error-rate=*=0.5"}
	if len(e.Schedule) != len(want) {
		t.Fatalf("Schedule = %v, want %d faults", e.Schedule, len(want))
	}
	for i, f := range e.Schedule {
		if f.String() != want[i] {
			t.Errorf("Schedule[%d] = %s, want %s", i, f, want[i])
		}
	}
	if e.Schedule[0].Action != faults.Kick || e.Schedule[0].At != 10*time.Second || e.Schedule[0].Fraction != 0.25 {
		t.Errorf("Schedule[0] = %+v", e.Schedule[0])
	}
	js, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"faults":["kick@10s:25%","restart_mqtt@20s:5s","set_faults@30s:error-rate=*=0.5"]`) {
		t.Errorf("echo does not keep the faults as written: %s", js)
	}

	// A fault that does not parse is reported at its list item, once.
	_, err = testParse(base+"target: { embedded: { faults: [kick@10s:25%, \"reboot@1s:1s\"] } }\n", Options{})
	wantErr := `/s/t.yaml:6:46: target.embedded.faults[1]: fault "reboot@1s:1s": unknown action "reboot" (want restart_mqtt, kick, stall_http or set_faults) (expected ACTION@AT:ARG such as restart_mqtt@20s:5s, kick@10s:25%, stall_http@15s:3s)`
	if err == nil || err.Error() != wantErr {
		t.Errorf("bad fault:\ngot:  %v\nwant: %s", err, wantErr)
	}

	// A schedule built in code is validated and echoed from the schedule.
	hand := Embedded{Transport: "tcp", ErrorRate: map[string]float64{}, Schedule: []faults.ScheduledFault{{Action: faults.Kick, At: time.Second, Fraction: 2}}}
	js, _ = json.Marshal(hand)
	if !strings.Contains(string(js), `"faults":["kick@1s:2"]`) {
		t.Errorf("hand-built echo: %s", js)
	}
}

// TestResolvedDefaults checks that every value fleet reads is resolved by
// Load, including written zeros that differ from the defaults.
func TestResolvedDefaults(t *testing.T) {
	s, err := testParse(base+"behaviours:\n  telemetry: { every: 1s, position: { around: [10, 20], radius_km: 0 } }\n  sos: { rate: 1/s }\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	tel := s.Behaviours.Telemetry
	if tel.Around != [2]float64{10, 20} || tel.RadiusKm != 0 {
		t.Errorf("position = %v, radius %v km; want [10 20], 0 km", tel.Around, tel.RadiusKm)
	}
	if tel.QoS != DefaultTelemetryQoS || tel.Jitter != 0 || tel.Arrivals != "" {
		t.Errorf("telemetry = %+v", tel)
	}
	if sos := s.Behaviours.SOS; sos.Hold != DefaultSOSHold || sos.HoldMax != 0 || sos.End != EndCancel || sos.Arrivals != ArrivalsConstant {
		t.Errorf("sos = %+v", sos)
	}
	if rc := s.Fleet.Reconnect; rc != (Reconnect{Policy: ReconnectSDK, Initial: DefaultSDKReconnect, Max: DefaultSDKReconnect}) {
		t.Errorf("reconnect = %+v", rc)
	}

	// Without a position block the defaults apply; a block with only
	// around keeps the default radius.
	s, err = testParse(base+"behaviours:\n  telemetry: { rate: 5/s, position: { around: [1, 2] } }\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tel := s.Behaviours.Telemetry; tel.Around != [2]float64{1, 2} || tel.RadiusKm != DefaultTelemetryRadius || tel.Arrivals != ArrivalsConstant {
		t.Errorf("telemetry = %+v", tel)
	}
	s, err = testParse(strings.Replace(base, "fleet: { users: 10 }", "fleet: { users: 10, reconnect: { policy: backoff, initial: 45s } }", 1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rc := s.Fleet.Reconnect; rc != (Reconnect{Policy: ReconnectBackoff, Initial: 45 * time.Second, Max: 45 * time.Second, Jitter: DefaultBackoffJitter}) {
		t.Errorf("backoff reconnect = %+v", rc)
	}
}
