//go:build unix

package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// loadOrUnblock is Load(path) that fails the test, instead of hanging,
// when Load waits on the named pipe fifo: after a generous deadline it
// opens the pipe's other end, which releases the waiting open.
func loadOrUnblock(t *testing.T, path, fifo string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := Load(path, Options{})
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		<-done
		t.Fatalf("Load(%s) waited on the named pipe %s", path, fifo)
		return nil
	}
}

// TestNamedPipesAreRefused: a FIFO given as the scenario, the sessions
// file or a TLS file is refused at once with what it is, never opened
// (opening one waits for a writer, and `validate fifo.yaml` hung).
func TestNamedPipesAreRefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	write := func(name, yaml string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct{ name, path, want string }{
		{"scenario", fifo, fifo + ": cannot read the scenario: a named pipe (FIFO), not a regular file"},
		{"sessions file", write("sessions.yaml", "version: 1\nname: t\nduration: 1s\nidentity: { app_id: a, app_secret: k, sessions_file: pipe }\n"),
			"identity.sessions_file: cannot read " + fifo + ": a named pipe (FIFO), not a regular file"},
		{"TLS file", write("tls.yaml", base+"target: { http: \"https://a.x\", mqtt: \"ssl://a.x\", tls: { ca_file: pipe } }\n"),
			"target.tls.ca_file: "},
	}
	for _, tt := range tests {
		err := loadOrUnblock(t, tt.path, fifo)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "named pipe") {
			t.Errorf("%s: Load = %v, want %q", tt.name, err, tt.want)
		}
	}
}
