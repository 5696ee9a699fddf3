package scenario

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// A sharded run is one scenario run by Count processes at once (on one
// machine or many), each running its slice: shard i of N. The slices add
// up to the whole:
//
//   - users: fleet.users and every stage's users are split so that the
//     parts sum exactly to the whole (each part is the whole / N, the
//     remainder going one each to the lowest indices); shard i's users are
//     the contiguous range of the whole run's users that starts at
//     Identity.Offset, so they have the ids (and sessions CSV rows) they
//     have in the unsharded run and no two shards share one;
//   - rates: every open-model rate (behaviours' rates, each by its row's
//     slicing rule in behaviours.go; stages' rates) and fleet.connect_rate
//     are divided by N. Poisson arrivals of the shards
//     are independent streams of rate λ/N (their seeds differ), whose
//     union is a Poisson stream of rate λ; constant arrivals of shard i are
//     shifted by i/N of their interval, so the union is evenly spaced as
//     in the unsharded run;
//   - fleet.source_ips: with at least N addresses, shard i takes addresses
//     i, i+N, i+2N, … so that shards on one machine never bind the same
//     source address; with fewer, every shard uses all of them;
//   - the seed: shard i's is ShardSeed(run seed, i);
//   - thresholds: a shard judges its own slice, so rules on volume (count
//     and rate rules, and min, max and avg of a gauge such as
//     users.online) are scaled to the slice: count and rate by 1/N, gauge
//     levels by the shard's share of fleet.users. The merged result judges
//     the whole run against the rules as written.

// Shard is one slice of a sharded run: shard Index of Count, 0-based.
type Shard struct {
	Index int // 0..Count-1
	Count int // >= 1
	// OwnSources says that Slice split fleet.source_ips among the shards
	// (there were at least Count addresses): no other shard binds this
	// shard's source addresses. False when the shards share them.
	OwnSources bool
}

// String is "Index/Count", as --shard takes it.
func (sh Shard) String() string { return fmt.Sprintf("%d/%d", sh.Index, sh.Count) }

// MaxShards bounds Shard.Count.
const MaxShards = 10000

// ParseShard parses "INDEX/COUNT" ("0/4" .. "3/4").
func ParseShard(s string) (Shard, error) {
	i, n, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: want INDEX/COUNT, e.g. 0/4 for the first of 4 shards", s)
	}
	index, err1 := strconv.Atoi(strings.TrimSpace(i))
	count, err2 := strconv.Atoi(strings.TrimSpace(n))
	if err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: want INDEX/COUNT with whole numbers, e.g. 0/4 for the first of 4 shards", s)
	}
	sh := Shard{Index: index, Count: count}
	return sh, sh.Check()
}

// Check reports a shard that names no slice: Count < 1 or above
// MaxShards, or Index outside 0..Count-1.
func (sh Shard) Check() error {
	switch {
	case sh.Count < 1:
		return fmt.Errorf("shard %s: the count must be at least 1", sh)
	case sh.Count > MaxShards:
		return fmt.Errorf("shard %s: at most %d shards", sh, MaxShards)
	case sh.Index < 0 || sh.Index >= sh.Count:
		return fmt.Errorf("shard %s: the index must be 0..%d (shards count from 0)", sh, sh.Count-1)
	}
	return nil
}

// part returns shard sh's part of n and the sum of the parts before it:
// n/Count each, the remainder one each to the lowest indices.
func (sh Shard) part(n int) (size, before int) {
	q, r := n/sh.Count, n%sh.Count
	size = q
	if sh.Index < r {
		size++
	}
	return size, q*sh.Index + min(sh.Index, r)
}

// ShardSeed is the seed of shard index of a run whose seed is runSeed:
// 1..MaxSeed, different for every index (a SplitMix64 step of the pair).
func ShardSeed(runSeed uint64, index int) uint64 {
	z := runSeed + uint64(index+1)*0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	return 1 + z%MaxSeed
}

// ErrNoSeed is returned by Slice for a scenario without a seed: the
// shards must derive theirs from one run seed.
var ErrNoSeed = errors.New("scenario: a sharded run needs the run's seed before it is sliced (every shard derives its own from it)")

// Slice returns shard sh of s, a whole resolved scenario with a seed: a
// new Scenario (s is not changed) whose users, stages, rates, source
// addresses, seed and thresholds are the slice's (see the comment at the
// top of this file), with Shard set. It fails when sh names no slice, s
// has no seed (ErrNoSeed), is a slice already, or the slice would have no
// user online in any stage.
func (s *Scenario) Slice(sh Shard) (*Scenario, error) {
	if err := sh.Check(); err != nil {
		return nil, err
	}
	if s.Shard != nil {
		return nil, fmt.Errorf("scenario: already shard %s", s.Shard)
	}
	if s.Seed == 0 {
		return nil, ErrNoSeed
	}
	users, first := sh.part(s.Fleet.Users)
	if users == 0 {
		return nil, fmt.Errorf("shard %s has no users: fleet.users (%d) is fewer than the %d shards", sh, s.Fleet.Users, sh.Count)
	}
	c := *s
	sh.OwnSources = sh.Count > 1 && len(s.Fleet.SourceIPs) >= sh.Count
	c.Shard = &sh
	c.Seed = ShardSeed(s.Seed, sh.Index)
	c.Identity.Offset = s.Identity.Offset + first
	n := float64(sh.Count)
	c.Fleet.Users = users
	c.Fleet.ConnectRate = Rate{PerSecond: s.Fleet.ConnectRate.PerSecond / n}
	c.Fleet.SourceIPs = shardSources(s.Fleet.SourceIPs, sh)
	c.Stages = make([]Stage, len(s.Stages))
	for i, st := range s.Stages {
		st.Users, _ = sh.part(st.Users)
		st.Rates = divideRates(st.Rates, n)
		c.Stages[i] = st
	}
	if c.MaxUsers() == 0 {
		return nil, fmt.Errorf("shard %s would have no user online in any stage: the stages have at most %d users online, fewer than the %d shards", sh, s.MaxUsers(), sh.Count)
	}
	c.Behaviours = sliceBehaviours(s.Behaviours, n)
	c.Thresholds = scaleThresholds(s.Thresholds, 1/n, float64(users)/float64(s.Fleet.Users))
	return &c, nil
}

// shardSources is shard sh's share of fleet.source_ips: addresses Index,
// Index+Count, … when there are at least Count of them, else all.
func shardSources[T any](all []T, sh Shard) []T {
	if len(all) < sh.Count || sh.Count == 1 {
		return all
	}
	var out []T
	for i := sh.Index; i < len(all); i += sh.Count {
		out = append(out, all[i])
	}
	return out
}

func divideRates(rates map[string]Rate, n float64) map[string]Rate {
	if rates == nil {
		return nil
	}
	out := maps.Clone(rates)
	for k, r := range out {
		out[k] = Rate{PerSecond: r.PerSecond / n}
	}
	return out
}

// lenient rounds a scaled rule value to a multiple of step in the rule's
// favour: down for a lower bound, up for an upper bound. A slice's share
// is only close to its fraction of the whole (users split unevenly,
// arrivals are random), so its rules give it the benefit of the rounding.
func lenient(v float64, op string, step float64) float64 {
	if !(step > 0) {
		return v
	}
	const eps = 1e-9
	if op == OpGreater || op == OpGreaterEqual {
		return math.Floor(v/step+eps) * step
	}
	return math.Ceil(v/step-eps) * step
}

// scaleThresholds scales the volume rules of th to a slice: count and rate
// rules by volume, the levels of gauges by level. A scaled rule's Source
// is its new text, so verdicts show what was judged.
func scaleThresholds(th Thresholds, volume, level float64) Thresholds {
	th.Metrics = slices.Clone(th.Metrics)
	for i, mr := range th.Metrics {
		m, ok := LookupMetric(mr.Metric)
		if !ok {
			continue
		}
		mr.Rules = slices.Clone(mr.Rules)
		for j, r := range mr.Rules {
			switch {
			case r.Agg == AggRate:
				r.Value = lenient(r.Value*volume, r.Op, 1e-3*r.Value*volume)
			case r.Agg == AggCount:
				r.Value = lenient(r.Value*volume, r.Op, 1)
			case m.Kind == KindGauge:
				r.Value = lenient(r.Value*level, r.Op, 1)
			default:
				continue
			}
			r.Source = r.String()
			mr.Rules[j] = r
		}
		th.Metrics[i] = mr
	}
	return th
}
