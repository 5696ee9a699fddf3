// Package metrics records what a run measures: one HDR histogram per latency
// metric (1 µs .. 1 h, 3 significant digits), counters and gauges, errors
// classified per metric, and a per-second interval of every histogram.
//
// Memory is fixed per metric, not per sample: a 24 h run costs the same as a
// one-minute run. Per-second histograms are not kept; the Collector streams
// them to HdrHistogram interval logs (hdr/<metric>.hlog) and keeps only a
// bounded, down-sampled series of counters for charts.
//
// Recording is safe from any goroutine. Fleet code looks a metric up once
// and keeps the *Latency or *Counter; the hot path is a mutex and two
// histogram increments.
package metrics
