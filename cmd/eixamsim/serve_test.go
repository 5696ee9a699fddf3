package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eixamsim/eixamsim/contract"
)

// startServe runs `eixamsim serve args` on free ports until the returned
// stop is called; stop returns the command's error.
func startServe(t *testing.T, args ...string) (out *syncBuffer, httpURL string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = new(syncBuffer)
	done := make(chan error, 1)
	args = append([]string{"--mqtt", "127.0.0.1:0", "--ws", "127.0.0.1:0", "--http", "127.0.0.1:0"}, args...)
	go func() { done <- execute(ctx, append([]string{"serve"}, args...), out, io.Discard) }()
	re := regexp.MustCompile(`HTTP API\s+(http://\S+)`)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			httpURL = m[1]
			break
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve ended early: %v\n%s", err, out)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve printed no HTTP URL:\n%s", out)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return out, httpURL, func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("serve did not stop after its context was cancelled")
			return nil
		}
	}
}

func serveGetMe(t *testing.T, httpURL, app, user, secret string) (int, contract.Me) {
	t.Helper()
	req, _ := http.NewRequest("GET", httpURL+"/v1/sdk/me", nil)
	req.Header.Set(contract.HeaderAppID, app)
	req.Header.Set(contract.HeaderUserID, user)
	req.Header.Set("Authorization", "Bearer "+contract.Sign([]byte(secret), user))
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var me contract.Me
	_ = json.NewDecoder(resp.Body).Decode(&me)
	return resp.StatusCode, me
}

func TestServeDemoApp(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	out, httpURL, stop := startServe(t, "--canonical-prefix", "p-", "--ack-delay", "1s")
	for _, want := range []string{"MQTT       tcp://127.0.0.1:", "WebSocket  ws://127.0.0.1:", "/ws", `"demo-app"`, `"demo-secret"`, "after 1s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	status, me := serveGetMe(t, httpURL, "demo-app", "user-1", "demo-secret")
	if status != 200 || me.User.ExternalUserID != "p-user-1" {
		t.Errorf("GET me = %d %+v", status, me)
	}
	if err := stop(); err != nil {
		t.Errorf("serve returned %v", err)
	}
	if !strings.Contains(out.String(), "stopped") {
		t.Errorf("no stop message:\n%s", out)
	}
}

func TestServeSecretSources(t *testing.T) {
	const secret = "s3cr3t-value"
	t.Setenv("EIXAMSIM_TEST_SECRET", secret)
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, src := range [][]string{{"--secret-env", "EIXAMSIM_TEST_SECRET"}, {"--secret-file", file}} {
		args := append([]string{"--app", "app-a", "--app", "app-b"}, src...)
		out, httpURL, stop := startServe(t, args...)
		for _, app := range []string{"app-a", "app-b"} {
			if status, _ := serveGetMe(t, httpURL, app, "u", secret); status != 200 {
				t.Errorf("%v: app %s: status %d", src, app, status)
			}
		}
		if status, _ := serveGetMe(t, httpURL, "demo-app", "u", "demo-secret"); status != 401 {
			t.Errorf("%v: demo app still served (%d)", src, status)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.String(), secret) || strings.Contains(out.String(), "demo-secret") {
			t.Errorf("%v: output shows a secret:\n%s", src, out)
		}
	}
}

func TestServeUsageErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret")
	_ = os.WriteFile(file, []byte("x"), 0o600)
	tests := []struct {
		name string
		args []string
	}{
		{"unknown flag", []string{"--nope"}},
		{"positional argument", []string{"extra"}},
		{"app without secret", []string{"--app", "a"}},
		{"secret without app", []string{"--secret-file", file}},
		{"two secret sources", []string{"--app", "a", "--secret-file", file, "--secret-env", "HOME"}},
		{"unset secret variable", []string{"--app", "a", "--secret-env", "EIXAMSIM_SURELY_UNSET_VAR"}},
		{"missing secret file", []string{"--app", "a", "--secret-file", "/nonexistent/secret"}},
		{"colon in app id", []string{"--app", "a:b", "--secret-file", file}},
		{"bad latency", []string{"--http-latency", "uniform:80ms-10ms"}},
		{"bad endpoint latency", []string{"--endpoint-latency", "sos_get"}},
		{"unknown endpoint", []string{"--error-rate", "sos_cancle=0.1"}},
		{"rate above 1", []string{"--error-rate", "*=1.5"}},
		{"rate not a number", []string{"--error-rate", "me=lots"}},
		{"drop above 1", []string{"--event-drop", "2"}},
		{"negative event delay", []string{"--event-delay", "-1s"}},
		{"alert delay above its bound", []string{"--alert-delay", "2m"}},
		{"cert without key", []string{"--tls-cert", file}},
		{"nothing to serve", []string{"--mqtt", "", "--ws", "", "--http", ""}},
		{"zero contacts", []string{"--max-contacts", "0"}},
		{"unknown fault", []string{"--fault", "reboot@1s:1s"}},
		{"fault without arg", []string{"--fault", "kick@10s"}},
		{"fault bad fraction", []string{"--fault", "kick@10s:150%"}},
		{"restart without mqtt", []string{"--mqtt", "", "--ws", "", "--fault", "restart_mqtt@1s:1s"}},
		{"secret on the command line", []string{"--app", "a", "--secret", "s3cr3t-value"}},
		{"old single-dash flag, bad value", []string{"-max-contacts", "0"}},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		err := execute(context.Background(), append([]string{"serve"}, tt.args...), io.Discard, &stderr)
		if code := exitCode(err, &stderr); code != exitUsage {
			t.Errorf("%s: exit %d (%v), want %d", tt.name, code, err, exitUsage)
		}
		if strings.Contains(stderr.String(), "s3cr3t-value") {
			t.Errorf("%s: stderr shows the secret: %s", tt.name, stderr.String())
		}
	}
}

func TestServePortInUse(t *testing.T) {
	_, httpURL, stop := startServe(t)
	defer stop()
	addr := strings.TrimPrefix(httpURL, "http://")
	err := execute(context.Background(), []string{"serve", "--mqtt", "", "--ws", "", "--http", addr}, io.Discard, io.Discard)
	if err == nil || exitCode(err, io.Discard) == exitOK {
		t.Errorf("serve on a used port: %v", err)
	}
}

func TestServeFaultScheduleAndControls(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	out, httpURL, stop := startServe(t, "--fault", "set_faults@0s:error-rate=me=1", "--fault", "kick@1h:25%")
	for _, want := range []string{"schedule   set_faults@0s:error-rate=me=1, kick@1h0m0s:0.25 (from now)", "/debug/faults/{restart-mqtt"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		status, _ := serveGetMe(t, httpURL, "demo-app", "user-1", "demo-secret")
		if status == 503 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scheduled error rate never applied (last status %d)", status)
		}
		time.Sleep(5 * time.Millisecond)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for path, want := range map[string]string{
		"/debug/faults/kick?fraction=1":        `{"kicked":0}`,
		"/debug/faults/stall?d=0":              `{"stalled_until":null}`,
		"/debug/faults/restart-mqtt?down=10ms": `"restart_in":"10ms"`,
	} {
		resp, err := c.Post(httpURL+path, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("POST %s: %d %s, want 200 %s", path, resp.StatusCode, body, want)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("serve returned %v", err)
	}

	_, httpURL, stop = startServe(t, "--fault-control=false")
	defer stop()
	resp, err := c.Post(httpURL+"/debug/faults/kick?fraction=1", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("--fault-control=false: kick answered %d, want 404", resp.StatusCode)
	}
}
