package scenario

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The raw types hold what the file says, nothing more: a nil pointer is a
// key that was not written. resolve (defaults.go) turns them into a
// Scenario; nothing else reads them.

type rawScenario struct {
	Version     *int
	Name        *string
	Description *string
	Duration    *time.Duration
	Target      *rawTarget
	Identity    rawIdentity
	Fleet       rawFleet
	Stages      []rawStage
	HasStages   bool
	Behaviours  Behaviours // decoded with defaults by its key tables (behaviours.go)
	Thresholds  rawThresholds
	Output      rawOutput
}

type rawTarget struct {
	HTTP, MQTT *string
	TLS        *rawTLS
	Embedded   *Embedded // decoded with defaults by embeddedKeys
}

type rawTLS struct {
	CAFile, CertFile, KeyFile, ServerName *string
	InsecureSkipVerify                    *bool
}

type rawIdentity struct {
	AppID, UserID, SessionsFile *string
	AppSecret                   *Secret
}

type rawFleet struct {
	Users          *int
	ConnectRate    *Rate
	Reconnect      *rawReconnect
	ReceiveMaximum *int
	KeepAlive      *time.Duration
	ConnectTimeout *time.Duration
	HTTPTimeout    *time.Duration
	SourceIPs      []netip.Addr
}

type rawReconnect struct {
	Policy       *string
	Initial, Max *time.Duration
	Jitter       *float64
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

type rawOutput struct {
	Dir *string
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
	hasBehaviours := false
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
			r.Target = d.decodeTarget(v, p)
		case "identity":
			d.decodeIdentity(v, p, &r.Identity)
		case "fleet":
			d.decodeFleet(v, p, &r.Fleet)
		case "stages":
			r.HasStages = true
			r.Stages = d.decodeStages(v, p)
		case "behaviours":
			r.Behaviours = d.readBehaviours(v, p)
			hasBehaviours = true
		case "thresholds":
			d.decodeThresholds(v, p, &r.Thresholds)
		case "output":
			d.fields(v, p, []string{"dir"}, func(_ string, v *yaml.Node, p string) {
				r.Output.Dir = d.str(v, p)
			})
		}
	})
	if !hasBehaviours {
		r.Behaviours = d.readBehaviours(nil, "behaviours")
	}
	return r
}

func (d *decoder) decodeTarget(n *yaml.Node, path string) *rawTarget {
	t := &rawTarget{}
	d.fields(n, path, []string{"http", "mqtt", "tls", "embedded"}, func(key string, v *yaml.Node, p string) {
		switch key {
		case "http":
			t.HTTP = d.str(v, p)
		case "mqtt":
			t.MQTT = d.str(v, p)
		case "tls":
			t.TLS = &rawTLS{}
			d.fields(v, p, []string{"ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify"}, func(key string, v *yaml.Node, p string) {
				switch key {
				case "ca_file":
					t.TLS.CAFile = d.str(v, p)
				case "cert_file":
					t.TLS.CertFile = d.str(v, p)
				case "key_file":
					t.TLS.KeyFile = d.str(v, p)
				case "server_name":
					t.TLS.ServerName = d.str(v, p)
				case "insecure_skip_verify":
					t.TLS.InsecureSkipVerify = d.boolean(v, p)
				}
			})
		case "embedded":
			t.Embedded = &Embedded{}
			embeddedKeys.read(d, v, p, t.Embedded)
		}
	})
	return t
}

func (d *decoder) decodeIdentity(n *yaml.Node, path string, id *rawIdentity) {
	d.fields(n, path, []string{"app_id", "app_secret", "user_id", "sessions_file"}, func(key string, v *yaml.Node, p string) {
		switch key {
		case "app_id":
			id.AppID = d.str(v, p)
		case "app_secret":
			if s := d.str(v, p); s != nil {
				secret := Secret(*s)
				id.AppSecret = &secret
			}
		case "user_id":
			id.UserID = d.str(v, p)
		case "sessions_file":
			id.SessionsFile = d.str(v, p)
		}
	})
}

var fleetKeys = []string{"users", "connect_rate", "reconnect", "receive_maximum", "keep_alive", "connect_timeout", "http_timeout", "source_ips"}

func (d *decoder) decodeFleet(n *yaml.Node, path string, f *rawFleet) {
	d.fields(n, path, fleetKeys, func(key string, v *yaml.Node, p string) {
		switch key {
		case "users":
			f.Users = d.integer(v, p)
		case "connect_rate":
			f.ConnectRate = d.rate(v, p)
		case "reconnect":
			f.Reconnect = d.decodeReconnect(v, p)
		case "receive_maximum":
			f.ReceiveMaximum = d.integer(v, p)
		case "keep_alive":
			f.KeepAlive = d.duration(v, p)
		case "connect_timeout":
			f.ConnectTimeout = d.duration(v, p)
		case "http_timeout":
			f.HTTPTimeout = d.duration(v, p)
		case "source_ips":
			f.SourceIPs = d.decodeSourceIPs(v, p)
		}
	})
}

func (d *decoder) decodeReconnect(n *yaml.Node, path string) *rawReconnect {
	r := &rawReconnect{}
	if n.Kind == yaml.ScalarNode {
		r.Policy = d.str(n, path)
		return r
	}
	d.fields(n, path, []string{"policy", "initial", "max", "jitter"}, func(key string, v *yaml.Node, p string) {
		switch key {
		case "policy":
			r.Policy = d.str(v, p)
		case "initial":
			r.Initial = d.duration(v, p)
		case "max":
			r.Max = d.duration(v, p)
		case "jitter":
			r.Jitter = d.percent(v, p)
		}
	})
	return r
}

// maxSourceIPs bounds source_ips: each address already gives ~28k ports.
const maxSourceIPs = 4096

// decodeSourceIPs reads an address, a range "a-b", or a list of those.
func (d *decoder) decodeSourceIPs(n *yaml.Node, path string) []netip.Addr {
	var addrs []netip.Addr
	one := func(v *yaml.Node, p string) {
		s, ok := d.scalar(v, p, "an IP address or range a-b")
		if !ok {
			return
		}
		got, err := parseAddrRange(s, maxSourceIPs-len(addrs))
		if err != "" {
			d.errAt(v, p, "%s, got %s", err, d.got(v))
			return
		}
		addrs = append(addrs, got...)
	}
	if n.Kind == yaml.ScalarNode {
		one(n, path)
	} else {
		d.items(n, path, "an IP address, a range a-b, or a list of those", func(_ int, v *yaml.Node, p string) { one(v, p) })
	}
	return addrs
}

// parseAddrRange parses "addr" or "first-last" (same family, first <=
// last), returning at most limit addresses.
func parseAddrRange(s string, limit int) ([]netip.Addr, string) {
	lo, hi, isRange := strings.Cut(strings.TrimSpace(s), "-")
	first, err := netip.ParseAddr(strings.TrimSpace(lo))
	if err != nil {
		return nil, "must be an IP address or a range a-b"
	}
	last := first
	if isRange {
		if last, err = netip.ParseAddr(strings.TrimSpace(hi)); err != nil {
			return nil, "must be an IP address or a range a-b"
		}
	}
	if first.Zone() != "" || last.Zone() != "" {
		return nil, "must not have a zone (%...)"
	}
	if first.Is4() != last.Is4() || last.Less(first) {
		return nil, "range must go from a lower to a higher address of the same family"
	}
	var out []netip.Addr
	for a := first; ; a = a.Next() {
		if len(out) >= limit {
			return nil, fmt.Sprintf("more than %d addresses in total", maxSourceIPs)
		}
		out = append(out, a)
		if a == last {
			return out, ""
		}
	}
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
