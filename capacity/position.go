package capacity

// Position is where a search stands, for a live view of it (the
// eixamsim_capacity_* Prometheus families).
type Position struct {
	// Index is the 0-based step in progress, or the last one once the
	// search has ended; Load is its load, in Dimension's unit.
	Index     int
	Load      float64
	Dimension string
	// Passed, Failed and Inconclusive count the steps judged so far.
	Passed, Failed, Inconclusive int
	// PassedLoad is the highest load a step passed at; 0 before any did.
	PassedLoad float64
}

// Position tells where the search stands. It is safe to call from any
// goroutine.
func (s *Stepper) Position() Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := Position{Dimension: s.cfg.Dimension}
	for _, r := range s.results {
		p.Index, p.Load = r.Index, r.Load
		switch r.Verdict {
		case VerdictPass:
			p.Passed++
			p.PassedLoad = max(p.PassedLoad, r.Load)
		case VerdictFail:
			p.Failed++
		default:
			p.Inconclusive++
		}
	}
	if s.cur != nil {
		p.Index, p.Load = s.cur.res.Index, s.cur.res.Load
	}
	return p
}
