// Package prom exposes a run's metrics.Registry to Prometheus while the run
// works. Its Collector reads the registry at scrape time (cumulative HDR
// histograms, error counts, counters and gauges), so the hot path records
// every value once, into HDR only. Serve it from its own
// prometheus.Registry with Listen; nothing here touches client_golang's
// global default registry. docs/results.md lists the metric names.
package prom

import (
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eixamsim/eixamsim/metrics"
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
	OnlineUsers    int           // users online now
}

// Collector is a prometheus.Collector over a metrics.Registry. It is safe
// for concurrent scrapes.
type Collector struct {
	reg    *metrics.Registry
	status func() Status // may be nil
	start  time.Time

	latency, errors, counter, gauge           *prometheus.Desc
	online, target, stage, remaining, started *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a collector for reg. status, if not nil, is called
// once per scrape for the fleet gauges; start is the run's start time.
func NewCollector(reg *metrics.Registry, start time.Time, status func() Status) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("eixamsim_"+name, help, labels, nil)
	}
	return &Collector{
		reg: reg, status: status, start: start,
		latency:   d("latency_seconds", "Latency of successful operations, from the run's cumulative HDR histogram (3 significant digits).", "metric"),
		errors:    d("errors_total", "Failed operations by metric and error class.", "metric", "class"),
		counter:   d("count_total", "The run's counters (mqtt.disconnects, arrivals.dropped, ...), by eixamsim name.", "name"),
		gauge:     d("gauge", "The run's gauges (users.online, ...), by eixamsim name.", "name"),
		online:    d("users_online", "Virtual users online now."),
		target:    d("users_target", "Users the current stage wants online."),
		stage:     d("stage_info", "The current stage: always 1, with its name and 0-based index as labels.", "stage", "index"),
		remaining: d("stage_remaining_seconds", "Time until the current stage ends."),
		started:   d("start_time_seconds", "Start of the run, Unix time in seconds."),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.latency, c.errors, c.counter, c.gauge, c.online, c.target, c.stage, c.remaining, c.started} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: it snapshots every latency
// metric and reads every counter and gauge.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, l := range c.reg.Latencies() {
		h, errs := l.Snapshot()
		count, sum, buckets := histogramOf(h)
		ch <- prometheus.MustNewConstHistogram(c.latency, count, sum, buckets, l.Name())
		for _, class := range sortedKeys(errs) {
			ch <- prometheus.MustNewConstMetric(c.errors, prometheus.CounterValue, float64(errs[class]), l.Name(), class)
		}
	}
	counters := c.reg.CounterValues()
	for _, name := range sortedKeys(counters) {
		ch <- prometheus.MustNewConstMetric(c.counter, prometheus.CounterValue, float64(counters[name]), name)
	}
	gauges := c.reg.GaugeValues()
	for _, name := range sortedKeys(gauges) {
		ch <- prometheus.MustNewConstMetric(c.gauge, prometheus.GaugeValue, float64(gauges[name]), name)
	}
	ch <- prometheus.MustNewConstMetric(c.started, prometheus.GaugeValue, float64(c.start.UnixNano())/1e9)
	if c.status == nil {
		return
	}
	st := c.status()
	ch <- prometheus.MustNewConstMetric(c.online, prometheus.GaugeValue, float64(st.OnlineUsers))
	ch <- prometheus.MustNewConstMetric(c.target, prometheus.GaugeValue, float64(st.TargetUsers))
	if st.Stage != "" {
		ch <- prometheus.MustNewConstMetric(c.stage, prometheus.GaugeValue, 1, st.Stage, itoa(st.StageIndex))
		ch <- prometheus.MustNewConstMetric(c.remaining, prometheus.GaugeValue, max(st.StageRemaining.Seconds(), 0))
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
