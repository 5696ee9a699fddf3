package faults

import (
	"strings"
	"testing"
	"time"
)

func TestParseScheduledFault(t *testing.T) {
	ok := []struct {
		in   string
		want ScheduledFault
	}{
		{"restart_mqtt@20s:5s", ScheduledFault{At: 20 * time.Second, Action: RestartMQTT, Duration: 5 * time.Second}},
		{"restart_mqtt@0s:0s", ScheduledFault{Action: RestartMQTT}}, // down 0: re-open at once
		{"kick@10s:25%", ScheduledFault{At: 10 * time.Second, Action: Kick, Fraction: 0.25}},
		{"kick@1m30s:0.5", ScheduledFault{At: 90 * time.Second, Action: Kick, Fraction: 0.5}},
		{"kick@0s:100%", ScheduledFault{Action: Kick, Fraction: 1}},
		{"stall_http@15s:3s", ScheduledFault{At: 15 * time.Second, Action: StallHTTP, Duration: 3 * time.Second}},
		{" stall_http@1.5s:250ms ", ScheduledFault{At: 1500 * time.Millisecond, Action: StallHTTP, Duration: 250 * time.Millisecond}},
		{"set_faults@30s:error-rate=*=0.5;http-latency=uniform:10ms-80ms", ScheduledFault{At: 30 * time.Second, Action: SetFaults, Faults: Set{
			ErrorRate:   map[string]float64{"*": 0.5},
			HTTPLatency: Latency{Kind: LatencyUniform, Min: 10 * time.Millisecond, Max: 80 * time.Millisecond},
		}}},
		{"set_faults@60s:none", ScheduledFault{At: time.Minute, Action: SetFaults}},
		{"set_faults@60s:", ScheduledFault{At: time.Minute, Action: SetFaults}},
	}
	for _, tt := range ok {
		got, err := ParseScheduledFault(tt.in)
		if err != nil || got.String() != tt.want.String() || got.Fraction != tt.want.Fraction {
			t.Errorf("ParseScheduledFault(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			continue
		}
		back, err := ParseScheduledFault(got.String())
		if err != nil || back.String() != got.String() || back.Fraction != got.Fraction {
			t.Errorf("round trip of %q via %q = %v, %v", tt.in, got.String(), back, err)
		}
	}
	bad := []struct{ in, want string }{
		{"restart_mqtt", "ACTION@AT:ARG"},                                // no time
		{"restart_mqtt@20s", "missing :ARG"},                             // no down time
		{"kick@10s", "missing :ARG"},                                     // no fraction
		{"reboot@10s:1s", "unknown action"},                              // unknown action
		{"kick@ten:25%", "time"},                                         // bad time
		{"kick@-1s:25%", "negative"},                                     // negative time
		{"kick@10s:0%", "(0, 1]"},                                        // kicks nobody
		{"kick@10s:150%", "(0, 1]"},                                      // more than everyone
		{"kick@10s:half", "fraction"},                                    // not a number
		{"kick@10s:NaN", "(0, 1]"},                                       // NaN
		{"stall_http@15s:0s", "positive"},                                // empty stall
		{"stall_http@15s:-3s", "positive"},                               // negative stall
		{"restart_mqtt@20s:-5s", "negative"},                             // negative down time
		{"restart_mqtt@20s:5", "duration"},                               // no unit
		{"set_faults@30s:error-rate=sos_cancle=0.5", "unknown endpoint"}, // misspelt endpoint
		{"set_faults@30s:latency=50ms", "unknown setting"},               // unknown key
		{"set_faults@30s:event-drop=2", "0..1"},                          // out of range
	}
	for _, tt := range bad {
		if f, err := ParseScheduledFault(tt.in); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseScheduledFault(%q) = %v, %v; want an error mentioning %q", tt.in, f, err, tt.want)
		}
	}
}

func TestScheduledFaultValidate(t *testing.T) {
	bad := []ScheduledFault{
		{Action: Kick, Fraction: 0.5, Duration: time.Second},                    // kick does not use Duration
		{Action: StallHTTP, Duration: time.Second, Fraction: 0.5},               // stall does not use Fraction
		{Action: RestartMQTT, Faults: Set{EventDelay: time.Second}},             // restart does not use Faults
		{Action: SetFaults, Faults: Set{ErrorRate: map[string]float64{"x": 1}}}, // invalid faults
		{Action: ""}, // no action
	}
	for _, f := range bad {
		if err := f.Validate(); err == nil {
			t.Errorf("%+v validated", f)
		}
	}
}
