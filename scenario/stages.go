package scenario

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// stageKeys are the keys of one stage (an item of stages). A stage's
// users default to 100% of fleet.users; a percentage becomes a number of
// users in resolveStages, once fleet.users is known.
var stageKeys = keys[Stage]{
	{name: "name", shape: shapeString, doc: "unique label for reports, [A-Za-z0-9._-]+ (default stage-<i>, i from 0)",
		decode: readStr(func(st *Stage, s string) { st.Name = s }), // the default needs the index: readStages
		check: func(v *validator, p string, st *Stage) {
			v.checkName(p, st.Name)
		},
		echo: always(func(st *Stage) any { return st.Name })},
	{name: "for", shape: shapeDuration, doc: "how long the stage lasts (required)",
		decode: readDuration(func(st *Stage, d time.Duration) { st.For = d }),
		check: func(v *validator, p string, st *Stage) {
			switch {
			case st.For == 0 && !v.written(p):
				v.errorf(p, "required: how long the stage lasts, e.g. 1m")
			case st.For <= 0:
				v.errorf(p, "must be > 0, got %s", st.For)
			}
		},
		echo: always(func(st *Stage) any { return dur(st.For) })},
	{name: "users", shape: "integer | percentage", doc: "target online users: a number 0..fleet.users, or a percentage of fleet.users (default 100%)",
		decode: func(d *decoder, n *yaml.Node, p string, st *Stage) bool {
			if n.Kind == yaml.ScalarNode && strings.HasSuffix(strings.TrimSpace(n.Value), "%") {
				f := d.percent(n, p)
				if f == nil {
					return false
				}
				st.Users, st.share = 0, *f
				if *f == 0 {
					st.share = -1 // 0%: no users, not the default
				}
				return true
			}
			if i := d.integer(n, p); i != nil {
				st.Users, st.share = *i, 0
				return true
			}
			return false
		},
		def: func(st *Stage) { st.share = 1 },
		check: func(v *validator, p string, st *Stage) {
			users := v.s.Fleet.Users
			switch {
			case st.Users < 0 && v.src.filePath(p) == "fleet.users":
				// the duration shorthand: fleet.users' own check reports it
			case st.Users < 0:
				v.errorf(p, "must be >= 0, got %d", st.Users)
			case st.Users > users && users >= 1 && v.ok("fleet.users"):
				v.errorf(p, "must be <= fleet.users (%d), got %d", users, st.Users)
			}
		},
		echo: always(func(st *Stage) any { return st.Users })},
	{name: "rates", shape: "mapping of behaviour to rate", block: mapOf{rateBehaviourNames, shapeRate}, doc: "open-model rates during this stage by behaviour (" + strings.Join(RateBehaviours, ", ") + "); 0/s pauses one",
		decode: func(d *decoder, n *yaml.Node, p string, st *Stage) bool {
			st.Rates = map[string]Rate{}
			d.pairs(n, p, "a mapping of behaviour name to rate, like { sos: 60/min }", func(key string, _, v *yaml.Node, p string) {
				if r := d.rateOrZero(v, p); r != nil {
					st.Rates[key] = *r
				}
			})
			return true
		},
		check: func(v *validator, p string, st *Stage) {
			for _, name := range sortedKeys(st.Rates) {
				if !slices.Contains(RateBehaviours, name) {
					v.errorf(p+"."+name, "%s", unknownMsg("behaviour", name, true, RateBehaviours))
					continue
				}
				if _, off := v.s.Behaviours.rateOf(name); off != "" {
					v.errorf(p+"."+name, "cannot set a rate: %s", off)
				}
			}
		},
		echo: func(st *Stage) (any, bool) { return stageRates(st.Rates), len(st.Rates) > 0 }},
	{name: "ramp", shape: "step | linear", doc: "how the rates reach this stage's values: at the start (step, default) or linearly over the stage",
		decode: readStr(func(st *Stage, s string) { st.Ramp = s }),
		check: func(v *validator, p string, st *Stage) {
			if st.Ramp != "" && st.Ramp != RampStep && st.Ramp != RampLinear {
				v.errorf(p, "%s", unknownMsg("ramp", st.Ramp, true, []string{RampStep, RampLinear}))
			}
		},
		echo: func(st *Stage) (any, bool) { return st.Ramp, st.Ramp != "" }},
}

// MarshalJSON implements json.Marshaler.
func (st Stage) MarshalJSON() ([]byte, error) { return stageKeys.marshal(&st) }

func stageRates(rates map[string]Rate) map[string]string {
	if len(rates) == 0 {
		return nil
	}
	out := make(map[string]string, len(rates))
	for k, r := range rates {
		out[k] = r.String()
	}
	return out
}

// readStages reads the stages list; a stage without a name is stage-<i>.
func (d *decoder) readStages(n *yaml.Node, path string) []Stage {
	stages := []Stage{}
	d.items(n, path, "a list of stages like { for: 1m, users: 100 }", func(i int, v *yaml.Node, p string) {
		var st Stage
		if got := stageKeys.read(d, v, p, &st); !got["name"] {
			st.Name = fmt.Sprintf("stage-%d", i)
		}
		stages = append(stages, st)
	})
	return stages
}

// checkStages checks the schedule as a whole, then each stage's keys.
func checkStages(v *validator, p string, s *Scenario) {
	stages := s.Stages
	if len(stages) == 0 {
		v.errorf(p, "must have at least one stage, like { for: 1m, users: 100 }")
		return
	}
	users := s.Fleet.Users
	names := map[string]int{}
	var total time.Duration
	for i := range stages {
		st := &stages[i]
		sp := index(p, i)
		stageKeys.check(v, sp, st)
		if first, dup := names[st.Name]; dup && st.Name != "" {
			v.errorf(sp+".name", "%q is also the name of stages[%d]", st.Name, first)
		}
		names[st.Name] = i
		if st.For > 0 {
			total = addCapped(total, st.For)
		}
	}
	if total > MaxRunLength {
		v.errorf(p, "the stages last %s in all, more than the longest run eixamsim accepts (%s, a year)", formatLong(total), formatLong(MaxRunLength))
	}
	if s.MaxUsers() == 0 && users >= 1 && v.ok("fleet.users") {
		msg := "every stage has 0 users online, so nothing would run"
		if rates := s.Behaviours.rates(); len(rates) > 0 {
			msg += " (yet " + strings.Join(rates, ", ") + ")"
		}
		v.errorf(p, "%s", msg)
	}
}

// addCapped adds two non-negative durations, giving math.MaxInt64 instead
// of overflowing.
func addCapped(a, b time.Duration) time.Duration {
	if b > math.MaxInt64-a {
		return math.MaxInt64
	}
	return a + b
}

// formatLong formats a long duration without its zero minutes and seconds
// ("8784h", "2h30m"), or "more than 292 years" at the cap of addCapped.
func formatLong(d time.Duration) string {
	if d == math.MaxInt64 {
		return "more than 292 years"
	}
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// resolveStages builds the schedule from `duration` or `stages` (both
// decoded into s.Stages), turns percentages into users, scales the stages
// to the Users override and applies the Duration override. fileUsers is
// fleet.users as the file gives it (before the override).
func (p *parser) resolveStages(s *Scenario, fileUsers int, duration time.Duration, hasDuration bool) []Stage {
	users := s.Fleet.Users
	_, hasStages := p.read["stages"]
	switch {
	case hasStages:
		if p.read["duration"] {
			p.errorf("duration", "use either duration (one stage with fleet.users online) or stages, not both")
		}
	case p.read["duration"] || hasDuration:
		if len(s.Stages) == 0 { // duration unreadable: the override alone
			s.Stages = []Stage{{Name: "stage-0", share: 1}}
		}
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
	stages := slices.Clone(s.Stages)
	scale := p.opts.Users != nil && fileUsers >= 1
	for i := range stages {
		st := &stages[i]
		switch {
		case st.share > 0:
			st.Users = int(math.Round(st.share * float64(users)))
		case st.share < 0: // 0%
			st.Users = 0
		case scale && st.Users > 0 && st.Users <= fileUsers: // above fileUsers: the file's own mistake, reported as written
			st.Users = max(1, int(math.Round(float64(st.Users)*float64(users)/float64(fileUsers))))
		}
		st.share = 0
	}
	if hasDuration {
		stages = cutStages(stages, duration)
		for i := range stages {
			p.src.overridden[index("stages", i)+".for"] = "the run length is overridden on the command line"
		}
	}
	return stages
}
