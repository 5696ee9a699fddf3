package main

import (
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var stepDoneRE = regexp.MustCompile(`eixamsim: step 0 at `)

// TestCapacityProcsWorkerKilled kills worker 1 of `capacity --procs 2` once
// the first step is judged: the search is inconclusive (exit 4) because
// of the dead worker, and stderr's last line says so, naming it; it does
// not blame the generator.
func TestCapacityProcsWorkerKilled(t *testing.T) {
	t.Parallel()
	path, out := writeScenario(t, "cap", capacityScenario)
	live, wait := startLive(t, "capacity", path, "--procs", "2", "--start", "20", "--max", "400", "--warmup", "1s", "--hold", "2s", "--out", out)
	var pid string
	waitFor(t, time.Minute, "the first step to be judged", func() bool {
		text := live.stderr.String()
		if m := pidsRE.FindStringSubmatch(text); m != nil {
			pid = m[2]
		}
		return pid != "" && stepDoneRE.MatchString(text)
	})
	n, err := strconv.Atoi(pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(n, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	res := wait()
	lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
	last := lines[len(lines)-1]
	if res.code != exitGeneratorBound {
		t.Fatalf("exit %d, want %d\nstderr:\n%s", res.code, exitGeneratorBound, res.stderr)
	}
	want := "capacity: inconclusive: worker 1 (pid " + pid + ") died: signal: killed"
	if !strings.Contains(last, want) || strings.Contains(last, "generator was the bottleneck") {
		t.Errorf("last line %q, want it to say %q", last, want)
	}
}
