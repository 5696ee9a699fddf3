package scenario

import (
	"time"
)

// Scenario is a resolved scenario: parsed, environment expanded, defaults
// and command-line overrides applied, validated, sessions loaded. Every
// field holds its final value; no field is "unset". It is read-only after
// Load or Parse and safe for concurrent reads.
//
// A Scenario marshals to JSON with the scenario file's snake_case keys,
// secrets redacted, durations and rates as strings; run summaries embed it.
type Scenario struct {
	Version     int    // always 1
	Name        string // [A-Za-z0-9._-]+
	Description string // free text; may be empty
	File        string // the path the scenario was read from, as given
	// Seed seeds every random choice of a run (arrival times, jitter,
	// positions, which user acts), so that two runs of the same scenario
	// with the same seed make the same choices. 0 means none was given:
	// the run picks one (1..MaxSeed) from the clock and records it.
	// At most MaxSeed.
	Seed uint64
	// Shard is which slice of a sharded run this scenario is (Slice); nil
	// for a whole run. Its fleet, stages, rates and seed are the slice's.
	Shard      *Shard
	Target     Target     // where the users connect
	Identity   Identity   // who the users are
	Fleet      Fleet      // how users connect
	Stages     []Stage    // the online-users schedule, at least one stage
	Events     []Event    // incidents: shares of the online users leaving at once; nil for none
	Behaviours Behaviours // what users do while online
	Thresholds Thresholds // pass/fail rules
	Output     Output     // where results go
	Capacity   *Capacity  // the capacity search (eixamsim capacity); nil when not written

	src *sourceMap // positions of the file's keys; nil for a hand-built Scenario
}

// Duration is the length of the run: the sum of the stages' durations
// (at most MaxRunLength in a valid scenario; a sum that would overflow
// time.Duration gives its largest value).
func (s *Scenario) Duration() time.Duration {
	var d time.Duration
	for _, st := range s.Stages {
		d = addCapped(d, st.For)
	}
	return d
}

// MaxUsers is the highest users target of any stage: the most users online
// at once.
func (s *Scenario) MaxUsers() int {
	n := 0
	for _, st := range s.Stages {
		n = max(n, st.Users)
	}
	return n
}

// Target is the system under test. Exactly one of these holds:
//   - HTTP and MQTT are both set and Embedded is nil: an external backend;
//   - HTTP and MQTT are both empty and Embedded is non-nil: the run starts the
//     reference backend in-process (with Identity.AppID and AppSecret) and
//     connects the users to it.
type Target struct {
	// HTTP is the API base URL, http:// or https://, kept verbatim: a
	// trailing slash is legal and, as in the SDK, doubles the slash of
	// every path ("https://x/" + "/v1/sdk/me").
	HTTP string
	// HTTPs are every API base URL when target.http lists several (HTTPs[0]
	// == HTTP); a user's requests all go to one of them (APIs). nil means
	// HTTP alone.
	HTTPs []string
	// MQTT is the (first) broker URI: tcp, mqtt, mqtts (plain TCP, as in the SDK),
	// ssl, tls, ws or wss; default ports 1883, 8883 (ssl/tls), 80 (ws) and
	// 443 (wss); ws/wss keep their path (contract §3.2).
	MQTT string
	// MQTTs are every broker URI when target.mqtt lists several, as the
	// addresses of a broker cluster (MQTTs[0] == MQTT); each user connects
	// to one of them (Brokers). nil means MQTT alone.
	MQTTs []string
	// TLS configures https, ssl, tls and wss connections. The zero value
	// verifies against the system roots.
	TLS TLS
	// Embedded configures the in-process reference backend; nil for an
	// external target.
	Embedded *Embedded
}

// TLS is the client TLS configuration of an external target. File paths
// are resolved against the scenario file's directory and made absolute.
type TLS struct {
	CAFile             string // PEM bundle to verify the server with instead of the system roots
	CertFile, KeyFile  string // client certificate and key (PEM), both or neither
	ServerName         string // SNI and verification name; empty = the URL's host
	InsecureSkipVerify bool   // accept any server certificate (rehearsals only)
}

// IsZero reports whether no TLS setting is given.
func (t TLS) IsZero() bool { return t == TLS{} }

// Identity says who the virtual users are: either user ids from a
// template signed with the app secret, or the rows of a sessions CSV.
type Identity struct {
	AppID     string // the app id of every user; may be empty only with SessionsFile
	AppSecret Secret // signs user ids; required unless SessionsFile is given with an external target
	// UserID is a text/template for the n-th user's external id, with .N
	// the 0-based user index ("loadtest-{{.N}}"). Empty with SessionsFile.
	UserID string
	// SessionsFile is the absolute path of the sessions CSV, or "".
	SessionsFile string
	// Sessions are the CSV rows in file order; nil without SessionsFile.
	Sessions []Session
	// Offset is the index in the whole run of this run's first user: this
	// run's user n is the whole run's user Offset+n (Session). 0 unless
	// the scenario is a shard's slice (Scenario.Slice), so that the shards'
	// users are disjoint and have the ids they have in the unsharded run.
	Offset int

	tmpl *userIDTemplate // parsed UserID; nil for a hand-built Identity
}

// Session is the signed session of one user, as a partner backend hands
// it to the SDK (contract §1.2).
type Session struct {
	// Index is the user's 0-based index in the whole run (Identity.Session
	// sets it): it picks the user's target addresses (Target.Brokers,
	// Target.APIs) the same way in every shard.
	Index          int
	AppID          string
	ExternalUserID string
	UserHash       Secret // lowercase hex HMAC-SHA256(app secret, ExternalUserID)
}

// Stage is one step of the closed-model schedule: when it starts, the
// target number of online users becomes Users, and users connect or
// disconnect at Fleet.ConnectRate until it is reached; the stage lasts For.
type Stage struct {
	Name  string        // unique, [A-Za-z0-9._-]+; default "stage-<i>" with i 0-based
	For   time.Duration // > 0
	Users int           // 0..Fleet.Users
	// Rates overrides the open-model rate of behaviours during this stage,
	// keyed by behaviour: "sos", "contacts", "devices", "telemetry" (only
	// with telemetry.rate). A behaviour not listed keeps its own rate. A
	// zero rate pauses it. nil when the stage sets none.
	Rates map[string]Rate
	// Ramp is how the rates reach this stage's values: RampStep or ""
	// (at the stage start) or RampLinear (linearly from the previous stage's rates
	// over the whole stage, like k6's ramping-arrival-rate).
	Ramp string

	// share is users written as a fraction of fleet.users while decoding
	// (-1 for 0%); resolve turns it into Users and clears it.
	share float64
}

// Stage ramps.
const (
	RampStep   = "step"
	RampLinear = "linear"
)

// Thresholds are the pass/fail rules of a run.
type Thresholds struct {
	Metrics     []MetricRules // in file order
	AbortOnFail []string      // metrics whose rules are checked continuously; the first breach stops the run
	AbortGrace  time.Duration // no abort before this much run time, >= 0
}

// MetricRules are the rules of one metric, over the whole run or over
// one stage (the key "metric{stage=NAME}", thresholds_keys.go).
type MetricRules struct {
	Metric string // a name from Metrics
	Stage  string // the stage the rules judge; "" for the whole run
	Line   int    // line of the metric's key in the file; 0 if hand-built
	Rules  []Rule // at least one
}

// Output says where a run writes its results.
type Output struct {
	// Dir is a text/template for the result directory, with .Name the
	// scenario name and .Start the start time as 20060102-150405.
	// Relative paths are relative to the working directory of the run.
	Dir string
}
