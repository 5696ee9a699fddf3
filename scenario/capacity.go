package scenario

import (
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Capacity is the `capacity:` block: how `eixamsim capacity` searches for
// the load at which the target stops meeting the scenario's thresholds.
// `eixamsim run` ignores it. docs/capacity.md describes the method.
type Capacity struct {
	// Dimension is what grows: DimensionUsers (online users), or
	// "<behaviour>.rate" (an open-model behaviour's arrival rate).
	Dimension string
	// Start is the first step's load: users, or arrivals per second.
	Start float64
	// Max is the ceiling: no step goes above it.
	Max float64
	// Factor multiplies the load from one passing step to the next before
	// the first failure (> 1; default DefaultCapacityFactor).
	Factor float64
	// Resolution ends the bisection: when the lowest failing load is
	// within this fraction of the highest passing one (0 < r < 1; default
	// DefaultCapacityResolution).
	Resolution float64
	// Warmup is how long each step runs, once its users are online,
	// before it is measured (default DefaultCapacityWarmup).
	Warmup time.Duration
	// Hold is how long each step is measured, at least 1 s (default
	// DefaultCapacityHold).
	Hold time.Duration
	// MaxErrors is the share of failed operations (0..1) above which a
	// step fails, whatever the thresholds say (default
	// DefaultCapacityMaxErrors).
	MaxErrors float64
}

// Capacity search defaults.
const (
	DimensionUsers            = "users"
	DefaultCapacityFactor     = 2.0
	DefaultCapacityResolution = 0.05
	DefaultCapacityWarmup     = 5 * time.Second
	DefaultCapacityHold       = 10 * time.Second
	DefaultCapacityMaxErrors  = 0.01
)

// RateBehaviour returns the behaviour whose rate a "<behaviour>.rate"
// dimension grows, and false for the users dimension.
func (c Capacity) RateBehaviour() (string, bool) {
	b, ok := strings.CutSuffix(c.Dimension, ".rate")
	return b, ok && b != ""
}

// RateDimensions are the "<behaviour>.rate" dimensions, one per
// behaviour with an open-model rate, in table order.
func RateDimensions() []string {
	out := make([]string, len(RateBehaviours))
	for i, b := range RateBehaviours {
		out[i] = b + ".rate"
	}
	return out
}

// dimensionShape is the dimension key's shape: "users" | "telemetry.rate" | ….
func dimensionShape() string {
	return `"` + strings.Join(append([]string{DimensionUsers}, RateDimensions()...), `" | "`) + `"`
}

var capacityKeys = keys[Capacity]{
	{name: "dimension", shape: dimensionShape(), doc: "what grows: online users, or one open-model behaviour's arrival rate, e.g. telemetry.rate (default users)",
		decode: readStr(func(c *Capacity, s string) { c.Dimension = s }),
		def:    func(c *Capacity) { c.Dimension = DimensionUsers },
		echo:   always(func(c *Capacity) any { return c.Dimension })},
	{name: "start", shape: shapeNumber, doc: "the first step's load: users, or arrivals per second (required)",
		decode: readNumber(func(c *Capacity, f float64) { c.Start = f }),
		echo:   always(func(c *Capacity) any { return c.Start })},
	{name: "max", shape: shapeNumber, doc: "the ceiling: no step goes above it (required)",
		decode: readNumber(func(c *Capacity, f float64) { c.Max = f }),
		echo:   always(func(c *Capacity) any { return c.Max })},
	{name: "factor", shape: shapeNumber, doc: "geometric step: the load is multiplied by this after each passing step until one fails (default 2)",
		decode: readNumber(func(c *Capacity, f float64) { c.Factor = f }),
		def:    func(c *Capacity) { c.Factor = DefaultCapacityFactor },
		echo:   always(func(c *Capacity) any { return c.Factor })},
	{name: "resolution", shape: shapePercent, doc: "bisection ends when the first failing load is within this of the highest passing one (default 5%)",
		decode: readPercent(func(c *Capacity, f float64) { c.Resolution = f }),
		def:    func(c *Capacity) { c.Resolution = DefaultCapacityResolution },
		echo:   always(func(c *Capacity) any { return c.Resolution * 100 })},
	{name: "warmup", shape: shapeDuration, doc: "each step runs this long, once its users are online, before it is measured (default 5s)",
		decode: readDuration(func(c *Capacity, d time.Duration) { c.Warmup = d }),
		def:    func(c *Capacity) { c.Warmup = DefaultCapacityWarmup },
		echo:   always(func(c *Capacity) any { return c.Warmup.String() })},
	{name: "hold", shape: shapeDuration, doc: "each step is measured this long, at least 1s (default 10s)",
		decode: readDuration(func(c *Capacity, d time.Duration) { c.Hold = d }),
		def:    func(c *Capacity) { c.Hold = DefaultCapacityHold },
		echo:   always(func(c *Capacity) any { return c.Hold.String() })},
	{name: "max_errors", shape: shapePercent, doc: "a step whose failed operations exceed this share fails (default 1%)",
		decode: readPercent(func(c *Capacity, f float64) { c.MaxErrors = f }),
		def:    func(c *Capacity) { c.MaxErrors = DefaultCapacityMaxErrors },
		echo:   always(func(c *Capacity) any { return c.MaxErrors * 100 })},
}

// MarshalJSON implements json.Marshaler.
func (c Capacity) MarshalJSON() ([]byte, error) { return capacityKeys.marshal(&c) }

// capacityRow is the root table's row of the capacity block.
var capacityRow = key[Scenario]{
	name: "capacity", shape: shapeMapping, block: capacityKeys,
	doc: "eixamsim capacity: the dimension, start, ceiling, step policy, warm-up and hold of the search (docs/capacity.md)",
	decode: func(d *decoder, n *yaml.Node, p string, s *Scenario) bool {
		s.Capacity = new(Capacity)
		capacityKeys.read(d, n, p, s.Capacity)
		return true
	},
	echo: func(s *Scenario) (any, bool) { return s.Capacity, s.Capacity != nil },
}
