// Command scalesum samples and summarizes the runs of bench/scale.sh and
// bench/connect-burst.sh.
//
//	scalesum sample -pid PID [-comm NAME] -out FILE
//	    every second until PID exits, one line "UNIX_SECONDS RSS_KIB CPU_SECONDS PROCS"
//	    summed over PID and all its descendants (from /proc); with -comm,
//	    only those whose command is NAME (not the wrappers: timeout, time)
//	scalesum eixamsim -summary DIR/summary.json -samples FILE -time FILE
//	scalesum rawpaho -samples FILE -time FILE -out FILE...
//	    print one row each of bench/scale.sh's table (Markdown)
//	scalesum burstrow -gen NAME -users N -asked RATE -rep K -rc CODE -drops N -time FILE -samples FILE
//	    -access FILE (-summary DIR/summary.json | RAWBURST.json...)
//	scalesum bursttable RUNS.tsv
//	    bench/connect-burst.sh's: one line of RUNS.tsv per run, then the tables (burst.go)
//
// The steady window is from 15 s after the ramp-up stage to 5 s before
// the end: CPU per acknowledged message there excludes connecting and
// logging in.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: scalesum sample|eixamsim|rawpaho|header|burstrow|bursttable|churnheader|churnrow [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	pid := fs.Int("pid", 0, "root process to sample")
	comm := fs.String("comm", "", "sample only the processes with this command (sample)")
	out := fs.String("out", "", "sample file to write (sample)")
	summary := fs.String("summary", "", "merged summary.json")
	samples := fs.String("samples", "", "sample file")
	timeFile := fs.String("time", "", "GNU time -v output of the run")
	rampEnd := fs.Float64("ramp", 40, "end of the ramp-up, seconds from the start (rawpaho)")
	length := fs.Float64("for", 160, "run length in seconds (rawpaho)")
	var run burstRun
	fs.StringVar(&run.gen, "gen", "", "generator: eixamsim, floor-login or floor-bare (burstrow)")
	fs.IntVar(&run.users, "users", 0, "users asked (burstrow)")
	fs.StringVar(&run.asked, "asked", "", "connect rate asked: users/s or unlimited (burstrow)")
	fs.IntVar(&run.rep, "rep", 0, "repetition (burstrow)")
	fs.IntVar(&run.rc, "rc", 0, "the generator's exit code (burstrow)")
	access := fs.String("access", "", "the run's slice of nginx's access log (burstrow)")
	fs.Int64Var(&run.drops, "drops", 0, "connections dropped at a full listen queue during the run (burstrow)")
	_ = fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "sample":
		err = sample(*pid, *comm, *out)
	case "header":
		fmt.Println("| generator | users online | connect rate | errors | p99 user.login | p99 mqtt.connect | p99 telemetry.puback | acked msgs | CPU all-in | CPU µs/msg all-in | CPU µs/msg steady | peak RSS | RSS/user |")
		fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	case "eixamsim":
		err = eixamsimRow(*summary, *samples, *timeFile)
	case "rawpaho":
		err = rawRow(*samples, *timeFile, *rampEnd, *length, fs.Args())
	case "burstrow":
		err = burstRow(run, *summary, *samples, *timeFile, *access, fs.Args())
	case "bursttable":
		err = burstTable(fs.Arg(0))
	case "churnheader":
		fmt.Println("| run | logins (returns) | users online, mean | CPU all-in | CPU ms/login | RSS, mean | RSS/online user | errors |")
		fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	case "churnrow":
		err = churnRow(fs.Arg(0), *summary, *samples, *timeFile)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "scalesum:", err)
		os.Exit(1)
	}
}

// sample writes one line a second until pid is gone: the processes of its
// tree, only those whose command is comm unless comm is "".
func sample(pid int, comm, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for now := range tick.C {
		procs := tree(pid)
		if len(procs) == 0 {
			return nil
		}
		var rss int64
		var cpu float64
		n := 0
		for _, p := range procs {
			name, r, c := usage(p)
			if comm != "" && name != comm {
				continue
			}
			rss += r
			cpu += c
			n++
		}
		fmt.Fprintf(f, "%.3f %d %.2f %d\n", float64(now.UnixNano())/1e9, rss, cpu, n)
	}
	return nil
}

// tree is pid and its descendants that are alive.
func tree(root int) []int {
	parent := map[int][]int{}
	alive := false
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		pid, ppid, ok := pids(string(b))
		if !ok {
			continue
		}
		parent[ppid] = append(parent[ppid], pid)
		if pid == root {
			alive = true
		}
	}
	if !alive {
		return nil
	}
	out := []int{root}
	for i := 0; i < len(out) && i < 10000; i++ {
		out = append(out, parent[out[i]]...)
	}
	return out
}

// pids reads the pid and parent pid from /proc/PID/stat.
func pids(stat string) (pid, ppid int, ok bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(stat[i+1:])
	pid, err1 := strconv.Atoi(strings.Fields(stat)[0])
	if len(f) < 2 || err1 != nil {
		return 0, 0, false
	}
	ppid, err2 := strconv.Atoi(f[1])
	return pid, ppid, err2 == nil
}

// usage is a process's command, RSS (KiB) and CPU (user+system seconds).
func usage(pid int) (comm string, rssKiB int64, cpu float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, 0
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return "", 0, 0
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 22 {
		return "", 0, 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64) // field 14
	st, _ := strconv.ParseFloat(f[12], 64) // field 15
	pages, _ := strconv.ParseInt(f[21], 10, 64)
	return s[open+1 : end], pages * int64(os.Getpagesize()) / 1024, (ut + st) / 100 // USER_HZ = 100
}

type samplePoint struct {
	t, cpu float64
	rss    int64
}

func readSamples(path string) ([]samplePoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []samplePoint
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var p samplePoint
		var n int
		if _, err := fmt.Sscanf(sc.Text(), "%f %d %f %d", &p.t, &p.rss, &p.cpu, &n); err == nil {
			out = append(out, p)
		}
	}
	return out, sc.Err()
}

// window is the CPU seconds spent between wall times a and b (the nearest
// samples inside), and the seconds the samples span.
func window(s []samplePoint, a, b float64) (cpu, span float64) {
	first, last := -1, -1
	for i, p := range s {
		if p.t >= a && first < 0 {
			first = i
		}
		if p.t <= b {
			last = i
		}
	}
	if first < 0 || last <= first {
		return 0, 0
	}
	return s[last].cpu - s[first].cpu, s[last].t - s[first].t
}

func peakRSS(s []samplePoint) int64 {
	var m int64
	for _, p := range s {
		m = max(m, p.rss)
	}
	return m
}

// cpuAllIn reads user+system seconds from GNU time -v output (children
// waited for included).
func cpuAllIn(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var cpu float64
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ": ")
		if ok && (k == "User time (seconds)" || k == "System time (seconds)") {
			x, _ := strconv.ParseFloat(v, 64)
			cpu += x
		}
	}
	return cpu, nil
}

// readRun reads one eixamsim run's files: its summary, the RSS samples
// and the CPU all-in from GNU time's output.
func readRun(summaryPath, samplesPath, timePath string) (*report.Summary, []samplePoint, float64, error) {
	sum, err := report.ReadSummaryFile(filepath.Dir(summaryPath))
	if err != nil {
		return nil, nil, 0, err
	}
	s, err := readSamples(samplesPath)
	if err != nil {
		return nil, nil, 0, err
	}
	all, err := cpuAllIn(timePath)
	return sum, s, all, err
}

func eixamsimRow(summaryPath, samplesPath, timePath string) error {
	sum, s, all, err := readRun(summaryPath, samplesPath, timePath)
	if err != nil {
		return err
	}
	var users int64
	for _, st := range sum.Stages {
		users = max(users, int64(st.Users))
	}
	var peak int64
	t0, t1 := -1.0, -1.0
	for _, p := range sum.Series {
		on := p.Values[scenario.UsersOnline]
		peak = max(peak, on)
		if on > 0 && t0 < 0 {
			t0 = p.T - p.Seconds
		}
		if on >= users && t1 < 0 {
			t1 = p.T
		}
	}
	rate := "not all online"
	if t1 > t0 && t0 >= 0 {
		rate = fmt.Sprintf("%.0f/s (%.0f s)", float64(users)/(t1-t0), t1-t0)
	}
	rampEnd := sum.Stages[0].End.Sub(sum.Start).Seconds()
	a, b := rampEnd+15, sum.Seconds-5
	var acked int64
	for _, p := range sum.Series {
		if p.T-p.Seconds >= a && p.T <= b {
			acked += p.Latencies[scenario.TelemetryPuback].Count
		}
	}
	start := float64(sum.Start.UnixNano()) / 1e9
	cpu, span := window(s, start+a, start+b)
	steady := "—"
	if acked > 0 && span > 0 {
		// Acked over the series' whole seconds in [a, b]; CPU over the
		// samples' span inside it: scale the CPU to the same length.
		steady = fmt.Sprintf("%.0f", cpu/span*(b-a)/float64(acked)*1e6)
	}
	tel := sum.Metrics[scenario.TelemetryPuback]
	rss := peakRSS(s)
	fmt.Printf("| eixamsim --procs %d | %d | %s | %d | %.0f ms | %.0f ms | %.1f ms | %d | %.0f s | %.0f | %s | %.0f MiB | %.1f KiB |\n",
		len(sum.Meta.Shards), peak, rate, sum.TotalErrors(), p99(sum, scenario.UserLogin), p99(sum, scenario.MQTTConnect), tel.P99,
		tel.Count, all, all/float64(max(tel.Count, 1))*1e6, steady, float64(rss)/1024, float64(rss)/float64(max(peak, 1)))
	return nil
}

func p99(s *report.Summary, metric string) float64 { return s.Metrics[metric].P99 }

// churnRow is one run of bench/churn.sh: CPU per login (every login,
// returns included: user.login's samples) and RSS per online user (the
// mean RSS over the steady stage against the mean users online there).
func churnRow(label, summaryPath, samplesPath, timePath string) error {
	sum, s, all, err := readRun(summaryPath, samplesPath, timePath)
	if err != nil {
		return err
	}
	start := float64(sum.Start.UnixNano()) / 1e9
	a, b := sum.Stages[0].End.Sub(sum.Start).Seconds(), sum.Seconds-5 // the steady stage
	var online, n float64
	for _, p := range sum.Series {
		if p.T-p.Seconds >= a && p.T <= b {
			online += float64(p.Values[scenario.UsersOnline])
			n++
		}
	}
	var rss, m float64
	for _, p := range s {
		if p.t >= start+a && p.t <= start+b {
			rss += float64(p.rss)
			m++
		}
	}
	if n == 0 || m == 0 {
		return fmt.Errorf("%s: no samples in the steady stage", label)
	}
	online, rss = online/n, rss/m
	logins := sum.Metrics[scenario.UserLogin].Count
	fmt.Printf("| %s | %d (%d) | %.0f | %.0f s | %.2f | %.0f MiB | %.1f KiB | %d |\n", label, logins, sum.Counters[scenario.UsersReturned],
		online, all, all/float64(max(logins, 1))*1e3, rss/1024, rss/online, sum.TotalErrors())
	return nil
}

// rawRow reads each rawpaho process's output: its closing line and its
// "tick UNIX ACKED" lines.
func rawRow(samplesPath, timePath string, rampEnd, length float64, outs []string) error {
	s, err := readSamples(samplesPath)
	if err != nil {
		return err
	}
	all, err := cpuAllIn(timePath)
	if err != nil {
		return err
	}
	if len(s) == 0 {
		return fmt.Errorf("%s: no samples", samplesPath)
	}
	start := s[0].t
	a, b := start+rampEnd+15, start+length-5
	var clients, acked, failed, steadyAcked int64
	for _, path := range outs {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		var first, last int64 = -1, -1
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			var t float64
			var n, c, se, ac, fa int64
			var took string
			if _, err := fmt.Sscanf(line, "tick %f %d", &t, &n); err == nil {
				if t >= a && first < 0 {
					first = n
				}
				if t <= b {
					last = n
				}
				continue
			}
			if i := strings.Index(line, "rawpaho:"); i >= 0 {
				if _, err := fmt.Sscanf(line[i:], "rawpaho: %d clients, %d sent, %d acknowledged, %d failed in %s", &c, &se, &ac, &fa, &took); err == nil {
					clients, acked, failed = clients+c, acked+ac, failed+fa
				}
			}
		}
		f.Close()
		if first >= 0 && last > first {
			steadyAcked += last - first
		}
	}
	cpu, span := window(s, a, b)
	steady := "—"
	if steadyAcked > 0 && span > 0 {
		steady = fmt.Sprintf("%.0f", cpu/float64(steadyAcked)*1e6)
	}
	rss := peakRSS(s)
	fmt.Printf("| bare paho.golang, %d processes | %d | — | %d | — | — | — | %d | %.0f s | %.0f | %s | %.0f MiB | %.1f KiB |\n",
		len(outs), clients, failed, acked, all, all/float64(max(acked, 1))*1e6, steady, float64(rss)/1024, float64(rss)/float64(max(clients, 1)))
	return nil
}
