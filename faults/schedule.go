package faults

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Action is what a ScheduledFault does.
type Action string

// Fault actions. The reference backend carries them out.
const (
	// RestartMQTT stops the MQTT listeners and starts them again
	// ScheduledFault.Duration later.
	RestartMQTT Action = "restart_mqtt"
	// Kick disconnects ScheduledFault.Fraction of the connected sessions.
	Kick Action = "kick"
	// StallHTTP stalls the HTTP API for ScheduledFault.Duration.
	StallHTTP Action = "stall_http"
	// SetFaults replaces the faults in force with ScheduledFault.Faults.
	SetFaults Action = "set_faults"
)

// ScheduledFault is one fault of a schedule, so that a run can rehearse a
// bad day. Fields an action does not use must be zero.
//
//	Action        uses                  effect at start+At
//	restart_mqtt  Duration >= 0         listeners closed, clients dropped (0x8B); re-opened at start+At+Duration
//	kick          0 < Fraction <= 1     that fraction of the sessions disconnected (0x98)
//	stall_http    Duration > 0          HTTP held until start+At+Duration
//	set_faults    Faults                the faults in force replaced (the zero Set clears them)
type ScheduledFault struct {
	// At is when the fault fires, as an offset from the start of the
	// schedule; >= 0.
	At time.Duration
	// Action is what happens.
	Action Action
	// Duration is how long the fault lasts: restart_mqtt, how long the
	// listeners stay closed (0 re-opens them at once); stall_http, the
	// length of the stall.
	Duration time.Duration
	// Fraction is the fraction of the connected sessions a kick
	// disconnects, in (0, 1].
	Fraction float64
	// Faults replace the faults in force for set_faults.
	Faults Set
}

// ParseScheduledFault reads the text form of a ScheduledFault,
// ACTION@AT:ARG, AT a Go duration from the start of the schedule:
//
//	restart_mqtt@20s:5s   listeners closed at 20 s, open again at 25 s (ARG 0s: at once)
//	kick@10s:25%          a quarter of the sessions kicked at 10 s (also kick@10s:0.25)
//	stall_http@15s:3s     HTTP stalled from 15 s to 18 s
//	set_faults@30s:error-rate=*=0.5;http-latency=200ms
//	                      faults replaced at 30 s (ARG as in ParseSet)
//	set_faults@60s:none   faults cleared at 60 s
//
// ARG is required for every action. Errors start with `fault "<input>": `.
func ParseScheduledFault(s string) (ScheduledFault, error) {
	action, rest, ok := strings.Cut(strings.TrimSpace(s), "@")
	if !ok {
		return ScheduledFault{}, fmt.Errorf("fault %q: want ACTION@AT:ARG, e.g. restart_mqtt@20s:5s, kick@10s:25%%, stall_http@15s:3s", s)
	}
	at, arg, ok := strings.Cut(rest, ":")
	if !ok {
		return ScheduledFault{}, fmt.Errorf("fault %q: missing :ARG after the time (e.g. %s@%s:%s)", s, action, at, exampleArg(Action(action)))
	}
	f := ScheduledFault{Action: Action(action)}
	var err error
	if f.At, err = time.ParseDuration(at); err != nil {
		return ScheduledFault{}, fmt.Errorf("fault %q: time %q: %w", s, at, err)
	}
	switch f.Action {
	case RestartMQTT, StallHTTP:
		f.Duration, err = time.ParseDuration(arg)
	case Kick:
		f.Fraction, err = ParseFraction(arg)
	case SetFaults:
		f.Faults, err = ParseSet(arg)
	}
	if err != nil {
		return ScheduledFault{}, fmt.Errorf("fault %q: %w", s, err)
	}
	if err := f.Validate(); err != nil {
		return ScheduledFault{}, fmt.Errorf("fault %q: %w", s, err)
	}
	return f, nil
}

// exampleArg is an ARG of action for error messages.
func exampleArg(action Action) string {
	switch action {
	case Kick:
		return "25%"
	case SetFaults:
		return "error-rate=*=0.5"
	}
	return "5s"
}

// ParseFraction reads a fraction written "0.25" or "25%". It does not
// check the range.
func ParseFraction(s string) (float64, error) {
	pct, isPct := strings.CutSuffix(s, "%")
	v, err := strconv.ParseFloat(pct, 64)
	if err != nil {
		return 0, fmt.Errorf("fraction %q: want 0.25 or 25%%", s)
	}
	if isPct {
		v /= 100
	}
	return v, nil
}

// String returns the ParseScheduledFault form of f (fractions as decimals,
// so that the text reads back to the same value).
func (f ScheduledFault) String() string {
	head := string(f.Action) + "@" + f.At.String() + ":"
	switch f.Action {
	case Kick:
		return head + strconv.FormatFloat(f.Fraction, 'g', -1, 64)
	case SetFaults:
		return head + f.Faults.String()
	}
	return head + f.Duration.String()
}

// Validate reports every problem of f: negative At, unknown action, a
// value out of range for the action, or a field the action does not use.
func (f ScheduledFault) Validate() error {
	var errs []error
	if f.At < 0 {
		errs = append(errs, fmt.Errorf("the time (At) %v must not be negative", f.At))
	}
	usesDuration, usesFraction, usesFaults := false, false, false
	switch f.Action {
	case RestartMQTT:
		usesDuration = true
		if f.Duration < 0 {
			errs = append(errs, fmt.Errorf("restart_mqtt: Duration (time down) = %v: must not be negative", f.Duration))
		}
	case StallHTTP:
		usesDuration = true
		if f.Duration <= 0 {
			errs = append(errs, fmt.Errorf("stall_http: Duration (stall length) = %v: must be positive", f.Duration))
		}
	case Kick:
		usesFraction = true
		if !(f.Fraction > 0 && f.Fraction <= 1) { // NaN too
			errs = append(errs, fmt.Errorf("kick: Fraction = %v: want a fraction in (0, 1]", f.Fraction))
		}
	case SetFaults:
		usesFaults = true
		if err := f.Faults.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("set_faults: %w", err))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown action %q (want %s, %s, %s or %s)",
			f.Action, RestartMQTT, Kick, StallHTTP, SetFaults))
		return errors.Join(errs...)
	}
	if !usesDuration && f.Duration != 0 {
		errs = append(errs, fmt.Errorf("%s does not use Duration (= %v)", f.Action, f.Duration))
	}
	if !usesFraction && f.Fraction != 0 {
		errs = append(errs, fmt.Errorf("%s does not use Fraction (= %v)", f.Action, f.Fraction))
	}
	if !usesFaults && !f.Faults.IsZero() {
		errs = append(errs, fmt.Errorf("%s does not use Faults", f.Action))
	}
	return errors.Join(errs...)
}
