package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/eixamsim/eixamsim/procs"
)

// checkProfile asserts that path is a pprof profile: gzip-compressed
// protobuf, non-empty, and `go tool pprof -top` reads it.
func checkProfile(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Error(err)
		return
	}
	if len(data) < 20 || !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		t.Errorf("%s: %d bytes, not a gzip-compressed profile", path, len(data))
		return
	}
	out, err := exec.Command("go", "tool", "pprof", "-top", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "flat") {
		t.Errorf("go tool pprof -top %s: %v\n%s", path, err, out)
	}
}

// run --cpuprofile --memprofile writes both profiles of a real run.
func TestRunProfiles(t *testing.T) {
	t.Parallel()
	path, out := writeScenario(t, "prof", procsScenario(2))
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "mem.pprof")
	r := eixamsim(t, "run", path, "--out", out, "--no-progress", "--cpuprofile", cpu, "--memprofile", mem)
	if !completed(r.code) {
		t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	checkProfile(t, cpu)
	checkProfile(t, mem)
}

// Under --procs every process writes its own profile: the parent FILE,
// worker i FILE with i before the extension.
func TestRunProcsProfiles(t *testing.T) {
	t.Parallel()
	path, out := writeScenario(t, "prof", procsScenario(2))
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "heap")
	r := eixamsim(t, "run", path, "--procs", "2", "--out", out, "--no-progress", "--cpuprofile", cpu, "--memprofile", mem, "--summary-json", "-")
	if !completed(r.code) {
		t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	checkSummaryOnStdout(t, r, out)
	for _, f := range []string{cpu, mem, filepath.Join(dir, "cpu.0.pprof"), filepath.Join(dir, "cpu.1.pprof"), filepath.Join(dir, "heap.0"), filepath.Join(dir, "heap.1")} {
		checkProfile(t, f)
	}
}

// A profile file that cannot be created is bad usage, before the run.
func TestProfileUsage(t *testing.T) {
	valid, out := writeScenario(t, "ok", header+"name: ok\nduration: 3s\n")
	code, _, stderr := cli(t, "run", valid, "--out", out, "--cpuprofile", filepath.Join(t.TempDir(), "no", "such", "cpu.pprof"))
	if code != exitUsage || !strings.Contains(stderr, "--cpuprofile: open ") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if fileExists(out) {
		t.Error("the run started")
	}
	code, _, stderr = cli(t, "capacity", valid, "--start", "1", "--max", "2", "--memprofile", "p", "--cpuprofile", "p")
	if code != exitUsage || !strings.Contains(stderr, "give each its own file") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestProfileFile(t *testing.T) {
	for in, want := range map[string]string{
		"cpu.pprof":        "cpu.3.pprof",
		"prof/heap":        "prof/heap.3",
		"a.b/cpu.prof.gz":  "a.b/cpu.prof.3.gz",
		".cpu":             ".cpu.3",
		"/tmp/x/mem.pb.gz": "/tmp/x/mem.pb.3.gz",
	} {
		if got := procs.ProfileFile(in, 3); got != want {
			t.Errorf("ProfileFile(%q, 3) = %q, want %q", in, got, want)
		}
	}
}

// A search shows run's live progress (here, without a terminal, a status
// line every 10s, from the workers' merged intervals), and under --procs
// writes the parent's profile and one per worker.
func TestCapacityProgressAndProfiles(t *testing.T) {
	t.Parallel()
	path, out := writeScenario(t, "cap", capacityScenario)
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "mem.pprof")
	r := eixamsim(t, "capacity", path, "--start", "20", "--max", "40", "--warmup", "1s", "--hold", "6s", "--procs", "2",
		"--out", out, "--cpuprofile", cpu, "--memprofile", mem)
	if r.code != exitOK && r.code != exitGeneratorBound {
		t.Fatalf("exit %d, want 0 or 4 (a busy machine)\nstderr:\n%s", r.code, r.stderr)
	}
	if !regexp.MustCompile(`(?m)^\[ *\d+s\] .*: \d+/\d+ users online, telemetry `).MatchString(r.stderr) {
		t.Errorf("no status line on stderr:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "eixamsim: step 0 at 20: ") {
		t.Errorf("the steps are not printed:\n%s", r.stderr)
	}
	for _, f := range []string{cpu, mem, filepath.Join(dir, "cpu.0.pprof"), filepath.Join(dir, "cpu.1.pprof"), filepath.Join(dir, "mem.0.pprof"), filepath.Join(dir, "mem.1.pprof")} {
		checkProfile(t, f)
	}
}
