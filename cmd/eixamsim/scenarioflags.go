package main

import (
	"github.com/spf13/pflag"

	"github.com/eixamsim/eixamsim/scenario"
)

// scenarioFlags are the flags that change the scenario a command loads:
// --users, --duration, --set and --seed. run and validate take all four
// and apply them with the same code, so that `validate` checks exactly the
// scenario `run` would run with the same flags (docs/scenario.md);
// capacity takes --set and --seed (its search decides the users and the
// duration).
type scenarioFlags struct {
	users    int
	duration string // parsed by the scenario's parser: "8" needs a unit
	// set overrides scenario keys, "key.path=value", in order.
	set  []string
	seed uint64
}

// registerShape adds --users and --duration.
func (s *scenarioFlags) registerShape(fl *pflag.FlagSet) {
	fl.IntVarP(&s.users, "users", "u", 0, "scale every stage's users target in proportion so the largest is `N` (fleet.users becomes N; open-model rates stay as written)")
	fl.StringVarP(&s.duration, "duration", "d", "", "cut the stages at `DURATION` from the start (a duration past their end extends the last stage); needs a unit: 30s, 2m")
}

// registerSet adds --set and --seed.
func (s *scenarioFlags) registerSet(fl *pflag.FlagSet) {
	fl.StringArrayVar(&s.set, "set", nil, "override a scenario key, `KEY.PATH=VALUE` (repeatable, YAML value, checked like the file): fleet.users=50, behaviours.telemetry.every=5s, stages[1].users=10")
	fl.Uint64Var(&s.seed, "seed", 0, "seed every random choice of the run with `N` (1..2^53-1); a run without one picks one and records it in summary.json")
}

// options are the scenario overrides of the flags that were given (a flag
// not registered on fl counts as not given).
func (s *scenarioFlags) options(fl *pflag.FlagSet) scenario.Options {
	var opts scenario.Options
	if fl.Changed("users") {
		opts.Users = &s.users
	}
	if fl.Changed("duration") {
		opts.DurationText = &s.duration
	}
	if fl.Changed("seed") {
		opts.Seed = &s.seed
	}
	opts.Set = s.set
	return opts
}
