package capacity

// Search decides the load of each step from the verdicts of the steps
// before it: geometric steps (load × factor, capped at the ceiling) while
// steps pass, then bisection between the highest passing and the lowest
// failing load until they are within the resolution. A first step that
// fails is followed by steps divided by the factor until one passes (or
// the floor: one user, or a tenth of an arrival per second, fails too).
// It is a pure function of the verdicts it is told.
type Search struct {
	cfg Config
	// Pass is the highest passing load so far; 0 for none.
	Pass float64
	// Fail is the lowest failing load so far; 0 for none.
	Fail float64
}

// NewSearch starts a search.
func NewSearch(cfg Config) *Search { return &Search{cfg: cfg} }

// First is the first step's load.
func (s *Search) First() float64 { return s.cfg.round(s.cfg.Start) }

// Next records the verdict of the step at load and returns the next load,
// or false when the search has ended.
func (s *Search) Next(load float64, passed bool) (float64, bool) {
	c := s.cfg
	if passed {
		s.Pass = max(s.Pass, load)
	} else if s.Fail == 0 || load < s.Fail {
		s.Fail = load
	}
	switch {
	case s.Fail == 0: // climbing
		if load >= c.Max {
			return 0, false // the ceiling holds
		}
		return min(c.round(load*c.Factor), c.Max), true
	case s.Pass == 0: // descending from a failed first step
		next := c.round(load / c.Factor)
		if load <= c.floor() {
			return 0, false
		}
		return max(next, c.floor()), true
	}
	if s.Fail-s.Pass <= c.Resolution*s.Pass {
		return 0, false
	}
	mid := c.round((s.Pass + s.Fail) / 2)
	if mid <= s.Pass || mid >= s.Fail {
		return 0, false // as fine as the dimension goes
	}
	return mid, true
}
