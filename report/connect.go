package report

import (
	"fmt"

	"github.com/eixamsim/eixamsim/scenario"
)

// Connect is how fast users came online against the rate asked
// (fleet.connect_rate), over the run's main ramp: the stage that raised
// the users target the most, from its start to when users.online reached
// the stage's target (interpolated within the one-second interval that
// reached it), or to the stage's end when it never did.
type Connect struct {
	Stage string `json:"stage"`
	// AskedPerS is fleet.connect_rate (a shard's: its share; merged: the
	// shards' sum).
	AskedPerS float64 `json:"asked_per_s"`
	// ReachedPerS is (ToUsers - FromUsers) / Seconds.
	ReachedPerS float64 `json:"reached_per_s"`
	// FromUsers were online when the stage started, ToUsers when it
	// reached its target (or ended); TargetUsers is the stage's target.
	FromUsers   int64   `json:"from_users"`
	ToUsers     int64   `json:"to_users"`
	TargetUsers int     `json:"target_users"`
	Seconds     float64 `json:"seconds"`
	// Reached says the target was reached within the stage.
	Reached bool `json:"reached"`
}

// MinConnectSeconds is the shortest ramp ConnectOf measures: a ramp
// within a few one-second samples cannot be timed from them.
const MinConnectSeconds = 3

// ConnectOf measures the main ramp of a run from its stages and its
// per-second series; nil when no stage raised the users target, the
// series has no sample of it, or the ramp took under MinConnectSeconds.
func ConnectOf(stages []Stage, series []Point, asked float64) *Connect {
	best, prev, rise := -1, 0, 0
	for i, st := range stages {
		if d := st.Users - prev; d > rise {
			best, rise = i, d
		}
		prev = st.Users
	}
	if best < 0 {
		return nil
	}
	st := stages[best]
	c := &Connect{Stage: st.Name, AskedPerS: asked, TargetUsers: st.Users}
	seen := false
	prevT := st.From
	for _, p := range series {
		online, ok := p.Values[scenario.UsersOnline]
		if !ok {
			continue
		}
		if p.T <= st.From {
			c.FromUsers = online // the last sample before the stage
			continue
		}
		if p.T-p.Seconds >= st.To {
			break
		}
		prev := c.ToUsers
		if !seen {
			prev = c.FromUsers
		}
		seen = true
		c.ToUsers, c.Seconds = online, p.T-st.From
		if target := int64(st.Users); online >= target {
			// Crossed within this interval: place the crossing in it
			// in proportion, as if users came at an even pace.
			if online > prev {
				c.Seconds = prevT - st.From + (p.T-prevT)*float64(target-prev)/float64(online-prev)
			}
			c.ToUsers, c.Reached = target, true
			break
		}
		prevT = p.T
	}
	if !seen || c.Seconds < MinConnectSeconds {
		return nil
	}
	c.ReachedPerS = float64(c.ToUsers-c.FromUsers) / c.Seconds
	return c
}

// String is the summary line: "100000 users online in 36.3s in stage
// ramp-up: 2753/s reached, 5000/s asked".
func (c Connect) String() string {
	what := fmt.Sprintf("%d → %d users online in %.1fs in stage %s", c.FromUsers, c.ToUsers, c.Seconds, c.Stage)
	if !c.Reached {
		what += fmt.Sprintf(" (target %d not reached)", c.TargetUsers)
	}
	return fmt.Sprintf("%s: %.0f/s reached, %.0f/s asked", what, c.ReachedPerS, c.AskedPerS)
}
