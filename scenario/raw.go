package scenario

import (
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// rawScenario is what the file says, before resolve (defaults.go) settles
// what depends on other blocks or on the command line. Blocks with a key
// table (target, identity, fleet, behaviours, output) are already decoded
// with their own defaults; the *Read maps say which keys were written. The
// root keys, the stages and the thresholds are raw: a nil pointer is a key
// that was not written. Nothing but resolve reads it.

type rawScenario struct {
	Version     *int
	Name        *string
	Description *string
	Duration    *time.Duration
	Target      Target          // decoded by targetKeys; resolveTarget settles it
	TargetRead  map[string]bool // the target keys written and read
	Identity    Identity        // decoded with defaults by identityKeys
	Fleet       Fleet           // decoded with defaults by fleetKeys
	FleetRead   map[string]bool // the fleet keys written and read
	Stages      []rawStage
	HasStages   bool
	Behaviours  Behaviours // decoded with defaults by its key tables (behaviours.go)
	Thresholds  rawThresholds
	Output      Output // decoded with defaults by outputKeys
}

type rawStage struct {
	Name     *string
	For      *time.Duration
	Users    *int
	UsersPct *float64 // users written as a percentage of fleet.users
	Rates    map[string]Rate
	Ramp     *string
}

type rawThresholds struct {
	Metrics     []MetricRules
	AbortOnFail []string
	AbortGrace  *time.Duration
}

var rootKeys = []string{"version", "name", "description", "duration", "target", "identity", "fleet", "stages", "behaviours", "thresholds", "output"}

// decodeRoot decodes the top-level mapping. It returns nil when the
// version is missing or not 1: the rest would be read with the wrong rules.
func (d *decoder) decodeRoot(root *yaml.Node) *rawScenario {
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

	r := &rawScenario{}
	hasIdentity, hasBehaviours, hasOutput := false, false, false
	d.fields(root, "", rootKeys, func(key string, v *yaml.Node, p string) {
		switch key {
		case "version":
			one := 1
			r.Version = &one
		case "name":
			r.Name = d.str(v, p)
		case "description":
			r.Description = d.str(v, p)
		case "duration":
			r.Duration = d.duration(v, p)
		case "target":
			r.TargetRead = targetKeys.read(d, v, p, &r.Target)
		case "identity":
			identityKeys.read(d, v, p, &r.Identity)
			hasIdentity = true
		case "fleet":
			r.FleetRead = fleetKeys.read(d, v, p, &r.Fleet)
		case "stages":
			r.HasStages = true
			r.Stages = d.decodeStages(v, p)
		case "behaviours":
			r.Behaviours = d.readBehaviours(v, p)
			hasBehaviours = true
		case "thresholds":
			d.decodeThresholds(v, p, &r.Thresholds)
		case "output":
			outputKeys.read(d, v, p, &r.Output)
			hasOutput = true
		}
	})
	if r.TargetRead == nil {
		r.TargetRead = targetKeys.read(d, nil, "target", &r.Target)
	}
	if !hasIdentity {
		identityKeys.read(d, nil, "identity", &r.Identity)
	}
	if !hasOutput {
		outputKeys.read(d, nil, "output", &r.Output)
	}
	if r.FleetRead == nil {
		r.FleetRead = fleetKeys.read(d, nil, "fleet", &r.Fleet)
	}
	if !hasBehaviours {
		r.Behaviours = d.readBehaviours(nil, "behaviours")
	}
	return r
}

func (d *decoder) decodeStages(n *yaml.Node, path string) []rawStage {
	stages := []rawStage{}
	d.items(n, path, "a list of stages like { for: 1m, users: 100 }", func(_ int, v *yaml.Node, p string) {
		var st rawStage
		d.fields(v, p, []string{"name", "for", "users", "rates", "ramp"}, func(key string, v *yaml.Node, p string) {
			switch key {
			case "name":
				st.Name = d.str(v, p)
			case "rates":
				st.Rates = map[string]Rate{}
				d.pairs(v, p, "a mapping of behaviour name to rate, like { sos: 60/min }", func(key string, _, v *yaml.Node, p string) {
					if r := d.rateOrZero(v, p); r != nil {
						st.Rates[key] = *r
					}
				})
			case "ramp":
				st.Ramp = d.str(v, p)
			case "for":
				st.For = d.duration(v, p)
			case "users":
				if v.Kind == yaml.ScalarNode && strings.HasSuffix(strings.TrimSpace(v.Value), "%") {
					st.UsersPct = d.percent(v, p)
					return
				}
				st.Users = d.integer(v, p)
			}
		})
		stages = append(stages, st)
	})
	return stages
}

// Reserved keys of the thresholds block; every other key is a metric.
const (
	keyAbortOnFail = "abort_on_fail"
	keyAbortGrace  = "abort_grace"
)

func (d *decoder) decodeThresholds(n *yaml.Node, path string, t *rawThresholds) {
	d.pairs(n, path, "a mapping of metric name to a list of rules", func(key string, k, v *yaml.Node, p string) {
		switch key {
		case keyAbortOnFail:
			t.AbortOnFail, _, _ = d.stringList(v, p, false)
			if t.AbortOnFail == nil {
				t.AbortOnFail = []string{}
			}
		case keyAbortGrace:
			t.AbortGrace = d.duration(v, p)
		default:
			mr := MetricRules{Metric: key, Line: k.Line, Rules: []Rule{}}
			kind := KindLatency
			if m, ok := LookupMetric(key); ok {
				kind = m.Kind
			}
			srcs, nodes, _ := d.stringList(v, p, true)
			for i, src := range srcs {
				rule, err := ParseRule(kind, src)
				if err != nil {
					rp := index(p, i)
					if _, env := d.fromEnv[nodes[i]]; env {
						d.errAt(nodes[i], rp, "invalid rule from %s (value from the environment not shown)", d.fromEnv[nodes[i]])
					} else {
						d.errAt(nodes[i], rp, "%s", err.Error())
					}
					continue
				}
				rule.Line = nodes[i].Line
				mr.Rules = append(mr.Rules, rule)
			}
			t.Metrics = append(t.Metrics, mr)
		}
	})
}
