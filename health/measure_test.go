package health

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMeasureRealRuns runs the real tool on a healthy and an overloaded
// scenario against the embedded backend, samples a Monitor inside it
// (testdata/probe.go, added with go build -overlay), joins the engine's
// per-second schedule.lag and telemetry errors from the run's
// summary.json, and judges the result with DefaultLimits. It produced the
// numbers in docs/health.md. It takes about a minute and needs the whole
// machine, so it runs only when asked:
//
//	EIXAMSIM_HEALTH_MEASURE=1 go test -run TestMeasureRealRuns -v -timeout 10m ./health
func TestMeasureRealRuns(t *testing.T) {
	if testing.Short() || os.Getenv("EIXAMSIM_HEALTH_MEASURE") == "" {
		t.Skip("measurement: set EIXAMSIM_HEALTH_MEASURE=1 to run")
	}
	bin := buildProbed(t)
	for _, tc := range []struct {
		scenario string
		want     State
	}{
		{"testdata/healthy.yaml", Healthy},
		{"testdata/burst.yaml", Healthy},
		{"testdata/overloaded.yaml", GeneratorBound},
		{"testdata/flood.yaml", GeneratorBound},
	} {
		t.Run(filepath.Base(tc.scenario), func(t *testing.T) {
			samples, last, totals := runProbed(t, bin, tc.scenario)
			j := newJudge(DefaultLimits())
			for _, s := range samples {
				j.add(s)
			}
			rep := j.report()
			rep.Cores, rep.CPU.MeanPct, rep.SchedLatency.P99MS, rep.GCPause.MaxMS = last.Cores, last.CPUMeanPct, last.SchedP99MS, last.GCMaxMS
			out, _ := json.MarshalIndent(rep, "", "  ")
			t.Logf("%s\n%s\nreport (whole-process values from the probe's last line):\n%s", totals, table(samples), out)
			if rep.State != tc.want {
				t.Errorf("verdict %s, want %s", rep.Verdict, tc.want)
			}
		})
	}
}

// buildProbed builds cmd/eixamsim with testdata/probe.go added.
func buildProbed(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	probe, err := filepath.Abs("testdata/probe.go")
	if err != nil {
		t.Fatal(err)
	}
	cmdDir, err := filepath.Abs("../cmd/eixamsim")
	if err != nil {
		t.Fatal(err)
	}
	overlay := filepath.Join(dir, "overlay.json")
	o, _ := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(cmdDir, "zz_health_probe.go"): probe}})
	if err := os.WriteFile(overlay, o, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "eixamsim")
	build := exec.Command("go", "build", "-tags", "healthprobe", "-overlay", overlay, "-o", bin, "./cmd/eixamsim")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// probeLine is one line the probe writes.
type probeLine struct {
	Unix float64 `json:"unix"`
	Sample
	Cores      int     `json:"cores"`
	CPUMeanPct float64 `json:"cpu_mean_pct"`
	SchedP99MS float64 `json:"sched_p99_ms"`
	GCMaxMS    float64 `json:"gc_max_ms"`
}

// runSummary is the part of summary.json the join needs.
type runSummary struct {
	Start   time.Time `json:"start"`
	Seconds float64   `json:"duration_s"`
	Metrics map[string]struct {
		Count   int64            `json:"count"`
		Errors  int64            `json:"errors"`
		ByClass map[string]int64 `json:"errors_by_class"`
		P99     float64          `json:"p99_ms"`
		Max     float64          `json:"max_ms"`
	} `json:"metrics"`
	Series []struct {
		T         float64 `json:"t"`
		Latencies map[string]struct {
			Count  int64 `json:"count"`
			Errors int64 `json:"errors"`
			P99    int64 `json:"p99_us"`
		} `json:"latencies"`
	} `json:"series"`
}

// runProbed runs scenario with the probed binary and returns one sample per
// second of the run, At counted from the run's start, with the engine's
// inputs filled in from summary.json, and a line of whole-run totals.
func runProbed(t *testing.T, bin, scenario string) ([]Sample, probeLine, string) {
	t.Helper()
	dir := t.TempDir()
	probe := filepath.Join(dir, "probe.jsonl")
	cmd := exec.Command("/usr/bin/time", "-f", "%U %S %e", bin, "run", "--no-progress", "--quiet", "--out", filepath.Join(dir, "out"), scenario)
	cmd.Env = append(os.Environ(), "EIXAMSIM_HEALTH_PROBE="+probe)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	var user, sys, wall float64
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	fmt.Sscan(lines[len(lines)-1], &user, &sys, &wall)

	raw, err := os.ReadFile(filepath.Join(dir, "out", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum runSummary
	if err := json.Unmarshal(raw, &sum); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(probe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var probes []probeLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var p probeLine
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		probes = append(probes, p)
	}
	start := float64(sum.Start.UnixNano()) / 1e9
	var samples []Sample
	for _, pt := range sum.Series {
		// the probe line nearest the end of this interval
		best, bestD := -1, 0.6
		for i, p := range probes {
			if d := math.Abs(p.Unix - start - pt.T); d < bestD {
				best, bestD = i, d
			}
		}
		if best < 0 {
			continue
		}
		s := probes[best].Sample
		s.At = time.Duration(pt.T * float64(time.Second))
		lag, tel := pt.Latencies["schedule.lag"], pt.Latencies["telemetry.puback"]
		s.Input = Input{ScheduleLagP99: time.Duration(lag.P99) * time.Microsecond, Attempts: lag.Count, Backpressure: tel.Errors}
		samples = append(samples, s)
	}
	lag, tel := sum.Metrics["schedule.lag"], sum.Metrics["telemetry.puback"]
	totals := fmt.Sprintf("%s: %.1f s, process CPU %.1f s user + %.1f s sys over %.1f s wall = %.0f%% of %d cores (/usr/bin/time); "+
		"schedule.lag p99 %.1f ms max %.1f ms (%d ticks); telemetry.puback count %d p99 %.1f ms, errors %v",
		filepath.Base(scenario), sum.Seconds, user, sys, wall, 100*(user+sys)/wall/float64(runtime.GOMAXPROCS(0)), runtime.GOMAXPROCS(0),
		lag.P99, lag.Max, lag.Count, tel.Count, tel.P99, tel.ByClass)
	if len(probes) == 0 {
		t.Fatal("the probe wrote nothing")
	}
	return samples, probes[len(probes)-1], totals
}

// table prints one row per sample.
func table(samples []Sample) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%6s %6s %10s %9s %9s %8s %8s %6s\n", "t_s", "cpu_%", "sched_p99", "gc_pause", "lag_p99", "ticks", "errors", "bp_%")
	for _, s := range samples {
		fmt.Fprintf(&b, "%6.1f %6.1f %10v %9v %9v %8d %8d %6.1f\n", s.At.Seconds(), 100*s.CPU, s.SchedP99.Round(10*time.Microsecond),
			s.GCPause.Round(10*time.Microsecond), s.ScheduleLagP99.Round(10*time.Microsecond), s.Attempts, s.Backpressure, 100*s.BackpressureShare())
	}
	return b.String()
}
