// Package merge combines the result directories of the shards of one
// sharded run into the result directory of the whole run, exactly: HDR
// histograms and hlog intervals add (aligned by wall-clock second),
// counters and per-second gauges sum, and the scenario's thresholds are
// judged again on the merged data (docs/merge.md).
//
// Merge refuses directories of different runs or scenarios and duplicate
// shards; it merges what is there when shards are missing, and then says
// the result is partial.
package merge
