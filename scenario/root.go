package scenario

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// scenarioKeys are the top-level keys of a scenario file. Blocks are read
// with their own tables; resolve (defaults.go) then settles what depends on
// other blocks or on the command line (the schedule, fleet.users from the
// sessions CSV, overrides).
var scenarioKeys = keys[Scenario]{
	{name: "version", shape: "1", doc: "the format version; 1 is the only one (required)",
		decode: readInt(func(s *Scenario, n int) { s.Version = n }), // decodeRoot has checked it already
		check: func(v *validator, p string, s *Scenario) {
			if s.Version != 1 {
				v.errorf(p, "unsupported version %d (the only version is 1)", s.Version)
			}
		},
		echo: always(func(s *Scenario) any { return s.Version })},
	{name: "name", shape: shapeString, doc: "a short name for the results: letters, digits, '.', '_' and '-' (required)",
		decode: readStr(func(s *Scenario, name string) { s.Name = name }),
		check: func(v *validator, p string, s *Scenario) {
			if s.Name == "" && !v.written(p) {
				v.errorf(p, "required: a short name for the results, e.g. `name: smoke`")
			} else {
				v.checkName(p, s.Name)
			}
		},
		echo: always(func(s *Scenario) any { return s.Name })},
	{name: "description", shape: shapeString, doc: "free text (default empty)",
		decode: readStr(func(s *Scenario, d string) { s.Description = d }),
		echo:   func(s *Scenario) (any, bool) { return s.Description, s.Description != "" }},
	{name: "file", // not a key of the file: the echo says where the scenario was read from
		echo: func(s *Scenario) (any, bool) { return s.File, s.File != "" }},
	{name: "seed", shape: shapeSeed, doc: "seed of every random choice (arrivals, jitter, positions, user picks), 1..2^53-1 (default: the run picks one and records it)",
		decode: func(d *decoder, n *yaml.Node, p string, s *Scenario) bool {
			if v := d.seed(n, p); v != nil {
				s.Seed = *v
				return true
			}
			return false
		},
		check: func(v *validator, p string, s *Scenario) {
			if s.Seed > MaxSeed {
				v.errorf(p, "must be at most %d (2^53-1, exact in every JSON reader), got %d", uint64(MaxSeed), s.Seed)
			}
		},
		echo: func(s *Scenario) (any, bool) { return s.Seed, s.Seed != 0 }},
	{name: "duration", shape: shapeDuration, doc: "shorthand for stages: [{ for: <duration>, users: 100% }]; give duration or stages",
		decode: func(d *decoder, n *yaml.Node, p string, s *Scenario) bool {
			v := d.duration(n, p)
			if v == nil {
				return false
			}
			if s.Stages == nil { // stages, when also written, win (resolve reports both)
				s.Stages = []Stage{{Name: "stage-0", For: *v, share: 1}}
			}
			return true
		}},
	{name: "target", shape: shapeMapping, block: targetKeys, doc: "where the users connect: http and mqtt of an external backend, or the embedded reference backend (default)",
		decode: func(d *decoder, n *yaml.Node, p string, s *Scenario) bool {
			targetKeys.read(d, n, p, &s.Target)
			return true
		},
		def:   func(s *Scenario) { targetKeys.read(nil, nil, "target", &s.Target) },
		check: func(v *validator, _ string, _ *Scenario) { v.checkTarget() },
		echo:  always(func(s *Scenario) any { return s.Target })},
	{name: "identity", shape: shapeMapping, block: identityKeys, doc: "who the users are: app id and secret with a user id template, or a sessions CSV",
		decode: func(d *decoder, n *yaml.Node, p string, s *Scenario) bool {
			identityKeys.read(d, n, p, &s.Identity)
			return true
		},
		def:   func(s *Scenario) { identityKeys.read(nil, nil, "identity", &s.Identity) },
		check: func(v *validator, _ string, _ *Scenario) { v.checkIdentity() },
		echo:  always(func(s *Scenario) any { return s.Identity })},
	{name: "fleet", shape: shapeMapping, block: fleetKeys, doc: "how many users there are and how they connect",
		decode: func(d *decoder, n *yaml.Node, p string, s *Scenario) bool {
			fleetKeys.read(d, n, p, &s.Fleet)
			return true
		},
		def:   func(s *Scenario) { fleetKeys.read(nil, nil, "fleet", &s.Fleet) },
		check: func(v *validator, p string, s *Scenario) { fleetKeys.check(v, p, &s.Fleet) },
		echo:  always(func(s *Scenario) any { return s.Fleet })},
	{name: "stages", shape: shapeBlocks, block: stageKeys, doc: "the closed-model schedule: how many users are online, stage by stage; give duration or stages",
		decode: func(d *decoder, n *yaml.Node, p string, s *Scenario) bool {
			s.Stages = d.readStages(n, p)
			return true // written, even when unreadable: resolve must not ask for it again
		},
		check: checkStages,
		echo:  always(func(s *Scenario) any { return s.Stages })},
	{name: "events", shape: shapeBlocks, block: eventKeys, doc: "incidents: at a time, a share of the online users leaves at once (clean, killed, vanished) and comes back spread over a window",
		decode: func(d *decoder, n *yaml.Node, p string, s *Scenario) bool {
			s.Events = d.readEvents(n, p)
			return true
		},
		check: checkEvents,
		echo:  func(s *Scenario) (any, bool) { return s.Events, len(s.Events) > 0 }},
	{name: "behaviours", shape: shapeMapping, block: behavioursBlock{}, doc: "what online users do: " + strings.Join(behaviourNames(), ", "),
		decode: func(d *decoder, n *yaml.Node, p string, s *Scenario) bool {
			s.Behaviours = d.readBehaviours(n, p)
			return true
		},
		def:   func(s *Scenario) { s.Behaviours = (*decoder)(nil).readBehaviours(nil, "behaviours") },
		check: func(v *validator, _ string, _ *Scenario) { v.checkBehaviours() },
		echo:  always(func(s *Scenario) any { return s.Behaviours })},
	{name: "thresholds", shape: shapeMapping, block: thresholdsBlock{}, doc: "pass/fail rules by metric, and abort_on_fail, abort_grace",
		decode: func(d *decoder, n *yaml.Node, p string, s *Scenario) bool {
			d.readThresholds(n, p, &s.Thresholds)
			return true
		},
		check: func(v *validator, p string, s *Scenario) { v.checkThresholds(p, &s.Thresholds) },
		echo:  always(func(s *Scenario) any { return s.Thresholds })},
	{name: "output", shape: shapeMapping, block: outputKeys, doc: "where a run writes its results",
		decode: func(d *decoder, n *yaml.Node, p string, s *Scenario) bool {
			outputKeys.read(d, n, p, &s.Output)
			return true
		},
		def:   func(s *Scenario) { outputKeys.read(nil, nil, "output", &s.Output) },
		check: func(v *validator, p string, s *Scenario) { v.checkOutput(p) },
		echo:  always(func(s *Scenario) any { return s.Output })},
	capacityRow,
}

// decodeRoot decodes the top-level mapping. It returns nil when the
// version is missing or not 1: the rest would be read with the wrong rules.
func (d *decoder) decodeRoot(root *yaml.Node) *Scenario {
	var version *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "version" {
			version = root.Content[i+1]
		}
	}
	if version == nil {
		d.errAt(root, "version", "required: add `version: 1` (the only version)")
		return nil
	}
	if v := d.integer(version, "version"); v == nil {
		return nil
	} else if *v != 1 {
		d.errAt(version, "version", "unsupported version %d (the only version is 1)", *v)
		return nil
	}
	s := &Scenario{}
	scenarioKeys.read(d, root, "", s)
	return s
}

// MarshalJSON implements json.Marshaler: the scenario file's keys, every
// default filled in, the schedule always as stages, plus "file".
func (s Scenario) MarshalJSON() ([]byte, error) { return scenarioKeys.marshal(&s) }

// MaxSeed is the largest seed: 2^53-1, so that the seed in summary.json
// reads back exactly in every JSON reader (JavaScript's numbers are
// doubles).
const MaxSeed = 1<<53 - 1

// seed reads a seed: a whole number 1..MaxSeed, unquoted.
func (d *decoder) seed(n *yaml.Node, path string) *uint64 {
	s, ok := d.scalar(n, path, "a whole number")
	if !ok {
		return nil
	}
	if !d.plain(n) || !intRE.MatchString(s) {
		d.errAt(n, path, "must be a whole number, got %s", d.got(n))
		return nil
	}
	v, err := strconv.ParseUint(strings.TrimPrefix(strings.ReplaceAll(s, "_", ""), "+"), 10, 64)
	if err != nil || v == 0 || v > MaxSeed {
		d.errAt(n, path, "must be a whole number between 1 and %d (leave seed out to have the run pick one), got %s", uint64(MaxSeed), d.got(n))
		return nil
	}
	return &v
}
