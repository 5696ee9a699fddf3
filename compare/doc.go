// Package compare sets two result directories side by side (BASE, the
// reference run, and NEW) and says, per metric, what changed and whether
// the change is larger than run-to-run noise: `eixamsim compare`.
//
// Each side is read from its summary.json (schema version 1 or 2) and its
// hdr/*.hlog interval logs, whose intervals merge into the run's exact HDR
// histogram of every latency metric. Without the logs only the summary's
// percentiles are compared, and no noise judgement is made.
//
// # Noise
//
// Two judgements, both computed from the histograms' bucket counts (values
// in one bucket, 0.1 % wide, are ties):
//
//   - The whole distribution: a Mann-Whitney U test (two-sided, normal
//     approximation with tie-corrected variance and continuity
//     correction) gives a p-value, and Cliff's delta (P(new > base) -
//     P(new < base)) the effect size. A metric is "slower" or "faster"
//     when p < Alpha (0.01) and its p50 moved by at least MinChange (2 %)
//     in the direction of the delta.
//   - Each percentile: significant when it moved by at least MinChange and
//     the two runs' distribution-free confidence intervals for it (level
//     1-Alpha, from order statistics) do not overlap. This judges the tail
//     on its own: a p99 regression does not move the rank test much. A
//     run with too few values for an interval (a rank outside 1..n) makes
//     the percentile FewSamples: no judgement.
//
// MinChange keeps huge samples from flagging shifts nobody cares about (a
// 0.1 % move of p50 over a million operations is "significant" to any
// test). Both judgements assume that each run's values are independent
// draws from one distribution. They are not, strictly: latencies within a
// run are autocorrelated (a GC pause, a slow second or a reconnect storm
// moves many consecutive values), so the effective sample size is smaller
// than the count and the p-values and intervals are optimistic. Treat
// "within noise" as solid and a small "significant" change with care;
// comparing two runs of the same build shows the noise of a setup.
//
// # Rules
//
// ParseRules reads --fail-on rules (`METRIC: AGG OP VALUE`, see ParseRule);
// Judge evaluates them on a Result.
package compare
