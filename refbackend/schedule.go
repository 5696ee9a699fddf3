package refbackend

import (
	"errors"
	"fmt"

	"github.com/eixamsim/eixamsim/faults"
)

// ErrInvalidSchedule is wrapped by the errors of RunSchedule for a
// schedule that does not validate.
var ErrInvalidSchedule = errors.New("invalid schedule")

// ScheduledFault is one fault of a schedule (Config.Schedule,
// Server.RunSchedule).
//
// Deprecated: use faults.ScheduledFault.
type ScheduledFault = faults.ScheduledFault

// FaultAction is what a ScheduledFault does.
//
// Deprecated: use faults.Action.
type FaultAction = faults.Action

// Fault actions: how the server carries each out.
//
// Deprecated: use the faults.Action constants.
const (
	// FaultRestartMQTT stops the MQTT listeners (Server.StopMQTT) and
	// starts them again (Server.StartMQTT) ScheduledFault.Duration later.
	FaultRestartMQTT = faults.RestartMQTT
	// FaultKick disconnects ScheduledFault.Fraction of the connected
	// sessions (Server.Kick).
	FaultKick = faults.Kick
	// FaultStallHTTP stalls the HTTP API for ScheduledFault.Duration
	// (Server.StallHTTP).
	FaultStallHTTP = faults.StallHTTP
	// FaultSetFaults replaces the injected faults with
	// ScheduledFault.Faults (Server.SetFaults).
	FaultSetFaults = faults.SetFaults
)

// ParseScheduledFault reads the text form of a ScheduledFault.
//
// Deprecated: use faults.ParseScheduledFault.
func ParseScheduledFault(s string) (ScheduledFault, error) { return faults.ParseScheduledFault(s) }

// validateSchedule reports every problem of sched, each prefixed with its
// index; hasMQTT tells whether restart_mqtt can work.
func validateSchedule(sched []ScheduledFault, hasMQTT bool) error {
	var errs []error
	for i, f := range sched {
		if err := f.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("schedule[%d] %s: %w", i, f.Action, err))
			continue
		}
		if f.Action == faults.RestartMQTT && !hasMQTT {
			errs = append(errs, fmt.Errorf("schedule[%d] %s: %w", i, f.Action, ErrNoMQTT))
		}
	}
	return errors.Join(errs...)
}
