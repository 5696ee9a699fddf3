package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/capacity"
	"github.com/eixamsim/eixamsim/internal/testbin"
	"github.com/eixamsim/eixamsim/procs"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// TestMain removes the binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// shardsScenario is 10 users on the embedded backend (5 per worker with
// --procs 2), telemetry twice a second.
const shardsScenario = `version: 1
name: shards-prom
identity: { app_id: demo-app, app_secret: demo-secret, user_id: "sp-{{.N}}" }
fleet: { users: 10, connect_rate: 100/s }
stages: [{ name: steady, for: 6s, users: 10 }]
behaviours:
  login: [me]
  telemetry: { every: 500ms }
`

// capacityScenario is a two-step search (4 users, then the ceiling 8).
const capacityScenario = `version: 1
name: capacity-prom
identity: { app_id: demo-app, app_secret: demo-secret, user_id: "cp-{{.N}}" }
fleet: { users: 4, connect_rate: 100/s }
duration: 30s
behaviours:
  login: [me]
  telemetry: { every: 500ms }
thresholds:
  telemetry.puback: ["p(99) < 2s"]
capacity: { dimension: users, start: 4, max: 8, factor: 2, warmup: 1s, hold: 2s }
`

// testToken is the bearer token the runs get from the environment: it
// must appear in no output and no result file.
const testToken = "tok-interop-0b5e7c"

// TestShardsAndDashboardAgainstPrometheus pushes `run --procs 2` and a
// `capacity` search to a real Prometheus with --remote-write, then checks
// what an SRE's Prometheus and Grafana would see: the two shards' series
// are distinct (shard, run_id, instance, the extra label), their sums
// equal the merged summary.json, every series ends with a staleness
// marker, and every PromQL query of deploy/grafana/eixamsim.json returns
// data while the runs were live.
func TestShardsAndDashboardAgainstPrometheus(t *testing.T) {
	base := startPrometheus(t)
	bin := testbin.Path(t, "../cmd/eixamsim")
	dir := t.TempDir()
	push := []string{"--remote-write", base + "/api/v1/write", "--remote-write-interval", "500ms",
		"--remote-write-label", "env=interop", "--remote-write-header", "X-Scope-OrgID: interop"}

	runPath := filepath.Join(dir, "shards.yaml")
	capPath := filepath.Join(dir, "capacity.yaml")
	for p, text := range map[string]string{runPath: shardsScenario, capPath: capacityScenario} {
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runOut, capOut := filepath.Join(dir, "run"), filepath.Join(dir, "capacity")
	runLog := eixamsimRun(t, bin, append([]string{"run", runPath, "--procs", "2", "--out", runOut, "--no-progress"}, push...), 0, 4, 5)
	// 4: a step the generator could not carry (a loaded machine); its
	// steps are pushed all the same.
	capLog := eixamsimRun(t, bin, append([]string{"capacity", capPath, "--out", capOut, "--quiet"}, push...), 0, 4)
	for _, out := range []string{runLog, capLog} {
		if strings.Contains(out, testToken) {
			t.Errorf("the token is in the output:\n%s", out)
		}
		if strings.Contains(out, "warning") {
			t.Errorf("a warning while pushing to a working receiver:\n%s", out)
		}
	}
	for _, root := range []string{runOut, capOut} {
		_ = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(testToken)) {
					t.Errorf("%s holds the token", p)
				}
			}
			return nil
		})
	}

	merged := readSummaryFile(t, runOut)
	runID := merged.Meta.RunID
	sel := `{job="eixamsim",run_id="` + runID + `"}`

	// Distinct series: one per shard, with every label, and sums equal to
	// the merged summary (each shard's to its own).
	online := query(t, base, `last_over_time(eixamsim_telemetry_puback_seconds_count`+sel+`[15m])`)
	if len(online) != 2 {
		t.Fatalf("telemetry_puback_count series %v, want one per shard", online)
	}
	host, _ := os.Hostname()
	for labels := range online {
		var ls map[string]string
		_ = json.Unmarshal([]byte(labels), &ls)
		if (ls["shard"] != "0" && ls["shard"] != "1") || ls["instance"] != host || ls["env"] != "interop" {
			t.Errorf("series %s: want shard 0 or 1, instance %q, env=interop", labels, host)
		}
	}
	for _, m := range []string{scenario.TelemetryPuback, scenario.UserLogin} {
		family := "eixamsim_" + strings.ReplaceAll(m, ".", "_") + "_seconds_count"
		byShard := query(t, base, `sum by (shard) (last_over_time(`+family+sel+`[15m]))`)
		var sum float64
		for i := range 2 {
			want := float64(readSummaryFile(t, procs.ShardDir(runOut, i, 2)).Metrics[m].Count)
			got := byShard[`{"shard":"`+strconv.Itoa(i)+`"}`]
			if got != want {
				t.Errorf("%s shard %d = %v, want its summary.json's %v", family, i, got, want)
			}
			sum += got
		}
		if want := float64(merged.Metrics[m].Count); sum != want || want == 0 {
			t.Errorf("%s summed over shards = %v, want the merged summary's %v (non-zero)", family, sum, want)
		}
	}
	peak := query(t, base, `max_over_time(eixamsim_users_online`+sel+`[15m])`)
	var users float64
	for _, v := range peak {
		users += v
	}
	if users != 10 {
		t.Errorf("users online peaks by shard %v sum to %v, want 10", peak, users)
	}
	// The runs ended: staleness markers end every series at once.
	if got := query(t, base, `eixamsim_users_online{job="eixamsim"}`); len(got) != 0 {
		t.Errorf("users_online still current after the runs: %v (no staleness markers?)", got)
	}
	// The capacity search's step families: its last values are
	// capacity.json's steps.
	steps, maxLoad := readCapacitySteps(t, capOut)
	verdicts := map[string]float64{"pass": 0, "fail": 0, "inconclusive": 0}
	for _, st := range steps {
		verdicts[st.Verdict]++
	}
	capSel := `{job="eixamsim",run_id="` + filepath.Base(capOut) + `"}`
	pushed := query(t, base, `sum by (verdict) (last_over_time(eixamsim_capacity_steps_total`+capSel+`[15m]))`)
	for v, n := range verdicts {
		if pushed[`{"verdict":"`+v+`"}`] != n {
			t.Errorf("capacity steps by verdict %v, want capacity.json's %v", pushed, verdicts)
			break
		}
	}
	if got := query(t, base, `max_over_time(eixamsim_capacity_step_load{dimension="users"}[15m])`); fmt_(got) != strconv.FormatFloat(maxLoad, 'g', -1, 64) {
		t.Errorf("capacity step load peaked at %v, want capacity.json's %v", got, maxLoad)
	}

	checkDashboard(t, base, []time.Time{lastSample(t, base, `eixamsim_run_finished`+sel), lastSample(t, base, `eixamsim_run_finished`+capSel)})
}

// checkDashboard runs every query of the dashboard, its variables
// substituted (every value of $metric), at each of times, and wants data
// at one of them at least.
func checkDashboard(t *testing.T, base string, times []time.Time) {
	t.Helper()
	raw, err := os.ReadFile("../deploy/grafana/eixamsim.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID        string
		Templating struct {
			List []struct {
				Name    string
				Type    string
				Query   any
				Options []struct{ Value string }
			}
		}
		Panels []dashPanel
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&dash); err != nil {
		t.Fatalf("eixamsim.json: %v", err)
	}
	var metricValues []string
	vars := map[string]bool{}
	for _, v := range dash.Templating.List {
		vars[v.Name] = true
		if v.Name == "metric" {
			for _, o := range v.Options {
				metricValues = append(metricValues, o.Value)
			}
		}
	}
	for _, name := range []string{"datasource", "job", "run_id", "shard", "metric"} {
		if !vars[name] {
			t.Errorf("no template variable $%s", name)
		}
	}
	if dash.UID == "" || len(metricValues) == 0 {
		t.Fatalf("uid %q, metric values %v", dash.UID, metricValues)
	}
	subst := strings.NewReplacer(`$job`, `eixamsim`, `$run_id`, `.+`, `$shard`, `.+`,
		`$__rate_interval`, `1m`, `$__interval`, `1s`, `$__range`, `5m`)
	leftover := regexp.MustCompile(`\$\{?[a-zA-Z_]+`)
	n := 0
	for _, p := range dash.Panels {
		for _, tg := range p.all() {
			exprs := []string{tg.Expr}
			if strings.Contains(tg.Expr, "metric}") || strings.Contains(tg.Expr, "$metric") {
				exprs = nil
				for _, m := range metricValues {
					exprs = append(exprs, strings.NewReplacer("${metric}", m, "$metric", m).Replace(tg.Expr))
				}
			}
			for _, e := range exprs {
				q := subst.Replace(e)
				if l := leftover.FindString(q); l != "" {
					t.Errorf("panel %q: %s left in %s", tg.panel, l, q)
					continue
				}
				n++
				found := false
				for _, at := range times {
					if len(queryAt(t, base, q, at)) > 0 {
						found = true
						break
					}
				}
				if !found {
					t.Errorf("panel %q: no data for %s", tg.panel, q)
				}
			}
		}
	}
	if n < 30 {
		t.Errorf("only %d queries checked", n)
	}
}

// dashPanel is a Grafana panel: its queries, and a row's panels.
type dashPanel struct {
	Title   string
	Type    string
	Targets []struct{ Expr string }
	Panels  []dashPanel
}

type dashTarget struct{ panel, Expr string }

func (p dashPanel) all() []dashTarget {
	var out []dashTarget
	for _, tg := range p.Targets {
		out = append(out, dashTarget{p.Title, tg.Expr})
	}
	for _, c := range p.Panels {
		out = append(out, c.all()...)
	}
	return out
}

// eixamsimRun runs the binary with the test token in its environment and
// returns its output; its exit code must be one of codes.
func eixamsimRun(t *testing.T, bin string, args []string, codes ...int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "EIXAM_REMOTE_WRITE_TOKEN="+testToken)
	out, _ := cmd.CombinedOutput()
	code := cmd.ProcessState.ExitCode()
	for _, c := range codes {
		if code == c {
			return string(out)
		}
	}
	t.Fatalf("eixamsim %s: exit %d, want %v\n%s", strings.Join(args, " "), code, codes, out)
	return ""
}

// readCapacitySteps returns the steps of dir's capacity.json and the
// highest load among them.
func readCapacitySteps(t *testing.T, dir string) ([]capacity.StepResult, float64) {
	t.Helper()
	var search struct{ Steps []capacity.StepResult }
	if b, err := os.ReadFile(filepath.Join(dir, capacity.JSONFile)); err != nil || json.Unmarshal(b, &search) != nil || len(search.Steps) == 0 {
		t.Fatalf("capacity.json: %v, %d steps", err, len(search.Steps))
	}
	var highest float64
	for _, st := range search.Steps {
		highest = max(highest, st.Load)
	}
	return search.Steps, highest
}

func readSummaryFile(t *testing.T, dir string) *report.Summary {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s report.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// queryAt is query evaluated at a given time.
func queryAt(t *testing.T, base, q string, at time.Time) map[string]float64 {
	t.Helper()
	return queryURL(t, base+"/api/v1/query?time="+strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)+"&query="+url.QueryEscape(q), q)
}

// lastSample is the time of the newest real sample (staleness markers
// are not samples) of the series of selector sel, the earliest over them.
func lastSample(t *testing.T, base, sel string) time.Time {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(base + "/api/v1/query?query=" + url.QueryEscape(sel+"[15m]"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Result []struct{ Values [][2]any }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Data.Result) == 0 {
		t.Fatalf("%s: %v, %d series", sel, err, len(body.Data.Result))
	}
	var lasts []float64
	for _, r := range body.Data.Result {
		ts, _ := r.Values[len(r.Values)-1][0].(float64)
		lasts = append(lasts, ts)
	}
	sort.Float64s(lasts)
	return time.UnixMilli(int64(lasts[0] * 1000))
}

// fmt_ shows a one-series result's value.
func fmt_(m map[string]float64) string {
	if len(m) != 1 {
		return "?"
	}
	for _, v := range m {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return ""
}

// TestCapacityWorkersPushTheirShards runs a capacity search in two worker
// processes with --remote-write: each worker pushes its share of the load
// under its own shard label, and the run's id is the one its result
// directories record.
func TestCapacityWorkersPushTheirShards(t *testing.T) {
	base := startPrometheus(t)
	bin := testbin.Path(t, "../cmd/eixamsim")
	dir := t.TempDir()
	path := filepath.Join(dir, "capacity.yaml")
	if err := os.WriteFile(path, []byte(capacityScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	log := eixamsimRun(t, bin, []string{"capacity", path, "--procs", "2", "--out", out, "--quiet",
		"--remote-write", base + "/api/v1/write", "--remote-write-interval", "500ms"}, 0, 4)
	if strings.Contains(log, testToken) {
		t.Errorf("the token is in the output:\n%s", log)
	}
	var logins float64
	for i := range 2 {
		s := readSummaryFile(t, procs.ShardDir(out, i, 2))
		sel := `{job="eixamsim",run_id="` + s.Meta.RunID + `",shard="` + strconv.Itoa(i) + `"}`
		got := query(t, base, `last_over_time(eixamsim_user_login_seconds_count`+sel+`[15m])`)
		if fmt_(got) != strconv.FormatInt(s.Metrics[scenario.UserLogin].Count, 10) {
			t.Errorf("worker %d: user_login count %v, want its summary.json's %d", i, got, s.Metrics[scenario.UserLogin].Count)
		}
		for _, v := range got {
			logins += v
		}
	}
	// A loaded machine may stop the search early (exit 4, inconclusive):
	// the logins cover the highest step the search ran, not the ceiling.
	if _, highest := readCapacitySteps(t, out); logins < highest {
		t.Errorf("the workers' logins sum to %v, want the highest step's %v users at least", logins, highest)
	}
}
