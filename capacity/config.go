package capacity

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/eixamsim/eixamsim/scenario"
)

// Follow is the share of the offered throughput a step must achieve: below
// it, achieved throughput has stopped following offered load and the step
// fails.
const Follow = 0.9

// Config is a resolved capacity search: the scenario's capacity block with
// the command line's changes.
type Config struct {
	scenario.Capacity
	// Behaviour is the behaviour whose rate grows; "" for the users
	// dimension.
	Behaviour string
}

// NewConfig checks c against sc and resolves it. Its errors name the
// capacity key at fault.
func NewConfig(c scenario.Capacity, sc *scenario.Scenario) (Config, error) {
	cfg := Config{Capacity: c}
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("capacity.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if b, ok := c.RateBehaviour(); ok {
		if _, on := sc.Behaviours.RateOf(b); !on {
			bad("dimension", "%q needs behaviours.%s with an open-model rate", c.Dimension, b)
		}
		cfg.Behaviour = b
	} else if c.Dimension != scenario.DimensionUsers {
		bad("dimension", "%q: want users or <behaviour>.rate (%s)", c.Dimension, strings.Join(scenario.RateDimensions(), ", "))
	}
	switch {
	case !(c.Start > 0):
		bad("start", "required: the first step's load, > 0")
	case cfg.isUsers() && c.Start != math.Trunc(c.Start):
		bad("start", "users are whole: got %v", c.Start)
	}
	if !(c.Max >= c.Start) {
		bad("max", "required: the ceiling, at least start (%v), got %v", c.Start, c.Max)
	}
	if cfg.isUsers() && c.Max > float64(sc.Fleet.Users) && len(sc.Identity.Sessions) > 0 {
		bad("max", "%v users, but the sessions file has %d", c.Max, sc.Fleet.Users)
	}
	if !(c.Factor > 1) || c.Factor > 100 {
		bad("factor", "must be above 1 and at most 100, got %v", c.Factor)
	}
	if !(c.Resolution > 0 && c.Resolution < 1) {
		bad("resolution", "must be between 0%% and 100%%, exclusive, got %v%%", c.Resolution*100)
	}
	if c.Warmup < 0 {
		bad("warmup", "must not be negative")
	}
	if c.Hold < time.Second {
		bad("hold", "must be at least 1s (one interval), got %v", c.Hold)
	}
	if !(c.MaxErrors >= 0 && c.MaxErrors <= 1) {
		bad("max_errors", "must be 0%%..100%%")
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return cfg, nil
}

func (c Config) isUsers() bool { b, ok := c.RateBehaviour(); return !ok || b == "" }

// round rounds a load to what the dimension can hold: whole users, or a
// rate to 3 significant digits.
func (c Config) round(load float64) float64 {
	if c.isUsers() {
		return math.Round(load)
	}
	if load <= 0 {
		return 0
	}
	p := math.Pow(10, 2-math.Floor(math.Log10(load)))
	return math.Round(load*p) / p
}

// floor is the lowest load a step may have.
func (c Config) floor() float64 {
	if c.isUsers() {
		return 1
	}
	return math.Min(c.Start, 0.1)
}

// Unit names the dimension's unit: "users" or "<behaviour>/s".
func (c Config) Unit() string {
	if c.isUsers() {
		return "users"
	}
	return c.Behaviour + "/s"
}
