package scenario

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/contract"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/invalid")

// fixtureEnv is the environment the testdata fixtures are loaded with.
func fixtureEnv(name string) (string, bool) {
	v, ok := map[string]string{"EIXAM_APP_SECRET": "test-secret", "SECRET": "Recognisable-Secret-9f8e7d"}[name]
	return v, ok
}

func mustLoad(t *testing.T, path string, opts Options) *Scenario {
	t.Helper()
	if opts.Getenv == nil {
		opts.Getenv = fixtureEnv
	}
	s, err := Load(path, opts)
	if err != nil {
		t.Fatalf("Load(%s):\n%v", path, err)
	}
	return s
}

// TestLoadMinimal checks every default.
func TestLoadMinimal(t *testing.T) {
	s := mustLoad(t, "testdata/valid/minimal.yaml", Options{})
	abs, _ := filepath.Abs("testdata/valid")
	_ = abs
	want := &Scenario{
		Version: 1,
		Name:    "minimal",
		File:    "testdata/valid/minimal.yaml",
		Target: Target{Embedded: &Embedded{
			Transport: "tcp", AckDelay: time.Second, ErrorRate: map[string]float64{},
		}},
		Identity: Identity{AppID: "demo-app", AppSecret: "demo-secret", UserID: DefaultUserID},
		Fleet: Fleet{
			Users:          10,
			ConnectRate:    Rate{PerSecond: 100},
			Reconnect:      Reconnect{Policy: ReconnectSDK, Initial: 2 * time.Second, Max: 2 * time.Second},
			ReceiveMaximum: 16,
			KeepAlive:      30 * time.Second,
			ConnectTimeout: 10 * time.Second,
			HTTPTimeout:    10 * time.Second,
		},
		Stages:     []Stage{{Name: "stage-0", For: 10 * time.Second, Users: 10}},
		Behaviours: Behaviours{Login: []string{LoginMe, LoginSOSRehydrate}},
		Output:     Output{Dir: DefaultOutputDir},
	}
	assertScenario(t, s, want)
	if s.Duration() != 10*time.Second || s.MaxUsers() != 10 {
		t.Errorf("Duration() = %v, MaxUsers() = %d", s.Duration(), s.MaxUsers())
	}
}

// assertScenario compares the exported fields.
func assertScenario(t *testing.T, got, want *Scenario) {
	t.Helper()
	g, w := *got, *want
	g.src, w.src = nil, nil
	g.Identity.tmpl, w.Identity.tmpl = nil, nil
	if !reflect.DeepEqual(g, w) {
		gj, _ := json.MarshalIndent(g, "", " ")
		wj, _ := json.MarshalIndent(w, "", " ")
		t.Errorf("scenario differs:\ngot:  %+v\nwant: %+v\ngot JSON:\n%s\nwant JSON:\n%s", g, w, gj, wj)
	}
}

// TestLoadFull checks a file that sets every key.
func TestLoadFull(t *testing.T) {
	s := mustLoad(t, "testdata/valid/full.yaml", Options{})
	rule := func(kind MetricKind, src string, line int) Rule {
		r, err := ParseRule(kind, src)
		if err != nil {
			t.Fatal(err)
		}
		r.Line = line
		return r
	}
	want := &Scenario{
		Version:     1,
		Name:        "full.example_1",
		Description: "every key, embedded target",
		File:        "testdata/valid/full.yaml",
		Target: Target{Embedded: &Embedded{
			Transport:       "ws",
			AckDelay:        Never,
			CanonicalPrefix: "canon-",
			HTTPLatency:     Latency{Kind: LatencyLognormal, Median: 40 * time.Millisecond, Sigma: 0.5},
			ErrorRate:       map[string]float64{"sos_cancel": 0.05, "*": 0.001},
			EventDelay:      250 * time.Millisecond,
			EventDrop:       0.01,
		}},
		Identity: Identity{AppID: "partner-app", AppSecret: "test-secret", UserID: `loadtest-{{printf "%06d" .N}}`},
		Fleet: Fleet{
			Users:          200,
			ConnectRate:    Rate{PerSecond: 50},
			Reconnect:      Reconnect{Policy: ReconnectBackoff, Initial: 500 * time.Millisecond, Max: 20 * time.Second, Jitter: 0.1},
			ReceiveMaximum: 32,
			KeepAlive:      time.Minute,
			ConnectTimeout: 5 * time.Second,
			HTTPTimeout:    3 * time.Second,
			SourceIPs: []netip.Addr{
				netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3"),
				netip.MustParseAddr("127.0.0.4"), netip.MustParseAddr("::1"),
			},
		},
		Stages: []Stage{
			{Name: "ramp", For: 10 * time.Second, Users: 100}, // 50% of 200
			{Name: "stage-1", For: time.Minute, Users: 200},
			{Name: "down", For: 10 * time.Second, Users: 0},
		},
		Behaviours: Behaviours{
			Login: []string{LoginMe, LoginSOSRehydrate},
			Telemetry: &Telemetry{
				Every: 5 * time.Second, Jitter: 0.2, QoS: 0, DeviceID: true, Battery: true,
				Around: [2]float64{41.39, 2.17}, RadiusKm: 2.5,
			},
			SOS:      &SOS{Rate: Rate{PerSecond: 1}, Arrivals: ArrivalsPoisson, Hold: 20 * time.Second, End: EndResolve, Origin: OriginApp},
			Contacts: &HTTPMix{Rate: Rate{PerSecond: 5}, Arrivals: ArrivalsConstant, Mix: map[string]int{"list": 70, "create": 30, "update": 0, "delete": 0}},
			Devices:  &HTTPMix{Rate: Rate{PerSecond: 0.5}, Arrivals: ArrivalsConstant, Mix: DefaultDevicesMix()},
		},
		Thresholds: Thresholds{
			Metrics: []MetricRules{
				{Metric: "sos.delivered", Line: 44, Rules: []Rule{rule(KindLatency, "p(95) < 2s", 44), rule(KindLatency, "p(99.9)<=5s", 44)}},
				{Metric: "telemetry.puback", Line: 45, Rules: []Rule{rule(KindLatency, "p(99) < 250ms", 45), rule(KindLatency, "errors < 0.1%", 45), rule(KindLatency, "rate >= 30/s", 45)}},
				{Metric: "http.contacts_list", Line: 46, Rules: []Rule{rule(KindLatency, "avg < 300ms", 46)}},
				{Metric: "users.online", Line: 47, Rules: []Rule{rule(KindGauge, "max >= 190", 47)}},
				{Metric: "mqtt.disconnects", Line: 48, Rules: []Rule{rule(KindCounter, "count <= 0", 48)}},
			},
			AbortOnFail: []string{"sos.delivered"},
			AbortGrace:  10 * time.Second,
		},
		Output: Output{Dir: "out/{{.Name}}/{{.Start}}"},
	}
	assertScenario(t, s, want)
	if got, _ := s.Identity.ExternalUserID(42); got != "loadtest-000042" {
		t.Errorf("ExternalUserID(42) = %q", got)
	}
}

// TestLoadExternal checks an external target with a sessions CSV.
func TestLoadExternal(t *testing.T) {
	s := mustLoad(t, "testdata/valid/external.yaml", Options{})
	abs, err := filepath.Abs("testdata/valid/sessions.csv")
	if err != nil {
		t.Fatal(err)
	}
	if s.Target.Embedded != nil || s.Target.HTTP != "https://api.staging.partner.example/" || s.Target.MQTT != "ssl://mqtt.staging.partner.example:8883" {
		t.Errorf("target = %+v", s.Target)
	}
	if s.Identity.SessionsFile != abs || len(s.Identity.Sessions) != 5 || s.Identity.UserID != "" {
		t.Errorf("identity = %+v", s.Identity)
	}
	if s.Fleet.Users != 5 { // the number of rows
		t.Errorf("users = %d, want 5 (one per session)", s.Fleet.Users)
	}
	if r := s.Fleet.Reconnect; r != (Reconnect{Policy: ReconnectBackoff, Initial: time.Second, Max: 30 * time.Second, Jitter: 0.2}) {
		t.Errorf("reconnect = %+v", r)
	}
	if tm := s.Behaviours.Telemetry; tm.Rate.PerSecond != 100 || tm.Arrivals != ArrivalsPoisson || tm.Every != 0 {
		t.Errorf("telemetry = %+v", tm)
	}
	sess, err := s.Identity.Session(4)
	if err != nil || sess.ExternalUserID != "user-123" || sess.UserHash.Reveal() != "0472633cf459d59890066f38b1f5bae4ca8839dc25078ee7af231a97e7b3d703" {
		t.Errorf("Session(4) = %+v, %v", sess, err)
	}
	if _, err := s.Identity.Session(5); err == nil {
		t.Error("Session(5) succeeded past the last row")
	}
}

// TestSessionSigned checks that template users are signed with
// contract.Sign (the contract's test vector).
func TestSessionSigned(t *testing.T) {
	id := Identity{AppID: "partner-app", AppSecret: "test-secret", UserID: "user-{{.N}}"}
	s, err := id.Session(123)
	if err != nil {
		t.Fatal(err)
	}
	want := Session{Index: 123, AppID: "partner-app", ExternalUserID: "user-123", UserHash: "0472633cf459d59890066f38b1f5bae4ca8839dc25078ee7af231a97e7b3d703"}
	if s != want {
		t.Errorf("Session(123) = %#v; want %#v", s, want)
	}
	if !contract.Verify([]byte("test-secret"), s.ExternalUserID, s.UserHash.Reveal()) {
		t.Error("hash does not verify")
	}
	if _, err := id.Session(-1); err == nil {
		t.Error("Session(-1) succeeded")
	}
	if _, err := (&Identity{UserID: "u{{.N}}"}).Session(0); err == nil {
		t.Error("Session without a secret succeeded")
	}
}

// TestSmokeScenario loads the shipped scenarios/smoke.yaml and checks the
// properties the README promises.
func TestSmokeScenario(t *testing.T) {
	s := mustLoad(t, "../scenarios/smoke.yaml", Options{Getenv: func(string) (string, bool) { return "", false }})
	b := s.Behaviours
	switch {
	case s.Target.Embedded == nil:
		t.Error("smoke must use the embedded backend")
	case s.Fleet.Users != 200 || s.MaxUsers() != 200:
		t.Errorf("users = %d, max online %d; want 200", s.Fleet.Users, s.MaxUsers())
	case s.Duration() > 30*time.Second:
		t.Errorf("duration = %v; want <= 30s", s.Duration())
	case b.Telemetry == nil || b.Telemetry.Every != 2*time.Second:
		t.Errorf("telemetry = %+v; want every 2s", b.Telemetry)
	case b.SOS == nil || b.Contacts == nil || b.Devices == nil || len(b.Login) != 2:
		t.Errorf("not every behaviour is on: %+v", b)
	case s.Identity.AppID != "demo-app":
		t.Errorf("app_id = %q", s.Identity.AppID)
	}
	if n := b.SOS.Rate.PerSecond * s.Duration().Seconds(); n < 15 || n > 25 {
		t.Errorf("about %.0f SOS alerts; want ~20", n)
	}
}

// TestEnvExpansion checks ${VAR}, $$ and values from the environment in
// typed fields.
func TestEnvExpansion(t *testing.T) {
	yaml := `version: 1
name: env
description: "costs $$5 and ${RATE}"
duration: ${DUR}
identity:
  app_id: a
  app_secret: ${SECRET}
  user_id: "u$${{.N}}"
fleet:
  users: ${USERS}
behaviours:
  sos: { rate: "${RATE}" }
thresholds:
  sos.delivered: ["p(95) < ${SLO}"]
`
	env := map[string]string{"RATE": "5/s", "DUR": "1m", "SECRET": "abc-secret", "USERS": "50", "SLO": "2s"}
	s, err := Parse("env.yaml", []byte(yaml), Options{Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case s.Description != "costs $5 and 5/s":
		t.Errorf("description = %q", s.Description)
	case s.Duration() != time.Minute:
		t.Errorf("duration = %v", s.Duration())
	case s.Identity.AppSecret.Reveal() != "abc-secret":
		t.Error("secret not expanded")
	case s.Fleet.Users != 50:
		t.Errorf("users = %d", s.Fleet.Users)
	case s.Behaviours.SOS.Rate.PerSecond != 5:
		t.Errorf("sos rate = %v", s.Behaviours.SOS.Rate)
	case s.Thresholds.Metrics[0].Rules[0].Value != 2:
		t.Errorf("rule = %+v", s.Thresholds.Metrics[0].Rules[0])
	}
	if id, _ := s.Identity.ExternalUserID(7); id != "u$7" {
		t.Errorf("user id = %q, want u$7", id)
	}
}

// TestOverrides checks the command-line overrides.
func TestOverrides(t *testing.T) {
	stages := `version: 1
name: o
identity: { app_id: a, app_secret: s }
fleet: { users: 100 }
stages:
  - { for: 10s, users: 50% }
  - { for: 20s, users: 100% }
  - { for: 10s, users: 0 }
`
	dur := func(d time.Duration) *time.Duration { return &d }
	users := func(n int) *int { return &n }
	tests := []struct {
		name string
		opts Options
		want []Stage
	}{
		// Users scales the percentage stages.
		{"users", Options{Users: users(10)}, []Stage{{Name: "stage-0", For: 10 * time.Second, Users: 5}, {Name: "stage-1", For: 20 * time.Second, Users: 10}, {Name: "stage-2", For: 10 * time.Second, Users: 0}}},
		// Duration inside the second stage cuts it and drops the rest.
		{"cut", Options{Duration: dur(15 * time.Second)}, []Stage{{Name: "stage-0", For: 10 * time.Second, Users: 50}, {Name: "stage-1", For: 5 * time.Second, Users: 100}}},
		// Duration exactly at a stage boundary.
		{"boundary", Options{Duration: dur(10 * time.Second)}, []Stage{{Name: "stage-0", For: 10 * time.Second, Users: 50}}},
		// Duration past the end extends the last stage.
		{"extend", Options{Duration: dur(time.Minute)}, []Stage{{Name: "stage-0", For: 10 * time.Second, Users: 50}, {Name: "stage-1", For: 20 * time.Second, Users: 100}, {Name: "stage-2", For: 30 * time.Second, Users: 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("o.yaml", []byte(stages), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.Stages, tc.want) {
				t.Errorf("stages = %v; want %v", s.Stages, tc.want)
			}
		})
	}

	out := "elsewhere/{{.Name}}"
	s, err := Parse("o.yaml", []byte(strings.Replace(stages, "stages:\n  - { for: 10s, users: 50% }\n  - { for: 20s, users: 100% }\n  - { for: 10s, users: 0 }\n", "duration: 5m\n", 1)),
		Options{Duration: dur(time.Second), Users: users(3), OutDir: &out})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Stages, []Stage{{Name: "stage-0", For: time.Second, Users: 3}}) || s.Output.Dir != out {
		t.Errorf("shorthand with overrides: stages %v, dir %q", s.Stages, s.Output.Dir)
	}
	// Duration alone is enough when the file has neither duration nor stages.
	noSchedule := "version: 1\nname: o\nidentity: { app_id: a, app_secret: s }\nfleet: { users: 1 }\n"
	if s, err := Parse("o.yaml", []byte(noSchedule), Options{Duration: dur(time.Second)}); err != nil || s.Duration() != time.Second {
		t.Errorf("duration override without a schedule: %v", err)
	}
	// A bad override is reported with its origin.
	if _, err := Parse("o.yaml", []byte(noSchedule), Options{Duration: dur(0)}); err == nil ||
		err.Error() != "o.yaml:1:1: duration: must be > 0, got 0s (the run length is overridden on the command line)" {
		t.Errorf("zero duration override: %v", err)
	}
}

func TestOutputRender(t *testing.T) {
	start := time.Date(2026, 4, 19, 13, 40, 5, 0, time.UTC)
	tests := []struct {
		dir, want, err string
	}{
		{DefaultOutputDir, "results/smoke-20260419-134005", ""},                                                                     // the default
		{"out/{{.Name}}/", "out/smoke", ""},                                                                                         // cleaned
		{"{{.Nope}}", "", "cannot render: unknown field .Nope (use {{.Name}} and {{.Start}})"},                                      // unknown field
		{"{{range 3}}x{{end}}", "", "invalid template: only {{.Name}}, {{.Start}}, functions such as printf, and if are supported"}, // no loops
		{"{{if false}}x{{end}}", "", "renders an empty path"},                                                                       // empty
	}
	for _, tc := range tests {
		got, err := Output{Dir: tc.dir}.Render("smoke", start)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("Render(%q) = %q, %v; want %q, %q", tc.dir, got, err, tc.want, tc.err)
		}
	}
}

// TestValidateHandBuilt checks Validate on a Scenario built in code, and
// that it does not change it.
func TestValidateHandBuilt(t *testing.T) {
	s := &Scenario{
		Version:  1,
		Name:     "hand",
		File:     "hand.yaml",
		Target:   Target{HTTP: "https://api.x", MQTT: "wss://api.x/ws"},
		Identity: Identity{AppID: "a", AppSecret: "s", UserID: "u-{{.N}}"},
		Fleet: Fleet{Users: 10, ConnectRate: Rate{PerSecond: 10}, Reconnect: Reconnect{Policy: ReconnectSDK, Initial: 2 * time.Second, Max: 2 * time.Second},
			ReceiveMaximum: 16, KeepAlive: 30 * time.Second, ConnectTimeout: time.Second, HTTPTimeout: time.Second},
		Stages:     []Stage{{Name: "a", For: time.Second, Users: 10}},
		Behaviours: Behaviours{Login: []string{LoginMe}},
		Output:     Output{Dir: "x"},
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("valid hand-built scenario: %v", err)
	}
	s.Stages = append(s.Stages, Stage{Name: "a", For: -time.Second, Users: 11})
	s.Fleet.Reconnect.Policy = "linear"
	s.Thresholds.Metrics = []MetricRules{{Metric: "users.online", Rules: []Rule{{Agg: AggPercentile, Percentile: 95, Op: OpLess, Value: 1}}}}
	before, _ := json.Marshal(s)
	err := s.Validate()
	want := strings.Join([]string{
		`hand.yaml: fleet.reconnect.policy: unknown policy "linear" (expected one of: sdk, backoff)`,
		"hand.yaml: stages[1].for: must be > 0, got -1s",
		"hand.yaml: stages[1].users: must be <= fleet.users (10), got 11",
		`hand.yaml: stages[1].name: "a" is also the name of stages[0]`,
		"hand.yaml: thresholds.users.online[0]: p(95) does not apply to users.online, a gauge metric (use min, max, avg)",
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("Validate:\n%v\nwant:\n%s", err, want)
	}
	if after, _ := json.Marshal(s); string(after) != string(before) {
		t.Error("Validate changed the scenario")
	}
}

// TestSecretsNeverPrinted loads failing and passing scenarios that carry a
// recognisable secret and checks that it appears in no error message and
// in no printed or marshalled form of the result.
func TestSecretsNeverPrinted(t *testing.T) {
	const secret = "Recognisable-Secret-9f8e7d"
	env := func(string) (string, bool) { return secret, true }
	failing := []string{
		// The secret lands in typed fields through the environment.
		"version: 1\nname: x\nduration: ${S}\nidentity: { app_id: a, app_secret: \"${S}\" }\nfleet: { users: \"${S}\", connect_rate: \"${S}\" }\nbehaviours: { telemetry: { every: 1s, jitter: \"${S}\" } }\nthresholds: { sos.delivered: [\"${S}\"] }\n",
		// The literal secret is repeated in another field.
		"version: 1\nname: x\nduration: 1s\nidentity: { app_id: a, app_secret: " + secret + ", user_id: " + secret + " }\nfleet: { users: 2 }\ntarget: { http: \"" + secret + "\", mqtt: \"tcp://" + secret + "/\" }\noutput: { dir: \"{{." + secret + "}}\" }\n",
		// A literal secret that contains $ followed by a name.
		"version: 1\nname: x\nduration: 1s\nidentity: { app_id: a, app_secret: a$" + secret + " }\nfleet: { users: 2 }\n",
	}
	for i, yaml := range failing {
		_, err := Parse("s.yaml", []byte(yaml), Options{Getenv: env, Open: testOpen})
		if err == nil {
			t.Fatalf("case %d: Parse succeeded", i)
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "Recognisable") {
			t.Errorf("case %d: the secret is in the error:\n%v", i, err)
		}
	}

	// Sessions with hashes: none shows up in errors either.
	hash := contract.Sign([]byte("k"), "u")
	files := map[string]string{"/s/h.csv": "a,u," + strings.ToUpper(hash) + "\na,v," + hash + "\n"}
	open := func(name string) (io.ReadCloser, error) {
		if d, ok := files[name]; ok {
			return io.NopCloser(strings.NewReader(d)), nil
		}
		return nil, fs.ErrNotExist
	}
	_, err := Parse("/s/t.yaml", []byte("version: 1\nname: x\nduration: 1s\nidentity: { app_secret: k, sessions_file: h.csv }\n"), Options{Open: open})
	if err == nil || strings.Contains(strings.ToLower(err.Error()), hash) || strings.Contains(err.Error(), "k,") {
		t.Errorf("sessions error: %v", err)
	}

	// A valid scenario: every way of printing it hides the secret.
	s, err := Parse("s.yaml", []byte("version: 1\nname: x\nduration: 1s\nidentity: { app_id: a, app_secret: \"${S}\" }\nfleet: { users: 2 }\n"), Options{Getenv: env})
	if err != nil {
		t.Fatal(err)
	}
	sess, _ := s.Identity.Session(0)
	js, _ := json.Marshal(s)
	sj, _ := json.Marshal(sess)
	printed := fmt.Sprintf("%v %+v %#v %s %q %x %v %+v %#v %s %x", s, s, s, s.Identity.AppSecret, s.Identity.AppSecret, s.Identity.AppSecret, sess, sess, sess, sess.UserHash, sess.UserHash)
	for name, text := range map[string]string{"json": string(js), "session json": string(sj), "fmt": printed} {
		if strings.Contains(text, secret) || strings.Contains(text, sess.UserHash.Reveal()) || strings.Contains(text, fmt.Sprintf("%x", secret)) {
			t.Errorf("%s shows a secret: %s", name, text)
		}
		if !strings.Contains(text, "[redacted]") {
			t.Errorf("%s has no [redacted]: %s", name, text)
		}
	}
	if s.Identity.AppSecret.Reveal() != secret {
		t.Error("Reveal lost the value")
	}
}

// TestJSONRoundTrip marshals each valid fixture and parses the JSON back:
// the result is the same scenario.
func TestJSONRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	files = append(files, "../scenarios/smoke.yaml")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			s := mustLoad(t, file, Options{})
			checkRoundTrip(t, s)
		})
	}
}

// checkRoundTrip re-parses the JSON form of s and compares.
func checkRoundTrip(t *testing.T, s *Scenario) {
	t.Helper()
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatalf("unmarshal: %v\n%s", err, js)
	}
	delete(m, "file")
	if id, ok := m["identity"].(map[string]any); ok && s.Identity.AppSecret != "" {
		id["app_secret"] = s.Identity.AppSecret.Reveal()
	}
	back, err := json.Marshal(escapeDollars(m))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Parse(s.File, back, Options{Getenv: func(string) (string, bool) { return "", false }, Open: func(string) (io.ReadCloser, error) {
		return nil, errors.New("no files in round trips")
	}})
	if s.Identity.SessionsFile != "" {
		return // the sessions were read from the file; the re-parse cannot read it
	}
	if err != nil {
		t.Fatalf("re-parse of\n%s\n: %v", back, err)
	}
	js2, _ := json.Marshal(s2)
	var first, second any
	_ = json.Unmarshal(js, &first)
	_ = json.Unmarshal(js2, &second)
	if !reflect.DeepEqual(first, second) {
		t.Errorf("round trip differs:\nfirst:  %s\nsecond: %s", js, js2)
	}
}

// escapeDollars doubles every $ in the strings of v, so that values parse
// back literally.
func escapeDollars(v any) any {
	switch v := v.(type) {
	case string:
		return strings.ReplaceAll(v, "$", "$$")
	case map[string]any:
		for k, e := range v {
			v[k] = escapeDollars(e)
		}
	case []any:
		for i, e := range v {
			v[i] = escapeDollars(e)
		}
	}
	return v
}

// TestInvalidGolden loads each testdata/invalid/*.yaml and compares the
// whole error output with the .errors file beside it (-update rewrites).
func TestInvalidGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			_, err := Load(file, Options{Getenv: fixtureEnv})
			if err == nil {
				t.Fatal("Load succeeded")
			}
			golden := strings.TrimSuffix(file, ".yaml") + ".errors"
			got := err.Error() + "\n"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatalf("%v (run with -update to create it)", rerr)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s:\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
			if strings.Contains(got, "Recognisable-Secret") {
				t.Error("a secret is in the errors")
			}
		})
	}
}

// TestLoadUnreadable checks the error for a missing scenario file.
func TestLoadUnreadable(t *testing.T) {
	_, err := Load("testdata/nope.yaml", Options{})
	var list ErrorList
	if !errors.As(err, &list) || err.Error() != "testdata/nope.yaml: cannot read the scenario: no such file or directory" {
		t.Errorf("Load(missing) = %v", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Error("errors.Is(err, fs.ErrNotExist) is false")
	}
	if _, err := Load("testdata", Options{}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Load(dir) = %v", err)
	}
}

// TestValidateZero checks that Validate reports, and does not panic on,
// zero values everywhere.
func TestValidateZero(t *testing.T) {
	s := &Scenario{
		Target:     Target{Embedded: &Embedded{}},
		Behaviours: Behaviours{Telemetry: &Telemetry{}, SOS: &SOS{}, Contacts: &HTTPMix{}, Devices: &HTTPMix{}},
		Thresholds: Thresholds{Metrics: []MetricRules{{Metric: "x"}, {Metric: "sos.delivered", Rules: []Rule{{}}}}, AbortOnFail: []string{"y"}},
	}
	err := s.Validate()
	var list ErrorList
	if !errors.As(err, &list) || len(list) < 20 {
		t.Fatalf("Validate(zero) = %v", err)
	}
	if !strings.Contains(err.Error(), "thresholds.sos.delivered[0]: rule has no aggregation") {
		t.Errorf("missing the rule problem:\n%v", err)
	}
}
