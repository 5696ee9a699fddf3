package interop

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mosquitto is a mosquitto broker run by a test, with a TCP and a
// WebSocket listener on loopback, logging to a file.
type mosquitto struct {
	TCPAddr string // "127.0.0.1:port"
	WSURL   string // "ws://127.0.0.1:port/"
	LogPath string

	cmd  *exec.Cmd
	done chan error
}

// startMosquitto starts mosquitto, or skips the test when it is not
// installed. The broker stops when the test ends (or at Stop).
func startMosquitto(t *testing.T, extraConf ...string) *mosquitto {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		t.Skip("mosquitto not installed: apt-get install mosquitto")
	}
	dir := t.TempDir()
	var lastErr error
	for attempt := range 5 { // a free port may be taken before mosquitto binds it
		tcpPort, wsPort := freePort(t), freePort(t)
		logPath := filepath.Join(dir, fmt.Sprintf("mosquitto-%d.log", attempt))
		conf := strings.Join(append([]string{
			"per_listener_settings false",
			"allow_anonymous true",
			"set_tcp_nodelay true",
			"persistence false",
			"max_queued_messages 0",    // never drop queued messages to a slow subscriber
			"log_dest file " + logPath, // flushed per line, unlike stdout
			"log_type error", "log_type warning", "log_type notice", "log_type information",
			"connection_messages true",
			"log_timestamp false",
			fmt.Sprintf("listener %d 127.0.0.1", tcpPort),
			"protocol mqtt",
			fmt.Sprintf("listener %d 127.0.0.1", wsPort),
			"protocol websockets",
		}, extraConf...), "\n") + "\n"
		if os.Geteuid() == 0 {
			// As root mosquitto would switch to user "mosquitto", which
			// cannot write the test's private temp dir.
			conf += "user root\n"
		}
		confPath := filepath.Join(dir, fmt.Sprintf("mosquitto-%d.conf", attempt))
		if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		m := &mosquitto{
			TCPAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(tcpPort)),
			WSURL:   "ws://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(wsPort)) + "/",
			LogPath: logPath,
			done:    make(chan error, 1),
		}
		if lastErr = m.start(bin, confPath); lastErr == nil {
			t.Cleanup(func() { m.Stop() })
			return m
		}
	}
	t.Fatalf("mosquitto did not start: %v", lastErr)
	return nil
}

func (m *mosquitto) start(bin, confPath string) error {
	var out bytes.Buffer // errors before the log file is open
	m.cmd = exec.Command(bin, "-c", confPath)
	m.cmd.Stdout, m.cmd.Stderr = &out, &out
	if err := m.cmd.Start(); err != nil {
		return err
	}
	go func() { m.done <- m.cmd.Wait() }()
	// Up when it logs "running", after opening every listener; bounded to
	// 10 s. (Probing the ports instead would log a dropped client.)
	deadline := time.Now().Add(10 * time.Second)
	for {
		log, _ := os.ReadFile(m.LogPath)
		if bytes.Contains(log, []byte(" running")) {
			return nil
		}
		select {
		case werr := <-m.done:
			m.done <- werr
			return fmt.Errorf("mosquitto exited (%v):\n%s%s", werr, log, out.Bytes())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.Stop()
			return fmt.Errorf("mosquitto not running after 10 s:\n%s", log)
		}
	}
}

// Stop terminates mosquitto and waits for it (5 s, then kills it). It may
// be called more than once.
func (m *mosquitto) Stop() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-m.done:
		m.done <- err
	case <-time.After(5 * time.Second):
		_ = m.cmd.Process.Kill()
		m.done <- <-m.done
	}
}

// Log returns mosquitto's log lines so far.
func (m *mosquitto) Log(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(m.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// WaitForLog polls the log until done holds for its lines or timeout
// passes (then the caller's own checks report what is missing).
func (m *mosquitto) WaitForLog(t *testing.T, done func([]string) bool, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !done(m.Log(t)) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// brokerDrops are mosquitto 2.0 log lines of a client dropped other than
// by its own DISCONNECT.
var brokerDrops = regexp.MustCompile(`(?i)protocol error|malformed|closed its connection|socket error|exceeded timeout|not authori[sz]ed|out of memory|bad packet|invalid`)

// freePort returns a loopback port that is free now, picked below the
// kernel's ephemeral range (32768-60999): a port from that range (what
// ":0" gives) can be taken as the local port of some other test's outgoing
// connection before mosquitto binds it.
func freePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		ln.Close()
		return port
	}
	t.Fatal("no free loopback port in 20000-31999")
	return 0
}
