package scenario

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// staged is a valid scenario with three stages and telemetry on.
const staged = `version: 1
name: o
identity: { app_id: a, app_secret: s3cret-value }
fleet: { users: 100, reconnect: sdk }
stages:
  - { for: 10s, users: 30 }
  - { for: 20s, users: 100% }
  - { for: 10s, users: 0 }
behaviours: { telemetry: { every: 1s } }
`

// TestSetOverrides checks values given with Options.Set: they replace or
// add keys and are read exactly like the file's.
func TestSetOverrides(t *testing.T) {
	s, err := testParse(staged, Options{Set: []string{
		"fleet.users=50",
		"behaviours.telemetry.every=5s",
		"stages[0].users=10",
		"target.embedded.ack_delay=2s",
		"behaviours.sos={ rate: 1/s, hold: 2s }",
		"thresholds.sos.delivered=[\"p(95) < 1s\"]",
		"description=${RATE} of ${NOPE:-nothing}",
		"stages[2].for=1m",
		"stages[2].for=30s", // the later one wins
	}})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"fleet.users", s.Fleet.Users, 50},
		{"telemetry.every", s.Behaviours.Telemetry.Every, 5 * time.Second},
		{"stage users", []int{s.Stages[0].Users, s.Stages[1].Users, s.Stages[2].Users}, []int{10, 50, 0}},
		{"stages[2].for", s.Stages[2].For, 30 * time.Second},
		{"ack_delay", s.Target.Embedded.AckDelay, 2 * time.Second},
		{"sos", *s.Behaviours.SOS, SOS{Rate: Rate{PerSecond: 1}, Arrivals: ArrivalsConstant, Hold: 2 * time.Second, End: EndCancel, Origin: OriginApp}},
		{"threshold", s.Thresholds.Metrics[0].Metric + " " + s.Thresholds.Metrics[0].Rules[0].Source, "sos.delivered p(95) < 1s"},
		{"description", s.Description, "5/s of nothing"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestSetErrors checks that a problem with a --set value names the --set
// instead of a line, with did-you-mean for unknown keys, and that a
// secret given with --set is not shown.
func TestSetErrors(t *testing.T) {
	tests := []struct {
		name string
		set  []string
		want string
	}{
		{"missing unit", []string{"behaviours.telemetry.every=5"},
			`--set behaviours.telemetry.every=5: must be a duration like 500ms, 30s or 1h30m, got "5" (missing unit)`},
		{"unknown key", []string{"fleet.usrs=5"},
			`--set fleet.usrs=5: unknown key (did you mean users?)`},
		{"unknown block", []string{"behaviours.telemetery.every=5s"},
			`--set behaviours.telemetery.every=5s: behaviours.telemetery: unknown key (did you mean telemetry?)`},
		{"unknown root key", []string{"duraton=5s"},
			`--set duraton=5s: unknown key (did you mean duration?)`},
		{"validation", []string{"stages[1].users=999"},
			`--set stages[1].users=999: must be <= fleet.users (100), got 999`},
		{"inside a mapping value", []string{"behaviours.telemetry={ every: 5 }"},
			`--set behaviours.telemetry={ every: 5 }: behaviours.telemetry.every: must be a duration like 500ms, 30s or 1h30m, got "5" (missing unit)`},
		{"no index", []string{"stages[5].users=1"},
			`--set stages[5].users=1: stages has 3 items in the file, so it has no [5]`},
		{"into a scalar", []string{"fleet.reconnect.policy=backoff"},
			`--set fleet.reconnect.policy=backoff: fleet.reconnect is a single value in the file, not a mapping: set fleet.reconnect itself`},
		{"no equals", []string{"fleet.users"},
			`--set fleet.users: must be key.path=value, e.g. fleet.users=50 or behaviours.telemetry.every=5s`},
		{"secret", []string{"identity.app_secret=[Recognisable-Secret-9f8e7d]"},
			`--set identity.app_secret=[redacted]: must be a string, got a list`},
		{"secret in a message", []string{"identity.app_secret=Recognisable-Secret-9f8e7d", "name=Recognisable-Secret-9f8e7d!"},
			`--set name=[redacted]!: must use only letters, digits, '.', '_' and '-', got "[redacted]!"`},
		{"environment", []string{"fleet.users=${WORD}"},
			`--set fleet.users=${WORD}: must be an integer, got "${WORD}" (value from the environment not shown)`},
		// Problems found while reading come before those found by validation.
		{"two", []string{"fleet.users=0", "behaviours.telemetry.jitter=0.5"}, strings.Join([]string{
			`--set behaviours.telemetry.jitter=0.5: must be a percentage like 5% or 0.1%, got "0.5" (missing %)`,
			`--set fleet.users=0: must be >= 1, got 0`,
		}, "\n")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := testParse(staged, Options{Set: tc.set})
			if err == nil {
				t.Fatalf("Parse succeeded, want:\n%s", tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("errors:\ngot:\n%s\nwant:\n%s", got, tc.want)
			}
			var e *Error
			if errors.As(err, &e) && (e.Flag == "" || e.Line != 0 || e.File != "/s/t.yaml") {
				t.Errorf("first error %+v: want its Flag, no line, the scenario file", e)
			}
		})
	}
}

// TestDurationText checks the --duration override given as text.
func TestDurationText(t *testing.T) {
	text := func(s string) *string { return &s }
	s, err := testParse(staged, Options{DurationText: text("15s")})
	if err != nil {
		t.Fatal(err)
	}
	if got := []time.Duration{s.Stages[0].For, s.Stages[1].For}; len(s.Stages) != 2 || !reflect.DeepEqual(got, []time.Duration{10 * time.Second, 5 * time.Second}) {
		t.Errorf("stages = %v, want cut at 15s", s.Stages)
	}
	noSchedule := strings.Replace(staged, "stages:\n  - { for: 10s, users: 30 }\n  - { for: 20s, users: 100% }\n  - { for: 10s, users: 0 }\n", "", 1)
	for _, tc := range []struct{ text, want string }{
		{"8", `--duration 8: must be a duration like 500ms, 30s or 1h30m, got "8" (missing unit)`},
		{"", `--duration : must be a duration like 500ms, 30s or 1h30m, got "" (empty)`},
		{"0s", `/s/t.yaml:1:1: duration: must be > 0, got 0s (the run length is overridden on the command line)`},
	} {
		if _, err := testParse(noSchedule, Options{DurationText: text(tc.text)}); err == nil || err.Error() != tc.want {
			t.Errorf("--duration %q: got\n%v\nwant\n%s", tc.text, err, tc.want)
		}
	}
	if s, err := testParse(noSchedule, Options{DurationText: text("1m")}); err != nil || s.Duration() != time.Minute || s.Stages[0].Users != 100 {
		t.Errorf("--duration 1m without a schedule: %v", err)
	}
}

// TestUsersScalesStages checks that Options.Users scales every stage.
func TestUsersScalesStages(t *testing.T) {
	users := func(n int) *int { return &n }
	tests := []struct {
		users int
		want  []int
	}{
		{50, []int{15, 50, 0}},
		{10, []int{3, 10, 0}},
		{1, []int{1, 1, 0}}, // 0.3 rounds to 0: a stage with users keeps one
		{3, []int{1, 3, 0}}, // 0.9 rounds to 1
		{1000, []int{300, 1000, 0}},
	}
	for _, tc := range tests {
		s, err := testParse(staged, Options{Users: users(tc.users)})
		if err != nil {
			t.Fatalf("--users %d: %v", tc.users, err)
		}
		got := []int{s.Stages[0].Users, s.Stages[1].Users, s.Stages[2].Users}
		if !reflect.DeepEqual(got, tc.want) || s.Fleet.Users != tc.users {
			t.Errorf("--users %d: stages %v, fleet %d; want %v", tc.users, got, s.Fleet.Users, tc.want)
		}
	}
	// The case: smoke.yaml's stages are absolute numbers.
	s, err := Load("../scenarios/smoke.yaml", Options{Users: users(50)})
	if err != nil {
		t.Fatal(err)
	}
	if got := []int{s.Stages[0].Users, s.Stages[1].Users, s.Stages[2].Users}; !reflect.DeepEqual(got, []int{50, 50, 0}) {
		t.Errorf("smoke.yaml --users 50: stages %v", got)
	}
	if s.Behaviours.SOS.Rate.PerSecond*60 != 40 {
		t.Errorf("rates must stay as written, sos.rate = %v", s.Behaviours.SOS.Rate)
	}
}

// TestShippedScenariosScale loads every shipped scenario at very different
// --users, and checks that no threshold ties an absolute count to the
// number of users (a count other than 0, a rate, a level of users.online),
// so every gate holds at any --users.
func TestShippedScenariosScale(t *testing.T) {
	files, _ := filepath.Glob("../scenarios/*.yaml")
	env := func(name string) (string, bool) {
		return map[string]string{
			"EIXAM_HTTP_URL": "https://api.example.test", "EIXAM_MQTT_URL": "wss://api.example.test/ws",
			"EIXAM_APP_ID": "partner-app", "EIXAM_APP_SECRET": "placeholder-secret",
		}[name], true
	}
	for _, f := range files {
		for _, n := range []int{1, 2, 7, 50, 20000} {
			s, err := Load(f, Options{Getenv: env, Users: &n})
			if err != nil {
				t.Errorf("%s --users %d: %v", f, n, err)
				continue
			}
			if s.MaxUsers() != n {
				t.Errorf("%s --users %d: at most %d users online", f, n, s.MaxUsers())
			}
		}
		s, err := Load(f, Options{Getenv: env})
		if err != nil {
			t.Fatal(err)
		}
		for _, mr := range s.Thresholds.Metrics {
			m, _ := LookupMetric(mr.Metric)
			for _, r := range mr.Rules {
				if r.Agg == AggRate || m.Kind == KindGauge || (r.Agg == AggCount && r.Value != 0) {
					t.Errorf("%s: %s %q depends on the number of users", f, mr.Metric, r.Source)
				}
			}
		}
	}
}

// TestSeed checks the seed key, its override and its echo.
func TestSeed(t *testing.T) {
	s, err := testParse(base+"seed: 9_007_199_254_740_991\n", Options{})
	if err != nil || s.Seed != MaxSeed {
		t.Fatalf("seed = %d, %v", s.Seed, err)
	}
	js, _ := json.Marshal(s)
	if !strings.Contains(string(js), `"seed":9007199254740991`) {
		t.Errorf("the echo has no seed: %s", js)
	}
	checkRoundTrip(t, s)
	if s, err := testParse(base, Options{}); err != nil || s.Seed != 0 || strings.Contains(mustJSON(t, s), "seed") {
		t.Errorf("no seed: %d, %v", s.Seed, err)
	}
	seven := uint64(7)
	if s, err := testParse(base+"seed: 42\n", Options{Seed: &seven}); err != nil || s.Seed != 7 {
		t.Errorf("seed override: %d, %v", s.Seed, err)
	}
	// --seed takes the file's range; 0 is not "no seed" there but an
	// error, or a run given --seed 0 would quietly pick a random one.
	for _, bad := range []uint64{0, MaxSeed + 1} {
		want := fmt.Sprintf("--seed %d: must be a whole number between 1 and 9007199254740991 (leave --seed out to have the run pick one)", bad)
		if _, err := testParse(base+"seed: 42\n", Options{Seed: &bad}); err == nil || err.Error() != want {
			t.Errorf("--seed %d: got %v, want %s", bad, err, want)
		}
	}
	for in, want := range map[string]string{
		"0":                `/s/t.yaml:6:7: seed: must be a whole number between 1 and 9007199254740991 (leave seed out to have the run pick one), got "0"`,
		"-1":               `/s/t.yaml:6:7: seed: must be a whole number between 1 and 9007199254740991 (leave seed out to have the run pick one), got "-1"`,
		"9007199254740992": `/s/t.yaml:6:7: seed: must be a whole number between 1 and 9007199254740991 (leave seed out to have the run pick one), got "9007199254740992"`,
		`"5"`:              `/s/t.yaml:6:7: seed: must be a whole number, got "5"`,
		"1.5":              `/s/t.yaml:6:7: seed: must be a whole number, got "1.5"`,
	} {
		if _, err := testParse(base+"seed: "+in+"\n", Options{}); err == nil || err.Error() != want {
			t.Errorf("seed: %s: got\n%v\nwant\n%s", in, err, want)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(js)
}

// TestHash checks that the hash recognises the same scenario however it
// is written, and tells different ones apart.
func TestHash(t *testing.T) {
	hash := func(yaml string, opts Options) string {
		t.Helper()
		s, err := testParse(yaml, opts)
		if err != nil {
			t.Fatal(err)
		}
		return s.Hash()
	}
	h := hash(staged, Options{})
	if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
		t.Fatalf("hash %q is not SHA-256 hex", h)
	}
	same := map[string]string{
		"defaults written": strings.Replace(staged, "reconnect: sdk", "reconnect: sdk, connect_rate: 100/s, keep_alive: 30s", 1),
		"a percentage":     strings.Replace(staged, "users: 30 }", "users: 30% }", 1),
		"another secret":   strings.Replace(staged, "s3cret-value", "other-secret", 1),
		"a comment":        "# a comment\n" + staged,
	}
	for name, yaml := range same {
		if got := hash(yaml, Options{}); got != h {
			t.Errorf("%s: hash differs", name)
		}
	}
	if s, _ := Parse("/elsewhere/x.yaml", []byte(staged), Options{Getenv: testEnv}); s == nil || s.Hash() != h {
		t.Error("the file path changes the hash")
	}
	seed := uint64(1)
	fifty := 50
	different := map[string]string{
		"users":  hash(staged, Options{Users: &fifty}),
		"seed":   hash(staged, Options{Seed: &seed}),
		"set":    hash(staged, Options{Set: []string{"behaviours.telemetry.every=2s"}}),
		"a name": hash(strings.Replace(staged, "name: o", "name: p", 1), Options{}),
	}
	for name, got := range different {
		if got == h {
			t.Errorf("%s: same hash", name)
		}
	}
}

// TestEnvDefault checks ${NAME:-default} in a scenario: the default text
// may be shown in a message, an environment value never is.
func TestEnvDefault(t *testing.T) {
	s, err := testParse(strings.Replace(base, "users: 10", `users: "${NOPE:-7}"`, 1), Options{})
	if err != nil || s.Fleet.Users != 7 {
		t.Fatalf("users = %v, %v", s, err)
	}
	tests := []struct{ value, want string }{
		{`"${NOPE:-many}"`, `/s/t.yaml:5:17: fleet.users: must be an integer, got "many"`},
		{`"${EMPTY:-many}"`, `/s/t.yaml:5:17: fleet.users: must be an integer, got "many"`},
		{`"${WORD:-5}"`, `/s/t.yaml:5:17: fleet.users: must be an integer, got "${WORD:-5}" (value from the environment not shown)`},
	}
	for _, tc := range tests {
		_, err := testParse(strings.Replace(base, "users: 10", "users: "+tc.value, 1), Options{})
		if err == nil || err.Error() != tc.want {
			t.Errorf("users: %s: got\n%v\nwant\n%s", tc.value, err, tc.want)
		}
	}
	// A secret from the environment is scrubbed even where a default is written.
	_, err = testParse(strings.Replace(base, "duration: 10s", "duration: 10s\ndescription: \"${SECRET:-x}\"\nname2: 1", 1), Options{})
	if err == nil || strings.Contains(err.Error(), "Recognisable") {
		t.Errorf("got %v", err)
	}
}
