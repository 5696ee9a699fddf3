package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/eixamsim/eixamsim/health"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestSummaryJSONRoundTrip(t *testing.T) {
	run := makeRun(t)
	got, err := ReadSummaryFile(run.dir)
	if err != nil {
		t.Fatal(err)
	}
	want := run.sum
	if got.Schema != SchemaName || got.Version != SchemaVersion || got.Name != want.Name || got.EndReason != want.EndReason {
		t.Errorf("header = %q v%d %q %q", got.Schema, got.Version, got.Name, got.EndReason)
	}
	if !got.Start.Equal(want.Start) || !got.End.Equal(want.End) || got.Seconds != want.Seconds {
		t.Errorf("timing = %v..%v (%v s)", got.Start, got.End, got.Seconds)
	}
	for _, cmp := range []struct {
		name      string
		got, want any
	}{
		{"metrics", got.Metrics, want.Metrics},
		{"counters", got.Counters, want.Counters},
		{"thresholds", got.Thresholds, want.Thresholds},
		{"series", got.Series, want.Series},
		{"target", got.Target, want.Target},
	} {
		if !reflect.DeepEqual(cmp.got, cmp.want) {
			t.Errorf("%s differ after the round trip:\n got %+v\nwant %+v", cmp.name, cmp.got, cmp.want)
		}
	}
	if len(got.Stages) != 3 || got.Stages[1].Name != "steady" || !got.Stages[1].End.Equal(want.Stages[1].End) {
		t.Errorf("stages = %+v", got.Stages)
	}
	m := got.Metrics["http.me"]
	if m.Errors != 5 || m.ErrorsBy["http_503"] != 4 || m.ErrorsBy["timeout"] != 1 {
		t.Errorf("http.me errors = %d %v, want 4 http_503 and 1 timeout", m.Errors, m.ErrorsBy)
	}
	if !(m.Min <= m.P50 && m.P50 <= m.P90 && m.P90 <= m.P95 && m.P95 <= m.P99 && m.P99 <= m.P999 && m.P999 <= m.Max && m.Mean > 0) {
		t.Errorf("http.me statistics out of order: %+v", m)
	}
	raw, _ := os.ReadFile(filepath.Join(run.dir, SummaryJSONFile))
	if !bytes.Contains(raw, []byte(`"p(99) < 1s"`)) {
		t.Errorf("summary.json escapes HTML in rules")
	}
}

func TestReadJSONRejectsOtherVersions(t *testing.T) {
	for _, in := range []string{`{"schema_version": 3}`, `{"schema_version": 0}`, `{}`, `{`} {
		if _, err := ReadJSON(strings.NewReader(in)); err == nil {
			t.Errorf("ReadJSON(%s) accepted", in)
		}
	}
}

// TestSummaryKeysDocumented keeps docs/results.md in step with the schema:
// every key summary.json has (outside the scenario echo and the maps keyed
// by metric or counter name) is named there in backquotes.
func TestSummaryKeysDocumented(t *testing.T) {
	run := makeRun(t)
	doc, err := os.ReadFile("../docs/results.md")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(run.dir, SummaryJSONFile))
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	var walk func(v any, byName bool)
	walk = func(v any, byName bool) {
		switch t := v.(type) {
		case map[string]any:
			for k, sub := range t {
				if !byName {
					keys[k] = true
				}
				switch {
				case k == "scenario":
				case k == "metrics" || k == "counters" || k == "values" || k == "latencies" || k == "errors_by_class":
					walk(sub, true)
				default:
					walk(sub, false)
				}
			}
			if byName {
				for _, sub := range t {
					walk(sub, false)
				}
			}
		case []any:
			for _, sub := range t {
				walk(sub, false)
			}
		}
	}
	walk(v, false)
	var missing []string
	for k := range keys {
		if !bytes.Contains(doc, []byte("`"+k+"`")) {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("docs/results.md does not document %v", missing)
	}
}

func TestSummaryTextGolden(t *testing.T) {
	run := makeRun(t)
	got, err := os.ReadFile(filepath.Join(run.dir, SummaryTextFile))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "summary.golden.txt")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("summary.txt differs from %s (run with -update if the change is intended):\n%s", golden, got)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "summary.json")
	if err := WriteFileAtomic(path, func(w io.Writer) error { _, err := io.WriteString(w, "old"); return err }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := WriteFileAtomic(path, func(w io.Writer) error {
		io.WriteString(w, "half a new fi")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("error %v does not wrap the writer's", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("failed write changed the file to %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only summary.json", names)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	// A directory that cannot be created is an error, not a panic.
	if err := WriteFileAtomic(filepath.Join(path, "x"), func(io.Writer) error { return nil }); err == nil {
		t.Error("write under a file accepted")
	}
}

func TestResultDirHasNoTempFiles(t *testing.T) {
	run := makeRun(t)
	err := filepath.WalkDir(run.dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(d.Name(), ".tmp") {
			t.Errorf("temp file left: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{SummaryJSONFile, SummaryTextFile, ReportHTMLFile, "hdr/telemetry.puback.hlog"} {
		if _, err := os.Stat(filepath.Join(run.dir, f)); err != nil {
			t.Error(err)
		}
	}
}

// externalRef finds resource references that would need the network:
// src/href attributes and CSS url() that are not fragments or data: URIs,
// and tags that load things.
var externalRef = regexp.MustCompile(`(?i)(?:\b(?:src|href|xlink:href|action|poster)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:|//)|url\(\s*["']?\s*(?:https?:|//)|<script|<link|<iframe|<img|@import)`)

// checkOffline reports the first external reference in an HTML page.
func checkOffline(page []byte) string {
	for _, loc := range externalRef.FindAllIndex(page, -1) {
		m := string(page[loc[0]:loc[1]])
		if strings.HasSuffix(strings.ToLower(m), "data:") {
			continue
		}
		lo := max(loc[0]-60, 0)
		return string(page[lo:min(loc[1]+60, len(page))])
	}
	return ""
}

func TestHTMLIsOffline(t *testing.T) {
	run := makeRun(t)
	page, err := os.ReadFile(filepath.Join(run.dir, ReportHTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	if ref := checkOffline(page); ref != "" {
		t.Errorf("report.html references something outside itself: …%s…", ref)
	}
	// This run's page quotes no URL at all (the target is embedded).
	for _, s := range []string{"http://", "https://"} {
		if i := bytes.Index(page, []byte(s)); i >= 0 {
			t.Errorf("report.html contains %q: …%s…", s, page[max(i-80, 0):min(i+80, len(page))])
		}
	}
	// The checker itself catches what it must.
	for _, bad := range []string{`<img src="https://x/y.png">`, `<a href="http://x">`, `<svg><image xlink:href="//cdn/x"/></svg>`, `<style>b{background:url( 'https://x')}</style>`, `<script>1</script>`, `<link rel=stylesheet href=x.css>`} {
		if checkOffline([]byte(bad)) == "" {
			t.Errorf("checkOffline missed %s", bad)
		}
	}
	if ref := checkOffline([]byte(`<a href="#users">users</a> <style>x{background:url(data:image/png;base64,AA)}</style>`)); ref != "" {
		t.Errorf("checkOffline flagged %s", ref)
	}
}

func TestHTMLChartsPopulated(t *testing.T) {
	run := makeRun(t)
	pg, err := buildPage(run.sum, run.hs)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	charts := append(append([]chartView(nil), pg.Timeline...), pg.Latency...)
	if pg.Dist == nil {
		t.Fatal("no distribution chart")
	}
	charts = append(charts, *pg.Dist)
	for _, c := range charts {
		ids = append(ids, c.ID)
		if c.SVG == "" || len(c.Legend) == 0 {
			t.Errorf("chart %s is empty", c.ID)
		}
		if n := strings.Count(string(c.SVG), "<path"); n < 5 {
			t.Errorf("chart %s has %d paths", c.ID, n)
		}
		if !strings.Contains(string(c.SVG), "viewBox=") || strings.Contains(string(c.SVG), "<?xml") {
			t.Errorf("chart %s is not inline SVG", c.ID)
		}
	}
	want := []string{"users", "throughput", "errors", "latency-telemetry.puback", "latency-sos.delivered", "latency-http.me", "distribution"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("charts = %v, want %v", ids, want)
	}
	if len(pg.Dist.Legend) != 3 {
		t.Errorf("distribution lines = %v", pg.Dist.Legend)
	}
	// The errors chart shows the 4 seconds of http_503, the timeout and
	// the auth_refused.
	var errSum float64
	for _, g := range groupSeries(run.sum.Series) {
		errSum += g.rate(sumWhere(g.errors, func(string) bool { return true })) * g.seconds
	}
	if errSum < 5.99 || errSum > 6.01 {
		t.Errorf("errors over time add up to %v, want 6", errSum)
	}
	if pg.Verdict.Word != "PASSED" {
		t.Errorf("verdict = %+v", pg.Verdict)
	}
}

func TestLatencyOverTimeIsExactAndBounded(t *testing.T) {
	run := makeRun(t)
	hs := run.hs
	ivs := hs["telemetry.puback"]
	// One point per interval: each point is that second's exact p99.
	_, _, p99 := latencyOverTime(ivs)
	if len(p99) != len(ivs) {
		t.Fatalf("%d points for %d intervals", len(p99), len(ivs))
	}
	for i, pt := range p99 {
		if want := float64(microsAt(ivs[i].Hist, 99)); pt.Y != want || pt.X != ivs[i].End() {
			t.Errorf("point %d = %+v, want (%v, %v)", i, pt, ivs[i].End(), want)
		}
	}
	// A long run merges adjacent intervals, still exactly.
	long := make([]Interval, 0, 610)
	for i := 0; i < 610; i++ {
		iv := ivs[i%len(ivs)]
		long = append(long, Interval{Start: float64(i), Length: 1, Hist: iv.Hist})
	}
	_, _, p99 = latencyOverTime(long)
	if len(p99) > MaxChartPoints || len(p99) < MaxChartPoints/2 {
		t.Fatalf("%d points for 610 intervals, want at most %d", len(p99), MaxChartPoints)
	}
	k := groupSize(len(long))
	merged := newLike(long[0].Hist)
	for _, iv := range long[:k] {
		merged.Merge(iv.Hist)
	}
	if p99[0].Y != float64(microsAt(merged, 99)) || p99[0].X != float64(k) {
		t.Errorf("first merged point = %+v, want (%d, %d)", p99[0], k, microsAt(merged, 99))
	}
	// Sparse metrics leave gaps rather than zeros.
	_, _, sos := latencyOverTime(hs["sos.delivered"])
	for _, pt := range sos {
		if pt.Y == 0 {
			t.Errorf("sos.delivered has a zero point at %v", pt.X)
		}
	}
	if len(sos) != 14 {
		t.Errorf("sos.delivered: %d points, want 14 (every third second)", len(sos))
	}
}

func TestPercentileAxis(t *testing.T) {
	for nines, want := range map[int]string{1: "90%", 2: "99%", 3: "99.9%", 5: "99.999%"} {
		if got := percentLabel(nines); got != want {
			t.Errorf("percentLabel(%d) = %q, want %q", nines, got, want)
		}
	}
	run := makeRun(t)
	hs := run.hs
	h := hs.Total("telemetry.puback")
	pts := percentileCurve(h)
	if pts[0].X != 1 || pts[len(pts)-1].X != float64(h.TotalCount()) || pts[len(pts)-1].Y != float64(h.Max()) {
		t.Errorf("curve spans %+v..%+v", pts[0], pts[len(pts)-1])
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].X <= pts[i-1].X || pts[i].Y < pts[i-1].Y {
			t.Fatalf("curve not monotonic at %d: %+v %+v", i, pts[i-1], pts[i])
		}
	}
}

func TestRerenderMatchesTheRun(t *testing.T) {
	run := copyRun(t)
	before := map[string][]byte{}
	for _, f := range []string{SummaryTextFile, ReportHTMLFile, SummaryJSONFile} {
		before[f], _ = os.ReadFile(filepath.Join(run.dir, f))
		if f != SummaryJSONFile {
			os.Remove(filepath.Join(run.dir, f))
		}
	}
	if err := Rerender(run.dir); err != nil {
		t.Fatal(err)
	}
	for f, want := range before {
		got, err := os.ReadFile(filepath.Join(run.dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("re-rendered %s differs from the run's (%d vs %d bytes)", f, len(got), len(want))
		}
	}
}

func TestScenarioParamsKeepOrder(t *testing.T) {
	run := makeRun(t)
	got, err := ReadSummaryFile(run.dir) // raw JSON echo
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range []any{run.sum.Scenario, got.Scenario} {
		ps, err := scenarioParams(sc)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, p := range ps {
			keys = append(keys, p.Key+"="+p.Value)
		}
		want := []string{"version=1", "name=unit", "fleet.connect_rate=20/s", "fleet.users=100",
			"stages[0]=for=5s  name=up  users=100", "stages[1]=for=30s  name=steady  users=100", "stages[2]=for=5s  name=down  users=0",
			"thresholds.telemetry.puback=p(99) < 1s", "identity.app_id=a", "identity.app_secret=[redacted]"}
		if !reflect.DeepEqual(keys, want) {
			t.Errorf("params =\n%q\nwant\n%q", keys, want)
		}
	}
}

func TestVerdicts(t *testing.T) {
	base := Summary{Metrics: map[string]Metric{"http.me": {Count: 1}}, EndReason: "completed"}
	tests := []struct {
		name   string
		mutate func(*Summary)
		want   string
	}{
		{"no thresholds", func(*Summary) {}, "COMPLETED"},
		{"all pass", func(s *Summary) { s.Thresholds = []Verdict{{Passed: true}} }, "PASSED"},
		{"one fails", func(s *Summary) { s.Thresholds = []Verdict{{Passed: true}, {}} }, "FAILED"},
		{"aborted", func(s *Summary) { s.EndReason = "aborted"; s.Thresholds = []Verdict{{}} }, "ABORTED"},
		{"interrupted", func(s *Summary) { s.EndReason = "interrupted"; s.Thresholds = []Verdict{{Passed: true}} }, "INTERRUPTED"},
		{"nothing measured", func(s *Summary) { s.Metrics = map[string]Metric{"schedule.lag": {Count: 9}} }, "NOTHING MEASURED"},
		{"no login but errors (exit 3)", func(s *Summary) {
			s.Metrics = map[string]Metric{"user.login": {}, "http.me": {Errors: 20}}
			s.Thresholds = []Verdict{{NoData: true}}
		}, "NOTHING MEASURED"},
		{"generator-bound wins over failed", func(s *Summary) {
			s.Thresholds = []Verdict{{}}
			s.Generator = &health.Report{Verdict: health.Verdict{State: health.GeneratorBound}}
		}, "GENERATOR-BOUND"},
		{"healthy generator", func(s *Summary) {
			s.Thresholds = []Verdict{{Passed: true}}
			s.Generator = &health.Report{Verdict: health.Verdict{State: health.Healthy}}
		}, "PASSED"},
		{"interrupted with a failed rule", func(s *Summary) { s.EndReason = "interrupted"; s.Thresholds = []Verdict{{}} }, "INTERRUPTED"},
		// Too short to judge the generator: a rule that held is no pass.
		{"generator not judged", func(s *Summary) {
			s.Thresholds = []Verdict{{Passed: true}}
			s.Generator = &health.Report{Verdict: health.Verdict{State: health.NotJudged}}
		}, "NOT JUDGED"},
		{"failed wins over not judged", func(s *Summary) {
			s.Thresholds = []Verdict{{}}
			s.Generator = &health.Report{Verdict: health.Verdict{State: health.NotJudged}}
		}, "FAILED"},
	}
	for _, tt := range tests {
		s := base
		tt.mutate(&s)
		if got := verdictOf(&s).Word; got != tt.want {
			t.Errorf("%s: verdict %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   []string // labels of the major ticks
	}{
		{0, 52.5, []string{"0", "10", "20", "30", "40", "50"}},
		{0, 17.2, []string{"0", "5", "10", "15"}},
		{0, 30, []string{"0", "5", "10", "15", "20", "25", "30"}},
		{0, 1.05, []string{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}},
		{0, 3.6, []string{"0", "1", "2", "3"}},
		{0, 210, []string{"0", "50", "100", "150", "200"}},
	}
	for _, tt := range tests {
		var got []string
		for _, tk := range niceTicks(tt.lo, tt.hi) {
			if !tk.IsMinor() {
				got = append(got, tk.Label)
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("niceTicks(%v, %v) = %v, want %v", tt.lo, tt.hi, got, tt.want)
		}
	}
}

// TestGeneratorNotJudgedShown: a run too short to judge the simulator
// says so wherever the verdict is read: summary.txt's first lines, the
// report's banner and health panel, and junit.xml, where the rule that
// held is skipped.
func TestGeneratorNotJudgedShown(t *testing.T) {
	run := makeRun(t)
	s := *run.sum
	why := "the run was too short to judge the simulator's health: 8s sampled, 3s of it after the 5s warm-up"
	g := *s.Generator
	g.Verdict = health.Verdict{State: health.NotJudged, Reasons: []health.Reason{{Signal: health.SignalDuration, Message: why}}}
	g.Connect = &health.RampStats{Seconds: 3, SaturatedS: 1, ReachedPct: 96, LimitPct: 50}
	s.Generator = &g

	var text bytes.Buffer
	if err := WriteText(&text, &s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nNOT JUDGED: " + why + "\n", "generator: not judged: " + why, "SKIP  telemetry.puback: p(99) < 1s", "(SKIP: not judged: the run was too short to judge whether the simulator kept up"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("summary.txt lacks %q:\n%s", want, text.String())
		}
	}
	pg, err := buildPage(&s, run.hs)
	if err != nil {
		t.Fatal(err)
	}
	if pg.GenTitle != "Generator not judged." || !strings.Contains(pg.Generator, why) || pg.GenVerdict != "Not judged: "+why+"." || pg.Verdict.Word != "NOT JUDGED" {
		t.Errorf("banner %q %q, panel %q, headline %s", pg.GenTitle, pg.Generator, pg.GenVerdict, pg.Verdict.Word)
	}
	if last := pg.GenPanel[len(pg.GenPanel)-1]; !strings.HasPrefix(last.Signal, "connect ramp") || last.Value != "96% of the rate asked; saturated 1s of 3s" {
		t.Errorf("last panel row %+v, want the connect ramp", last)
	}
	var junit bytes.Buffer
	if err := WriteJUnit(&junit, &s, nil); err != nil {
		t.Fatal(err)
	}
	if j := junit.String(); !strings.Contains(j, `<property name="generator" value="not_judged">`) || strings.Count(j, "<skipped") != 2 {
		t.Errorf("junit.xml: want the generator property and both rules skipped:\n%s", j)
	}
}
