package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/health"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// burstRun is one run of bench/connect-burst.sh: what was asked, and what
// burstRow measured. It is one tab-separated line of runs.tsv, in the
// order of burstColumns.
type burstRun struct {
	users     int
	asked     string // users/s, or "unlimited"
	gen       string // eixamsim, floor-login, floor-bare
	rep, rc   int
	connected int64
	allOnline bool
	// reached is users/s over the burst, from its start to the last login
	// call answered (nginx's access log): one instrument for both
	// generators. own is the generator's own figure: the floor's to its
	// last SUBACK, eixamsim's from its per-second users.online. Without
	// login calls (floor-bare) reached is own. 0 when unknown.
	reached, own float64
	cpu          float64 // user+system seconds, the generator's whole process tree (GNU time)
	peakRSS      int64   // KiB, the peak of the generator processes' summed RSS
	httpConns    int64   // TCP connections the floor's transport opened; -1 when unknown
	drops        int64   // connections the machine dropped at a full listen queue during the run
	errors       int64
	errorKinds   string // "kind=n;kind=n", "" when none
	note         string
}

var burstColumns = []string{"users", "asked", "generator", "rep", "rc", "connected", "all_online",
	"reached_per_s", "own_per_s", "cpu_s", "peak_rss_kib", "http_new_tcp_connections", "listen_overflows", "errors", "error_kinds", "note"}

// rawburstResult is the part of bench/rawburst's output read here.
type rawburstResult struct {
	Users           int              `json:"users"`
	Connected       int64            `json:"connected"`
	Start           float64          `json:"start_unix_s"`
	LastOnline      float64          `json:"last_online_unix_s"`
	HTTPConnections int64            `json:"http_new_tcp_connections"`
	Errors          map[string]int64 `json:"errors"`
	Interrupted     bool             `json:"interrupted"`
}

// burstRow measures one run and prints it as a line of runs.tsv: from
// eixamsim's summary.json, or from the rawburst outputs of the floor's
// processes, and the run's slice of nginx's access log. A run whose
// results are missing still gets its line, with a note saying so.
func burstRow(run burstRun, summaryPath, samplesPath, timePath, accessPath string, outs []string) error {
	run.httpConns = -1
	var start float64 // when the burst started, Unix seconds
	var err error
	if summaryPath != "" {
		start, err = run.fromSummary(summaryPath)
	} else {
		start, err = run.fromRawburst(outs)
	}
	if err != nil {
		run.note = strings.Join(strings.Fields(err.Error()), " ")
	}
	run.reached = run.own
	if last, n, err := lastLogin(accessPath); err != nil {
		run.note += " " + err.Error()
	} else if n > 0 && last > start && start > 0 {
		run.reached = float64(run.connected) / (last - start)
	}
	if run.cpu, err = cpuAllIn(timePath); err != nil {
		run.note += " no GNU time output"
	}
	if s, err := readSamples(samplesPath); err == nil {
		run.peakRSS = peakRSS(s)
	}
	fmt.Println(strings.Join(run.fields(), "\t"))
	return nil
}

// fields is the run's line of runs.tsv, in the order of burstColumns.
func (run burstRun) fields() []string {
	f := func(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	return []string{strconv.Itoa(run.users), run.asked, run.gen, strconv.Itoa(run.rep), strconv.Itoa(run.rc),
		i(run.connected), strconv.FormatBool(run.allOnline), f(run.reached, 1), f(run.own, 1), f(run.cpu, 2),
		i(run.peakRSS), i(run.httpConns), i(run.drops), i(run.errors), run.errorKinds, strings.TrimSpace(run.note)}
}

// lastLogin reads nginx's access log lines "MSEC URI STATUS": the time of
// the last GET /v1/sdk/sos answered with a 2xx (a user's last login call)
// and how many there were.
func lastLogin(path string) (last float64, n int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var t float64
		var uri string
		var status int
		if _, err := fmt.Sscanf(sc.Text(), "%f %s %d", &t, &uri, &status); err == nil && uri == contract.PathSOS && status/100 == 2 {
			last, n = max(last, t), n+1
		}
	}
	return last, n, sc.Err()
}

// fromSummary reads an eixamsim run; start is its first stage's start.
func (run *burstRun) fromSummary(path string) (start float64, err error) {
	sum, err := report.ReadSummaryFile(strings.TrimSuffix(path, "/summary.json"))
	if err != nil {
		return 0, err
	}
	if len(sum.Stages) > 0 {
		start = float64(sum.Stages[0].Start.UnixNano()) / 1e9
	}
	for _, p := range sum.Series {
		run.connected = max(run.connected, p.Values[scenario.UsersOnline])
	}
	asked := 0.0
	if run.asked != "unlimited" {
		asked, _ = strconv.ParseFloat(run.asked, 64)
	}
	if c := burstConnect(sum, asked); c != nil {
		run.own, run.allOnline = c.ReachedPerS, c.Reached
	}
	kinds := map[string]int64{}
	for name, m := range sum.Metrics {
		for class, n := range m.ErrorsBy {
			kinds[name+" "+class] += n
		}
		run.errors += m.Errors
	}
	run.errorKinds = joinKinds(kinds)
	if run.rc != 0 {
		run.note = fmt.Sprintf("exit %d", run.rc)
		if g := sum.Generator; g != nil && g.State == health.GeneratorBound {
			run.note += " (generator-bound)"
		}
	}
	return start, nil
}

// burstConnect is eixamsim's own connect rate over the burst stage: what
// report.ConnectOf gives summary.json's "connect", from the stages and the
// per-second users.online. Its crossing is the end of the second in which
// users.online reached the target, so it is good to a second. ConnectOf
// leaves out a ramp shorter than report.MinConnectSeconds for that reason,
// but 10,000 users at 5,000/s take 2 s: time is stretched 100-fold for the
// call and the result shrunk back, which changes nothing else in it.
func burstConnect(sum *report.Summary, asked float64) *report.Connect {
	const k = 100
	stages := slices.Clone(sum.Stages)
	for i := range stages {
		stages[i].From, stages[i].To = stages[i].From*k, stages[i].To*k
	}
	series := slices.Clone(sum.Series)
	for i := range series {
		series[i].T, series[i].Seconds = series[i].T*k, series[i].Seconds*k
	}
	c := report.ConnectOf(stages, series, asked)
	if c != nil {
		c.Seconds /= k
		c.ReachedPerS *= k
	}
	return c
}

// fromRawburst reads the floor's processes; start is the earliest's.
func (run *burstRun) fromRawburst(paths []string) (start float64, err error) {
	if len(paths) == 0 {
		return 0, fmt.Errorf("no rawburst output")
	}
	kinds := map[string]int64{}
	var last float64
	users := 0
	run.httpConns = 0
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0, err
		}
		var r rawburstResult
		if err := json.Unmarshal(b, &r); err != nil {
			return 0, fmt.Errorf("%s: %v", path, err)
		}
		users += r.Users
		run.connected += r.Connected
		run.httpConns += r.HTTPConnections
		if start == 0 || r.Start < start {
			start = r.Start
		}
		last = max(last, r.LastOnline)
		for k, n := range r.Errors {
			kinds[k] += n
			run.errors += n
		}
		if r.Interrupted {
			run.note = "interrupted"
		}
	}
	if last > start {
		run.own = float64(run.connected) / (last - start)
	}
	run.allOnline = run.connected == int64(users)
	run.errorKinds = joinKinds(kinds)
	return start, nil
}

func joinKinds(kinds map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		if kinds[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", k, kinds[k]))
		}
	}
	return strings.Join(parts, ";")
}

func readRuns(path string) ([]burstRun, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var runs []burstRun
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		c := strings.Split(sc.Text(), "\t")
		if len(c) != len(burstColumns) {
			return nil, fmt.Errorf("%s:%d: %d columns, want %d (%s)", path, line, len(c), len(burstColumns), strings.Join(burstColumns, " "))
		}
		var r burstRun
		var errs [12]error
		r.users, errs[0] = strconv.Atoi(c[0])
		r.asked, r.gen = c[1], c[2]
		r.rep, errs[1] = strconv.Atoi(c[3])
		r.rc, errs[2] = strconv.Atoi(c[4])
		r.connected, errs[3] = strconv.ParseInt(c[5], 10, 64)
		r.allOnline, errs[4] = strconv.ParseBool(c[6])
		r.reached, errs[5] = strconv.ParseFloat(c[7], 64)
		r.own, errs[6] = strconv.ParseFloat(c[8], 64)
		r.cpu, errs[7] = strconv.ParseFloat(c[9], 64)
		r.peakRSS, errs[8] = strconv.ParseInt(c[10], 10, 64)
		r.httpConns, errs[9] = strconv.ParseInt(c[11], 10, 64)
		r.drops, errs[10] = strconv.ParseInt(c[12], 10, 64)
		r.errors, errs[11] = strconv.ParseInt(c[13], 10, 64)
		r.errorKinds, r.note = c[14], c[15]
		for _, err := range errs {
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, line, err)
			}
		}
		runs = append(runs, r)
	}
	return runs, sc.Err()
}

// perUser is a run's CPU (µs) and peak RSS (KiB) per connected user.
func (r burstRun) perUser() (cpuUS, rssKiB float64) {
	n := float64(max(r.connected, 1))
	return r.cpu / n * 1e6, float64(r.peakRSS) / n
}

// rateText is a users/s figure, "—" when unknown.
func rateText(v float64, allOnline bool) string {
	switch {
	case v == 0:
		return "—"
	case !allOnline:
		return fmt.Sprintf("%.0f/s (not all online)", v)
	}
	return fmt.Sprintf("%.0f/s", v)
}

// genText names a generator in the tables.
func genText(gen string) string {
	switch gen {
	case "floor-login":
		return "floor: rawburst -login"
	case "floor-bare":
		return "rawburst, no login"
	}
	return gen
}

func askedText(a string) string {
	if a == "unlimited" {
		return a
	}
	return a + "/s"
}

// burstTable prints every run, then per users, rate asked and generator
// the median of each figure over the repetitions (with the range), and
// eixamsim's CPU and memory per user against the floor's.
func burstTable(path string) error {
	runs, err := readRuns(path)
	if err != nil {
		return err
	}
	fmt.Println("Every run:")
	fmt.Println()
	fmt.Println("| users | asked | generator | run | online | users/s reached | own figure | CPU µs/user all-in | peak RSS/user | new HTTP conns | listen overflows | errors | note |")
	fmt.Println("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
	for _, r := range runs {
		cpu, rss := r.perUser()
		conns := "—"
		if r.httpConns >= 0 {
			conns = strconv.FormatInt(r.httpConns, 10)
		}
		fmt.Printf("| %d | %s | %s | %d | %d | %s | %s | %.0f | %.1f KiB | %s | %d | %s | %s |\n", r.users, askedText(r.asked), genText(r.gen), r.rep,
			r.connected, rateText(r.reached, r.allOnline), rateText(r.own, r.allOnline), cpu, rss, conns, r.drops,
			errorsText(r.errors, r.errorKinds), r.note)
	}

	type key struct{ users, asked, gen string }
	groups := map[key][]burstRun{}
	var order []key
	for _, r := range runs {
		k := key{strconv.Itoa(r.users), r.asked, r.gen}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	fmt.Println()
	fmt.Println("Medians over the runs (min–max), eixamsim against the floor with login (×floor):")
	fmt.Println()
	fmt.Println("| users | asked | generator | runs | online | users/s reached | CPU µs/user all-in | ×floor | peak RSS/user | ×floor | errors (all runs) |")
	fmt.Println("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
	for _, k := range order {
		g := groups[k]
		var online, rate, cpu, rss []float64
		var errs int64
		kinds := map[string]int64{}
		allOnline := true
		for _, r := range g {
			c, m := r.perUser()
			online, rate, cpu, rss = append(online, float64(r.connected)), append(rate, r.reached), append(cpu, c), append(rss, m)
			errs += r.errors
			allOnline = allOnline && r.allOnline
			for _, kv := range strings.Split(r.errorKinds, ";") {
				if name, n, ok := strings.Cut(kv, "="); ok {
					v, _ := strconv.ParseInt(n, 10, 64)
					kinds[name] += v
				}
			}
		}
		reached := spread(rate, "%.0f", "/s")
		if !allOnline {
			reached += " (not all online)"
		}
		cpuX, rssX := "", ""
		if f, ok := groups[key{k.users, k.asked, "floor-login"}]; ok && k.gen != "floor-login" {
			var fc, fr []float64
			for _, r := range f {
				c, m := r.perUser()
				fc, fr = append(fc, c), append(fr, m)
			}
			cpuX = fmt.Sprintf("%.2f", median(cpu)/median(fc))
			rssX = fmt.Sprintf("%.2f", median(rss)/median(fr))
		}
		fmt.Printf("| %s | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", k.users, askedText(k.asked), genText(k.gen), len(g),
			spread(online, "%.0f", ""), reached, spread(cpu, "%.0f", ""), cpuX, spread(rss, "%.1f", " KiB"), rssX, errorsText(errs, joinKinds(kinds)))
	}
	return nil
}

func errorsText(n int64, kinds string) string {
	if n == 0 {
		return "0"
	}
	return fmt.Sprintf("%d: %s", n, strings.ReplaceAll(kinds, ";", ", "))
}

// spread is "median unit (min–max)", or the value alone for one run.
func spread(v []float64, format, unit string) string {
	if len(v) == 1 {
		return fmt.Sprintf(format+unit, v[0])
	}
	return fmt.Sprintf(format+unit+" ("+format+"–"+format+")", median(v), slices.Min(v), slices.Max(v))
}

// median of v; with an even count, the mean of the middle two.
func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
