package scenario

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/eixamsim/eixamsim/contract"
)

// Defaults, applied once by resolve to every key the file leaves out (the
// defaults of the other blocks are in their key tables).
const (
	DefaultUserID    = "eixamsim-{{.N}}"
	DefaultOutputDir = "results/{{.Name}}-{{.Start}}"
)

// EndpointNames lists the endpoint names of target.embedded.error_rate
// (besides "*", every other endpoint).
//
// Deprecated: use contract.EndpointNames.
func EndpointNames() []string { return contract.EndpointNames() }

func or[T any](p *T, def T) T {
	if p != nil {
		return *p
	}
	return def
}

// resolve turns what the file says into a Scenario: CLI overrides first,
// then defaults for everything left out. It also loads the files the
// scenario refers to. Conflicts that a Scenario cannot represent (both
// duration and stages, embedded settings with an external target) are
// reported here; everything else is left to validate.
func (p *parser) resolve(r *rawScenario) *Scenario {
	s := &Scenario{
		Version:     1,
		Name:        or(r.Name, ""),
		Description: or(r.Description, ""),
		File:        p.file,
		src:         p.src,
	}
	s.Target = p.resolveTarget(r.Target, r.TargetRead)
	var sessionsFile string
	s.Identity, sessionsFile = p.resolveIdentity(r.Identity)
	p.loadTLS(&s.Target)
	if s.Identity.SessionsFile != "" {
		s.Identity.Sessions = p.loadSessions(sessionsFile, &s.Identity)
	}
	s.Fleet = p.resolveFleet(r.Fleet, r.FleetRead, s.Identity)
	s.Stages = p.resolveStages(r, s.Fleet.Users)
	s.Behaviours = r.Behaviours
	s.Thresholds = Thresholds{
		Metrics:     r.Thresholds.Metrics,
		AbortOnFail: r.Thresholds.AbortOnFail,
		AbortGrace:  or(r.Thresholds.AbortGrace, 0),
	}
	s.Output = r.Output
	if p.opts.OutDir != nil {
		s.Output.Dir = *p.opts.OutDir
		p.src.overridden["output.dir"] = "overridden on the command line"
	}
	return s
}

// resolveFleet applies the Users override, or takes fleet.users from the
// sessions CSV when the file leaves it out.
func (p *parser) resolveFleet(f Fleet, read map[string]bool, id Identity) Fleet {
	if p.opts.Users != nil {
		f.Users = *p.opts.Users
		p.src.overridden["fleet.users"] = "overridden on the command line"
	} else if !read["users"] && id.SessionsFile != "" {
		f.Users = len(id.Sessions)
		if p.src.bad["identity.sessions_file"] {
			p.src.bad["fleet.users"] = true // its default comes from the broken file
		}
	}
	return f
}

// resolveStages builds the schedule from `duration` or `stages`, applying
// the Duration override.
func (p *parser) resolveStages(r *rawScenario, users int) []Stage {
	var stages []Stage
	switch {
	case r.HasStages:
		if r.Duration != nil {
			p.errorf("duration", "use either duration (one stage with fleet.users online) or stages, not both")
		}
		for i, rs := range r.Stages {
			st := Stage{Name: or(rs.Name, fmt.Sprintf("stage-%d", i)), For: or(rs.For, 0), Users: users, Rates: rs.Rates, Ramp: or(rs.Ramp, "")}
			switch {
			case rs.Users != nil:
				st.Users = *rs.Users
			case rs.UsersPct != nil:
				st.Users = int(math.Round(*rs.UsersPct * float64(users)))
			}
			stages = append(stages, st)
		}
	case r.Duration != nil || p.opts.Duration != nil:
		stages = []Stage{{Name: "stage-0", For: or(r.Duration, 0), Users: users}}
		p.src.alias["stages"] = "duration"
		p.src.alias["stages[0].for"] = "duration"
		p.src.alias["stages[0].users"] = "fleet.users"
		p.src.alias["stages[0].name"] = "duration"
	case p.src.bad["duration"]:
		p.src.bad["stages"] = true // the duration's own problem is reported
		return nil
	default:
		p.errorf("stages", "required: give duration (one stage with fleet.users online) or stages")
		return nil
	}
	if p.opts.Duration != nil {
		stages = cutStages(stages, *p.opts.Duration)
		for i := range stages {
			p.src.overridden[index("stages", i)+".for"] = "the run length is overridden on the command line"
		}
	}
	return stages
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
		if at+out[i].For >= total {
			out[i].For = total - at
			return out[:i+1]
		}
		at += out[i].For
	}
	out[len(out)-1].For += total - at
	return out
}
