// Package scenario reads eixamsim scenario files (YAML, version 1) into a
// resolved, validated Scenario.
//
// Load (or Parse, for bytes in memory) runs every step once, in order:
//
//  1. parse the YAML into yaml.v3 nodes (a syntax error stops here), and
//     apply Options.Set (`--set key.path=value`) to that tree;
//  2. expand ${NAME} and ${NAME:-default} environment references in values
//     ($$ is a literal $);
//  3. decode strictly: unknown keys, duplicate keys and wrong types are
//     errors, with a "did you mean" for near misses; values go through the
//     one parser each for durations (ParseDuration), rates (ParseRate),
//     percentages (ParsePercent), latency distributions (ParseLatency) and
//     threshold rules (ParseRule; a thresholds block on its own, such as
//     summary.json's echo that merge reads back, ParseThresholds);
//  4. apply the other command-line overrides (Options: users, which also
//     scales the stages, duration, seed, output dir), then defaults for
//     every key left out, and load the files the scenario names (sessions
//     CSV, TLS);
//  5. validate the result (Scenario.Validate), which never changes it,
//     including the limits of one process (MaxOpenRate, MinTelemetryEvery,
//     MaxRunLength).
//
// Every problem of every step that ran is returned together in an
// ErrorList, each entry with file, line, column and key path:
//
//	smoke.yaml:12:5: stages[1].users: must be <= fleet.users (200), got 300
//
// No message contains a value taken from the environment, the app secret
// or a user hash (see Secret).
//
// Each block of the file is one table of keys (keys.go): a key's name,
// description, value shape, parser, default, checks and JSON echo are
// written together, in the file of the block (root.go for the top level,
// stages.go, fleet.go, target.go, embedded.go, identity_keys.go,
// thresholds_keys.go). Schema generates a JSON Schema of the format from
// the same tables. Everything the scenario knows about a
// behaviour — its config type, keys, metrics, open-model rate, how that
// rate is sliced across shards and which metrics carry its load — is one
// row of behaviourTable in behaviours.go.
//
// The file format is documented in docs/scenario.md; the metric names that
// thresholds may use are in Metrics.
package scenario
