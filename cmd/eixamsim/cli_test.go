package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// cli runs one command line in-process and returns its exit code and
// output.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = exitCode(execute(context.Background(), args, &out, &errb), &errb)
	return code, out.String(), errb.String()
}

func TestUsageErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	valid := filepath.Join(dir, "ok.yaml")
	if err := os.WriteFile(valid, []byte(header+"name: ok\nduration: 3s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no command", nil, "a command is needed"},
		{"unknown command", []string{"runn"}, `unknown command "runn"`},
		{"unknown flag", []string{"run", valid, "--bogus"}, "run: unknown flag --bogus (see 'eixamsim run --help')"},
		{"no scenario", []string{"run"}, "run: want exactly one scenario file, got 0 arguments"},
		{"two scenarios", []string{"run", valid, valid}, "got 2 arguments"},
		{"flags after the file reach the scenario", []string{"run", "missing.yaml", "--users", "50"}, "missing.yaml: cannot read the scenario"},
		{"duration without a unit", []string{"run", valid, "--duration", "8"}, "missing unit"},
		{"bad --set value", []string{"run", valid, "--set", "fleet.users=many"}, "--set"},
		{"--set of an unknown key", []string{"run", valid, "--set", "fleet.userz=5"}, "fleet.userz"},
		{"seed out of range", []string{"run", valid, "--seed", "9007199254740992"}, "seed"},
		{"seed zero", []string{"run", valid, "--seed", "0"}, "--seed 0: must be a whole number between 1 and 9007199254740991"},
		{"capacity seed zero", []string{"capacity", valid, "--seed", "0"}, "--seed 0: must be a whole number between 1 and 9007199254740991"},
		{"linger without metrics", []string{"run", valid, "--linger"}, "--linger"},
		{"bad remote-write URL", []string{"run", valid, "--remote-write", "ftp://x"}, "--remote-write"},
		{"bad users value", []string{"run", valid, "--users", "many"}, `invalid argument "many"`},
		{"validate nothing", []string{"validate"}, "want at least one scenario file"},
		{"report nothing", []string{"report"}, "want exactly one result directory"},
		{"sign without app", []string{"sign", "--users", "3"}, "--app ID is needed"},
		{"sign with --secret", []string{"sign", "--app", "a", "--users", "3", "--secret", "pl41n-s3cret"}, "refusing --secret"},
		{"version with an argument", []string{"version", "x"}, `version: takes no arguments, got "x"`},
	}
	for _, tt := range tests {
		code, _, stderr := cli(t, tt.args...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", tt.name, code, stderr, tt.want)
		}
		if strings.Contains(stderr, "pl41n-s3cret") {
			t.Errorf("%s: stderr shows the secret", tt.name)
		}
	}
}

func TestHelpVersionAndCompletion(t *testing.T) {
	for _, cmd := range []string{"run", "validate", "report", "serve", "sign", "version", "schema"} {
		code, stdout, _ := cli(t, cmd, "--help")
		if code != exitOK || !strings.Contains(stdout, "eixamsim "+cmd) {
			t.Errorf("%s --help: exit %d:\n%s", cmd, code, stdout)
		}
	}
	_, runHelp, _ := cli(t, "run", "--help")
	for _, want := range []string{"in proportion", "cut the stages", "--linger", "--metrics-addr", "-u, --users", "--set", "--seed", "--remote-write"} {
		if !strings.Contains(runHelp, want) {
			t.Errorf("run --help lacks %q", want)
		}
	}
	if _, serveHelp, _ := cli(t, "serve", "--help"); strings.Contains(serveHelp, "--secret ") {
		t.Error("serve --help offers --secret")
	}
	code, stdout, _ := cli(t, "version")
	if code != exitOK || !strings.HasPrefix(stdout, "eixamsim ") || !strings.Contains(stdout, "go1.") {
		t.Errorf("version: exit %d, %q", code, stdout)
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		code, stdout, _ := cli(t, "completion", shell)
		if code != exitOK || !strings.Contains(stdout, "eixamsim") || len(stdout) < 500 {
			t.Errorf("completion %s: exit %d, %d bytes", shell, code, len(stdout))
		}
	}
}

// A file of thousands of mistakes prints the first 50 and a count, and
// the summary line counts every one.
func TestValidateCapsWhatItPrints(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	yaml := "version: 1\nname: bad\nduration: 3s\nidentity: { app_id: e2e, app_secret: e2e-secret }\nfleet: { users: 20 }\n" +
		"behaviours: { login: [" + strings.Repeat("me,", 999) + "me] }\n"
	if err := os.WriteFile(bad, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := cli(t, "validate", bad)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != exitUsage || len(lines) != 52 || lines[50] != "and 949 more problems" || !strings.HasSuffix(lines[51], "validate: 1 of 1 files invalid, 999 problems") {
		t.Errorf("exit %d, %d lines, ending\n%s", code, len(lines), strings.Join(lines[max(0, len(lines)-3):], "\n"))
	}
}

func TestOldSingleDashFlags(t *testing.T) {
	code, _, stderr := cli(t, "validate", "-quiet", "missing.yaml")
	if code != exitUsage || strings.Contains(stderr, "unknown") || !strings.Contains(stderr, "missing.yaml") {
		t.Errorf("-quiet: exit %d, %q", code, stderr)
	}
}

// A --metrics-addr port that is taken is refused before the run creates
// anything: no result directory is left behind.
func TestMetricsAddrClashLeavesNoDirectory(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "ok.yaml")
	if err := os.WriteFile(path, []byte(header+"name: ok\nduration: 3s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "results")
	code, _, stderr := cli(t, "run", path, "--out", out, "--metrics-addr", ln.Addr().String())
	if code != exitUsage || !strings.Contains(stderr, "--metrics-addr") {
		t.Errorf("exit %d, stderr %q; want 2 naming --metrics-addr", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("result directory created: %v", err)
	}
}

func TestScrubArgs(t *testing.T) {
	tests := []struct{ in, want []string }{
		{[]string{"eixamsim", "run", "s.yaml", "--set", "identity.app_secret=hunter2", "--set", "fleet.users=5"},
			[]string{"eixamsim", "run", "s.yaml", "--set", "identity.app_secret=[redacted]", "--set", "fleet.users=5"}},
		{[]string{"eixamsim", "run", "--set=identity.app_secret=hunter2", "s.yaml"},
			[]string{"eixamsim", "run", "--set=identity.app_secret=[redacted]", "s.yaml"}},
		{[]string{"eixamsim", "serve", "--secret", "hunter2", "--app", "a"},
			[]string{"eixamsim", "serve", "--secret", "[redacted]", "--app", "a"}},
		{[]string{"eixamsim", "serve", "-secret=hunter2"}, []string{"eixamsim", "serve", "-secret=[redacted]"}},
		{[]string{"eixamsim", "run", "--set", "target.tls.password"}, []string{"eixamsim", "run", "--set", "[redacted]"}},
		{[]string{"eixamsim", "run", "--", "--set", "x.secret=1"}, []string{"eixamsim", "run", "--", "--set", "x.secret=1"}},
	}
	for _, tt := range tests {
		if got := scrubArgs(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("scrubArgs(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// TestLingerAndRemoteWrite runs a short scenario with --metrics-addr,
// --linger and --remote-write: the endpoint stays up after the run with
// the final values and eixamsim_run_finished 1 until the context ends, and
// the receiver got the final push.
func TestLingerAndRemoteWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 2 s scenario")
	}
	var pushes atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Header.Get("Content-Encoding") == "snappy" {
			pushes.Add(1)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "linger.yaml")
	if err := os.WriteFile(path, []byte(header+"name: linger\nduration: 2s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- execute(ctx, []string{"run", path, "-q", "--out", filepath.Join(dir, "out"), "--seed", "42",
			"--set", "identity.app_secret=e2e-secret", "--set", "behaviours.login=[me, sos_rehydrate]",
			"--metrics-addr", "127.0.0.1:0", "--linger", "--remote-write", receiver.URL + "/api/v1/write"}, &stdout, &stderr)
	}()
	url := ""
	for deadline := time.Now().Add(time.Minute); url == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m := regexp.MustCompile(`serving the final metrics at (\S+) until interrupted`).FindStringSubmatch(stderr.String()); m != nil {
			url = m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("run returned before lingering: %v\nstderr:\n%s", err, stderr.String())
		default:
		}
	}
	if url == "" {
		t.Fatalf("no linger line:\n%s", stderr.String())
	}
	if pushes.Load() < 1 {
		t.Error("the remote-write receiver got no push by the end of the run")
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	scraped, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := withoutRunLabels(string(scraped))
	for _, want := range []string{"eixamsim_run_finished 1", `scenario="linger"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("lingering endpoint lacks %q", want)
		}
	}
	if n, ok := promValue(string(body), "eixamsim_user_login_seconds_count"); !ok || n < 20 {
		t.Errorf("user.login count after the run = %v (%v); want the final 20", n, ok)
	}
	cancel()
	select {
	case err := <-done:
		if !completedErr(err) {
			t.Errorf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("--linger did not end with the context")
	}
	if !strings.HasPrefix(stdout.String(), "eixamsim: NOT JUDGED: ") { // a 2 s run
		t.Errorf("stdout = %q", stdout.String())
	}
	// The seed and the --set reached the run; the secret given with --set
	// is redacted in the recorded command line.
	raw, err := os.ReadFile(filepath.Join(dir, "out", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("e2e-secret")) {
		t.Error("summary.json holds the secret given with --set")
	}
	sum, err := report.ReadSummaryFile(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	if m := sum.Meta; m.Seed == nil || *m.Seed != 42 || len(m.ScenarioHash) != 64 ||
		!strings.Contains(strings.Join(m.CommandLine, " "), "--set identity.app_secret=[redacted]") {
		t.Errorf("meta = %+v", m)
	}
	if sum.Metrics[scenario.HTTPSOSGet].Count == 0 {
		t.Error("--set behaviours.login did not reach the run: no http.sos_get")
	}
}

func TestSchemaIsJSON(t *testing.T) {
	code, stdout, _ := cli(t, "schema")
	var v map[string]any
	if err := json.Unmarshal([]byte(stdout), &v); code != exitOK || err != nil || v["properties"] == nil {
		t.Errorf("schema: exit %d, %v, %d bytes", code, err, len(stdout))
	}
}

// TestSignedSessionsLogIn signs users into a CSV, from flags and from a
// scenario's identity, and runs a scenario that reads the CSV as its
// sessions_file against the embedded backend: every user logs in. Neither
// the secret nor a hash is printed.
func TestSignedSessionsLogIn(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 2 s scenario")
	}
	const secret = "sign-test-s3cret"
	t.Setenv("SIGN_TEST_SECRET", secret)
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "sessions.csv")
	code, stdout, stderr := cli(t, "sign", "--app", "e2e", "--secret-env", "SIGN_TEST_SECRET", "--users", "5",
		"--user-id", "signed-{{.N}}", "--out", csvPath)
	if code != exitOK {
		t.Fatalf("sign: exit %d: %s", code, stderr)
	}
	printed := stdout + stderr
	if strings.Contains(printed, secret) || strings.Contains(printed, contract.Sign([]byte(secret), "signed-0")) {
		t.Errorf("sign printed the secret or a hash: %s", printed)
	}
	fi, err := os.Stat(csvPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("sessions.csv: %v, mode %v; want 0600", err, fi.Mode())
	}
	rows, _ := os.ReadFile(csvPath)
	lines := strings.Split(strings.TrimSpace(string(rows)), "\n")
	if len(lines) != 6 || lines[0] != "appId,externalUserId,userHash" || lines[1] != "e2e,signed-0,"+contract.Sign([]byte(secret), "signed-0") {
		t.Fatalf("sessions.csv =\n%s", rows)
	}

	// The same identity in a scenario signs the same file.
	signing := filepath.Join(dir, "signing.yaml")
	if err := os.WriteFile(signing, []byte(`version: 1
name: signing
duration: 2s
identity: { app_id: e2e, app_secret: "${SIGN_TEST_SECRET}", user_id: "signed-{{.N}}" }
fleet: { users: 5 }
`), 0o644); err != nil {
		t.Fatal(err)
	}
	fromScenario := filepath.Join(dir, "from-scenario.csv")
	if code, _, stderr := cli(t, "sign", signing, "--out", fromScenario); code != exitOK {
		t.Fatalf("sign SCENARIO: exit %d: %s", code, stderr)
	}
	if again, _ := os.ReadFile(fromScenario); string(again) != string(rows) {
		t.Errorf("signed from the scenario:\n%s\nwant\n%s", again, rows)
	}

	// A run with the CSV as its sessions: every user logs in.
	path := filepath.Join(dir, "signed.yaml")
	if err := os.WriteFile(path, []byte(`version: 1
name: signed
duration: 2s
identity: { app_id: e2e, app_secret: "${SIGN_TEST_SECRET}", sessions_file: sessions.csv }
fleet: { users: 5, connect_rate: 100/s }
behaviours: { login: [me] }
thresholds:
  user.login: ["count >= 5", "errors <= 0%"]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, stdout, stderr = cli(t, "run", path, "-q", "--out", out)
	if !completed(code) {
		t.Fatalf("run with the signed sessions: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	sum, err := report.ReadSummaryFile(out)
	if err != nil || sum.Metrics[scenario.UserLogin].Count < 5 {
		t.Errorf("user.login = %+v (%v); want 5 logins", sum.Metrics[scenario.UserLogin], err)
	}
}
