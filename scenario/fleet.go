package scenario

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Defaults of the fleet block.
const (
	DefaultReceiveMaximum = 16
	DefaultKeepAlive      = 30 * time.Second // the SDK's
	DefaultConnectTimeout = 10 * time.Second
	DefaultHTTPTimeout    = 10 * time.Second
	DefaultSDKReconnect   = 2 * time.Second // the SDK's fixed reconnect wait
	DefaultBackoffInitial = 1 * time.Second
	DefaultBackoffMax     = 30 * time.Second
	DefaultBackoffJitter  = 0.2
)

// defaultConnectRate is fleet.connect_rate when omitted: 100/s.
var defaultConnectRate = Rate{PerSecond: 100}

// Fleet sets how the users connect. A loaded scenario has every field
// resolved: fleet applies no defaults of its own.
type Fleet struct {
	Users          int           // identity pool size = most users online at once, >= 1; default: the sessions CSV's rows
	ConnectRate    Rate          // connects (and ramp-down disconnects) per second across the fleet; default 100/s
	Reconnect      Reconnect     // what a user does after losing its connection; default the sdk policy
	ReceiveMaximum int           // MQTT 5 Receive Maximum, 1..65535; default DefaultReceiveMaximum
	KeepAlive      time.Duration // MQTT keep-alive, whole seconds, 1s..65535s; default DefaultKeepAlive
	ConnectTimeout time.Duration // bound on one MQTT connect (dial, TLS, WebSocket, CONNACK), > 0; default DefaultConnectTimeout
	HTTPTimeout    time.Duration // bound on one HTTP request, > 0 (the SDK has none); default DefaultHTTPTimeout
	SourceIPs      []netip.Addr  // local addresses to bind, used round-robin; nil = the system's choice
	Network        Network       // the users' mobile links; the zero value (block not written) is off
	Churn          *Churn        // users leaving and coming back within their stage; nil (not written) is off
}

// Reconnect policies.
const (
	ReconnectSDK     = "sdk"     // fixed 2 s wait, unlimited attempts: what the SDK does
	ReconnectBackoff = "backoff" // exponential from Initial, doubling up to Max, with Jitter
)

// Reconnect is a reconnect policy. The n-th wait (n from 0) is
// min(Initial * 2^n, Max) for backoff, and Initial for sdk; each wait is
// then multiplied by a random factor in [1-Jitter, 1+Jitter]. Load
// resolves every field for both policies.
type Reconnect struct {
	Policy  string        // ReconnectSDK (default) or ReconnectBackoff
	Initial time.Duration // first wait, > 0 (sdk: DefaultSDKReconnect; backoff default DefaultBackoffInitial)
	Max     time.Duration // longest wait, >= Initial (sdk: DefaultSDKReconnect; backoff default max(DefaultBackoffMax, Initial))
	Jitter  float64       // fraction 0..1 (sdk: 0; backoff default DefaultBackoffJitter)
}

// fleetKeys are the keys of the fleet block. fleet.users has no default
// here: resolve takes it from the command line or the sessions CSV.
var fleetKeys = keys[Fleet]{
	{name: "users", shape: shapeInteger, doc: "the number of users (identity pool, most online at once); default: the sessions CSV's rows",
		decode: readInt(func(f *Fleet, n int) { f.Users = n }),
		check: func(v *validator, p string, f *Fleet) {
			switch {
			case f.Users < 1 && !v.written(p) && v.s.Identity.SessionsFile == "":
				v.errorf(p, "required: the number of users (>= 1)")
			case f.Users < 1:
				v.errorf(p, "must be >= 1, got %d", f.Users)
			case v.s.Identity.Sessions != nil && v.s.Identity.Offset+f.Users > len(v.s.Identity.Sessions):
				v.errorf(p, "must be <= the %d sessions in identity.sessions_file, got %d", len(v.s.Identity.Sessions)-v.s.Identity.Offset, f.Users)
			}
		},
		echo: always(func(f *Fleet) any { return f.Users })},
	{name: "connect_rate", shape: shapeRate, doc: "connects and ramp-down disconnects per time across the fleet (default 100/s)",
		decode: readRate(func(f *Fleet, r Rate) { f.ConnectRate = r }),
		def:    func(f *Fleet) { f.ConnectRate = defaultConnectRate },
		check: func(v *validator, p string, f *Fleet) {
			if !(f.ConnectRate.PerSecond > 0) || math.IsInf(f.ConnectRate.PerSecond, 0) {
				v.errorf(p, "must be > 0")
			}
		},
		echo: always(func(f *Fleet) any { return f.ConnectRate })},
	{name: "reconnect", shape: "sdk | backoff | mapping", block: reconnectKeys, doc: "what a user does after losing its connection (default sdk: a fixed 2s wait, as the SDK)",
		decode: func(d *decoder, n *yaml.Node, p string, f *Fleet) bool {
			got := map[string]bool{}
			if n.Kind == yaml.ScalarNode {
				if s := d.str(n, p); s != nil {
					f.Reconnect.Policy, got["policy"] = *s, true
				}
				reconnectKeys.defaults(&f.Reconnect, got)
			} else {
				got = reconnectKeys.read(d, n, p, &f.Reconnect)
			}
			if f.Reconnect.Policy == ReconnectSDK {
				for _, k := range []string{"initial", "max", "jitter"} {
					if got[k] {
						d.errPath(p+"."+k, "only applies to policy backoff: add `policy: backoff` (policy sdk, the default, is the SDK's fixed 2s wait)")
					}
				}
				f.Reconnect = Reconnect{Policy: ReconnectSDK, Initial: DefaultSDKReconnect, Max: DefaultSDKReconnect}
			}
			return true
		},
		def: func(f *Fleet) {
			f.Reconnect = Reconnect{Policy: ReconnectSDK, Initial: DefaultSDKReconnect, Max: DefaultSDKReconnect}
		},
		check: func(v *validator, p string, f *Fleet) {
			r := f.Reconnect
			switch r.Policy {
			case ReconnectSDK, ReconnectBackoff:
				reconnectKeys.check(v, p, &r)
			default:
				path := p + ".policy"
				if !v.written(path) {
					path = p // the scalar form: reconnect: <policy>
				}
				v.errorf(path, "%s", unknownMsg("policy", r.Policy, true, []string{ReconnectSDK, ReconnectBackoff}))
			}
		},
		echo: always(func(f *Fleet) any { return f.Reconnect })},
	{name: "receive_maximum", shape: shapeInteger, doc: "MQTT 5 Receive Maximum, 1..65535 (default 16)",
		decode: readInt(func(f *Fleet, n int) { f.ReceiveMaximum = n }),
		def:    func(f *Fleet) { f.ReceiveMaximum = DefaultReceiveMaximum },
		check: func(v *validator, p string, f *Fleet) {
			if f.ReceiveMaximum < 1 || f.ReceiveMaximum > 65535 {
				v.errorf(p, "must be 1..65535, got %d", f.ReceiveMaximum)
			}
		},
		echo: always(func(f *Fleet) any { return f.ReceiveMaximum })},
	{name: "keep_alive", shape: shapeDuration, doc: "MQTT keep-alive in whole seconds (default 30s, the SDK's)",
		decode: readDuration(func(f *Fleet, d time.Duration) { f.KeepAlive = d }),
		def:    func(f *Fleet) { f.KeepAlive = DefaultKeepAlive },
		check: func(v *validator, p string, f *Fleet) {
			switch {
			case f.KeepAlive < time.Second || f.KeepAlive > 65535*time.Second:
				v.errorf(p, "must be 1s..65535s, got %s", f.KeepAlive)
			case f.KeepAlive%time.Second != 0:
				v.errorf(p, "must be whole seconds (MQTT counts keep-alive in seconds), got %s", f.KeepAlive)
			}
		},
		echo: always(func(f *Fleet) any { return dur(f.KeepAlive) })},
	{name: "connect_timeout", shape: shapeDuration, doc: "bound on one MQTT connect (default 10s)",
		decode: readDuration(func(f *Fleet, d time.Duration) { f.ConnectTimeout = d }),
		def:    func(f *Fleet) { f.ConnectTimeout = DefaultConnectTimeout },
		check:  positiveDuration(func(f *Fleet) time.Duration { return f.ConnectTimeout }),
		echo:   always(func(f *Fleet) any { return dur(f.ConnectTimeout) })},
	{name: "http_timeout", shape: shapeDuration, doc: "bound on one HTTP request (default 10s)",
		decode: readDuration(func(f *Fleet, d time.Duration) { f.HTTPTimeout = d }),
		def:    func(f *Fleet) { f.HTTPTimeout = DefaultHTTPTimeout },
		check:  positiveDuration(func(f *Fleet) time.Duration { return f.HTTPTimeout }),
		echo:   always(func(f *Fleet) any { return dur(f.HTTPTimeout) })},
	{name: "source_ips", shape: "address | a-b | list", doc: "local addresses to bind, used round-robin (default: the system's choice)",
		decode: func(d *decoder, n *yaml.Node, p string, f *Fleet) bool {
			f.SourceIPs = d.decodeSourceIPs(n, p)
			return true
		},
		check: func(v *validator, p string, f *Fleet) {
			seen := map[string]bool{}
			for _, a := range f.SourceIPs {
				switch {
				case !a.IsValid():
					v.errorf(p, "contains an invalid address")
				case seen[a.String()]:
					v.errorf(p, "lists %s twice", a)
				}
				seen[a.String()] = true
			}
		},
		echo: func(f *Fleet) (any, bool) { return f.SourceIPs, len(f.SourceIPs) > 0 }},
	{name: "network", shape: shapeMapping, block: networkKeys, doc: "mobile links: each user's connections go through a network profile drawn from mix (default off; written empty: the default mix)",
		decode: func(d *decoder, n *yaml.Node, p string, f *Fleet) bool {
			networkKeys.read(d, n, p, &f.Network)
			return true
		},
		check: func(v *validator, p string, f *Fleet) {
			if f.Network.On() || (v.src != nil && v.written(p)) {
				networkKeys.check(v, p, &f.Network)
			}
		},
		echo: func(f *Fleet) (any, bool) { return f.Network, f.Network.On() }},
	{name: "churn", shape: shapeMapping, block: churnKeys, doc: "users leave (clean, killed, vanished, roam) and come back while their stage keeps them in the fleet (default off)",
		decode: func(d *decoder, n *yaml.Node, p string, f *Fleet) bool {
			f.Churn = &Churn{}
			churnKeys.read(d, n, p, f.Churn)
			return true
		},
		check: func(v *validator, p string, f *Fleet) {
			if f.Churn != nil {
				churnKeys.check(v, p, f.Churn)
			}
		},
		echo: func(f *Fleet) (any, bool) { return f.Churn, f.Churn != nil }},
}

// positiveDuration is a check that a duration is > 0.
func positiveDuration[T any](get func(*T) time.Duration) func(*validator, string, *T) {
	return func(v *validator, p string, t *T) {
		if d := get(t); d <= 0 {
			v.errorf(p, "must be > 0, got %s", d)
		}
	}
}

// reconnectKeys are the keys of fleet.reconnect in its mapping form. Their
// defaults are those of policy backoff; policy sdk fixes the values.
var reconnectKeys = keys[Reconnect]{
	{name: "policy", shape: "sdk | backoff", doc: "sdk (a fixed 2s wait, forever) or backoff (default sdk)",
		decode: readStr(func(r *Reconnect, s string) { r.Policy = s }),
		def:    func(r *Reconnect) { r.Policy = ReconnectSDK },
		echo:   always(func(r *Reconnect) any { return r.Policy })},
	{name: "initial", shape: shapeDuration, doc: "backoff: the first wait (default 1s)",
		decode: readDuration(func(r *Reconnect, d time.Duration) { r.Initial = d }),
		def:    func(r *Reconnect) { r.Initial = DefaultBackoffInitial },
		check: func(v *validator, p string, r *Reconnect) {
			if r.Initial <= 0 {
				v.errorf(p, "must be > 0, got %s", r.Initial)
			}
		},
		echo: backoffOnly(func(r *Reconnect) any { return dur(r.Initial) })},
	{name: "max", shape: shapeDuration, doc: "backoff: the longest wait (default 30s, or initial when longer)",
		decode: readDuration(func(r *Reconnect, d time.Duration) { r.Max = d }),
		def:    func(r *Reconnect) { r.Max = max(DefaultBackoffMax, r.Initial) },
		check: func(v *validator, p string, r *Reconnect) {
			if r.Initial > 0 && r.Max < r.Initial && v.ok(parentPath(p)+".initial") {
				v.errorf(p, "must be >= reconnect.initial (%s), got %s", r.Initial, r.Max)
			}
		},
		echo: backoffOnly(func(r *Reconnect) any { return dur(r.Max) })},
	{name: "jitter", shape: shapePercent, doc: "backoff: each wait varies by up to this fraction (default 20%)",
		decode: readPercent(func(r *Reconnect, f float64) { r.Jitter = f }),
		def:    func(r *Reconnect) { r.Jitter = DefaultBackoffJitter },
		check: func(v *validator, p string, r *Reconnect) {
			if !(r.Jitter >= 0 && r.Jitter <= 1) {
				v.errorf(p, "must be between 0%% and 100%%, got %s", formatPercent(r.Jitter))
			}
		},
		echo: backoffOnly(func(r *Reconnect) any { return formatPercent(r.Jitter) })},
}

// backoffOnly echoes a setting of the backoff policy: the sdk policy has
// none, so it is written as {"policy": "sdk"}.
func backoffOnly(get func(*Reconnect) any) func(*Reconnect) (any, bool) {
	return func(r *Reconnect) (any, bool) { return get(r), r.Policy != ReconnectSDK }
}

// MarshalJSON implements json.Marshaler.
func (f Fleet) MarshalJSON() ([]byte, error) { return fleetKeys.marshal(&f) }

// MarshalJSON implements json.Marshaler. The sdk policy has no settings,
// so it is written as {"policy": "sdk"}.
func (r Reconnect) MarshalJSON() ([]byte, error) { return reconnectKeys.marshal(&r) }

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
