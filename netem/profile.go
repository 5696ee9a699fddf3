// Package netem puts a phone's mobile link inside the phone's own
// connections: a net.Conn wrapper that delays, paces and stalls the bytes
// an application writes and reads the way TCP over a mobile network shows
// them to it. It is a wrapper, not a packet shaper, so it needs no root and
// no tc and works against any target.
//
// A Profile describes a class of link (Builtin has wifi, 4g, 3g and edge);
// NewLink draws one user's link from it; Link.Dial and Link.Wrap put each
// of that user's connections on the link. No goroutine runs per
// connection: the caller's reader does the downlink's work inside Read, and
// the uplink is written out by a runtime timer (time.AfterFunc) that holds
// no goroutine while it waits. docs/network.md describes the model, what it
// leaves out, and where the built-in values come from.
package netem

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Range is a closed interval of durations; a value drawn from it is
// uniform in [Min, Max]. The zero Range is exactly 0.
type Range struct {
	Min, Max time.Duration
}

// Exactly returns the Range holding only d.
func Exactly(d time.Duration) Range { return Range{Min: d, Max: d} }

// Between returns the Range [lo, hi].
func Between(lo, hi time.Duration) Range { return Range{Min: lo, Max: hi} }

// at returns the value at u in [0, 1) of the way from Min to Max.
func (r Range) at(u float64) time.Duration {
	return r.Min + time.Duration(u*float64(r.Max-r.Min))
}

// String formats r as the scenario file writes it: "80ms" or "80ms..300ms".
func (r Range) String() string {
	if r.Min == r.Max {
		return r.Min.String()
	}
	return r.Min.String() + ".." + r.Max.String()
}

// Bitrate is a bandwidth in bits per second. 0 means unlimited.
type Bitrate int64

// Units of Bitrate, decimal as link speeds are quoted.
const (
	Kbit Bitrate = 1000
	Mbit Bitrate = 1000 * Kbit
)

// Stalls describe the link freezing in both directions for a while, as a
// radio does on a handover or in a dead spot: bytes sent during a stall
// leave when it ends, bytes in flight arrive when it ends. The zero value
// means no stalls.
type Stalls struct {
	// Every is the mean time from the end of one stall to the start of
	// the next. The gaps are exponentially distributed (stalls come as a
	// Poisson process), so they cannot be predicted. 0: no stalls.
	Every time.Duration
	// For is how long each stall lasts, drawn per stall.
	For Range
}

// Profile describes a class of link. Its zero value is a perfect link: no
// added delay, unlimited bandwidth, no loss, no stalls. Everything it adds
// comes on top of the real path to the target (nothing on loopback).
type Profile struct {
	// RTT is the round trip the link adds. One value is drawn from the
	// range per Link (per user) and kept for all its connections; half of
	// it is added to each direction.
	RTT Range
	// Jitter varies each packet's one-way delay uniformly by up to
	// ±Jitter, never so much that bytes arrive out of order or before
	// they were sent. 0: every packet takes exactly RTT/2.
	Jitter time.Duration
	// Down and Up are the bandwidths towards the phone and from it. 0 is
	// unlimited.
	Down, Up Bitrate
	// Loss is the probability (0..1) that a packet is lost. TCP hides the
	// loss from the application: the packet arrives one retransmission
	// timeout late and holds back everything behind it. No byte is ever
	// lost. 0: no loss.
	Loss float64
	// Stalls freeze the link in both directions now and then.
	Stalls Stalls
}

// FieldError is a problem with one field of a Profile. Field is named as
// the scenario file names the key (rtt, jitter, down, up, loss,
// stalls.every, stalls.for), so the caller can point at the key's line.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// Validate reports every problem of p at once, each a *FieldError, joined
// with errors.Join; nil when p is usable.
func (p Profile) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	checkRange := func(field string, r Range) {
		switch {
		case r.Min < 0 && r.Min == r.Max:
			bad(field, "%v is negative", r.Min)
		case r.Min < 0:
			bad(field, "the lower bound %v is negative", r.Min)
		case r.Min > r.Max:
			bad(field, "the lower bound %v is above the upper bound %v", r.Min, r.Max)
		}
	}
	checkRange("rtt", p.RTT)
	if p.Jitter < 0 {
		bad("jitter", "%v is negative", p.Jitter)
	}
	if p.Down < 0 {
		bad("down", "%d bit/s is negative", p.Down)
	}
	if p.Up < 0 {
		bad("up", "%d bit/s is negative", p.Up)
	}
	switch {
	case math.IsNaN(p.Loss):
		bad("loss", "is not a number")
	case p.Loss < 0:
		bad("loss", "%g%% is negative", p.Loss*100)
	case p.Loss > 1:
		bad("loss", "%g%% is above 100%%", p.Loss*100)
	}
	s := p.Stalls
	if s.Every < 0 {
		bad("stalls.every", "%v is negative", s.Every)
	}
	checkRange("stalls.for", s.For)
	switch {
	case s.Every > 0 && s.For.Max <= 0:
		bad("stalls.for", "a stall needs a length above 0 (stalls.every is %v)", s.Every)
	case s.Every == 0 && s.For != (Range{}):
		bad("stalls.every", "is 0 (no stalls), yet stalls.for is %v", s.For)
	}
	return errors.Join(errs...)
}
