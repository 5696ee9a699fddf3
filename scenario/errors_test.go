package scenario

import (
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
)

// base is a valid scenario of exactly five lines; cases append from line 6.
const base = `version: 1
name: t
duration: 10s
identity: { app_id: a, app_secret: s3cret-value }
fleet: { users: 10 }
`

// testEnv is the environment of the table tests.
func testEnv(name string) (string, bool) {
	v, ok := map[string]string{
		"USERS":  "50",
		"SECRET": "Recognisable-Secret-9f8e7d",
		"EMPTY":  "",
		"RATE":   "5/s",
		"WORD":   "lots",
	}[name]
	return v, ok
}

// testFiles is the file system the table tests' Open sees.
var testFiles = map[string]string{
	"/s/ok.csv": "appId,externalUserId,userHash\n" +
		"partner-app,user-123,0472633cf459d59890066f38b1f5bae4ca8839dc25078ee7af231a97e7b3d703\n",
	"/s/bad.csv": "appId,externalUserId,userHash\n" +
		"partner-app,user-123,0472633cf459d59890066f38b1f5bae4ca8839dc25078ee7af231a97e7b3d703\n" + // row 1: fine
		"partner-app,user-2\n" + // row 2: two columns
		"partner-app,,0472633cf459d59890066f38b1f5bae4ca8839dc25078ee7af231a97e7b3d703\n" + // row 3: empty id
		"partner-app,user-4,0472633CF459D59890066F38B1F5BAE4CA8839DC25078EE7AF231A97E7B3D703\n" + // row 4: uppercase hex
		"partner-app,user-5,abc\n" + // row 5: too short
		"partner-app,user-123,0472633cf459d59890066f38b1f5bae4ca8839dc25078ee7af231a97e7b3d703\n", // row 6: duplicate of row 1
	"/s/quote.csv":    "partner-app,\"user-1,0472\n",
	"/s/empty.csv":    "appId,externalUserId,userHash\n",
	"/s/other.csv":    "other-app,user-123,0472633cf459d59890066f38b1f5bae4ca8839dc25078ee7af231a97e7b3d703\n",
	"/s/wrongsig.csv": "partner-app,user-123,0472633cf459d59890066f38b1f5bae4ca8839dc25078ee7af231a97e7b3d704\n",
}

func testOpen(name string) (io.ReadCloser, error) {
	if data, ok := testFiles[name]; ok {
		return io.NopCloser(strings.NewReader(data)), nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

func testParse(yaml string, opts Options) (*Scenario, error) {
	if opts.Getenv == nil {
		opts.Getenv = testEnv
	}
	if opts.Open == nil {
		opts.Open = testOpen
	}
	return Parse("/s/t.yaml", []byte(yaml), opts)
}

// TestParseErrors checks one class of problem per row: the exact, complete
// error output, so line, column, path and wording are all asserted, and
// nothing else is reported.
func TestParseErrors(t *testing.T) {
	users, zero := 300, 0
	tests := []struct {
		name string
		yaml string
		opts Options
		want string // every line of err.Error(), in order
	}{
		// Malformed YAML: yaml.v3's own message, at its line.
		{"syntax", base + "stages:\n  - { for: 10s\n",
			Options{}, `/s/t.yaml:7: invalid YAML: did not find expected ',' or '}'`},
		// A tab used for indentation gets a hint.
		{"tab", "version: 1\nfleet:\n\tusers: 10\n",
			Options{}, `/s/t.yaml:3: invalid YAML: found character that cannot start any token (tabs cannot indent YAML: use spaces)`},
		// ${...} unquoted inside a flow mapping is a YAML error; the hint says to quote it.
		{"flow env", "version: 1\nidentity: { app_secret: ${SECRET} }\n",
			Options{}, `/s/t.yaml:2: invalid YAML: did not find expected ',' or '}' (inside { } or [ ], quote values that contain ${...}: "${NAME}")`},
		// Two documents in one file.
		{"two documents", base + "---\nversion: 1\n",
			Options{}, `/s/t.yaml:6:1: only one YAML document is allowed (remove the second ---)`},
		// An empty file.
		{"empty", "# nothing\n",
			Options{}, `/s/t.yaml: the file is empty (a scenario starts with ` + "`version: 1`" + `)`},
		// The top level is not a mapping.
		{"top list", "- version: 1\n",
			Options{}, `/s/t.yaml:1:1: the top level must be a mapping of keys (version, name, ...), got a list`},
		// No version: nothing else is checked.
		{"no version", "name: t\nfleet: { userz: 1 }\n",
			Options{}, "/s/t.yaml:1:1: version: required: add `version: 1` (the only version)"},
		// A future version: nothing else is checked.
		{"version 2", "version: 2\nname: t\n",
			Options{}, `/s/t.yaml:1:10: version: unsupported version 2 (the only version is 1)`},
		// Unknown key with a close match.
		{"unknown key", base + "behaviors: {}\n",
			Options{}, `/s/t.yaml:6:1: behaviors: unknown key (did you mean behaviours?)`},
		// Unknown nested key without a close match lists the valid ones.
		{"unknown key list", base + "output: { directory_name: x }\n",
			Options{}, `/s/t.yaml:6:11: output.directory_name: unknown key (expected one of: dir)`},
		// A key given twice.
		{"duplicate key", base + "name: u\n",
			Options{}, `/s/t.yaml:6:1: name: duplicate key (first at line 2)`},
		// A stage rate for a behaviour that does not exist.
		{"stage rate unknown behaviour", strings.Replace(base, "duration: 10s\n", "", 1) + "stages: [{ for: 5s, rates: { soss: 1/s } }]\nbehaviours: { sos: { rate: 1/s } }\n",
			Options{}, `/s/t.yaml:5:36: stages[0].rates.soss: unknown behaviour "soss" (did you mean sos?)`},
		// A stage rate for a behaviour that is off, and a bad ramp.
		{"stage rate off", strings.Replace(base, "duration: 10s\n", "", 1) + "stages: [{ for: 5s, rates: { contacts: 1/s }, ramp: smooth }]\n",
			Options{}, "/s/t.yaml:5:40: stages[0].rates.contacts: cannot set a rate: behaviours.contacts is off\n" +
				`/s/t.yaml:5:53: stages[0].ramp: unknown ramp "smooth" (expected one of: step, linear)`},
		// A stage rate for telemetry that uses every (closed model).
		{"stage rate closed telemetry", strings.Replace(base, "duration: 10s\n", "", 1) + "stages: [{ for: 5s, rates: { telemetry: 1/s } }]\nbehaviours: { telemetry: { every: 1s } }\n",
			Options{}, "/s/t.yaml:5:41: stages[0].rates.telemetry: cannot set a rate: behaviours.telemetry uses `every` (closed model), not `rate`"},
		// Wrong type: a word where an integer belongs.
		{"wrong type", strings.Replace(base, "users: 10", "users: many", 1),
			Options{}, `/s/t.yaml:5:17: fleet.users: must be an integer, got "many"`},
		// Wrong type: a quoted number is a string.
		{"quoted int", strings.Replace(base, "users: 10", `users: "10"`, 1),
			Options{}, `/s/t.yaml:5:17: fleet.users: must be an integer, got "10"`},
		// Wrong type: a list where a mapping belongs.
		{"list for mapping", base + "target: [a]\n",
			Options{}, `/s/t.yaml:6:9: target: must be a mapping with keys http, mqtt, tls, embedded, got a list`},
		// Wrong type: yes is not a boolean.
		{"yes is not a bool", base + "behaviours: { telemetry: { every: 1s, battery: yes } }\n",
			Options{}, `/s/t.yaml:6:48: behaviours.telemetry.battery: must be true or false, got "yes"`},
		// Bad duration: a number without a unit.
		{"bad duration", strings.Replace(base, "duration: 10s", "duration: 10", 1),
			Options{}, `/s/t.yaml:3:11: duration: must be a duration like 500ms, 30s or 1h30m, got "10" (missing unit)`},
		// Bad rate: /m is ambiguous.
		{"bad rate", base + "behaviours: { sos: { rate: 5/m } }\n",
			Options{}, `/s/t.yaml:6:28: behaviours.sos.rate: must be a rate like 5/s, 60/min or 100/h, got "5/m" ("/m" is ambiguous: write /min)`},
		// Bad percentage: no % sign.
		{"bad percent", base + "behaviours: { telemetry: { every: 1s, jitter: 0.2 } }\n",
			Options{}, `/s/t.yaml:6:47: behaviours.telemetry.jitter: must be a percentage like 5% or 0.1%, got "0.2" (missing %)`},
		// Bad percentage: above 100%.
		{"percent range", base + "target: { embedded: { event_drop: 150% } }\n",
			Options{}, `/s/t.yaml:6:35: target.embedded.event_drop: must be a percentage like 5% or 0.1%, got "150%" (must be between 0% and 100%)`},
		// Bad latency distribution.
		{"bad latency", base + "target: { embedded: { http_latency: \"uniform:50ms-10ms\" } }\n",
			Options{}, `/s/t.yaml:6:37: target.embedded.http_latency: must be "20ms", "uniform:10ms-50ms" or "lognormal:40ms,0.5", got "uniform:50ms-10ms" (uniform latency needs 0 <= Min <= Max)`},
		// Negative and zero where not allowed.
		{"negative and zero", base + "stages:\n  - { for: -5s, users: 5 }\n  - { for: 0s, users: -1 }\n",
			Options{}, strings.Join([]string{
				`/s/t.yaml:3:11: duration: use either duration (one stage with fleet.users online) or stages, not both`,
				`/s/t.yaml:7:12: stages[0].for: must be > 0, got -5s`,
				`/s/t.yaml:8:12: stages[1].for: must be > 0, got 0s`,
				`/s/t.yaml:8:23: stages[1].users: must be >= 0, got -1`,
			}, "\n")},
		// Zero fleet users.
		{"zero users", strings.Replace(base, "users: 10", "users: 0", 1),
			Options{}, `/s/t.yaml:5:17: fleet.users: must be >= 1, got 0`},
		// Missing fleet.users is reported at the fleet key.
		{"missing users", strings.Replace(base, "fleet: { users: 10 }", "fleet: { connect_rate: 5/s }", 1),
			Options{}, `/s/t.yaml:5:1: fleet.users: required: the number of users (>= 1)`},
		// Zero users online with non-zero rates.
		{"zero users with rates", strings.Replace(base, "duration: 10s\n", "", 1) +
			"stages: [{ for: 10s, users: 0 }]\nbehaviours: { sos: { rate: 1/s } }\n",
			Options{}, `/s/t.yaml:5:9: stages: every stage has 0 users online, so nothing would run (yet behaviours.sos.rate is 1/s)`},
		// A stage above fleet.users.
		{"stage above users", strings.Replace(base, "duration: 10s\n", "", 1) +
			"stages:\n  - { for: 10s, users: 5 }\n  - { for: 10s, users: 30 }\n",
			Options{}, `/s/t.yaml:7:24: stages[1].users: must be <= fleet.users (10), got 30`},
		// The Users override makes a stage too big; the message says so.
		{"override users", base, Options{Users: &zero},
			`/s/t.yaml:5:17: fleet.users: must be >= 1, got 0 (overridden on the command line)`},
		// Override above the stages is fine with the duration shorthand.
		{"override users 300 ok", strings.Replace(base, "duration: 10s\n", "", 1) +
			"stages: [{ for: 10s, users: 400 }]\n",
			Options{Users: &users}, `/s/t.yaml:5:29: stages[0].users: must be <= fleet.users (300), got 400`},
		// Both duration and stages.
		{"duration and stages", base + "stages: [{ for: 10s }]\n",
			Options{}, `/s/t.yaml:3:11: duration: use either duration (one stage with fleet.users online) or stages, not both`},
		// Neither duration nor stages.
		{"neither duration nor stages", strings.Replace(base, "duration: 10s\n", "", 1),
			Options{}, `/s/t.yaml:1:1: stages: required: give duration (one stage with fleet.users online) or stages`},
		// An unset variable: the message names it.
		{"unset variable", strings.Replace(base, "users: 10", `users: "${NOPE}"`, 1),
			Options{}, `/s/t.yaml:5:17: fleet.users: environment variable NOPE is not set`},
		// A $NAME without braces is an error, without echoing the text.
		{"bare dollar name", base + "description: pa$word\n",
			Options{}, `/s/t.yaml:6:14: description: a $ followed by a name is not expanded: write ${NAME} to expand, or $$ for a literal $`},
		// An unterminated ${.
		{"unterminated", base + "description: \"${X\"\n",
			Options{}, `/s/t.yaml:6:14: description: unterminated ${ (write $$ for a literal $)`},
		// A value from the environment of the wrong type is not echoed.
		{"env wrong type", strings.Replace(base, "users: 10", `users: "${WORD}"`, 1),
			Options{}, `/s/t.yaml:5:17: fleet.users: must be an integer, got "${WORD}" (value from the environment not shown)`},
		// Unknown metric, with a close match (the k6 #1526 trap).
		{"unknown metric", base + "thresholds:\n  sos.deliverd: [\"p(95) < 2s\"]\n",
			Options{}, `/s/t.yaml:7:3: thresholds.sos.deliverd: unknown metric (did you mean sos.delivered?)`},
		// Unknown metric given with an underscore.
		{"unknown metric underscore", base + "thresholds:\n  telemetry_puback: [\"p(95) < 2s\"]\n",
			Options{}, `/s/t.yaml:7:3: thresholds.telemetry_puback: unknown metric (did you mean telemetry.puback?)`},
		// Malformed rules: each is reported at its own position.
		{"malformed rules", base + "behaviours: { telemetry: { every: 1s } }\nthresholds:\n" +
			"  telemetry.puback: [\"p95 < 2s\", \"p(95) < 2\", \"avg = 1s\", \"errors < 1\", \"p(101) < 1s\", \"median < 1s\", \"count > 1.5\"]\n",
			Options{}, strings.Join([]string{
				`/s/t.yaml:8:22: thresholds.telemetry.puback[0]: invalid rule "p95 < 2s": write p(95), not p95`,
				`/s/t.yaml:8:34: thresholds.telemetry.puback[1]: invalid rule "p(95) < 2": value must be a duration like 500ms, 30s or 1h30m, got "2"`,
				`/s/t.yaml:8:47: thresholds.telemetry.puback[2]: invalid rule "avg = 1s": unknown operator "="; want <, <=, > or >=`,
				`/s/t.yaml:8:59: thresholds.telemetry.puback[3]: invalid rule "errors < 1": value must be a percentage like 5% or 0.1%, got "1"`,
				`/s/t.yaml:8:73: thresholds.telemetry.puback[4]: invalid rule "p(101) < 1s": percentile must be a number with 0 < N <= 100, got "101"`,
				`/s/t.yaml:8:88: thresholds.telemetry.puback[5]: invalid rule "median < 1s": unknown aggregation "median"; want p(N), avg, min, max, errors, count or rate`,
				`/s/t.yaml:8:103: thresholds.telemetry.puback[6]: invalid rule "count > 1.5": value must be a whole number >= 0, got "1.5"`,
			}, "\n")},
		// A latency aggregation on a counter.
		{"latency agg on counter", base + "thresholds:\n  mqtt.disconnects: [\"p(99) < 1s\"]\n",
			Options{}, `/s/t.yaml:7:22: thresholds.mqtt.disconnects[0]: invalid rule "p(99) < 1s": p(99) does not apply to a counter metric (use count, rate)`},
		// A metric whose behaviour is off could never be checked.
		{"metric without samples", base + "thresholds:\n  sos.delivered: [\"p(95) < 2s\"]\n",
			Options{}, `/s/t.yaml:7:3: thresholds.sos.delivered: has no samples in this scenario: it needs behaviours.sos (a rule on it could never be checked)`},
		// abort_on_fail naming a metric without rules, and an unknown one.
		{"abort_on_fail", base + "thresholds:\n  mqtt.connect: [\"p(95) < 1s\"]\n  abort_on_fail: [mqtt.subscribe, mqtt.conect]\n",
			Options{}, strings.Join([]string{
				`/s/t.yaml:8:19: thresholds.abort_on_fail[0]: mqtt.subscribe has no rules in thresholds: add rules for it, e.g. mqtt.subscribe: ["p(95) < 2s"]`,
				`/s/t.yaml:8:35: thresholds.abort_on_fail[1]: unknown metric "mqtt.conect" (did you mean mqtt.connect?)`,
			}, "\n")},
		// abort_on_fail on a metric whose rules are all judged at the end only.
		{"abort_on_fail end-only rules", base + "thresholds:\n  mqtt.connect: [\"count > 0\", \"rate >= 1/s\"]\n  abort_on_fail: [mqtt.connect]\n",
			Options{}, `/s/t.yaml:8:19: thresholds.abort_on_fail[0]: mqtt.connect has no rule that can fail before the run ends, so it could never abort it (rates, lower bounds on count, max, p(N), avg and errors, and upper bounds on min are judged at the end): add an upper bound such as "p(95) < 2s"`},
		// abort_grace not shorter than the run.
		{"abort_grace", base + "thresholds:\n  mqtt.connect: [\"p(95) < 1s\"]\n  abort_on_fail: [mqtt.connect]\n  abort_grace: 10s\n",
			Options{}, `/s/t.yaml:9:16: thresholds.abort_grace: must be shorter than the run (10s), got 10s: abort_on_fail could never stop it`},
		// Embedded-only keys with an external target.
		{"embedded with external", base + "target:\n  http: https://api.x\n  mqtt: wss://api.x/ws\n  embedded: { ack_delay: 1s }\n",
			Options{}, `/s/t.yaml:9:13: target.embedded: only allowed when target.http and target.mqtt are omitted (the embedded backend does not run for an external target)`},
		// TLS settings with the embedded backend.
		{"tls with embedded", base + "target: { tls: { insecure_skip_verify: true } }\n",
			Options{}, `/s/t.yaml:6:16: target.tls: only applies to an external target (target.http and target.mqtt); the embedded backend listens without TLS`},
		// Unknown URL schemes, a query, and a path on a TCP broker.
		{"url schemes", base + "target:\n  http: api.x:443\n  mqtt: mqtt+ws://b\n",
			Options{}, strings.Join([]string{
				`/s/t.yaml:7:9: target.http: unknown scheme "api.x" (want http://, https://)`,
				`/s/t.yaml:8:9: target.mqtt: unknown scheme "mqtt+ws" (want tcp://, mqtt://, mqtts://, ssl://, tls://, ws://, wss://)`,
			}, "\n")},
		{"url shape", base + "target:\n  http: https://api.x/?v=1\n  mqtt: tcp://b:1883/ws\n",
			Options{}, strings.Join([]string{
				`/s/t.yaml:7:9: target.http: must not have a query or fragment (the SDK appends paths to it)`,
				`/s/t.yaml:8:9: target.mqtt: a path is only used with ws:// and wss:// (got path "/ws")`,
			}, "\n")},
		// Only one of http and mqtt.
		{"http without mqtt", base + "target: { http: https://api.x }\n",
			Options{}, `/s/t.yaml:6:1: target.mqtt: required with target.http (omit both for the embedded backend)`},
		// Missing app_secret for the embedded target.
		{"embedded without secret", strings.Replace(base, "app_secret: s3cret-value", "user_id: \"u-{{.N}}\"", 1),
			Options{}, `/s/t.yaml:4:1: identity.app_secret: required with the embedded target: the in-process backend verifies user hashes with it`},
		// Missing app_secret for an external target without sessions.
		{"external without secret", strings.Replace(base, ", app_secret: s3cret-value", "", 1) +
			"target: { http: https://a.x, mqtt: wss://a.x/ws }\n",
			Options{}, `/s/t.yaml:4:1: identity.app_secret: required to sign user ids (or give identity.sessions_file with pre-signed sessions)`},
		// A secret from the environment that is empty is missing.
		{"empty env secret", strings.Replace(base, "app_secret: s3cret-value", `app_secret: "${EMPTY}"`, 1),
			Options{}, `/s/t.yaml:4:36: identity.app_secret: required with the embedded target: the in-process backend verifies user hashes with it`},
		// A user id template without {{.N}}.
		{"user id without N", strings.Replace(base, "app_secret: s3cret-value", "app_secret: x, user_id: fixed", 1),
			Options{}, `/s/t.yaml:4:48: identity.user_id: renders the same id "fixed" for users 0 and 1: it has no {{.N}}`},
		// A user id template whose client ids collide after the 64-character cut.
		{"client id collision", strings.Replace(base, "app_secret: s3cret-value", "app_secret: x, user_id: \""+strings.Repeat("u", 60)+"{{.N}}\"", 1),
			Options{}, `/s/t.yaml:4:48: identity.user_id: users 0 and 1 get the same MQTT client id "eixam_a_` + strings.Repeat("u", 56) + `" (characters outside [A-Za-z0-9_-] become _ and ids are cut at 64, contract §3.1): shorten identity.app_id or the id prefix`},
		// A user id template with an unknown field.
		{"user id field", strings.Replace(base, "app_secret: s3cret-value", "app_secret: x, user_id: \"u-{{.Index}}\"", 1),
			Options{}, `/s/t.yaml:4:48: identity.user_id: cannot render user 0: unknown field .Index (use {{.N}})`},
		// Sessions CSV that cannot be read.
		{"sessions unreadable", strings.Replace(base, "app_secret: s3cret-value", "sessions_file: missing.csv", 1) +
			"target: { http: https://a.x, mqtt: wss://a.x/ws }\n",
			Options{}, `/s/t.yaml:4:39: identity.sessions_file: cannot read /s/missing.csv: file does not exist`},
		// Sessions CSV problems, each at its line in the CSV, with its row number.
		{"sessions rows", "version: 1\nname: t\nduration: 1s\nidentity: { sessions_file: bad.csv }\ntarget: { http: https://a.x, mqtt: wss://a.x/ws }\n",
			Options{}, strings.Join([]string{
				`/s/bad.csv:3:1: identity.sessions_file: row 2: 2 columns, want 3 (appId,externalUserId,userHash)`,
				`/s/bad.csv:4:13: identity.sessions_file: row 3: empty externalUserId`,
				`/s/bad.csv:5:20: identity.sessions_file: row 4: userHash must be 64 lowercase hex characters (hex HMAC-SHA256)`,
				`/s/bad.csv:6:20: identity.sessions_file: row 5: userHash must be 64 lowercase hex characters (hex HMAC-SHA256)`,
				`/s/bad.csv:7:1: identity.sessions_file: row 6: same appId and externalUserId as row 1`,
			}, "\n")},
		// A CSV syntax error.
		{"sessions quote", "version: 1\nname: t\nduration: 1s\nidentity: { sessions_file: quote.csv }\ntarget: { http: https://a.x, mqtt: wss://a.x/ws }\n",
			Options{}, `/s/quote.csv:1:26: identity.sessions_file: malformed CSV: extraneous or missing " in quoted-field`},
		// A CSV with only a header.
		{"sessions empty", "version: 1\nname: t\nduration: 1s\nidentity: { sessions_file: empty.csv }\ntarget: { http: https://a.x, mqtt: wss://a.x/ws }\n",
			Options{}, `/s/t.yaml:4:28: identity.sessions_file: /s/empty.csv has no sessions (want rows of appId,externalUserId,userHash)`},
		// Rows of another app than identity.app_id.
		{"sessions other app", "version: 1\nname: t\nduration: 1s\nidentity: { app_id: partner-app, sessions_file: other.csv }\ntarget: { http: https://a.x, mqtt: wss://a.x/ws }\n",
			Options{}, `/s/other.csv:1:1: identity.sessions_file: row 1: appId "other-app" differs from identity.app_id "partner-app"`},
		// Hashes that the secret did not sign.
		{"sessions wrong signature", "version: 1\nname: t\nduration: 1s\nidentity: { app_id: partner-app, app_secret: test-secret, sessions_file: wrongsig.csv }\n",
			Options{}, `/s/wrongsig.csv:1:22: identity.sessions_file: row 1: userHash is not the HMAC of externalUserId with identity.app_secret`},
		// More users than sessions.
		{"users above sessions", "version: 1\nname: t\nduration: 1s\nidentity: { sessions_file: ok.csv }\nfleet: { users: 2 }\ntarget: { http: https://a.x, mqtt: wss://a.x/ws }\n",
			Options{}, `/s/t.yaml:5:17: fleet.users: must be <= the 1 sessions in identity.sessions_file, got 2`},
		// user_id and sessions_file together.
		{"user id with sessions", "version: 1\nname: t\nduration: 1s\nidentity: { sessions_file: ok.csv, user_id: \"x{{.N}}\" }\ntarget: { http: https://a.x, mqtt: wss://a.x/ws }\n",
			Options{}, `/s/t.yaml:4:45: identity.user_id: cannot be combined with identity.sessions_file (the ids come from the file)`},
		// Login order.
		{"login order", base + "behaviours: { login: [sos_rehydrate] }\n",
			Options{}, strings.Join([]string{
				`/s/t.yaml:6:23: behaviours.login[0]: sos_rehydrate needs me before it, as in the SDK (contract §6.1): write [me, sos_rehydrate]`,
			}, "\n")},
		// An empty login sequence.
		{"login empty", base + "behaviours: { login: [] }\n",
			Options{}, `/s/t.yaml:6:22: behaviours.login: must start with me: the SDK needs GET /v1/sdk/me for the canonical user id before MQTT (contract §1.4)`},
		// Telemetry needs exactly one of every and rate.
		{"telemetry neither", base + "behaviours: { telemetry: { qos: 1 } }\n",
			Options{}, `/s/t.yaml:6:26: behaviours.telemetry: needs every (each user publishes every N, e.g. 5s) or rate (fleet-wide, e.g. 100/s)`},
		// SOS without a rate; contacts with a zero mix.
		{"sos and mix", base + "behaviours:\n  sos: { hold: 1s }\n  contacts: { rate: 1/s, mix: { list: 0 } }\n",
			Options{}, strings.Join([]string{
				`/s/t.yaml:7:3: behaviours.sos.rate: required: arrivals per time across the fleet, e.g. 60/min`,
				`/s/t.yaml:8:31: behaviours.contacts.mix: weights must add up to more than 0 (operations: list, create, update, delete)`,
			}, "\n")},
		// Reconnect settings that only apply to backoff.
		{"sdk reconnect settings", strings.Replace(base, "users: 10", "users: 10, reconnect: { policy: sdk, jitter: 10% }", 1),
			Options{}, `/s/t.yaml:5:55: fleet.reconnect.jitter: only applies to policy backoff: add ` + "`policy: backoff`" + ` (policy sdk, the default, is the SDK's fixed 2s wait)`},
		// Keep-alive in whole seconds.
		{"keep alive", strings.Replace(base, "users: 10", "users: 10, keep_alive: 1500ms", 1),
			Options{}, `/s/t.yaml:5:33: fleet.keep_alive: must be whole seconds (MQTT counts keep-alive in seconds), got 1.5s`},
		// Source IPs: a backwards range.
		{"source ips", strings.Replace(base, "users: 10", "users: 10, source_ips: 127.0.0.9-127.0.0.2", 1),
			Options{}, `/s/t.yaml:5:33: fleet.source_ips: range must go from a lower to a higher address of the same family, got "127.0.0.9-127.0.0.2"`},
		// Embedded knobs: an unknown transport and an unknown endpoint.
		{"embedded knobs", base + "target: { embedded: { transport: udp, error_rate: { sos_cancle: 5% } } }\n",
			Options{}, strings.Join([]string{
				`/s/t.yaml:6:34: target.embedded.transport: unknown transport "udp" (expected one of: tcp, ws)`,
				`/s/t.yaml:6:53: target.embedded.error_rate.sos_cancle: unknown endpoint (did you mean sos_cancel?)`,
			}, "\n")},
		// Telemetry: jitter with a rate, arrivals with every, and positions off the globe.
		{"telemetry shape", base + "behaviours:\n  telemetry: { rate: 5/s, jitter: 5%, qos: 3, position: { around: [91, 2], radius_km: -1 } }\n",
			Options{}, strings.Join([]string{
				`/s/t.yaml:7:35: behaviours.telemetry.jitter: only applies with every (a rate's arrivals are already spread)`,
				`/s/t.yaml:7:44: behaviours.telemetry.qos: must be 0, 1 (the SDK's) or 2, got 3`,
				`/s/t.yaml:7:68: behaviours.telemetry.position.around[0]: latitude must be -90..90, got 91`,
				`/s/t.yaml:7:87: behaviours.telemetry.position.radius_km: must be 0..20000, got -1`,
			}, "\n")},
		{"telemetry arrivals with every", base + "behaviours: { telemetry: { every: 1s, arrivals: poisson } }\n",
			Options{}, `/s/t.yaml:6:49: behaviours.telemetry.arrivals: only applies with rate`},
		// Reconnect: an unknown policy; max below initial.
		{"reconnect policy", strings.Replace(base, "users: 10", "users: 10, reconnect: exponential", 1),
			Options{}, `/s/t.yaml:5:32: fleet.reconnect: unknown policy "exponential" (expected one of: sdk, backoff)`},
		{"reconnect max", strings.Replace(base, "users: 10", "users: 10, reconnect: { policy: backoff, initial: 5s, max: 1s }", 1),
			Options{}, `/s/t.yaml:5:69: fleet.reconnect.max: must be >= reconnect.initial (5s), got 1s`},
		// Timeouts must be positive; source IPs must not repeat.
		{"fleet values", strings.Replace(base, "users: 10", "users: 10, connect_timeout: 0s, source_ips: [10.0.0.1, 10.0.0.1-10.0.0.2]", 1),
			Options{}, strings.Join([]string{
				`/s/t.yaml:5:38: fleet.connect_timeout: must be > 0, got 0s`,
				`/s/t.yaml:5:54: fleet.source_ips: lists 10.0.0.1 twice`,
			}, "\n")},
		// An integer too large.
		{"huge users", strings.Replace(base, "users: 10", "users: 99999999999", 1),
			Options{}, `/s/t.yaml:5:17: fleet.users: must be an integer between -2147483648 and 2147483647, got "99999999999"`},
		// Stage names must be unique.
		{"stage names", strings.Replace(base, "duration: 10s\n", "", 1) + "stages: [{ name: a, for: 1s }, { name: a, for: 1s }]\n",
			Options{}, `/s/t.yaml:5:40: stages[1].name: "a" is also the name of stages[0]`},
		// No name.
		{"no name", strings.Replace(base, "name: t\n", "", 1),
			Options{}, "/s/t.yaml:1:1: name: required: a short name for the results, e.g. `name: smoke`"},
		// An app id with a colon would break the MQTT username.
		{"app id colon", strings.Replace(base, "app_id: a", `app_id: "a:b"`, 1),
			Options{}, `/s/t.yaml:4:21: identity.app_id: must not contain ':' (it separates the parts of the MQTT username sdk:<appId>:<externalUserId>)`},
		// Credentials in a URL.
		{"url credentials", base + "target: { http: \"https://u:p@api.x\", mqtt: wss://api.x/ws }\n",
			Options{}, `/s/t.yaml:6:17: target.http: must not contain credentials (the SDK authenticates with the user's hash)`},
		// An unknown login step.
		{"login step", base + "behaviours: { login: [mee] }\n",
			Options{}, `/s/t.yaml:6:23: behaviours.login[0]: unknown login step "mee" (did you mean me?)`},
		// A metric without rules; abort_grace without abort_on_fail.
		{"empty rules and grace", base + "thresholds: { mqtt.connect: [], abort_grace: 1s }\n",
			Options{}, strings.Join([]string{
				`/s/t.yaml:6:29: thresholds.mqtt.connect: needs at least one rule, e.g. ["p(95) < 2s"]`,
				`/s/t.yaml:6:46: thresholds.abort_grace: has no effect without abort_on_fail`,
			}, "\n")},
		// Aliases are refused.
		{"alias", strings.Replace(base, "name: t", "name: &n t", 1) + "description: *n\n",
			Options{}, `/s/t.yaml:6:14: description: aliases (*n) are not supported: repeat the value`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := testParse(tc.yaml, tc.opts)
			if err == nil {
				t.Fatalf("Parse succeeded, want:\n%s\ngot scenario %+v", tc.want, s)
			}
			if s != nil {
				t.Errorf("Parse returned a scenario with an error")
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("errors:\ngot:\n%s\nwant:\n%s", got, tc.want)
			}
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("errors.As(ErrorList) failed for %T", err)
			}
			var first *Error
			if !errors.As(err, &first) || first != list[0] {
				t.Errorf("errors.As(*Error) did not find the first entry")
			}
		})
	}
}

// TestNoFollowOnErrors checks that a value that could not be read causes
// one error, not also complaints about its default.
func TestNoFollowOnErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		// A bad telemetry rate is not also "needs every or rate".
		{"telemetry rate", base + "behaviours: { telemetry: { rate: 0/s } }\n",
			`/s/t.yaml:6:34: behaviours.telemetry.rate: must be a rate like 5/s, 60/min or 100/h, got "0/s" (must be greater than 0)`},
		// A bad weight is not also "weights must add up".
		{"mix weight", base + "behaviours: { devices: { rate: 1/s, mix: { list: x } } }\n",
			`/s/t.yaml:6:50: behaviours.devices.mix.list: must be an integer, got "x"`},
		// A bad secret type is not also "required".
		{"secret type", strings.Replace(base, "app_secret: s3cret-value", "app_secret: [x]", 1),
			`/s/t.yaml:4:36: identity.app_secret: must be a string, got a list`},
		// A bad user count is not also a stage problem.
		{"users", strings.NewReplacer("duration: 10s", "stages: [{ for: 1s, users: 500 }]", "users: 10", "users: x").Replace(base),
			`/s/t.yaml:5:17: fleet.users: must be an integer, got "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := testParse(tc.yaml, Options{})
			if err == nil || err.Error() != tc.want {
				t.Errorf("got:\n%v\nwant:\n%s", err, tc.want)
			}
		})
	}
}
