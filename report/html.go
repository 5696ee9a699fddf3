package report

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

//go:embed assets/report.html.tmpl assets/report.css
var assets embed.FS

// htmlTemplate is parsed once; the stylesheet is inlined into it, so the
// page needs nothing but itself.
var htmlTemplate = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"css": func() (template.CSS, error) {
		b, err := assets.ReadFile("assets/report.css")
		return template.CSS(b), err
	},
}).ParseFS(assets, "assets/report.html.tmpl"))

// firstKeyMetrics are charted first, when the run measured them; the metrics
// named in thresholds follow, then these fill in up to MaxKeyMetrics.
var firstKeyMetrics = []string{scenario.TelemetryPuback, scenario.SOSDelivered, scenario.HTTPMe}

// fillKeyMetrics are charted after the threshold metrics while there is room.
var fillKeyMetrics = []string{scenario.MQTTConnect, scenario.UserLogin, scenario.SOSVisible, scenario.HTTPSOSCancel, scenario.HTTPSOSResolve}

// MaxKeyMetrics bounds the latency-over-time charts of one report.
const MaxKeyMetrics = 8

// WriteHTML writes report.html: one self-contained page (inline CSS and
// SVG, no script, no external reference) with a headline, the charts and
// the tables of s. hs are the run's interval logs (hdr/*.hlog); latency
// charts are built from them exactly, while throughput, users and errors
// come from s.Series.
func WriteHTML(w io.Writer, s *Summary, hs Histograms) error {
	return writeHTML(w, s, hs)
}

// writeHTML is WriteHTML reading the interval logs from hs.
func writeHTML(w io.Writer, s *Summary, hs intervalSource) error {
	pg, err := buildPage(s, hs)
	if err != nil {
		return fmt.Errorf("report.html: %w", err)
	}
	var buf bytes.Buffer
	if err := htmlTemplate.Execute(&buf, pg); err != nil {
		return fmt.Errorf("report.html: %w", err)
	}
	if _, err := buf.WriteTo(w); err != nil {
		return fmt.Errorf("report.html: %w", err)
	}
	return nil
}

// page is what the template renders.
type page struct {
	Name        string
	Description string
	Verdict     verdictView
	Facts       []param
	KeyFacts    []param // p95 and p99 of the first key metrics, for the headline
	Key         []keyRow
	Thresholds  []verdictRow
	Generator   string      // the generator banner (generator-bound or not judged); "" when healthy
	GenTitle    string      // the banner's first words
	Meta        []param     // who ran it, where, when, how
	Timeline    []chartView // users, throughput, errors
	Latency     []chartView
	Dist        *chartView
	Metrics     []metricRow
	Profiles    []profileRow // per network profile, each latency metric that measured something
	NoData      []string     // latency metrics without a successful sample, and why
	Errors      []errorRow   // every metric and class that failed, with samples
	GenPanel    []genRow     // the simulator's own health, signal by signal
	GenVerdict  string
	Stages      []stageRow
	PerStage    []stageMetricRow // key metrics per stage (StageMetrics)
	Events      []eventRow
	Counters    []param
	Params      []param
	Notes       []string
	Start       string
	Version     int
}

type verdictView struct {
	Word   string // PASSED, FAILED, ...
	Class  string // pass | fail | warn | info
	Reason string
}

// verdictRow is one threshold in the table: PASS, FAIL, or SKIP for a rule
// that held in a run that did not complete (or was generator-bound) and
// for a rule judged only at the end of a run that did not complete (Why
// says so).
type verdictRow struct {
	Verdict
	Mark, Class, Why string
}

type keyRow struct {
	Name, Count, P50, P95, P99, Errors string
}

type metricRow struct {
	Name                                     string
	Count, Rate                              string
	Min, Mean, P50, P90, P95, P99, P999, Max string
	Errors                                   string
	ErrorClasses                             string
	Empty                                    bool
}

// profileRow is one metric of one network profile; First marks a
// profile's first row, which names it.
type profileRow struct {
	metricRow
	Profile string
	First   bool
}

type stageRow struct {
	Name, Users, From, Length string
	Online                    string // users.online min..max of its samples
	Operations, Errors        string // successes and failures that ended in it
}

// stageMetricRow is one key metric over one stage; First marks a stage's
// first row, which names it.
type stageMetricRow struct {
	Stage, Metric                      string
	Count, Rate, P50, P95, P99, Errors string
	First, Empty                       bool
}

// errorRow is one error class of one metric, with its kept messages.
type errorRow struct {
	Metric, Class string
	Count         int64
	Samples       []string
}

// genRow is one signal of the generator-health panel.
type genRow struct {
	Signal, Value, Limit, Over string
	Class                      string // "fail" when the limit was exceeded for long enough, "" otherwise
}

type chartView struct {
	ID      string
	Title   string
	Caption string
	Legend  []chartLine
	SVG     template.HTML
}

func buildPage(s *Summary, hs intervalSource) (*page, error) {
	params, err := scenarioParams(s.Scenario)
	if err != nil {
		return nil, err
	}
	pg := &page{
		Name:    s.Name,
		Verdict: verdictOf(s),
		Params:  params,
		Meta:    s.Meta.Lines(),
		Notes:   s.Notes,
		Start:   s.Start.UTC().Format("2006-01-02 15:04:05 MST"),
		Version: s.Version,
	}
	for _, p := range params {
		if p.Key == "description" {
			pg.Description = p.Value
		}
	}
	pg.Facts = facts(s)
	for _, v := range s.Thresholds {
		mark := s.verdictMark(v)
		row := verdictRow{Verdict: v, Mark: mark, Class: strings.ToLower(mark)}
		if s.NotJudged(v) {
			row.Why = endOnlyNote
		}
		pg.Thresholds = append(pg.Thresholds, row)
	}
	switch {
	case s.GeneratorBound():
		pg.GenTitle = "Generator-bound."
		pg.Generator = "The simulator was the bottleneck, not the target: its latencies include its own delay and it may have sent less than planned (" +
			generatorReasons(s) + "). Run fewer users per process, or on a bigger machine (docs/health.md)."
	case s.GeneratorNotJudged():
		pg.GenTitle = "Generator not judged."
		pg.Generator = "Nothing says whether the simulator kept up, so the numbers may measure it as much as the target (" +
			generatorReasons(s) + "). Lengthen the stages (docs/health.md)."
	}
	keys := keyMetrics(s, params, hs)
	for i, name := range keys {
		m := s.Metrics[name]
		if i < 3 {
			pg.KeyFacts = append(pg.KeyFacts, param{name + " p95 · p99", fmtMs(m.P95) + " · " + fmtMs(m.P99)})
		}
		pg.Key = append(pg.Key, keyRow{Name: name, Count: fmt.Sprint(m.Count), P50: fmtMs(m.P50), P95: fmtMs(m.P95), P99: fmtMs(m.P99), Errors: fmtErrors(m)})
	}
	profiles := s.ProfileMetrics()
	for _, p := range s.ProfileNames() {
		first := true
		for _, name := range sortedKeys(profiles[p]) {
			if m := profiles[p][name]; m.Count > 0 || m.Errors > 0 {
				pg.Profiles = append(pg.Profiles, profileRow{metricRowOf(name, m), p, first})
				first = false
			}
		}
	}
	for _, name := range s.MetricNames() {
		m := s.Metrics[name]
		pg.Metrics = append(pg.Metrics, metricRowOf(name, m))
		if m.Count == 0 {
			why := "nothing measured"
			if m.Errors > 0 {
				why = fmt.Sprintf("every operation failed: %s", fmtErrors(m))
			}
			pg.NoData = append(pg.NoData, name+" ("+why+")")
		}
		for _, class := range sortedKeys(m.ErrorsBy) {
			row := errorRow{Metric: name, Class: class, Count: m.ErrorsBy[class]}
			for _, msg := range m.ErrorSamples[class] {
				row.Samples = append(row.Samples, ScrubMessage(msg))
			}
			pg.Errors = append(pg.Errors, row)
		}
	}
	pg.Stages = stageRows(s)
	pg.PerStage = stageMetricRows(s)
	pg.Events = eventRows(s)
	pg.GenVerdict, pg.GenPanel = generatorPanel(s)
	for _, name := range sortedKeys(s.Counters) {
		pg.Counters = append(pg.Counters, param{name, fmt.Sprint(s.Counters[name])})
	}

	stages := stageBoundaries(s)
	events, eventNote := eventMarks(s)
	groups := groupSeries(s.Series)
	for i, c := range []chart{usersChart(groups, s), throughputChart(groups), errorsChart(groups, s)} {
		c.Stages, c.XMax = stages, s.Seconds
		if i == 0 {
			c.Events, c.Caption = events, c.Caption+eventNote
		}
		v, err := view(c, true)
		if err != nil {
			return nil, err
		}
		pg.Timeline = append(pg.Timeline, v)
	}
	logs := map[string]latencyLog{}
	for _, name := range keys {
		ll, err := readLatencyLog(hs, name)
		if err != nil {
			return nil, err
		}
		logs[name] = ll
		c := latencyChart(name, ll, s.Seconds)
		c.Stages, c.XMax = stages, s.Seconds
		c.Events, c.Caption = events, c.Caption+eventNote
		v, err := view(c, false)
		if err != nil {
			return nil, err
		}
		pg.Latency = append(pg.Latency, v)
	}
	if d := distributionChart(keys, logs); d.populated() {
		v, err := view(d, true)
		if err != nil {
			return nil, err
		}
		pg.Dist = &v
	}
	return pg, nil
}

// stageRows is the stage table: each stage's timing, its users online
// (users_online) and the operations and errors of the series points that
// ended in it.
func stageRows(s *Summary) []stageRow {
	start := s.Start.Round(0)
	online := map[string]StageOnline{}
	if s.UsersOnline != nil {
		for _, o := range s.UsersOnline.Stages {
			online[o.Name] = o
		}
	}
	var out []stageRow
	for i, st := range s.Stages {
		from := st.Start.Round(0).Sub(start).Seconds()
		to := st.End.Round(0).Sub(start).Seconds()
		var ops, errs int64
		for _, p := range s.Series {
			// A point belongs to the stage its interval ends in; the last
			// stage also takes the points after its end (the teardown).
			if p.T > from && (p.T <= to || i == len(s.Stages)-1) {
				for name, st := range p.Latencies {
					if name != scenario.ScheduleLag {
						ops += st.Count
						errs += st.Errors
					}
				}
			}
		}
		row := stageRow{
			Name: st.Name, Users: fmt.Sprint(st.Users),
			From: fmtSeconds(from), Length: fmtSeconds(to - from),
			Online: "-", Operations: fmt.Sprint(ops), Errors: fmt.Sprint(errs),
		}
		if o, ok := online[st.Name]; ok && o.Samples > 0 {
			row.Online = fmt.Sprintf("%d..%d", o.Min, o.Max)
		}
		out = append(out, row)
	}
	return out
}

// stageMetricRows is the per-stage table: each stage's key metrics, from
// the stage's own statistics.
func stageMetricRows(s *Summary) []stageMetricRow {
	names := s.StageMetrics()
	var out []stageMetricRow
	for _, st := range s.Stages {
		for i, name := range names {
			m := st.Metrics[name]
			row := stageMetricRow{Stage: st.Name, Metric: name, First: i == 0, Count: fmt.Sprint(m.Count), Errors: fmtErrors(m), Empty: m.Count == 0}
			if !row.Empty {
				row.Rate = fmt.Sprintf("%.1f", m.Rate)
				row.P50, row.P95, row.P99 = fmtMs(m.P50), fmtMs(m.P95), fmtMs(m.P99)
			}
			out = append(out, row)
		}
	}
	return out
}

// generatorPanel is the simulator's health, one row per signal, with the
// verdict as a sentence; nothing for a summary without it.
func generatorPanel(s *Summary) (verdict string, rows []genRow) {
	g := s.Generator
	if g == nil {
		return "", nil
	}
	row := func(signal, value, limit string, over float64) genRow {
		r := genRow{Signal: signal, Value: value, Limit: limit, Over: fmtSeconds(over)}
		if over > 0 {
			r.Class = "warnrow"
		}
		return r
	}
	rows = []genRow{
		row("CPU (share of its cores)", fmt.Sprintf("mean %.0f%%, peak %.0f%% of %d cores", g.CPU.MeanPct, g.CPU.PeakPct, g.Cores), fmt.Sprintf("%.0f%%", g.CPU.LimitPct), g.CPU.OverS),
		row("Go scheduler latency", fmt.Sprintf("p99 %s, worst second %s", fmtMs(g.SchedLatency.P99MS), fmtMs(g.SchedLatency.PeakP99MS)), fmtMs(g.SchedLatency.LimitMS), g.SchedLatency.OverS),
		row(scenario.ScheduleLag, "worst second p99 "+fmtMs(g.ScheduleLag.PeakP99MS), fmtMs(g.ScheduleLag.LimitMS), g.ScheduleLag.OverS),
		row("backpressure (telemetry ticks dropped)", fmt.Sprintf("%d of %d (%.2f%%, worst second %.2f%%)", g.Backpressure.Dropped, g.Backpressure.Attempts, g.Backpressure.SharePct, g.Backpressure.PeakSharePct), fmt.Sprintf("%.0f%%", g.Backpressure.LimitPct), g.Backpressure.OverS),
		row("GC pauses", fmt.Sprintf("%s in all, longest %s, worst second %.2f%%", fmtMs(g.GCPause.TotalMS), fmtMs(g.GCPause.MaxMS), g.GCPause.PeakPct), fmt.Sprintf("%.0f%%", g.GCPause.LimitPct), g.GCPause.OverS),
		row("arrivals dropped more than 1 s late", fmt.Sprintf("%d of %d (%.2f%%, worst second %.2f%%)", g.LateArrivals.Dropped, g.LateArrivals.Arrivals, g.LateArrivals.SharePct, g.LateArrivals.PeakSharePct),
			fmt.Sprintf("%.0f%% per second; %.0f%% of the run decides", g.LateArrivals.LimitPct, g.LateArrivals.DecisivePct), g.LateArrivals.OverS),
	}
	if c := g.Connect; c != nil {
		r := row("connect ramp (reached / asked)", fmt.Sprintf("%.0f%% of the rate asked; saturated %s of %s", c.ReachedPct, fmtSeconds(c.SaturatedS), fmtSeconds(c.Seconds)),
			fmt.Sprintf("under %.0f%% while saturated for half of it", c.LimitPct), 0)
		r.Over = "-"
		rows = append(rows, r)
	}
	switch {
	case s.GeneratorBound():
		verdict = "Generator-bound: " + generatorReasons(s) + "."
	case s.GeneratorNotJudged():
		verdict = "Not judged: " + generatorReasons(s) + "."
	default:
		verdict = fmt.Sprintf("Healthy: the simulator kept up (%s sampled); its latencies measure the target.", fmtSeconds(g.SampledS))
	}
	return verdict, rows
}

// view renders c, or returns a chart without SVG (the template says "no
// data") when it has no point at all.
func view(c chart, wide bool) (chartView, error) {
	v := chartView{ID: c.ID, Title: c.Title, Caption: c.Caption}
	for _, l := range c.Lines {
		if len(l.Points) > 0 {
			v.Legend = append(v.Legend, l)
		}
	}
	if !c.populated() {
		return v, nil
	}
	svg, err := renderSVG(c, wide)
	if err != nil {
		return v, err
	}
	v.SVG = svg
	return v, nil
}

// eventRow is one incident in the events table.
type eventRow struct {
	Name, At                        string
	Affected, Back, NeverBack       int
	Recovery                        []string // 50, 90, 99, 100 %
	Logins, Reconnects, Errors, SOS string
	Unsent                          int64
}

func eventRows(s *Summary) []eventRow {
	var out []eventRow
	for _, e := range s.Events {
		r := eventRow{Name: e.Name, At: "did not happen", Affected: e.Affected, Back: e.Back, NeverBack: e.NeverBack,
			Logins: fmt.Sprintf("%.1f", e.LoginsPerS), Reconnects: fmt.Sprintf("%.1f", e.ReconnectsPerS), Errors: "0", Unsent: e.TelemetryUnsent,
			SOS: fmt.Sprintf("%.1f", e.SOSNotRaised)}
		if e.AtS != nil {
			r.At = fmtSeconds(*e.AtS)
		}
		for _, share := range metrics.RecoveryShares {
			v := "never"
			if p := e.Recovery[share]; p != nil {
				v = fmtSeconds(*p)
			}
			r.Recovery = append(r.Recovery, v)
		}
		if len(e.ErrorsBy) > 0 {
			var parts []string
			for _, c := range sortedKeys(e.ErrorsBy) {
				parts = append(parts, fmt.Sprintf("%s=%d", c, e.ErrorsBy[c]))
			}
			r.Errors = strings.Join(parts, " ")
		}
		out = append(out, r)
	}
	return out
}

// eventMarks are the times of the incidents that happened, in seconds
// since the run started, and the caption sentence that names them.
func eventMarks(s *Summary) ([]float64, string) {
	var xs []float64
	var names []string
	for _, e := range s.Events {
		if e.AtS != nil {
			xs = append(xs, *e.AtS)
			names = append(names, fmt.Sprintf("%s at %s", e.Name, fmtSeconds(*e.AtS)))
		}
	}
	if len(xs) == 0 {
		return nil, ""
	}
	return xs, " Red lines: events " + strings.Join(names, ", ") + "."
}

// stageBoundaries are the starts of every stage but the first, in seconds
// since the run started.
func stageBoundaries(s *Summary) []float64 {
	var out []float64
	for i, st := range s.Stages {
		if i > 0 {
			out = append(out, st.Start.Round(0).Sub(s.Start.Round(0)).Seconds())
		}
	}
	return out
}

// Headline is the run's verdict in one word (PASSED, FAILED, ABORTED,
// INTERRUPTED, NOTHING MEASURED, GENERATOR-BOUND, NOT JUDGED, COMPLETED) and one
// sentence, as report.html's headline shows it.
func Headline(s *Summary) (word, reason string) {
	v := verdictOf(s)
	return v.Word, v.Reason
}

// verdictOf reads the run's outcome for the headline, in the order the
// exit code is chosen (docs/ci.md): partial (a merge missing shards, which
// it names), interrupted, aborted, nothing measured, generator-bound,
// failed, not judged, then completed or passed.
func verdictOf(s *Summary) verdictView {
	failed := len(s.FailedThresholds())
	n := len(s.Thresholds)
	switch missing := s.Meta.MissingShards(); {
	case len(missing) > 0:
		return verdictView{"PARTIAL", "warn", fmt.Sprintf("%s missing from this merge: the numbers cover only the shards merged, and no threshold is judged on them.",
			shardList(missing, s.Meta.Shards[0].Count))}
	case s.EndReason == EndInterrupted:
		return verdictView{"INTERRUPTED", "warn", fmt.Sprintf("Stopped by hand after %s; the numbers cover what ran and no threshold is judged on them.", fmtSeconds(s.Seconds))}
	case s.EndReason == EndAborted:
		return verdictView{"ABORTED", "fail", fmt.Sprintf("An abort_on_fail threshold failed; the run stopped after %s.", fmtSeconds(s.Seconds))}
	case s.NothingMeasured():
		return verdictView{"NOTHING MEASURED", "fail", "No user could log in and connect: check that the target is reachable and the identity is right."}
	case s.GeneratorBound():
		return verdictView{"GENERATOR-BOUND", "warn", "The simulator was the bottleneck, so the numbers measure it as much as the target; thresholds are not judged."}
	case failed > 0:
		return verdictView{"FAILED", "fail", fmt.Sprintf("%d of %d thresholds failed.", failed, n)}
	case s.GeneratorNotJudged():
		return verdictView{"NOT JUDGED", "warn", "The run was too short to tell whether the simulator kept up, so no threshold that held is a pass; lengthen the stages."}
	case n == 0:
		return verdictView{"COMPLETED", "info", "The scenario sets no thresholds, so there is nothing to pass or fail."}
	}
	return verdictView{"PASSED", "pass", fmt.Sprintf("All %d thresholds passed.", n)}
}

// shardList names missing shards: "Shard 2 of 4", "Shards 1 and 3 of 4".
func shardList(ix []int, count int) string {
	parts := make([]string, len(ix))
	for i, n := range ix {
		parts[i] = fmt.Sprint(n)
	}
	if len(parts) == 1 {
		return fmt.Sprintf("Shard %s of %d", parts[0], count)
	}
	return fmt.Sprintf("Shards %s and %s of %d", strings.Join(parts[:len(parts)-1], ", "), parts[len(parts)-1], count)
}

// operations counts the measured operations (successes and errors) of
// every metric but schedule.lag, which measures the simulator itself.
func operations(s *Summary) int64 {
	var n int64
	for name, m := range s.Metrics {
		if name != scenario.ScheduleLag && !isTwin(name) {
			n += m.Count + m.Errors
		}
	}
	return n
}

// errorRate is errors / operations over every metric but schedule.lag, in
// percent.
func errorRate(s *Summary) float64 {
	ops := operations(s)
	if ops == 0 {
		return 0
	}
	var errs int64
	for name, m := range s.Metrics {
		if name != scenario.ScheduleLag && !isTwin(name) {
			errs += m.Errors
		}
	}
	return 100 * float64(errs) / float64(ops)
}

// facts are the headline numbers of the run.
func facts(s *Summary) []param {
	planned := 0
	for _, st := range s.Stages {
		planned = max(planned, st.Users)
	}
	var peak int64
	for _, p := range s.Series {
		peak = max(peak, p.Values[scenario.UsersOnline])
	}
	if s.UsersOnline != nil {
		peak = s.UsersOnline.Peak
	}
	out := []param{
		{"Users", fmt.Sprintf("%d planned, %d online at peak", planned, peak)},
		{"Duration", fmtSeconds(s.Seconds) + " (" + string(s.EndReason) + ")"},
		{"Operations", fmt.Sprintf("%d measured", operations(s))},
		{"Error rate", fmtPercent(errorRate(s))},
		{"Target", string(s.Target.Kind) + " backend"},
	}
	if s.Target.Kind != TargetEmbedded && s.Target.HTTP != "" {
		out[len(out)-1].Value += " " + s.Target.HTTP
	}
	if c := s.Connect; c != nil {
		out = append(out, param{"Connect rate", fmt.Sprintf("%.0f/s of %.0f/s asked (%d users in %s, %s)",
			c.ReachedPerS, c.AskedPerS, c.ToUsers-c.FromUsers, fmtSeconds(c.Seconds), c.Stage)})
	}
	return out
}

func fmtPercent(p float64) string {
	switch {
	case p == 0:
		return "0%"
	case p < 0.01:
		return "< 0.01%"
	default:
		return fmt.Sprintf("%.2f%%", p)
	}
}

// keyMetrics picks the metrics charted over time: firstKeyMetrics, then those
// named in thresholds (verdicts, or the scenario's thresholds block), then
// fillKeyMetrics, keeping those that measured something, at most
// MaxKeyMetrics.
func keyMetrics(s *Summary, params []param, hs intervalSource) []string {
	var cands []string
	cands = append(cands, firstKeyMetrics...)
	for _, v := range s.Thresholds {
		cands = append(cands, v.Metric)
	}
	for _, p := range params {
		if rest, ok := strings.CutPrefix(p.Key, "thresholds."); ok && !strings.HasPrefix(rest, "abort_on_fail") {
			if metric, _, err := scenario.ParseThresholdKey(rest); err == nil {
				cands = append(cands, metric)
			}
		}
	}
	cands = append(cands, fillKeyMetrics...)
	seen := map[string]bool{}
	var out []string
	for _, name := range cands {
		if seen[name] || len(out) == MaxKeyMetrics {
			continue
		}
		seen[name] = true
		if s.Metrics[name].Count > 0 && hs.intervals(name) > 0 {
			out = append(out, name)
		}
	}
	return out
}

func metricRowOf(name string, m Metric) metricRow {
	r := metricRow{Name: name, Count: fmt.Sprint(m.Count), Errors: fmt.Sprint(m.Errors)}
	var classes []string
	for _, c := range sortedKeys(m.ErrorsBy) {
		classes = append(classes, fmt.Sprintf("%s %d", c, m.ErrorsBy[c]))
	}
	r.ErrorClasses = strings.Join(classes, ", ")
	if m.Count == 0 {
		r.Empty = true
		return r
	}
	r.Rate = fmt.Sprintf("%.1f", m.Rate)
	r.Min, r.Mean, r.P50, r.P90 = fmtMs(m.Min), fmtMs(m.Mean), fmtMs(m.P50), fmtMs(m.P90)
	r.P95, r.P99, r.P999, r.Max = fmtMs(m.P95), fmtMs(m.P99), fmtMs(m.P999), fmtMs(m.Max)
	return r
}
