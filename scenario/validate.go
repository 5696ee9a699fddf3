package scenario

import (
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/eixamsim/eixamsim/contract"
)

// Validate checks a resolved scenario and returns every problem as an
// ErrorList (nil if there is none). It never changes s. Load and Parse
// already call it; call it yourself for a Scenario built in code (defaults
// are not applied to one: every field must hold its final value).
func (s *Scenario) Validate() error {
	if errs := s.validate(); len(errs) > 0 {
		return errs.sorted()
	}
	return nil
}

// validator collects the problems of one Validate call.
type validator struct {
	s    *Scenario
	src  *sourceMap
	errs ErrorList
}

func (s *Scenario) validate() ErrorList {
	v := &validator{s: s, src: s.src}
	scenarioKeys.check(v, "", s)
	return v.errs
}

// report records a problem unless path (or, for a value problem, anything
// under it) was already reported while decoding: a value that could not be
// read has its default, and checks on it would only add noise.
func (v *validator) report(path string, keyFirst bool, format string, args ...any) {
	fp := v.src.filePath(path)
	if v.src.isBad(fp) || v.src.isBad(path) || (!keyFirst && (v.src.isBadUnder(fp) || v.src.isBadUnder(path))) {
		return
	}
	e := v.src.errorAt(path, keyFirst, format, args...)
	if v.src == nil {
		e.File = v.s.File
	}
	v.errs.add(e)
}

// errorf reports a problem with the value at path.
func (v *validator) errorf(path, format string, args ...any) { v.report(path, false, format, args...) }

// keyErrorf reports a problem with the key at path (an unknown name).
func (v *validator) keyErrorf(path, format string, args ...any) {
	v.report(path, true, format, args...)
}

// written reports whether the file (or an override) gave path a value.
func (v *validator) written(path string) bool {
	if v.src == nil {
		return true
	}
	_, ok := v.src.vals[v.src.filePath(path)]
	_, over := v.src.overridden[path]
	return ok || over
}

// ok reports whether none of paths had a problem while decoding.
func (v *validator) ok(paths ...string) bool {
	for _, p := range paths {
		if v.src.isBad(p) {
			return false
		}
	}
	return true
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// checkName checks a name used in file names and reports.
func (v *validator) checkName(path, name string) {
	switch {
	case name == "":
		v.errorf(path, "must not be empty")
	case len(name) > 100:
		v.errorf(path, "must be at most 100 characters, got %d", len(name))
	case !nameRE.MatchString(name):
		v.errorf(path, "must use only letters, digits, '.', '_' and '-', got %q", name)
	case strings.Trim(name, ".") == "":
		v.errorf(path, "must not be only dots")
	}
}

func usesTLS(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "https", "ssl", "tls", "wss":
		return true
	}
	return false
}

func (v *validator) checkURL(path, raw string, schemes []string, pathAllowed func(scheme string) bool) {
	u, err := url.Parse(raw)
	if err != nil {
		v.errorf(path, "must be a URL, got %q", raw)
		return
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme == "":
		v.errorf(path, "must start with a scheme (%s), got %q", strings.Join(schemes, "://, ")+"://", raw)
	case !slices.Contains(schemes, scheme):
		v.errorf(path, "unknown scheme %q (want %s)", u.Scheme, strings.Join(schemes, "://, ")+"://")
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		v.errorf(path, "must have a host, as in %s://host:port, got %q", scheme, raw)
	case u.User != nil:
		v.errorf(path, "must not contain credentials (the SDK authenticates with the user's hash)")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		v.errorf(path, "must not have a query or fragment (the SDK appends paths to it)")
	case u.Path != "" && u.Path != "/" && !pathAllowed(scheme):
		v.errorf(path, "a path is only used with ws:// and wss:// (got path %q)", u.Path)
	default:
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				v.errorf(path, "port must be 1..65535, got %q", p)
			}
		} else if strings.HasSuffix(u.Host, ":") {
			v.errorf(path, "empty port after ':'")
		}
	}
}

// checkAddresses checks each URL of a target key (path itself for one,
// path[i] for a list) and that no two name the same host and port.
func (v *validator) checkAddresses(path string, all, schemes []string, pathAllowed func(string) bool, hostPort func(string) (string, error)) {
	seen := map[string]int{}
	for i, raw := range all {
		p := path
		if len(all) > 1 {
			p = index(path, i)
		}
		n := v.errs.Count()
		v.checkURL(p, raw, schemes, pathAllowed)
		if v.errs.Count() > n {
			continue
		}
		hp, err := hostPort(raw)
		if err != nil {
			continue
		}
		if first, dup := seen[hp]; dup {
			v.errorf(p, "names %s, as %s[%d] does: each address may be listed once", hp, path, first)
			continue
		}
		seen[hp] = i
	}
}

// brokerHostPort is the host:port a broker URI connects to.
func brokerHostPort(raw string) (string, error) {
	b, err := contract.ParseBroker(raw)
	return b.HostPort, err
}

// httpHostPort is the host:port an API base URL connects to.
func httpHostPort(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

func (v *validator) checkTarget() {
	t := v.s.Target
	if t.Embedded == nil {
		apis, brokers := t.APIs(), t.Brokers()
		if len(apis) == 0 {
			v.errorf("target.http", "required with target.mqtt (omit both for the embedded backend)")
		}
		v.checkAddresses("target.http", apis, []string{"http", "https"}, func(string) bool { return true }, httpHostPort)
		if len(brokers) == 0 {
			v.errorf("target.mqtt", "required with target.http (omit both for the embedded backend)")
		}
		v.checkAddresses("target.mqtt", brokers, contract.BrokerSchemes, func(s string) bool { return s == "ws" || s == "wss" }, brokerHostPort)
		if !t.TLS.IsZero() && len(apis) > 0 && len(brokers) > 0 && !slices.ContainsFunc(apis, usesTLS) && !slices.ContainsFunc(brokers, usesTLS) {
			v.errorf("target.tls", "neither target.http nor target.mqtt uses TLS (https://, ssl://, tls://, wss://)")
		}
		if (t.TLS.CertFile == "") != (t.TLS.KeyFile == "") {
			if t.TLS.CertFile == "" {
				v.errorf("target.tls.key_file", "needs target.tls.cert_file too")
			} else {
				v.errorf("target.tls.cert_file", "needs target.tls.key_file too")
			}
		}
		return
	}

	if len(t.APIs()) > 0 || len(t.Brokers()) > 0 {
		v.errorf("target.embedded", "only allowed when target.http and target.mqtt are omitted")
	}
	if !t.TLS.IsZero() {
		v.errorf("target.tls", "only applies to an external target (target.http and target.mqtt); the embedded backend listens without TLS")
	}
	embeddedKeys.check(v, "target.embedded", t.Embedded)
}

func (v *validator) checkIdentity() {
	id := v.s.Identity
	embedded := v.s.Target.Embedded != nil
	switch {
	case id.AppID == "" && (embedded || id.SessionsFile == ""):
		why := "the app id of every user"
		if embedded {
			why = "the app the embedded backend accepts"
		}
		v.errorf("identity.app_id", "required: %s", why)
	case id.AppID != "" && strings.TrimSpace(id.AppID) != id.AppID:
		v.errorf("identity.app_id", "must not start or end with spaces (the SDK trims it)")
	case strings.Contains(id.AppID, ":"):
		v.errorf("identity.app_id", "must not contain ':' (it separates the parts of the MQTT username sdk:<appId>:<externalUserId>)")
	}
	switch {
	case id.AppSecret == "" && embedded:
		v.errorf("identity.app_secret", "required with the embedded target: the in-process backend verifies user hashes with it")
	case id.AppSecret == "" && id.SessionsFile == "":
		v.errorf("identity.app_secret", "required to sign user ids (or give identity.sessions_file with pre-signed sessions)")
	}
	if id.SessionsFile != "" {
		if id.UserID != "" {
			v.errorf("identity.user_id", "cannot be combined with identity.sessions_file (the ids come from the file)")
		}
		return
	}
	v.checkUserIDTemplate(id)
}

// checkUserIDTemplate renders the first two and the last two users' ids:
// they must differ, as must their MQTT client ids (cut to 64 characters).
func (v *validator) checkUserIDTemplate(id Identity) {
	const p = "identity.user_id"
	if id.UserID == "" {
		v.errorf(p, "must not be empty (default %q)", DefaultUserID)
		return
	}
	t, err := parseUserID(id.UserID)
	if err != nil {
		v.errorf(p, "%v", err)
		return
	}
	users := v.s.Fleet.Users
	pairs := [][2]int{{0, 1}}
	if users > 3 {
		pairs = append(pairs, [2]int{users - 2, users - 1})
	}
	for _, pair := range pairs {
		a, errA := t.render(id.Offset + pair[0])
		b, errB := t.render(id.Offset + pair[1])
		switch {
		case errA != nil:
			v.errorf(p, "%v", errA)
			return
		case errB != nil:
			v.errorf(p, "%v", errB)
			return
		case strings.TrimSpace(a) == "":
			v.errorf(p, "renders an empty id for user %d", pair[0])
			return
		case a == b:
			hint := ""
			if !strings.Contains(id.UserID, ".N") {
				hint = ": it has no {{.N}}"
			}
			v.errorf(p, "renders the same id %q for users %d and %d%s", a, pair[0], pair[1], hint)
			return
		case contract.ClientID(id.AppID, a) == contract.ClientID(id.AppID, b):
			v.errorf(p, "users %d and %d get the same MQTT client id %q (characters outside [A-Za-z0-9_-] become _ and ids are cut at 64, contract §3.1): shorten identity.app_id or the id prefix", pair[0], pair[1], contract.ClientID(id.AppID, a))
			return
		}
	}
}

// stagesOK reports whether the schedule is sound enough to compare other
// durations with.
func (v *validator) stagesOK() bool {
	if len(v.s.Stages) == 0 || !v.ok("stages", "duration") {
		return false
	}
	for _, st := range v.s.Stages {
		if st.For <= 0 {
			return false
		}
	}
	return true
}

// metricHasSamples reports whether a metric can get samples with the
// scenario's behaviours, and if not, what to turn on.
func (v *validator) metricHasSamples(m Metric) (bool, string) {
	if m.needsFleet != nil && !m.needsFleet(v.s) {
		return false, m.needsFleetKey
	}
	if len(m.needs) == 0 {
		return true, ""
	}
	var want []string
	for _, n := range m.needs {
		if n.on(v.s.Behaviours) {
			return true, ""
		}
		want = append(want, n.what)
	}
	return false, strings.Join(want, " or ")
}

func (v *validator) checkRule(path string, m Metric, r Rule) {
	aggs := m.Kind.Aggregations()
	switch {
	case r.Agg == "":
		v.errorf(path, "rule has no aggregation (want %s)", strings.Join(displayAggs(aggs), ", "))
		return
	case !slices.Contains(aggs, r.Agg):
		v.errorf(path, "%s does not apply to %s, a %s metric (use %s)", r.AggString(), m.Name, m.Kind, strings.Join(displayAggs(aggs), ", "))
		return
	case r.Agg == AggPercentile && !(r.Percentile > 0 && r.Percentile <= 100):
		v.errorf(path, "percentile must be 0 < N <= 100, got %g", r.Percentile)
	case !slices.Contains([]string{OpLess, OpLessEqual, OpGreater, OpGreaterEqual}, r.Op):
		v.errorf(path, "unknown operator %q (want <, <=, > or >=)", r.Op)
	case math.IsNaN(r.Value) || math.IsInf(r.Value, 0) || r.Value < 0:
		v.errorf(path, "value must be a number >= 0")
	case r.Unit != "" && r.Unit != ruleUnit(m.Kind, r.Agg):
		v.errorf(path, "value unit %s does not fit %s (want %s)", r.Unit, r.AggString(), ruleUnit(m.Kind, r.Agg))
	case r.Agg == AggErrors && r.Value > 1:
		v.errorf(path, "errors must be between 0%% and 100%%")
	}
}

func displayAggs(aggs []string) []string {
	out := slices.Clone(aggs)
	for i, a := range out {
		if a == AggPercentile {
			out[i] = "p(N)"
		}
	}
	return out
}

func (v *validator) checkOutput(block string) {
	p := block + ".dir"
	if v.s.Output.Dir == "" {
		v.errorf(p, "must not be empty (default %q)", DefaultOutputDir)
		return
	}
	if _, err := v.s.Output.Render("name", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)); err != nil {
		v.errorf(p, "%v", err)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
