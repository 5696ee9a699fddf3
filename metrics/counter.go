package metrics

import "sync/atomic"

// Counter is a monotonically increasing count, e.g. "mqtt.disconnects".
type Counter struct {
	name string
	v    atomic.Int64
}

// Name returns the counter's name.
func (c *Counter) Name() string { return c.name }

// Inc adds one.
func (c *Counter) Inc() { c.v.Add(1) }

// Add adds n (n >= 0).
func (c *Counter) Add(n int64) { c.v.Add(n) }

// Value returns the current count.
func (c *Counter) Value() int64 { return c.v.Load() }

// Gauge is a value that goes up and down, e.g. "users.online".
type Gauge struct {
	name string
	v    atomic.Int64
}

// Name returns the gauge's name.
func (g *Gauge) Name() string { return g.name }

// Add adds n, which may be negative.
func (g *Gauge) Add(n int64) { g.v.Add(n) }

// Value returns the current value.
func (g *Gauge) Value() int64 { return g.v.Load() }
