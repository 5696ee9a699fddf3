package scenario

import (
	"math/rand/v2"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Churn is fleet.churn: users of a stage leave and come back while the
// stage keeps them in the fleet. nil (the block not written) is off.
type Churn struct {
	Online  Span  // time online before leaving
	Offline Span  // time away before coming back
	Leave   Leave // how users go away, by weight
	Back    string
}

// How a churned user comes back.
const (
	BackColdStart = "cold_start" // the SDK's start with a stored session: GET /v1/sdk/sos, CONNECT, SUBSCRIBE (no /me)
	BackLogin     = "login"      // the first-login sequence again
)

// Leave modes, in the order of Leave's fields and of the counters
// users.left.<mode>.
const (
	LeaveClean    = "clean"    // MQTT DISCONNECT, then close (SDK clearSession)
	LeaveKilled   = "killed"   // the TCP connection closes with no DISCONNECT (the OS killed the app)
	LeaveVanished = "vanished" // nothing more is sent or acknowledged, no FIN (coverage lost)
	LeaveRoam     = "roam"     // vanished, and the phone reconnects at once (Wi-Fi/4G handover)
)

// LeaveModes lists the leave modes in table order.
var LeaveModes = []string{LeaveClean, LeaveKilled, LeaveVanished, LeaveRoam}

// Leave holds the weight of each leave mode; a user picks one with
// probability weight / sum each time it leaves.
type Leave struct {
	Clean, Killed, Vanished, Roam int
}

// Weights returns the weights in LeaveModes order.
func (l Leave) Weights() []int { return []int{l.Clean, l.Killed, l.Vanished, l.Roam} }

// Pick returns the leave mode drawn from rng by weight; the weights must
// add up to more than 0 (Validate checks it).
func (l Leave) Pick(rng *rand.Rand) string {
	w := l.Weights()
	sum := 0
	for _, x := range w {
		sum += x
	}
	n := rng.IntN(sum)
	for i, x := range w {
		if n < x {
			return LeaveModes[i]
		}
		n -= x
	}
	return LeaveModes[len(LeaveModes)-1]
}

// Span is a length of time as churn writes it: a mean, drawn from an
// exponential distribution ("20m"), or a range drawn uniformly ("5m..40m").
type Span struct {
	Mean     time.Duration // > 0: exponential with this mean; 0: the range
	Min, Max time.Duration // the range, Min <= Max, when Mean is 0
}

// Draw returns one length drawn from rng.
func (s Span) Draw(rng *rand.Rand) time.Duration {
	if s.Mean > 0 {
		return time.Duration(rng.ExpFloat64() * float64(s.Mean))
	}
	return s.Min + time.Duration(rng.Int64N(int64(s.Max-s.Min)+1))
}

// Average is the span's mean length.
func (s Span) Average() time.Duration {
	if s.Mean > 0 {
		return s.Mean
	}
	return s.Min + (s.Max-s.Min)/2
}

// String writes the span as the file does.
func (s Span) String() string {
	if s.Mean > 0 {
		return dur(s.Mean)
	}
	return dur(s.Min) + ".." + dur(s.Max)
}

// MarshalJSON implements json.Marshaler.
func (s Span) MarshalJSON() ([]byte, error) { return marshal(s.String()) }

// MarshalJSON implements json.Marshaler.
func (c Churn) MarshalJSON() ([]byte, error) { return churnKeys.marshal(&c) }

// MarshalJSON implements json.Marshaler.
func (l Leave) MarshalJSON() ([]byte, error) { return leaveKeys.marshal(&l) }

// defaultLeave is fleet.churn.leave when not written.
var defaultLeave = Leave{Clean: 40, Killed: 30, Vanished: 20, Roam: 10}

const shapeSpan = "duration | duration..duration"

// churnKeys are the keys of fleet.churn.
var churnKeys = keys[Churn]{
	{name: "online", shape: shapeSpan, doc: "time online before leaving: a mean (exponential), or a range lo..hi drawn uniformly (required)",
		decode: readSpan(func(c *Churn, s Span) { c.Online = s }),
		check:  checkSpan(func(c *Churn) Span { return c.Online }, false),
		echo:   always(func(c *Churn) any { return c.Online })},
	{name: "offline", shape: shapeSpan, doc: "time away before coming back, same forms (required)",
		decode: readSpan(func(c *Churn, s Span) { c.Offline = s }),
		check:  checkSpan(func(c *Churn) Span { return c.Offline }, true),
		echo:   always(func(c *Churn) any { return c.Offline })},
	{name: "leave", shape: shapeMapping, block: leaveKeys, doc: "how users go away, by weight: clean, killed, vanished, roam (default clean 40, killed 30, vanished 20, roam 10)",
		decode: func(d *decoder, n *yaml.Node, p string, c *Churn) bool {
			leaveKeys.read(d, n, p, &c.Leave)
			return true
		},
		def: func(c *Churn) { c.Leave = defaultLeave },
		check: func(v *validator, p string, c *Churn) {
			sum := 0
			for i, w := range c.Leave.Weights() {
				if w < 0 {
					v.errorf(p+"."+LeaveModes[i], "weight must be >= 0, got %d", w)
				}
				sum += max(w, 0)
			}
			if sum == 0 && v.ok(p) {
				v.errorf(p, "weights must add up to more than 0 (modes: %s)", strings.Join(LeaveModes, ", "))
			}
		},
		echo: always(func(c *Churn) any { return c.Leave })},
	{name: "back", shape: "cold_start | login", doc: "how a user comes back: cold_start (GET /v1/sdk/sos, CONNECT, SUBSCRIBE; no /me) or login (the first-login sequence); default cold_start",
		decode: readStr(func(c *Churn, s string) { c.Back = s }),
		def:    func(c *Churn) { c.Back = BackColdStart },
		check: func(v *validator, p string, c *Churn) {
			if c.Back != BackColdStart && c.Back != BackLogin {
				v.errorf(p, "%s", unknownMsg("back", c.Back, true, []string{BackColdStart, BackLogin}))
			}
		},
		echo: always(func(c *Churn) any { return c.Back })},
}

// leaveKeys are the keys of fleet.churn.leave: a key not written is 0.
var leaveKeys = keys[Leave]{
	{name: LeaveClean, shape: shapeInteger, doc: "weight of logging out: MQTT DISCONNECT, then close",
		decode: readInt(func(l *Leave, n int) { l.Clean = n }), echo: always(func(l *Leave) any { return l.Clean })},
	{name: LeaveKilled, shape: shapeInteger, doc: "weight of the app killed: the connection closes without DISCONNECT",
		decode: readInt(func(l *Leave, n int) { l.Killed = n }), echo: always(func(l *Leave) any { return l.Killed })},
	{name: LeaveVanished, shape: shapeInteger, doc: "weight of coverage lost: the socket stays open and silent until the broker closes it",
		decode: readInt(func(l *Leave, n int) { l.Vanished = n }), echo: always(func(l *Leave) any { return l.Vanished })},
	{name: LeaveRoam, shape: shapeInteger, doc: "weight of a Wi-Fi/4G handover: the old socket goes silent and the user reconnects at once with the same client id",
		decode: readInt(func(l *Leave, n int) { l.Roam = n }), echo: always(func(l *Leave) any { return l.Roam })},
}

// readSpan reads a Span: a duration (a mean) or lo..hi (a range).
func readSpan[T any](set func(*T, Span)) func(*decoder, *yaml.Node, string, *T) bool {
	return readDurRangeOr(func(t *T, lo, hi time.Duration, isRange bool) {
		if isRange {
			set(t, Span{Min: lo, Max: hi})
		} else {
			set(t, Span{Mean: lo})
		}
	})
}

// readDurRangeOr reads a duration or lo..hi, telling which was written.
func readDurRangeOr[T any](set func(t *T, lo, hi time.Duration, isRange bool)) func(*decoder, *yaml.Node, string, *T) bool {
	return func(d *decoder, n *yaml.Node, p string, t *T) bool {
		if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "..") {
			lo, hi, _ := strings.Cut(n.Value, "..")
			lv, hv := *n, *n
			lv.Value, hv.Value = strings.TrimSpace(lo), strings.TrimSpace(hi)
			l, h := d.duration(&lv, p), d.duration(&hv, p)
			if l == nil || h == nil {
				return false
			}
			set(t, *l, *h, true)
			return true
		}
		if v := d.duration(n, p); v != nil {
			set(t, *v, *v, false)
			return true
		}
		return false
	}
}

// checkSpan checks a churn span: required, a mean > 0, a range with
// 0 <= lo <= hi (lo > 0 too unless zeroOK: a user is online for some time).
func checkSpan(get func(*Churn) Span, zeroOK bool) func(*validator, string, *Churn) {
	return func(v *validator, p string, c *Churn) {
		s := get(c)
		switch {
		case s == Span{} && !v.written(p):
			v.errorf(p, "required: a mean time (e.g. 20m, drawn from an exponential distribution) or a range lo..hi (e.g. 5m..40m)")
		case s.Mean < 0 || s.Min < 0 || s.Max < 0:
			v.errorf(p, "must not be negative, got %s", spanString(s))
		case s.Mean == 0 && s.Min == 0 && s.Max == 0:
			v.errorf(p, "must be > 0, got 0s (a user would leave or come back at once, in a loop)")
		case s.Mean == 0 && s.Min > s.Max:
			v.errorf(p, "a range lo..hi needs lo <= hi, got %s", spanString(s))
		case s.Mean == 0 && s.Min == 0 && !zeroOK:
			v.errorf(p, "the range must start above 0s, got %s (a user is online for some time before it leaves)", spanString(s))
		case s.Mean > 0 && s.Mean > MaxRunLength || s.Max > MaxRunLength:
			v.errorf(p, "must be at most %s, got %s", dur(MaxRunLength), spanString(s))
		}
	}
}

// spanString writes s even when it is out of range (negative, lo > hi).
func spanString(s Span) string {
	if s.Mean != 0 || s.Min == 0 && s.Max == 0 {
		return s.Mean.String()
	}
	return s.Min.String() + ".." + s.Max.String()
}

// churnOn reports whether users leave and come back: fleet.churn or
// events (for the catalogue's needs).
func churnOn(s *Scenario) bool { return s.Fleet.Churn != nil || len(s.Events) > 0 }
