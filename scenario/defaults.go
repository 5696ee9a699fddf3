package scenario

import (
	"fmt"
	"slices"
	"time"
)

// Defaults, applied once by resolve to every key the file leaves out (the
// defaults of the other blocks are in their key tables).
const (
	DefaultUserID    = "eixamsim-{{.N}}"
	DefaultOutputDir = "results/{{.Name}}-{{.Start}}"
)

// resolve settles what the file says into a resolved Scenario: CLI
// overrides first, then what depends on other blocks or on the command
// line. It also loads the files the scenario refers to. Conflicts that a
// Scenario cannot represent (both duration and stages, embedded settings
// with an external target) are reported here; everything else is left to
// validate.
func (p *parser) resolve(s *Scenario) *Scenario {
	s.File = p.file
	s.src = p.src
	s.Target = p.resolveTarget(s.Target)
	var sessionsFile string
	s.Identity, sessionsFile = p.resolveIdentity(s.Identity)
	p.loadTLS(&s.Target)
	if s.Identity.SessionsFile != "" {
		s.Identity.Sessions = p.loadSessions(sessionsFile, &s.Identity, p.sessionsNeeded(s.Fleet))
	}
	var fileUsers int
	s.Fleet, fileUsers = p.resolveFleet(s.Fleet, s.Identity)
	duration, hasDuration := p.durationOverride()
	s.Stages = p.resolveStages(s, fileUsers, duration, hasDuration)
	if p.opts.OutDir != nil {
		s.Output.Dir = *p.opts.OutDir
		p.src.overridden["output.dir"] = "overridden on the command line"
	}
	if p.opts.Seed != nil {
		s.Seed = *p.opts.Seed
		p.src.overridden["seed"] = "overridden on the command line"
		if s.Seed == 0 || s.Seed > MaxSeed {
			// 0 would mean "no seed": the run would pick one, quietly.
			p.errs.add(&Error{File: p.file, Path: "seed", Flag: fmt.Sprintf("--seed %d", s.Seed),
				Msg: fmt.Sprintf("must be a whole number between 1 and %d (leave --seed out to have the run pick one)", uint64(MaxSeed))})
			p.src.bad["seed"] = true
		}
	}
	return s
}

// sessionsNeeded is how many rows of the sessions file the run uses:
// fleet.users as the file or --users gives it, 0 (every row) when the
// file leaves it to the number of rows. A shard's users are a slice of
// these (Slice).
func (p *parser) sessionsNeeded(f Fleet) int {
	if p.opts.Users != nil {
		return max(1, *p.opts.Users)
	}
	if _, written := p.read["fleet.users"]; written {
		return max(1, f.Users)
	}
	return 0
}

// resolveFleet takes fleet.users from the sessions CSV when the file
// leaves it out, then applies the Users override. It also returns the
// users the file gives (0 if unreadable), which the stages scale from.
func (p *parser) resolveFleet(f Fleet, id Identity) (Fleet, int) {
	if _, written := p.read["fleet.users"]; !written && id.SessionsFile != "" {
		f.Users = len(id.Sessions)
		if p.src.bad["identity.sessions_file"] && p.opts.Users == nil {
			p.src.bad["fleet.users"] = true // its default comes from the broken file
		}
	}
	fileUsers := f.Users
	if p.opts.Users != nil {
		f.Users = *p.opts.Users
		p.src.overridden["fleet.users"] = "overridden on the command line"
	}
	return f, fileUsers
}

// cutStages fits a schedule to total: stages after total are dropped, the
// one running at total is shortened, and a schedule shorter than total has
// its last stage extended.
func cutStages(stages []Stage, total time.Duration) []Stage {
	out := slices.Clone(stages)
	if len(out) == 0 {
		return out
	}
	var at time.Duration
	for i := range out {
		if addCapped(at, max(out[i].For, 0)) >= total {
			out[i].For = total - at
			return out[:i+1]
		}
		at = addCapped(at, max(out[i].For, 0))
	}
	out[len(out)-1].For += total - at
	return out
}
