package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/refbackend"
)

// TestSecretsNeverLeak runs a scenario with a recognisable app secret
// (from the environment, as users are told to) and greps everything the
// run produced — stdout, stderr and every file of the result directory —
// for the secret and for every user's userHash.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	const secret = "Recognisable-App-Secret-5c1d"
	path, out := writeScenario(t, "secrets.yaml", `
version: 1
name: secrets
duration: 3s
identity: { app_id: demo-app, app_secret: "${LEAK_TEST_SECRET}", user_id: "leak-{{.N}}" }
fleet: { users: 20, connect_rate: 200/s }
behaviours:
  telemetry: { every: 500ms, device_id: true }
  sos: { rate: 2/s, hold: 500ms }
  contacts: { rate: 5/s, mix: { list: 1, create: 1, update: 1, delete: 1 } }
  devices: { rate: 2/s, mix: { list: 1, upsert: 1, delete: 1 } }
thresholds:
  telemetry.puback: ["p(99) < 1ns"]   # fails on purpose: failure output must not leak either
`)
	_, wait := startEnv(t, []string{"LEAK_TEST_SECRET=" + secret}, "run", "--out", out, path)
	res := wait()
	if res.code != exitThresholds {
		t.Fatalf("exit %d, want %d\nstderr:\n%s", res.code, exitThresholds, res.stderr)
	}
	needles := map[string]string{"the app secret": secret}
	for n := 0; n < 20; n++ {
		id := fmt.Sprintf("leak-%d", n)
		needles["the userHash of "+id] = contract.Sign([]byte(secret), id)
	}
	haystacks := map[string]string{"stdout": res.stdout, "stderr": res.stderr}
	files := 0
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		haystacks[p] = string(b)
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 3 {
		t.Fatalf("the run wrote only %d files to %s", files, out)
	}
	for where, text := range haystacks {
		for what, needle := range needles {
			if strings.Contains(text, needle) {
				t.Errorf("%s contains %s", where, what)
			}
		}
	}
}

// TestSecondSignalExitsAtOnce interrupts a run twice: the first signal
// starts a graceful stop, kept busy by requests the backend holds (a stalled
// HTTP API), and the second exits at once with code 130.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	t.Parallel()
	srv := appBackend(t, "demo-app", "demo-secret")
	srv.StallHTTP(time.Minute) // every login is held: the graceful stop waits for them
	path, out := writeScenario(t, "twice.yaml", `
version: 1
name: twice
duration: 30s
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 20, connect_rate: 200/s }
target: { http: "`+srv.HTTPURL()+`", mqtt: "`+srv.MQTTURL()+`" }
`)
	cmd, wait := startLive(t, "run", "--out", out, path)
	waitFor(t, time.Minute, "a login held by the backend", func() bool { return srv.Stats().HTTP.StalledNow > 0 })
	_ = cmd.cmd.Process.Signal(syscall.SIGINT)
	waitFor(t, time.Minute, "the first signal's message", func() bool { return strings.Contains(cmd.stderr.String(), "received, stopping") })
	sent := time.Now()
	_ = cmd.cmd.Process.Signal(syscall.SIGINT)
	res := wait()
	if res.code != exitInterrupted {
		t.Fatalf("exit %d, want %d\nstderr:\n%s", res.code, exitInterrupted, res.stderr)
	}
	if waited := time.Since(sent); waited > 10*time.Second {
		t.Errorf("exited %v after the second signal, want at once (the held logins wait a minute)", waited)
	}
	if !strings.Contains(res.stderr, "second signal") {
		t.Errorf("stderr does not say why it exited:\n%s", res.stderr)
	}
}

// TestWrongSecretSaysWhatToCheck points a run with the wrong app secret at
// a backend: nothing can log in, the run exits 3 and says what to check.
func TestWrongSecretSaysWhatToCheck(t *testing.T) {
	t.Parallel()
	srv, err := refbackend.Start(context.Background(), refbackend.Config{
		MQTTAddr: "127.0.0.1:0",
		HTTPAddr: "127.0.0.1:0",
		Apps:     map[string][]byte{"demo-app": []byte("the-real-secret")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	path, out := writeScenario(t, "wrong.yaml", fmt.Sprintf(`
version: 1
name: wrong
duration: 2s
target: { http: %q, mqtt: %q }
identity: { app_id: demo-app, app_secret: not-the-secret }
fleet: { users: 5 }
`, srv.HTTPURL(), srv.MQTTURL()))
	res := eixamsim(t, "run", "--quiet", "--out", out, path)
	if res.code != exitUnreachable {
		t.Fatalf("exit %d, want %d\nstderr:\n%s", res.code, exitUnreachable, res.stderr)
	}
	for _, want := range []string{"http.me http_401=", "hint: the backend refused the signed identity: check identity.app_id and identity.app_secret"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
		}
	}
	// The reason is the last line (docs/ci.md), the hints come before it.
	lines := strings.Split(strings.TrimRight(res.stderr, "\n"), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "eixamsim: no user could log in and connect; errors: http.me http_401=") {
		t.Errorf("last line of stderr = %q; want the reason", last)
	}
	// --quiet prints the one-line verdict, as report.html's headline.
	if !strings.HasPrefix(res.stdout, "eixamsim: NOTHING MEASURED: ") || strings.Count(res.stdout, "\n") != 1 {
		t.Errorf("stdout = %q; want the one-line verdict", res.stdout)
	}
	if _, err := os.Stat(filepath.Join(out, "summary.json")); err != nil {
		t.Errorf("no summary.json after a failed run: %v", err)
	}
	if html, err := os.ReadFile(filepath.Join(out, "report.html")); err != nil || !strings.Contains(string(html), "NOTHING MEASURED") {
		t.Errorf("report.html does not say NOTHING MEASURED (%v)", err)
	}
}
