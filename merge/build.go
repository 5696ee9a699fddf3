package merge

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// build assembles the merged summary from the shards (sorted by index) and
// their aligned logs.
func build(shards []*shard, tl *timeline, missing []int, opts Options) (*report.Summary, error) {
	first := shards[0].sum
	sec := tl.sumSeconds(shards)
	sum := &report.Summary{
		Schema:    report.SchemaName,
		Version:   report.SchemaVersion,
		Name:      first.Name,
		Scenario:  first.Scenario,
		Target:    first.Target,
		Start:     first.Start,
		End:       first.End,
		EndReason: report.EndCompleted,
		Metrics:   map[string]report.Metric{},
		Counters:  map[string]int64{},
	}
	errs := map[string]map[string]int64{}       // metric -> class -> errors
	samples := map[string]map[string][]string{} // metric -> class -> messages, in shard order
	for _, s := range shards {
		if s.sum.Start.Before(sum.Start) {
			sum.Start = s.sum.Start
		}
		if s.sum.End.After(sum.End) {
			sum.End = s.sum.End
		}
		for name, v := range s.sum.Counters {
			sum.Counters[name] += v
		}
		for name, m := range s.sum.Metrics {
			if errs[name] == nil {
				errs[name] = map[string]int64{}
			}
			for class, n := range m.ErrorsBy {
				errs[name][class] += n
			}
			for class, msgs := range m.ErrorSamples {
				if samples[name] == nil {
					samples[name] = map[string][]string{}
				}
				kept := samples[name][class]
				samples[name][class] = append(kept, msgs[:min(len(msgs), metrics.MaxErrorSamples-len(kept))]...)
			}
		}
	}
	sum.Seconds = sum.End.Sub(sum.Start).Seconds()
	stages, err := mergeStages(shards)
	if err != nil {
		return nil, err
	}
	sum.Stages = stages

	m := metrics.Measurements{
		Elapsed:   time.Duration(sum.Seconds * float64(time.Second)),
		Latencies: map[string]metrics.LatencyData{},
		Counters:  sum.Counters,
	}
	for _, name := range slices.Sorted(keys(errs, tl.hists)) {
		total := tl.total(name)
		ls := metrics.SummaryOf(name, total, errs[name])
		sum.Metrics[name] = report.MetricFrom(ls, sum.Seconds).WithSamples(samples[name])
		m.Latencies[name] = metrics.LatencyData{Hist: total, Errors: ls.Errors}
	}
	var stageGauges map[string]map[string]metrics.GaugeStats
	m.Gauges, stageGauges, sum.UsersOnline = tl.gauges(sec, stages)
	sum.Series = tl.series(sec)
	var asked float64
	ramped := false
	for _, s := range shards {
		if c := s.sum.Connect; c != nil {
			asked, ramped = asked+c.AskedPerS, true
		}
	}
	if ramped {
		sum.Connect = report.ConnectOf(sum.Stages, sum.Series, asked)
	}
	measured := metrics.Measured{Run: m, Stages: mergeStageMetrics(shards, tl, sum.Stages, stageGauges)}

	th, err := thresholdsOf(first)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", shards[0].dir, err)
	}
	var base *metrics.Measured
	if opts.Baseline != nil {
		base = &opts.Baseline.Measured
	} else if err := needsNoBaseline(th); err != nil {
		return nil, err
	}
	sum.Thresholds = []report.Verdict{}
	for _, v := range metrics.EvaluateAll(th, measured, base) {
		rv := report.VerdictFrom(v)
		rv.Note = shardNotes(shards, rv)
		sum.Thresholds = append(sum.Thresholds, rv)
	}

	gen, bound := generator(shards)
	sum.Generator = gen
	sum.Meta = mergeMeta(shards, opts.CommandLine)
	sum.EndReason = endReason(shards, missing)
	sum.Notes = notes(shards, missing, bound, tl.dropped)
	return sum, nil
}

// mergeStageMetrics fills each merged stage's statistics (summary.json
// stages[i].metrics and counters) and returns the stages' measurements,
// for stage-scoped rules. A stage's histograms are the merged seconds of
// its window [from_s, to_s) (the shards' windows, which agree to the
// second when their starts are aligned); its errors and counter growth are
// the shards' own, summed.
func mergeStageMetrics(shards []*shard, tl *timeline, stages []report.Stage, gauges map[string]map[string]metrics.GaugeStats) map[string]metrics.Measurements {
	out := map[string]metrics.Measurements{}
	for i := range stages {
		st := &stages[i]
		errs := map[string]map[string]int64{}
		counters := map[string]int64{}
		for _, s := range shards {
			if i >= len(s.sum.Stages) {
				continue
			}
			for name, m := range s.sum.Stages[i].Metrics {
				if errs[name] == nil {
					errs[name] = map[string]int64{}
				}
				for class, n := range m.ErrorsBy {
					errs[name][class] += n
				}
			}
			for name, v := range s.sum.Stages[i].Counters {
				counters[name] += v
			}
		}
		from, to := int(math.Round(st.From)), int(math.Round(st.To))
		seconds := st.Seconds()
		ms := metrics.Measurements{
			Elapsed:   time.Duration(seconds * float64(time.Second)),
			Latencies: map[string]metrics.LatencyData{},
			Counters:  counters,
			Gauges:    gauges[st.Name],
		}
		st.Metrics = map[string]report.Metric{}
		for _, name := range slices.Sorted(keys(errs, tl.hists)) {
			h := tl.window(name, from, to)
			if h == nil {
				h = hdr.New(1, 2, 1) // no sample in the window
			}
			ls := metrics.SummaryOf(name, h, errs[name])
			st.Metrics[name] = report.MetricFrom(ls, seconds)
			ms.Latencies[name] = metrics.LatencyData{Hist: h, Errors: ls.Errors}
		}
		st.Counters = counters
		out[st.Name] = ms
	}
	return out
}

// mergeStages merges the stage timings by position: each stage has the
// same name in every shard that reached it, starts at the earliest start
// and ends at the latest end, and its target is the shards' targets
// summed (each shard ran its slice of the users).
func mergeStages(shards []*shard) ([]report.Stage, error) {
	var out []report.Stage
	for _, s := range shards {
		for i, st := range s.sum.Stages {
			if i == len(out) {
				out = append(out, st)
				continue
			}
			o := &out[i]
			if o.Name != st.Name {
				return nil, fmt.Errorf("refusing to merge: stage %d is %q in %s and %q in %s", i+1, o.Name, shards[0].dir, st.Name, s.dir)
			}
			o.Users += st.Users
			if st.Start.Before(o.Start) {
				o.Start = st.Start
			}
			if st.End.After(o.End) {
				o.End = st.End
			}
		}
	}
	return out, nil
}

// shardNotes carries the shards' notes on a rule (such as the breach that
// aborted a shard) to the merged verdict of that rule.
func shardNotes(shards []*shard, v report.Verdict) string {
	var out []string
	for _, s := range shards {
		for _, sv := range s.sum.Thresholds {
			if sv.Metric == v.Metric && sv.Stage == v.Stage && sv.Rule == v.Rule && sv.Note != "" {
				out = append(out, fmt.Sprintf("shard %d: %s", s.index(), sv.Note))
			}
		}
	}
	return strings.Join(out, "; ")
}

// mergeMeta is the merged run's metadata: the run id and scenario kept,
// the shards listed, the distinct hosts and their cores (each host once,
// however many shards ran there), the earliest start and latest end; the
// seed only when every shard had the same.
func mergeMeta(shards []*shard, commandLine []string) *report.Meta {
	f := shards[0].sum.Meta
	m := &report.Meta{
		Version: f.Version, Revision: f.Revision, GoVersion: f.GoVersion, Platform: f.Platform,
		Seed: f.Seed, ScenarioHash: f.ScenarioHash, RunID: f.RunID,
		StartUTC: f.StartUTC, EndUTC: f.EndUTC, CommandLine: commandLine,
	}
	var hosts []string
	for _, s := range shards {
		sm := s.sum.Meta
		if sm.Host != "" && !slices.Contains(hosts, sm.Host) {
			hosts = append(hosts, sm.Host)
		}
		if sm.StartUTC.Before(m.StartUTC) {
			m.StartUTC = sm.StartUTC
		}
		if sm.EndUTC.After(m.EndUTC) {
			m.EndUTC = sm.EndUTC
		}
		if m.Seed != nil && (sm.Seed == nil || *sm.Seed != *m.Seed) {
			m.Seed = nil
		}
		m.Shards = append(m.Shards, *sm.Shard)
	}
	m.Host = strings.Join(hosts, ", ")
	m.Cores = perHost(shards, func(s *shard) int { return s.sum.Meta.Cores })
	m.GOMAXPROCS = perHost(shards, func(s *shard) int { return s.sum.Meta.GOMAXPROCS })
	return m
}

// perHost adds up a fact of the shards' machines (cores) once per machine:
// shards on one host share its cores, so the host counts with the largest
// value any of its shards gives. A shard that names no host cannot be
// told from another machine and counts alone.
func perHost(shards []*shard, fact func(*shard) int) int {
	most := map[string]int{}
	for _, s := range shards {
		host := fmt.Sprintf("\x00shard %d", s.index())
		if s.sum.Meta != nil && s.sum.Meta.Host != "" {
			host = s.sum.Meta.Host
		}
		most[host] = max(most[host], fact(s))
	}
	total := 0
	for _, v := range most {
		total += v
	}
	return total
}

// endReason is interrupted when shards are missing or one was
// interrupted, aborted when one was stopped by abort_on_fail, completed
// otherwise.
func endReason(shards []*shard, missing []int) report.EndReason {
	reason := report.EndCompleted
	if len(missing) > 0 {
		return report.EndInterrupted
	}
	for _, s := range shards {
		switch s.sum.EndReason {
		case report.EndInterrupted:
			return report.EndInterrupted
		case report.EndAborted:
			reason = report.EndAborted
		}
	}
	return reason
}

// notes are the merged summary's notes: what was merged, what is missing,
// which shards were generator-bound, then each shard's own notes.
func notes(shards []*shard, missing, bound []int, dropped int64) []string {
	count := shards[0].sum.Meta.Shard.Count
	have := make([]int, len(shards))
	for i, s := range shards {
		have[i] = s.index()
	}
	out := []string{fmt.Sprintf("merged %d of %d shards of run %q: shard %s", len(shards), count, shards[0].sum.Meta.RunID, indexes(have))}
	if len(missing) > 0 {
		out = append(out, fmt.Sprintf("partial result: shard %s of %d missing; the verdict does not judge the whole run", indexes(missing), count))
	}
	if len(bound) > 0 {
		out = append(out, fmt.Sprintf("generator-bound: shard %s", indexes(bound)))
	}
	for _, s := range shards {
		if s.sum.EndReason != report.EndCompleted {
			out = append(out, fmt.Sprintf("shard %d was %s", s.index(), s.sum.EndReason))
		}
	}
	if dropped > 0 {
		out = append(out, fmt.Sprintf("%d values fell outside the merged histograms' range and were dropped", dropped))
	}
	for _, s := range shards {
		for _, n := range s.sum.Notes {
			out = append(out, fmt.Sprintf("shard %d: %s", s.index(), n))
		}
	}
	return out
}

// needsNoBaseline refuses rules that compare with a baseline when there is
// none, as run and validate do: judged without one they could only fail.
func needsNoBaseline(th scenario.Thresholds) error {
	for _, mr := range th.Metrics {
		for _, r := range mr.Rules {
			if r.Baseline {
				return fmt.Errorf("merge: thresholds.%s: %q compares with a baseline run: give one with --baseline DIR (the result directory of an earlier run)", mr.Key(), r.Source)
			}
		}
	}
	return nil
}
