// Package prom exposes a run's metrics.Registry to Prometheus while the run
// works, and after it if the caller keeps the Server open. Its Collector
// reads the registry at scrape time (cumulative HDR histograms, error
// counts, counters and gauges), so the hot path records every value once,
// into HDR only.
//
// Every metric of the catalogue it is given (scenario.Metrics by default)
// is its own family, named after the dotted eixamsim name with its unit
// (names.go): a latency is a histogram in seconds plus an errors counter
// by class, a counter ends in _total, a gauge is bare. Every family is
// there from the first scrape, at 0. Serve it from its own
// prometheus.Registry with Listen, or push it with package promwrite;
// nothing here touches client_golang's global default registry.
// docs/results.md lists the families.
package prom

import (
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// latencyBuckets are the upper bounds, in seconds, of the exported latency
// histograms: fine below 10 ms where MQTT acks live, coarse up to the
// minutes an SOS may wait for an operator.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}

// Status is the live state of the fleet, for the stage gauges. The zero
// value means "not started".
type Status struct {
	Stage          string        // name of the current stage
	StageIndex     int           // 0-based
	StageRemaining time.Duration // until the stage ends
	TargetUsers    int           // users the stage wants online
}

// Info names the run. RunID, Shard and Instance label every series the
// collector exports, so that the shards of one run, pushed to one
// receiver or scraped by one Prometheus, stay distinct series that sum to
// the run; Version and Scenario label eixamsim_info only. Empty fields are
// left out (to Prometheus an empty label is no label).
type Info struct {
	Version  string // eixamsim's version
	Scenario string // the scenario's name
	RunID    string // the run's id: meta.run_id, shared by every shard of a run
	// Shard is this process's shard index, "0" for a run of one process.
	Shard string
	// Instance names the process: the pod's name in Kubernetes, else the
	// host name.
	Instance string
}

// Label names of Info's fields on every series.
const (
	LabelRunID    = "run_id"
	LabelShard    = "shard"
	LabelInstance = "instance"
)

// constLabels are the labels Info puts on every series.
func (i Info) constLabels() prometheus.Labels {
	ls := prometheus.Labels{}
	for name, v := range map[string]string{LabelRunID: i.RunID, LabelShard: i.Shard, LabelInstance: i.Instance} {
		if v != "" {
			ls[name] = v
		}
	}
	return ls
}

// Config says what a Collector exports. The zero value exports the whole
// catalogue, an eixamsim_info with empty labels, and no stage gauges.
type Config struct {
	// Metrics are the catalogue entries to export, each as its own
	// families. nil means all of scenario.Metrics; pass the scenario's
	// subset to leave out metrics it cannot produce. Registry metrics not
	// listed are not exported.
	Metrics []scenario.Metric
	// Labels names the label that splits a counter into children: the
	// registry counter "<name>.<value>" becomes the series
	// {<label>="<value>"} of <name>'s family, and the parent "<name>"
	// itself (the sum of its children) is not exported. nil means
	// {scenario.ArrivalsDropped: "reason"}.
	Labels map[string]string
	// Start is the run's start, for eixamsim_start_time_seconds; zero
	// leaves that family out.
	Start time.Time
	// Status, if not nil, is called once per scrape for the stage gauges
	// (eixamsim_users_target, eixamsim_stage_info,
	// eixamsim_stage_remaining_seconds).
	Status func() Status
	// Info labels eixamsim_info, and every series with the run's id,
	// shard and instance.
	Info Info
	// Step, if not nil, is called once per scrape for the capacity search's
	// families (eixamsim_capacity_*): the step in progress and the steps
	// judged so far.
	Step func() Step
}

// Collector is a prometheus.Collector over a metrics.Registry. It is safe
// for concurrent scrapes.
type Collector struct {
	reg      *metrics.Registry
	cfg      Config
	finished atomic.Bool

	latency, errors map[string]*prometheus.Desc // by eixamsim name
	counter, gauge  map[string]*prometheus.Desc
	names           []string // every exported eixamsim name, sorted

	info, started, done, target, stage, remaining *prometheus.Desc
	step                                          stepDescs
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a collector for reg. It fails when two metrics of
// cfg.Metrics map to the same family name.
func New(reg *metrics.Registry, cfg Config) (*Collector, error) {
	if cfg.Metrics == nil {
		cfg.Metrics = scenario.Metrics
	}
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{scenario.ArrivalsDropped: "reason"}
	}
	if err := checkNames(cfg.Metrics); err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	cl := cfg.Info.constLabels()
	c := &Collector{
		reg: reg, cfg: cfg,
		latency: map[string]*prometheus.Desc{}, errors: map[string]*prometheus.Desc{},
		counter: map[string]*prometheus.Desc{}, gauge: map[string]*prometheus.Desc{},
		info:      prometheus.NewDesc(familyInfo, "eixamsim's version and the run's scenario as labels; always 1.", []string{"version", "scenario"}, cl),
		started:   prometheus.NewDesc(familyStart, "Start of the run, Unix time in seconds.", nil, cl),
		done:      prometheus.NewDesc(familyFinished, "1 once the run has ended (the endpoint may be kept open after it), else 0.", nil, cl),
		target:    prometheus.NewDesc(familyTarget, "Users the current stage wants online.", nil, cl),
		stage:     prometheus.NewDesc(familyStage, "The current stage: always 1, with its name and 0-based index as labels.", []string{"stage", "index"}, cl),
		remaining: prometheus.NewDesc(familyRemaining, "Time until the current stage ends, in seconds.", nil, cl),
		step:      newStepDescs(cl),
	}
	for _, m := range cfg.Metrics {
		c.names = append(c.names, m.Name)
		desc := strings.TrimSuffix(m.Description, ".")
		switch m.Kind {
		case scenario.KindLatency:
			c.latency[m.Name] = prometheus.NewDesc(LatencyFamily(m.Name),
				fmt.Sprintf("%s: latency of successful operations in seconds, since the start (%s).", m.Name, desc), nil, cl)
			c.errors[m.Name] = prometheus.NewDesc(ErrorsFamily(m.Name),
				fmt.Sprintf("%s: failed operations by error class, since the start; the series without class stays 0.", m.Name), []string{"class"}, cl)
		case scenario.KindCounter:
			var labels []string
			help := fmt.Sprintf("%s: %s, since the start (%s).", m.Name, desc, m.Unit)
			if l := cfg.Labels[m.Name]; l != "" {
				labels = []string{l}
				help = fmt.Sprintf("%s: %s, since the start (%s), by %s; the series without %s stays 0.", m.Name, desc, m.Unit, l, l)
			}
			c.counter[m.Name] = prometheus.NewDesc(CounterFamily(m.Name), help, labels, cl)
		case scenario.KindGauge:
			c.gauge[m.Name] = prometheus.NewDesc(GaugeFamily(m.Name), fmt.Sprintf("%s: %s (%s).", m.Name, desc, m.Unit), nil, cl)
		}
	}
	sort.Strings(c.names)
	return c, nil
}

// Finish marks the run as ended: eixamsim_run_finished becomes 1. Values
// stay what the registry holds, so an endpoint kept open after the run
// serves the final counts.
func (c *Collector) Finish() { c.finished.Store(true) }

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, name := range c.names {
		for _, d := range []*prometheus.Desc{c.latency[name], c.errors[name], c.counter[name], c.gauge[name]} {
			if d != nil {
				ch <- d
			}
		}
	}
	for _, d := range []*prometheus.Desc{c.info, c.started, c.done, c.target, c.stage, c.remaining} {
		ch <- d
	}
	if c.cfg.Step != nil {
		c.step.describe(ch)
	}
}

// Collect implements prometheus.Collector: it snapshots every latency
// metric and reads every counter and gauge. A metric not yet recorded
// reads as 0.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.collectLatencies(ch)
	c.collectCounters(ch)
	gauges := c.reg.GaugeValues()
	for name, d := range c.gauge {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(gauges[name]))
	}

	ch <- prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1, c.cfg.Info.Version, c.cfg.Info.Scenario)
	if c.cfg.Step != nil {
		c.step.collect(ch, c.cfg.Step())
	}
	if !c.cfg.Start.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.started, prometheus.GaugeValue, float64(c.cfg.Start.UnixNano())/1e9)
	}
	finished := 0.0
	if c.finished.Load() {
		finished = 1
	}
	ch <- prometheus.MustNewConstMetric(c.done, prometheus.GaugeValue, finished)
	if c.cfg.Status == nil {
		return
	}
	st := c.cfg.Status()
	ch <- prometheus.MustNewConstMetric(c.target, prometheus.GaugeValue, float64(st.TargetUsers))
	if st.Stage != "" {
		ch <- prometheus.MustNewConstMetric(c.stage, prometheus.GaugeValue, 1, st.Stage, itoa(st.StageIndex))
		ch <- prometheus.MustNewConstMetric(c.remaining, prometheus.GaugeValue, max(st.StageRemaining.Seconds(), 0))
	}
}

// collectLatencies sends each latency metric's histogram and error
// counts; one never recorded is an empty histogram and no errors.
func (c *Collector) collectLatencies(ch chan<- prometheus.Metric) {
	seen := map[string]bool{}
	for _, l := range c.reg.Latencies() {
		d := c.latency[l.Name()]
		if d == nil {
			continue
		}
		seen[l.Name()] = true
		h, errs := l.Snapshot()
		count, sum, buckets := histogramOf(h)
		ch <- prometheus.MustNewConstHistogram(d, count, sum, buckets)
		ch <- prometheus.MustNewConstMetric(c.errors[l.Name()], prometheus.CounterValue, 0, "")
		for _, class := range sortedKeys(errs) {
			if class == "" {
				continue // the zero series' label value; classes are never empty
			}
			ch <- prometheus.MustNewConstMetric(c.errors[l.Name()], prometheus.CounterValue, float64(errs[class]), class)
		}
	}
	for name, d := range c.latency {
		if seen[name] {
			continue
		}
		ch <- prometheus.MustNewConstHistogram(d, 0, 0, zeroBuckets())
		ch <- prometheus.MustNewConstMetric(c.errors[name], prometheus.CounterValue, 0, "")
	}
}

// collectCounters sends each counter; a labelled counter sends its
// children and a zero series without the label.
func (c *Collector) collectCounters(ch chan<- prometheus.Metric) {
	values := c.reg.CounterValues()
	for name, d := range c.counter {
		if c.cfg.Labels[name] == "" {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(values[name]))
			continue
		}
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, 0, "")
		prefix := name + "."
		for _, child := range sortedKeys(values) {
			if label, ok := strings.CutPrefix(child, prefix); ok && label != "" {
				ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(values[child]), label)
			}
		}
	}
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
