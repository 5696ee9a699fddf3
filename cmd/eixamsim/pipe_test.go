package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/procs"
	"github.com/eixamsim/eixamsim/report"
)

// The tests in this file take the terminal away from a run: the reader of
// its stdout and stderr goes away while it runs. Writes then fail; the
// run must still write its results and exit with its verdict.

// checkComplete checks that dir holds a whole result directory: every
// file of report.WriteDir and finished (renamed) interval logs only.
func checkComplete(t *testing.T, dir string) *report.Summary {
	t.Helper()
	for _, f := range []string{report.SummaryJSONFile, report.SummaryTextFile, report.ReportHTMLFile, report.JUnitFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", dir, err)
		}
	}
	logs, _ := filepath.Glob(filepath.Join(dir, report.HdrDir, "*.hlog"))
	tmps, _ := filepath.Glob(filepath.Join(dir, report.HdrDir, "*.tmp"))
	if len(logs) == 0 || len(tmps) > 0 {
		t.Errorf("%s/hdr: %d logs, unfinished %q", dir, len(logs), tmps)
	}
	s, err := report.ReadSummaryFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRunWithItsPipeClosed is `eixamsim run g.yaml 2>&1 | head -1`: stdout
// and stderr go to one pipe whose reader reads the first line and closes
// it. The status line 10 s in, the table and the last lines all fail to
// be written; the run goes on to its end, writes every result file, and
// exits 0, its verdict.
func TestRunWithItsPipeClosed(t *testing.T) {
	t.Parallel()
	path, out := writeScenario(t, "pipe", procsScenario(12))
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(eixamsimBinary(t), "run", path, "--out", out)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	timer := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	first, err := bufio.NewReader(r).ReadString('\n')
	r.Close() // head -1 is done: every later write gets EPIPE
	if err != nil || !strings.Contains(first, "running") {
		t.Fatalf("first line %q (%v), want the running line", first, err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	if code := cmd.ProcessState.ExitCode(); code != exitOK {
		t.Fatalf("exit %d (%v), want 0: the closed pipe ended the run", code, cmd.ProcessState)
	}
	if s := checkComplete(t, out); s.EndReason != report.EndCompleted || s.Seconds < 12 {
		t.Errorf("end reason %s after %.1fs, want the whole run completed", s.EndReason, s.Seconds)
	}
}

var runIDRE = regexp.MustCompile(`\(run id (\S+)\)`)

// TestRunProcsParentKilled kills a --procs parent with SIGKILL while its
// workers run: each worker gets SIGTERM (it was started with it as its
// parent-death signal) and says so on its stderr, whose reader died with
// the parent. That write fails; the worker stops as an interrupted run and
// writes its whole shard.
func TestRunProcsParentKilled(t *testing.T) {
	t.Parallel()
	path, out := writeScenario(t, "procs", procsScenario(30))
	live, wait := startLive(t, "run", path, "--procs", "2", "--out", out, "--no-progress")
	workersStarted(t, live)
	m := runIDRE.FindStringSubmatch(live.stderr.String())
	if m == nil {
		t.Fatalf("no run id in:\n%s", live.stderr.String())
	}
	pids := pidsRE.FindStringSubmatch(live.stderr.String())[1:]
	t.Cleanup(func() { // whatever happened, no worker outlives the test
		for _, p := range pids {
			if pid, err := strconv.Atoi(p); err == nil && pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	// Each worker's run has started once its shard has interval logs.
	waitFor(t, time.Minute, "both workers' runs to start", func() bool {
		for i := range 2 {
			if logs, _ := filepath.Glob(filepath.Join(procs.ShardDir(out, i, 2), report.HdrDir, "*")); len(logs) == 0 {
				return false
			}
		}
		return true
	})
	if err := live.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	wait()
	waitFor(t, time.Minute, "both workers to write their shards", func() bool {
		for i := range 2 {
			if _, err := os.Stat(filepath.Join(procs.ShardDir(out, i, 2), report.JUnitFile)); err != nil {
				return false
			}
		}
		return true
	})
	for i := range 2 {
		s := checkComplete(t, procs.ShardDir(out, i, 2))
		if s.Meta == nil || s.Meta.RunID != m[1] || s.EndReason != report.EndInterrupted {
			t.Errorf("shard %d: run %q, end reason %s; want run %q interrupted", i, s.Meta.RunID, s.EndReason, m[1])
		}
	}
}

// waitFor polls cond until it holds, failing the test after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", limit, what)
		}
	}
}

// TestWorkerStopsGracefullyOnRepeatedSignals sends a worker of --procs (a
// run given --status-fd) two SIGTERMs back to back, as a parent's death
// can: the worker still stops gracefully, writes its results and exits
// 130, where a plain run would exit at once on the second.
func TestWorkerStopsGracefullyOnRepeatedSignals(t *testing.T) {
	t.Parallel()
	path, out := writeScenario(t, "worker", procsScenario(30))
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(eixamsimBinary(t), "run", path, "--out", out, "--quiet", procs.StatusFDFlag, "3")
	cmd.ExtraFiles = []*os.File{w}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	timer := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	// The first status line: the run has started.
	if _, err := bufio.NewReader(r).ReadString('\n'); err != nil {
		t.Fatalf("no status line: %v", err)
	}
	// Two signals sent at once would be one pending signal: the second
	// goes once the first was received.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the first signal to be received", func() bool { return strings.Contains(stderr.String(), "received, stopping") })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Fatalf("exit %d (%v), want %d\nstderr:\n%s", code, cmd.ProcessState, exitInterrupted, stderr.String())
	}
	if s := checkComplete(t, out); s.EndReason != report.EndInterrupted {
		t.Errorf("end reason %s, want interrupted", s.EndReason)
	}
}
