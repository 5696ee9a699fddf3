package report

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// Baseline is an earlier run's result directory, read for the thresholds
// that compare with it ("p(99) < baseline * 1.1"). Each aggregation is
// taken exactly as the run's own: percentiles from the merged interval
// histograms of hdr/<metric>.hlog (any percentile, to the histograms'
// precision), errors and counters from summary.json, rates over its
// duration_s; a stage's from the intervals between its from_s and to_s
// and its own errors and counters.
type Baseline struct {
	Dir      string
	Summary  *Summary
	Measured metrics.Measured
}

// LoadBaseline reads the result directory dir. It fails when dir has no
// readable summary.json, or when a latency metric that measured
// something has no readable hdr/<metric>.hlog (percentiles would be
// guesses).
func LoadBaseline(dir string) (*Baseline, error) {
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("baseline: %s is not a directory (want the result directory of an earlier run)", dir)
	}
	sum, err := ReadSummaryFile(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("baseline: %s has no %s: not a result directory", dir, SummaryJSONFile)
	}
	if err != nil {
		return nil, fmt.Errorf("baseline %s: %w", dir, err)
	}
	hs, err := ReadHlogDir(filepath.Join(dir, HdrDir))
	if err != nil {
		return nil, fmt.Errorf("baseline %s: %w", dir, err)
	}
	for _, name := range sum.MetricNames() {
		if m := sum.Metrics[name]; m.Count > 0 && len(hs[name]) == 0 {
			return nil, fmt.Errorf("baseline %s: %s measured %d operations but %s/%s.hlog is missing", dir, name, m.Count, HdrDir, name)
		}
	}
	b := &Baseline{Dir: dir, Summary: sum, Measured: metrics.Measured{Stages: map[string]metrics.Measurements{}}}
	b.Measured.Run = baselineScope(sum.Metrics, sum.Counters, sum.Seconds, func(name string) *hdr.Histogram { return hs.Total(name) })
	for _, st := range sum.Stages {
		if st.Metrics == nil {
			continue // written before stages kept statistics
		}
		from, to := st.From, st.To
		b.Measured.Stages[st.Name] = baselineScope(st.Metrics, st.Counters, st.Seconds(), func(name string) *hdr.Histogram {
			return mergeWindow(hs[name], from, to)
		})
	}
	return b, nil
}

// baselineScope is the measurements of one scope of a baseline: the
// latency metrics of ms with their histograms from hist, the counters.
func baselineScope(ms map[string]Metric, counters map[string]int64, seconds float64, hist func(string) *hdr.Histogram) metrics.Measurements {
	m := metrics.Measurements{
		Elapsed:   time.Duration(seconds * float64(time.Second)),
		Latencies: map[string]metrics.LatencyData{},
		Counters:  map[string]int64{},
	}
	for name, lm := range ms {
		m.Latencies[name] = metrics.LatencyData{Hist: hist(name), Errors: lm.Errors}
	}
	for name, v := range counters {
		if cat, ok := scenario.LookupMetric(name); ok && cat.Kind == scenario.KindCounter {
			m.Counters[name] = v
		}
	}
	return m
}

// mergeWindow merges the intervals whose middle lies from from to to
// (seconds since the run's start), the assignment the run made; nil when
// there is none.
func mergeWindow(ivs []Interval, from, to float64) *hdr.Histogram {
	var out *hdr.Histogram
	for _, iv := range ivs {
		if mid := iv.Start + iv.Length/2; mid < from || mid >= to {
			continue
		}
		if out == nil {
			out = hdr.New(iv.Hist.LowestTrackableValue(), iv.Hist.HighestTrackableValue(), int(iv.Hist.SignificantFigures()))
		}
		out.Merge(iv.Hist)
	}
	return out
}

// Lacks names each baseline rule of sc that the baseline cannot judge,
// because it has no samples of the rule's aggregation over the rule's
// scope (a metric it did not measure, a stage it did not have): such a
// rule fails, with "baseline: no samples", when the run is judged.
func (b *Baseline) Lacks(sc *scenario.Scenario) []string {
	var out []string
	for _, mr := range sc.Thresholds.Metrics {
		for _, r := range mr.Rules {
			if !r.Baseline {
				continue
			}
			if v := metrics.JudgeRule(mr.Metric, mr.Stage, r, metrics.Measured{}, &b.Measured); !v.HasBaseline {
				where := ""
				if mr.Stage != "" {
					where = " in a stage named " + mr.Stage
				}
				out = append(out, fmt.Sprintf("%s: %s: the baseline %s has no samples of %s%s to judge it by: the rule will fail",
					mr.Key(), r.Source, b.Dir, mr.Metric, where))
			}
		}
	}
	return out
}
