package scenario

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/eixamsim/eixamsim/netem"
)

// Network is fleet.network: the mobile links the users' connections go
// through (package netem). The zero value is off: every connection is the
// machine's own. A loaded scenario with the block written has Mix
// resolved (the default mix when the file gives none).
type Network struct {
	// Mix is each profile's weight: a user draws its profile with
	// probability weight / sum, from the run seed and its index.
	Mix map[string]int
	// Profiles are the scenario's own profiles by name; a name of a
	// built-in one (wifi, 4g, 3g, edge) overrides it, its unwritten keys
	// keeping the built-in values.
	Profiles map[string]netem.Profile
}

// DefaultNetworkMix is fleet.network.mix when the block is written without
// one: roughly how phones in Europe reach the network (mostly Wi-Fi and
// 4G, a tail on 3G and EDGE).
func DefaultNetworkMix() map[string]int {
	return map[string]int{"wifi": 50, "4g": 35, "3g": 12, "edge": 3}
}

// On reports whether the users' connections go through network profiles.
func (n Network) On() bool { return len(n.Mix) > 0 }

// Profile returns the profile called name: the scenario's own, else the
// built-in one.
func (n Network) Profile(name string) (netem.Profile, bool) {
	if p, ok := n.Profiles[name]; ok {
		return p, true
	}
	return netem.Builtin(name)
}

// Names returns the profiles of the mix with a weight above 0, sorted:
// the profiles a user can draw, and the suffixes of per-profile metrics.
func (n Network) Names() []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(n.Mix)) {
		if n.Mix[name] > 0 {
			out = append(out, name)
		}
	}
	return out
}

// profileNames lists every name a mix may use: the built-in profiles and
// the scenario's own.
func (n Network) profileNames() []string {
	names := netem.BuiltinNames()
	for _, name := range slices.Sorted(maps.Keys(n.Profiles)) {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

// networkKeys are the keys of fleet.network.
var networkKeys = keys[Network]{
	{name: "mix", shape: "mapping of profile to weight", block: freeMapOf{value: shapeInteger}, doc: "weight of each profile (built-in wifi, 4g, 3g, edge, or one of profiles); default wifi 50, 4g 35, 3g 12, edge 3",
		decode: func(d *decoder, n *yaml.Node, p string, nw *Network) bool {
			nw.Mix = map[string]int{}
			d.pairs(n, p, "a mapping of profile name to weight", func(key string, _, v *yaml.Node, p string) {
				if w := d.integer(v, p); w != nil {
					nw.Mix[key] = *w
				}
			})
			return true
		},
		def: func(nw *Network) { nw.Mix = DefaultNetworkMix() },
		check: func(v *validator, p string, nw *Network) {
			sum := 0
			names := nw.profileNames()
			for _, name := range slices.Sorted(maps.Keys(nw.Mix)) {
				w := nw.Mix[name]
				switch {
				case !slices.Contains(names, name):
					v.keyErrorf(p+"."+name, "%s", unknownMsg("network profile", name, true, names))
				case w < 0:
					v.errorf(p+"."+name, "weight must be >= 0, got %d", w)
				default:
					sum += w
				}
			}
			if sum == 0 && v.ok(p) {
				v.errorf(p, "weights must add up to more than 0 (profiles: %s)", strings.Join(names, ", "))
			}
		},
		echo: always(func(nw *Network) any { return nw.Mix })},
	{name: "profiles", shape: "mapping of name to profile", block: freeMapOf{value: shapeMapping, block: profileKeys}, doc: "your own profiles by name, or a built-in one's name to override its keys",
		decode: func(d *decoder, n *yaml.Node, p string, nw *Network) bool {
			nw.Profiles = map[string]netem.Profile{}
			d.pairs(n, p, "a mapping of profile name to profile", func(key string, _, v *yaml.Node, p string) {
				prof, _ := netem.Builtin(key) // a built-in's unwritten keys keep its values
				profileKeys.read(d, v, p, &prof)
				nw.Profiles[key] = prof
			})
			return true
		},
		check: func(v *validator, p string, nw *Network) {
			for _, name := range slices.Sorted(maps.Keys(nw.Profiles)) {
				pp := p + "." + name
				v.checkName(pp, name)
				if IsOrigin(name) {
					v.keyErrorf(pp, "%s is reserved: %s names the twin of an SOS clock for SOS from the %[1]s; name the profile otherwise", name, MetricAtOrigin(SOSDelivered, name))
				}
				v.checkProfile(pp, nw.Profiles[name])
			}
		},
		echo: func(nw *Network) (any, bool) {
			out := map[string]json_{}
			for name, prof := range nw.Profiles {
				out[name] = profileJSON(prof)
			}
			return out, len(out) > 0
		}},
}

// json_ is a JSON value built by hand.
type json_ = map[string]any

// checkProfile reports each problem netem finds with a profile at the line
// of the key it names (netem.FieldError.Field is the key's path in the
// profile: rtt, loss, stalls.for, ...).
func (v *validator) checkProfile(path string, p netem.Profile) {
	err := p.Validate()
	if err == nil {
		return
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var fe *netem.FieldError
		if errors.As(e, &fe) {
			fp := path + "." + fe.Field
			if !v.written(fp) && strings.HasPrefix(fe.Field, "stalls.") {
				fp = path + ".stalls"
			}
			if !v.written(fp) {
				fp = path
			}
			v.errorf(fp, "%s", fe.Problem)
			continue
		}
		v.errorf(path, "%v", e)
	}
}

// profileJSON echoes a profile as the file writes it.
func profileJSON(p netem.Profile) json_ {
	out := json_{"rtt": p.RTT.String(), "jitter": dur(p.Jitter), "down": formatBitrate(p.Down),
		"up": formatBitrate(p.Up), "loss": formatPercent(p.Loss)}
	if p.Stalls.Every > 0 {
		out["stalls"] = json_{"every": dur(p.Stalls.Every), "for": p.Stalls.For.String()}
	}
	return out
}

// MarshalJSON implements json.Marshaler.
func (n Network) MarshalJSON() ([]byte, error) { return networkKeys.marshal(&n) }

// profileKeys are the keys of one network profile. A key not written keeps
// the value the profile started with: a built-in profile's, or 0 (none).
var profileKeys = keys[netem.Profile]{
	{name: "rtt", shape: "duration | duration..duration", doc: "round trip the link adds, or a range lo..hi a user's link is drawn from (default 0)",
		decode: readDurRange(func(p *netem.Profile, r netem.Range) { p.RTT = r })},
	{name: "jitter", shape: shapeDuration, doc: "each packet's one-way delay varies by up to ± this (default 0)",
		decode: func(d *decoder, n *yaml.Node, path string, p *netem.Profile) bool {
			if v := d.duration(n, path); v != nil {
				p.Jitter = *v
				return true
			}
			return false
		}},
	{name: "down", shape: shapeBitrate, doc: "bandwidth towards the phone, like 9Mbit or 768kbit (default unlimited)",
		decode: readBitrate(func(p *netem.Profile, b netem.Bitrate) { p.Down = b })},
	{name: "up", shape: shapeBitrate, doc: "bandwidth from the phone (default unlimited)",
		decode: readBitrate(func(p *netem.Profile, b netem.Bitrate) { p.Up = b })},
	{name: "loss", shape: shapePercent, doc: "share of packets lost, each costing a retransmission timeout; no byte is lost (default 0%)",
		decode: func(d *decoder, n *yaml.Node, path string, p *netem.Profile) bool {
			// Any number parses here: netem.Validate says what is out of range.
			if f := parsed(d, n, path, wantPercent, parseAnyPercent); f != nil {
				p.Loss = *f
				return true
			}
			return false
		}},
	{name: "stalls", shape: shapeMapping, block: stallsKeys, doc: "the link freezes both ways now and then (default none)",
		decode: func(d *decoder, n *yaml.Node, path string, p *netem.Profile) bool {
			p.Stalls = netem.Stalls{}
			stallsKeys.read(d, n, path, &p.Stalls)
			return true
		}},
}

// stallsKeys are the keys of a profile's stalls.
var stallsKeys = keys[netem.Stalls]{
	{name: "every", shape: shapeDuration, doc: "mean time between stalls (exponential gaps)",
		decode: func(d *decoder, n *yaml.Node, path string, s *netem.Stalls) bool {
			if v := d.duration(n, path); v != nil {
				s.Every = *v
				return true
			}
			return false
		}},
	{name: "for", shape: "duration | duration..duration", doc: "how long each stall lasts, or a range lo..hi",
		decode: readDurRange(func(s *netem.Stalls, r netem.Range) { s.For = r })},
}

// readDurRange reads "80ms" or "80ms..300ms". The bounds keep their signs:
// netem.Validate says what is wrong with them.
func readDurRange[T any](set func(*T, netem.Range)) func(*decoder, *yaml.Node, string, *T) bool {
	return func(d *decoder, n *yaml.Node, p string, t *T) bool {
		if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "..") {
			lo, hi, _ := strings.Cut(n.Value, "..")
			lv, hv := *n, *n
			lv.Value, hv.Value = strings.TrimSpace(lo), strings.TrimSpace(hi)
			l, h := d.duration(&lv, p), d.duration(&hv, p)
			if l == nil || h == nil {
				return false
			}
			set(t, netem.Between(*l, *h))
			return true
		}
		if v := d.duration(n, p); v != nil {
			set(t, netem.Exactly(*v))
			return true
		}
		return false
	}
}

func readBitrate[T any](set func(*T, netem.Bitrate)) func(*decoder, *yaml.Node, string, *T) bool {
	return func(d *decoder, n *yaml.Node, p string, t *T) bool {
		if b := parsed(d, n, p, wantBitrate, ParseBitrate); b != nil {
			set(t, *b)
			return true
		}
		return false
	}
}

// parseAnyPercent parses "N%" for any number N, as a fraction.
func parseAnyPercent(s string) (float64, error) {
	num, ok := strings.CutSuffix(strings.TrimSpace(s), "%")
	if !ok {
		return 0, &ValueError{Kind: "percentage", Input: s, Want: wantPercent, Reason: "missing %"}
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsInf(n, 0) || math.IsNaN(n) || strings.ContainsAny(num, "xXpP_") {
		return 0, &ValueError{Kind: "percentage", Input: s, Want: wantPercent, Reason: fmt.Sprintf("%q is not a number", strings.TrimSpace(num))}
	}
	return n / 100, nil
}

const (
	shapeBitrate = "bitrate" // ParseBitrate: 5Mbit, 768kbit, 1.5Mbit/s
	wantBitrate  = "a bitrate like 5Mbit, 768kbit or 1.5Mbit/s"
)

var bitrateRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*([kKmMgG]?)bit(?:/s)?$`)

// ParseBitrate parses a bandwidth: a number with the unit bit, kbit, Mbit
// or Gbit, optionally followed by /s ("5Mbit", "768kbit/s"). Units are
// decimal, as link speeds are quoted. "0" is unlimited.
func ParseBitrate(s string) (netem.Bitrate, error) {
	t := strings.TrimSpace(s)
	if t == "0" {
		return 0, nil
	}
	m := bitrateRE.FindStringSubmatch(t)
	if m == nil {
		reason := "not a number with a unit bit, kbit, Mbit or Gbit"
		if strings.HasPrefix(t, "-") {
			reason = "negative"
		}
		return 0, &ValueError{Kind: "bitrate", Input: s, Want: wantBitrate, Reason: reason}
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	mult := map[string]float64{"": 1, "k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6, "g": 1e9, "G": 1e9}[m[2]]
	bits := v * mult
	if bits > 1e12 {
		return 0, &ValueError{Kind: "bitrate", Input: s, Want: wantBitrate, Reason: "above 1000Gbit"}
	}
	if bits > 0 && bits < 1 {
		return 0, &ValueError{Kind: "bitrate", Input: s, Want: wantBitrate, Reason: "below 1 bit/s"}
	}
	return netem.Bitrate(math.Round(bits)), nil
}

// formatBitrate writes b as ParseBitrate reads it, in the largest unit
// that keeps it whole.
func formatBitrate(b netem.Bitrate) string {
	switch {
	case b == 0:
		return "0"
	case b%netem.Mbit == 0:
		return strconv.FormatInt(int64(b/netem.Mbit), 10) + "Mbit"
	case b%netem.Kbit == 0:
		return strconv.FormatInt(int64(b/netem.Kbit), 10) + "kbit"
	}
	return strconv.FormatInt(int64(b), 10) + "bit"
}

// freeMapOf is a mapping whose keys are names the file chooses (profile
// names), each with a value of one shape.
type freeMapOf struct {
	value string      // a shape
	block schemaBlock // the value's block, for shapeMapping
}

func (m freeMapOf) schema() map[string]any {
	return map[string]any{"type": []string{"object", "null"}, "additionalProperties": shapeSchema(m.value, m.block)}
}

// profileSep separates a latency metric from the network profile it is
// restricted to: "sos.delivered@3g".
const profileSep = "@"

// MetricAtProfile names the per-profile twin of a latency metric: it
// measures what the metric does, for the users of that profile only.
// Recorded only with fleet.network on.
func MetricAtProfile(metric, profile string) string { return metric + profileSep + profile }

// MetricProfile splits a per-profile metric name into its base metric and
// profile; false for any other name (a per-address metric's suffix is a
// host:port, which a profile name cannot be).
func MetricProfile(name string) (metric, profile string, ok bool) {
	metric, profile, ok = strings.Cut(name, profileSep)
	if !ok || profile == "" || strings.Contains(profile, ":") {
		return "", "", false
	}
	return metric, profile, true
}
