package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/internal/testnet"
	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/report"
)

// previousRun fills dir with what a passing run left there, and a file of
// the user's.
func previousRun(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{
		report.SummaryJSONFile:      `{"end_reason": "completed"}`,
		report.JUnitFile:            `<testsuites failures="0"></testsuites>`,
		"hdr/telemetry.puback.hlog": "#[old]\n",
		"notes.txt":                 "mine",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkCleared checks that the previous run's files are gone from dir and
// the user's file is not.
func checkCleared(t *testing.T, dir string) {
	t.Helper()
	for _, gone := range []string{report.SummaryJSONFile, report.JUnitFile, "hdr/telemetry.puback.hlog"} {
		if _, err := os.Stat(filepath.Join(dir, gone)); !os.IsNotExist(err) {
			t.Errorf("the previous run's %s is still there (%v): it would pass for this run", gone, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "notes.txt")); err != nil || string(b) != "mine" {
		t.Errorf("notes.txt, not the run's, was touched: %v", err)
	}
}

// TestRunUnreachableClearsThePreviousRun runs into a directory a passing
// run left, against a target that refuses connections: the run is
// unreachable and the previous summary.json and junit.xml are gone, so
// nothing reads them as this run's.
func TestRunUnreachableClearsThePreviousRun(t *testing.T) {
	t.Parallel()
	addr := testnet.RefusedAddr(t)
	sc, _ := load(t, header+`name: down
duration: 3s
target: { http: "http://`+addr+`", mqtt: "tcp://`+addr+`" }
`)
	dir := t.TempDir()
	previousRun(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Run(ctx, sc, Options{Dir: dir})
	if outcome.Of(err) != outcome.Unreachable || res != nil {
		t.Fatalf("Run = %v, %v; want unreachable without results", res, err)
	}
	checkCleared(t, dir)
}

// TestRunInterruptedWaitClearsThePreviousRun interrupts the wait for the
// start time: the previous run's files are gone already.
func TestRunInterruptedWaitClearsThePreviousRun(t *testing.T) {
	t.Parallel()
	sc, _ := load(t, header+"name: wait\nduration: 1s\n")
	dir := t.TempDir()
	previousRun(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := Run(ctx, sc, Options{Dir: dir, StartAt: time.Now().Add(time.Hour), Waiting: func(time.Time) { cancel() }})
	if outcome.Of(err) != outcome.Interrupted || res != nil {
		t.Fatalf("Run = %v, %v; want interrupted without results", res, err)
	}
	checkCleared(t, dir)
}
