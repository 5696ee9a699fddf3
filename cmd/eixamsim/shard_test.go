package main

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/eixamsim/eixamsim/engine"
	"github.com/eixamsim/eixamsim/scenario"
)

func TestShardFlags(t *testing.T) {
	now := time.Date(2026, 11, 29, 20, 59, 10, 300e6, time.UTC)
	parse := func(env map[string]string, args ...string) (engine.Options, error) {
		var s shardFlags
		s.getenv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
		fl := pflag.NewFlagSet("run", pflag.ContinueOnError)
		s.register(fl)
		if err := fl.Parse(args); err != nil {
			return engine.Options{}, err
		}
		var opts engine.Options
		err := s.apply(fl, &opts, now)
		return opts, err
	}
	good := []struct {
		name  string
		env   map[string]string
		args  []string
		shard *scenario.Shard
		at    time.Time
		id    string
	}{
		{"shard and absolute start", nil, []string{"--shard", "1/4", "--start-at", "2026-11-29T21:00:00Z"}, &scenario.Shard{Index: 1, Count: 4}, time.Date(2026, 11, 29, 21, 0, 0, 0, time.UTC), ""},
		// +30s from 20:59:10.3 is rounded up to a whole second
		{"relative start", nil, []string{"--start-at", "+30s", "--run-id", "soak-7"}, nil, time.Date(2026, 11, 29, 20, 59, 41, 0, time.UTC), "soak-7"},
		{"index from the job", map[string]string{"JOB_COMPLETION_INDEX": "2"}, []string{"--shards", "3", "--run-id", "r1"}, &scenario.Shard{Index: 2, Count: 3}, time.Time{}, "r1"},
	}
	for _, tc := range good {
		opts, err := parse(tc.env, tc.args...)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if (opts.Shard == nil) != (tc.shard == nil) || opts.Shard != nil && *opts.Shard != *tc.shard || !opts.StartAt.Equal(tc.at) || opts.RunID != tc.id {
			t.Errorf("%s: shard %v, start %v, id %q", tc.name, opts.Shard, opts.StartAt, opts.RunID)
		}
	}
	bad := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"index past the count", nil, []string{"--shard", "3/2"}, "--shard: shard 3/2: the index must be 0..1"},
		{"no shards", nil, []string{"--shard", "0/0"}, "the count must be at least 1"},
		{"both", nil, []string{"--shard", "0/2", "--shards", "2"}, "not both"},
		{"no job index", nil, []string{"--shards", "2"}, "$JOB_COMPLETION_INDEX is not set"},
		{"bad job index", map[string]string{"JOB_COMPLETION_INDEX": "x"}, []string{"--shards", "2"}, `$JOB_COMPLETION_INDEX is "x", not a whole number`},
		{"job index past the count", map[string]string{"JOB_COMPLETION_INDEX": "2"}, []string{"--shards", "2"}, "$JOB_COMPLETION_INDEX=2: shard 2/2: the index must be 0..1"},
		{"start without a zone", nil, []string{"--start-at", "2026-11-29T21:00:00"}, "RFC 3339, with its zone"},
		{"bad run id", nil, []string{"--run-id", "a/b"}, `run id "a/b"`},
	}
	for _, tc := range bad {
		_, err := parse(tc.env, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
