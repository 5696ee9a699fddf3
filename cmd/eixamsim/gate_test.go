package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/internal/testbin"
	"github.com/eixamsim/eixamsim/internal/testnet"
	"github.com/eixamsim/eixamsim/outcome"

	"github.com/eixamsim/eixamsim/health"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// The tests in this file build the eixamsim binary once (with -race when
// the tests run with it) and run it with os/exec, as a CI job would: each
// checks an exit code of docs/ci.md and the files the run left behind.
// Scenarios are a few seconds with 20 users, and the slow ones run in
// parallel.

// TestMain removes the binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// eixamsimBinary builds ./cmd/eixamsim into a temporary directory the
// first time it is called and returns the binary's path.
func eixamsimBinary(t *testing.T) string { return testbin.Path(t, ".") }

// syncBuffer is a goroutine-safe buffer for a child's output.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// result is how one eixamsim process ended.
type result struct {
	code           int
	stdout, stderr string
	elapsed        time.Duration
}

// start starts the binary with args; wait collects its result.
func start(t *testing.T, args ...string) (cmd *exec.Cmd, wait func() result) {
	t.Helper()
	return startEnv(t, nil, args...)
}

// startEnv is start with extra environment variables ("NAME=value").
func startEnv(t *testing.T, env []string, args ...string) (cmd *exec.Cmd, wait func() result) {
	t.Helper()
	cmd = exec.Command(eixamsimBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var res result
	go func() {
		defer close(done)
		err := cmd.Wait()
		res = result{code: cmd.ProcessState.ExitCode(), elapsed: time.Since(began)}
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			res.code = -1
		}
	}()
	timer := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
	return cmd, func() result {
		<-done
		timer.Stop()
		res.stdout, res.stderr = stdout.String(), stderr.String()
		return res
	}
}

// eixamsim runs the binary to its end.
func eixamsim(t *testing.T, args ...string) result {
	t.Helper()
	_, wait := start(t, args...)
	return wait()
}

// writeScenario writes a scenario file into a new temporary directory and
// returns its path and a result directory beside it.
func writeScenario(t *testing.T, name, yaml string) (path, out string) {
	t.Helper()
	dir := t.TempDir()
	path = filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, filepath.Join(dir, "results")
}

// readSummary reads summary.json of a result directory.
func readSummary(t *testing.T, dir string) *report.Summary {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var s report.Summary
	if err := json.NewDecoder(f).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// junitCase is a test case of junit.xml as CI systems read it.
type junitCase struct {
	Name    string `xml:"name,attr"`
	Failure *struct {
		Message string `xml:"message,attr"`
	} `xml:"failure"`
}

// readJUnit reads junit.xml of a result directory: its failure count and
// cases.
func readJUnit(t *testing.T, dir string) (failures int, cases []junitCase) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Failures int         `xml:"failures,attr"`
			Cases    []junitCase `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil || len(doc.Suites) != 1 {
		t.Fatalf("junit.xml: %v, %d suites:\n%s", err, len(doc.Suites), data)
	}
	return doc.Suites[0].Failures, doc.Suites[0].Cases
}

// header is the common start of the test scenarios: 20 users against the
// embedded backend, lines 1-4.
const header = `version: 1
identity: { app_id: e2e, app_secret: e2e-secret }
fleet: { users: 20, connect_rate: 200/s }
behaviours: { login: [me] }
`

// completed reports whether code is that of a run that ran to the end with
// no threshold failed: 0, or 5 when it was too short for the simulator's
// health to be judged, as test runs of a few seconds are (docs/health.md).
func completed(code int) bool { return code == exitOK || code == exitNotJudged }

// completedErr is completed for an error of execute.
func completedErr(err error) bool { return err == nil || outcome.Of(err) == outcome.NotJudged }

// TestRunPassExits0 runs 10 s, the shortest run whose generator can be
// judged (docs/health.md): a pass is exit 0.
func TestRunPassExits0(t *testing.T) {
	t.Parallel()
	path, out := writeScenario(t, "pass", header+`name: pass
duration: 10s
thresholds:
  user.login: ["count >= 20", "errors <= 0%", "p(99) < 5s"]
  http.me: ["p(95) < 2s", "rate > 1/s"]
  mqtt.disconnects: ["count <= 0"]
`)
	r := eixamsim(t, "run", path, "--no-progress", "--out", out) // flags after the file
	s := readSummary(t, out)
	if r.code != exitOK && !(r.code == exitGeneratorBound && s.GeneratorBound()) { // a busy test machine
		t.Fatalf("exit %d, want 0\nstderr:\n%s", r.code, r.stderr)
	}
	if g := s.Generator; g == nil || g.State == health.NotJudged {
		t.Errorf("a 10 s run was not judged: %+v", g)
	}
	if s.EndReason != report.EndCompleted || len(s.Thresholds) != 6 {
		t.Errorf("end_reason %q, %d verdicts", s.EndReason, len(s.Thresholds))
	}
	for _, v := range s.Thresholds {
		if !v.Passed {
			t.Errorf("verdict failed: %+v", v)
		}
	}
	if failures, cases := readJUnit(t, out); failures != 0 || len(cases) != 6 || cases[0].Name != "user.login: count >= 20" {
		t.Errorf("junit.xml: %d failures, cases %+v", failures, cases)
	}
	if !strings.Contains(r.stdout, "PASS  http.me: p(95) < 2s (observed ") {
		t.Errorf("the table has no verdicts:\n%s", r.stdout)
	}
}

// TestRunTooShortExits5: a 3 s run that passes its rules is too short for
// the simulator's health to be judged: not a pass, exit 5, said last on
// stderr and on the quiet verdict line.
func TestRunTooShortExits5(t *testing.T) {
	t.Parallel()
	path, out := writeScenario(t, "short", header+`name: short
duration: 3s
thresholds:
  user.login: ["count >= 20"]
`)
	r := eixamsim(t, "run", "-q", path, "--out", out)
	if r.code != exitNotJudged {
		t.Fatalf("exit %d, want 5\nstderr:\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "eixamsim: not judged: the run was too short to judge the simulator's health: 3s sampled") ||
		!strings.HasSuffix(last, "1 of 1 thresholds held, not judged") {
		t.Errorf("last line of stderr = %q", last)
	}
	if !strings.HasPrefix(r.stdout, "eixamsim: NOT JUDGED: ") {
		t.Errorf("quiet stdout = %q", r.stdout)
	}
	if s := readSummary(t, out); s.Generator == nil || s.Generator.State != health.NotJudged {
		t.Errorf("generator = %+v", s.Generator)
	}
}

func TestRunThresholdFailureExits99(t *testing.T) {
	t.Parallel()
	// Every HTTP answer takes 100 ms more, so GET /v1/sdk/me cannot be
	// faster than 50 ms.
	path, out := writeScenario(t, "slow", header+`name: slow
duration: 3s
target: { embedded: { http_latency: 100ms } }
thresholds:
  user.login: ["count >= 20"]
  http.me: ["p(95) < 50ms"]
`)
	r := eixamsim(t, "run", "-q", path, "--out", out)
	if r.code != exitThresholds {
		t.Fatalf("exit %d, want 99\nstderr:\n%s", r.code, r.stderr)
	}
	if want := "eixamsim: FAILED: 1 of 2 thresholds failed. (results in " + out + ")\n"; r.stdout != want {
		t.Errorf("quiet stdout = %q; want %q", r.stdout, want)
	}
	if !strings.Contains(r.stderr, "1 of 2 thresholds failed: http.me: p(95) < 50ms (observed ") {
		t.Errorf("stderr does not name the failed rule:\n%s", r.stderr)
	}
	failures, cases := readJUnit(t, out)
	if failures != 1 || len(cases) != 2 {
		t.Fatalf("junit.xml: %d failures, %d cases", failures, len(cases))
	}
	c := cases[1]
	if c.Name != "http.me: p(95) < 50ms" || c.Failure == nil || !observedRe.MatchString(c.Failure.Message) {
		t.Errorf("failing case = %q %+v", c.Name, c.Failure)
	}
	if cases[0].Failure != nil {
		t.Errorf("passing case failed: %+v", cases[0].Failure)
	}
	v := readSummary(t, out).Thresholds[1]
	if v.Passed || v.Unit != report.UnitMs || v.Value < 100 || v.Line != 10 {
		t.Errorf("summary verdict = %+v; want failed, observed >= 100 ms, line 10", v)
	}
}

// observedRe is the failure message of the rule p(95) < 50ms observed
// at 100 ms or more.
var observedRe = regexp.MustCompile(`^observed ([1-9][0-9]{2}(\.[0-9]+)?ms|[0-9.]+s), want p\(95\) < 50ms$`)

func TestRunAbortOnFailExits100(t *testing.T) {
	t.Parallel()
	// A minute-long run whose http.me budget cannot hold: abort_on_fail
	// must stop it at the first check after the first samples.
	path, out := writeScenario(t, "abort", header+`name: abort
duration: 60s
target: { embedded: { http_latency: 100ms } }
thresholds:
  user.login: ["count > 1000"]
  http.me: ["p(95) < 50ms"]
  abort_on_fail: [http.me]
`)
	r := eixamsim(t, "run", "--no-progress", "--out", out, path)
	if r.code != exitAborted {
		t.Fatalf("exit %d, want 100\nstderr:\n%s", r.code, r.stderr)
	}
	if r.elapsed > 20*time.Second {
		t.Errorf("the aborted run took %v of its 60 s", r.elapsed)
	}
	if !strings.Contains(r.stderr, "aborted by abort_on_fail after ") || !strings.Contains(r.stderr, "http.me: p(95) < 50ms (observed ") {
		t.Errorf("stderr does not say what aborted the run:\n%s", r.stderr)
	}
	s := readSummary(t, out)
	if s.EndReason != report.EndAborted || s.Seconds > 20 {
		t.Errorf("end_reason %q after %.1f s; want aborted, well before 60 s", s.EndReason, s.Seconds)
	}
	if len(s.Thresholds) != 2 || s.Thresholds[1].Passed || !strings.Contains(s.Thresholds[1].Note, "aborted the run") {
		t.Errorf("verdicts = %+v", s.Thresholds)
	}
	// count > 1000 had no time: judged only at a run's end, it is not
	// judged in an aborted run (a skipped case), and only the abort fails.
	if failures, cases := readJUnit(t, out); failures != 1 || len(cases) != 2 || cases[0].Failure != nil {
		t.Errorf("junit.xml: %d failures %+v, want 1, the abort rule's", failures, cases)
	}
}

func TestRunInterruptExits130(t *testing.T) {
	t.Parallel()
	srv := appBackend(t, "e2e", "e2e-secret")
	path, out := writeScenario(t, "long", header+`name: long
duration: 60s
target: { http: "${LONG_HTTP}", mqtt: "${LONG_MQTT}" }
thresholds:
  user.login: ["count >= 20"]
`)
	cmd, wait := startEnv(t, []string{"LONG_HTTP=" + srv.HTTPURL(), "LONG_MQTT=" + srv.MQTTURL()}, "run", "--no-progress", "--out", out, path)
	// Interrupt once every user is online: the backend says so.
	waitFor(t, time.Minute, "20 MQTT sessions at the backend", func() bool { return srv.Stats().MQTT.ConnectsAccepted >= 20 })
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	r := wait()
	if r.code != exitInterrupted {
		t.Fatalf("exit %d, want 130\nstderr:\n%s", r.code, r.stderr)
	}
	s := readSummary(t, out)
	if s.EndReason != report.EndInterrupted || s.Seconds > 30 || s.Metrics[scenario.UserLogin].Count == 0 {
		t.Errorf("end_reason %q after %.1f s, %d logins; want interrupted after the logins", s.EndReason, s.Seconds, s.Metrics[scenario.UserLogin].Count)
	}
	if len(s.Thresholds) != 1 {
		t.Errorf("verdicts = %+v", s.Thresholds)
	}
	readJUnit(t, out)
}

func TestRunUnreachableExits3(t *testing.T) {
	t.Parallel()
	addr := testnet.RefusedAddr(t) // refuses for the whole test, unlike a freed port
	path, out := writeScenario(t, "gone", header+`name: gone
duration: 3s
target: { http: "http://`+addr+`", mqtt: "tcp://`+addr+`" }
`)
	r := eixamsim(t, "run", "--no-progress", "--out", out, path)
	if r.code != exitUnreachable || !strings.Contains(r.stderr, "unreachable") {
		t.Fatalf("exit %d, want 3\nstderr:\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "e2e-secret") {
		t.Error("the secret was printed")
	}
}

// typoScenario misspells a metric on line 8, column 3.
const typoScenario = header + `name: typo
duration: 3s
thresholds:
  sos.deliverd: ["p(95) < 2s"]
`

func TestTypoExits2FromRunAndValidate(t *testing.T) {
	t.Parallel()
	path, out := writeScenario(t, "typo", typoScenario)
	want := path + ":8:3: thresholds.sos.deliverd: unknown metric (did you mean sos.delivered?)"
	for _, args := range [][]string{
		{"run", "--no-progress", "--out", out, path},
		{"validate", path},
	} {
		r := eixamsim(t, args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, want) {
			t.Errorf("eixamsim %s: exit %d, want 2 with %q\nstderr:\n%s", args[0], r.code, want, r.stderr)
		}
	}
	if fileExists(out) {
		t.Error("run wrote results for an invalid scenario")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	// Every scenario shipped in scenarios/ is valid.
	shipped, err := filepath.Glob("../../scenarios/*.yaml")
	if err != nil || len(shipped) < 2 {
		t.Fatalf("scenarios: %v %v", shipped, err)
	}
	// Scenarios for a real target take it from the environment, as in CI.
	stagingEnv := []string{
		"EIXAM_HTTP_URL=https://api.staging.example",
		"EIXAM_MQTT_URL=wss://api.staging.example/ws",
		"EIXAM_APP_ID=partner-app",
		"EIXAM_APP_SECRET=not-a-real-secret",
	}
	_, wait := startEnv(t, stagingEnv, append([]string{"validate"}, shipped...)...)
	r := wait()
	if r.code != exitOK || strings.Count(r.stdout, ": ok (") != len(shipped) {
		t.Errorf("validate %v: exit %d\nstdout:\n%s\nstderr:\n%s", shipped, r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "not-a-real-secret") {
		t.Error("validate printed the secret")
	}

	// Every problem of every file is listed; valid files still get "ok".
	typo, _ := writeScenario(t, "typo", typoScenario)
	bad, _ := writeScenario(t, "bad", header+`name: bad
duration: 3x
thresholds:
  http.me: ["p95 < 2s"]
  abort_on_fail: [http.me, sos.delivered]
`)
	r = eixamsim(t, "validate", typo, shipped[0], bad)
	if r.code != exitUsage {
		t.Errorf("exit %d, want 2", r.code)
	}
	for _, want := range []string{
		typo + ":8:3: thresholds.sos.deliverd: unknown metric",
		bad + `:6:11: duration: must be a duration like 500ms, 30s or 1h30m, got "3x"`,
		bad + `:8:13: thresholds.http.me[0]: invalid rule "p95 < 2s": write p(95), not p95`,
		bad + ":9:28: thresholds.abort_on_fail[1]: sos.delivered has no rules in thresholds",
		"validate: 2 of 3 files invalid",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, shipped[0]+": ok (") {
		t.Errorf("stdout:\n%s", r.stdout)
	}

	// No file is bad usage.
	if r := eixamsim(t, "validate"); r.code != exitUsage {
		t.Errorf("validate without files: exit %d, want 2", r.code)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestOutcomeCodes is the exit code of each outcome of a run, through the
// one function that prints errors and picks codes.
func TestOutcomeCodes(t *testing.T) {
	tests := []struct {
		outcome outcome.Outcome
		want    int
	}{
		{outcome.Failed, exitInternal},
		{outcome.BadInput, exitUsage},
		{outcome.Unreachable, exitUnreachable},
		{outcome.ThresholdsFailed, exitThresholds},
		{outcome.Aborted, exitAborted},
		{outcome.Interrupted, exitInterrupted},
		{outcome.GeneratorBound, exitGeneratorBound},
		{outcome.NotJudged, exitNotJudged},
	}
	for _, tc := range tests {
		var stderr bytes.Buffer
		err := fmt.Errorf("run: %w", &outcome.Error{Outcome: tc.outcome, Err: errors.New("why")})
		if got := exitCode(err, &stderr); got != tc.want || stderr.String() != "eixamsim: run: why\n" {
			t.Errorf("%v: exit %d, printed %q; want %d", tc.outcome, got, stderr.String(), tc.want)
		}
	}
	if got := exitCode(nil, io.Discard); got != exitOK {
		t.Errorf("nil: exit %d", got)
	}
	// A usage error of a hook (--metrics-addr) keeps its own code.
	if got := exitCode(withCode(exitUsage, errors.New("--metrics-addr: in use")), io.Discard); got != exitUsage {
		t.Errorf("usage error: exit %d", got)
	}
	// Hints first, the reason last.
	var stderr bytes.Buffer
	exitCode(&outcome.Error{Outcome: outcome.Unreachable, Err: errors.New("nobody connected"), Hints: []string{"check a", "check b"}}, &stderr)
	if got, want := stderr.String(), "hint: check a\nhint: check b\neixamsim: nobody connected\n"; got != want {
		t.Errorf("printed %q; want %q", got, want)
	}
	// The signal's cause is 130 whatever carries it.
	if got := exitCode(fmt.Errorf("x: %w", errInterrupted), io.Discard); got != exitInterrupted {
		t.Errorf("interrupted: exit %d", got)
	}
}
