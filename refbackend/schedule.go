package refbackend

import (
	"errors"
	"fmt"

	"github.com/eixamsim/eixamsim/faults"
)

// ErrInvalidSchedule is wrapped by the errors of RunSchedule for a
// schedule that does not validate.
var ErrInvalidSchedule = errors.New("invalid schedule")

// validateSchedule reports every problem of sched, each prefixed with its
// index; hasMQTT tells whether restart_mqtt can work.
func validateSchedule(sched []faults.ScheduledFault, hasMQTT bool) error {
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
