package scenario

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
	"testing"
)

func TestParseShard(t *testing.T) {
	good := []struct {
		in   string
		want Shard
	}{
		{"0/1", Shard{Index: 0, Count: 1}},     // one shard: the whole run
		{"3/4", Shard{Index: 3, Count: 4}},     // the last of four
		{" 1 / 2 ", Shard{Index: 1, Count: 2}}, // spaces around the numbers
	}
	for _, tc := range good {
		got, err := ParseShard(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if got.String() != strings.ReplaceAll(tc.in, " ", "") {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
	bad := []struct{ in, want string }{
		{"3/2", "the index must be 0..1 (shards count from 0)"}, // index past the count
		{"2/2", "the index must be 0..1"},                       // 1-based by mistake
		{"0/0", "the count must be at least 1"},                 // no shards
		{"-1/2", "the index must be 0..1"},                      // negative
		{"1", "want INDEX/COUNT"},                               // no count
		{"a/b", "want INDEX/COUNT with whole numbers"},          // not numbers
		{"0/10001", "at most 10000 shards"},                     // absurd count
	}
	for _, tc := range bad {
		_, err := ParseShard(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseShard(%q) = %v; want an error with %q", tc.in, err, tc.want)
		}
	}
}

// shardScenarios are whole scenarios the union property is checked on.
var shardScenarios = []string{
	// one stage, closed model only
	base,
	// uneven users, several stages (one of 0 users), every open-model rate,
	// stage rates with a linear ramp
	`version: 1
name: t
seed: 42
identity: { app_id: a, app_secret: s3cret-value }
fleet: { users: 1003, connect_rate: 70/s, source_ips: 127.0.0.1-127.0.0.7 }
stages:
  - { for: 10s, users: 7 }
  - { for: 10s, users: 50%, rates: { sos: 3/s, contacts: 0/s }, ramp: linear }
  - { for: 10s, users: 0 }
  - { for: 10s, users: 1003 }
behaviours:
  telemetry: { rate: 13/s }
  sos: { rate: 1/s, arrivals: poisson }
  contacts: { rate: 5/s, mix: { list: 1 } }
  devices: { rate: 2/min, mix: { list: 1 } }
thresholds:
  mqtt.connect: ["p(95) < 1s", "count >= 1000"]
  telemetry.puback: ["rate >= 12/s"]
  users.online: ["min >= 900"]
`,
}

// TestSliceUnion checks that the slices of every shard count add up to
// the whole: users, stage users, identities (disjoint, contiguous, with
// the unsharded run's ids), rates and connect rate; and that seeds differ.
func TestSliceUnion(t *testing.T) {
	for si, src := range shardScenarios {
		whole, err := testParse(src, Options{Seed: ptr(uint64(7))})
		if err != nil {
			t.Fatalf("scenario %d: %v", si, err)
		}
		for _, n := range []int{1, 2, 3, 4, 7} {
			t.Run(fmt.Sprintf("%d/%d", si, n), func(t *testing.T) {
				users := 0
				stageUsers := make([]int, len(whole.Stages))
				rates := map[string]float64{}
				stageRates := map[string]float64{}
				var connect float64
				seeds := map[uint64]bool{}
				for i := range n {
					part, err := whole.Slice(Shard{Index: i, Count: n})
					if err != nil {
						t.Fatalf("Slice(%d/%d): %v", i, n, err)
					}
					if err := part.Validate(); err != nil {
						t.Errorf("shard %d/%d does not validate: %v", i, n, err)
					}
					if part.Identity.Offset != users {
						t.Errorf("shard %d/%d starts at user %d, want %d (contiguous, disjoint)", i, n, part.Identity.Offset, users)
					}
					for _, local := range []int{0, part.Fleet.Users - 1} {
						got, err1 := part.Identity.Session(local)
						want, err2 := whole.Identity.Session(part.Identity.Offset + local)
						if err1 != nil || err2 != nil || got != want || got.Index != part.Identity.Offset+local {
							t.Errorf("shard %d/%d user %d = %+v (%v), want the whole run's %+v (%v)", i, n, local, got, err1, want, err2)
						}
					}
					users += part.Fleet.Users
					for j, st := range part.Stages {
						stageUsers[j] += st.Users
						if st.Users > part.Fleet.Users {
							t.Errorf("shard %d/%d stage %d: %d users online of %d", i, n, j, st.Users, part.Fleet.Users)
						}
						for k, r := range st.Rates {
							stageRates[fmt.Sprint(j, k)] += r.PerSecond
						}
					}
					for _, name := range RateBehaviours {
						if r, ok := part.Behaviours.RateOf(name); ok {
							rates[name] += r.PerSecond
						}
					}
					connect += part.Fleet.ConnectRate.PerSecond
					if seeds[part.Seed] || part.Seed == 0 || part.Seed > MaxSeed {
						t.Errorf("shard %d/%d seed %d repeats or is out of range", i, n, part.Seed)
					}
					seeds[part.Seed] = true
					if part.Shard.Index != i || part.Shard.Count != n {
						t.Errorf("Shard = %v", part.Shard)
					}
				}
				if users != whole.Fleet.Users {
					t.Errorf("users add up to %d, want %d", users, whole.Fleet.Users)
				}
				for j, st := range whole.Stages {
					if stageUsers[j] != st.Users {
						t.Errorf("stage %d users add up to %d, want %d", j, stageUsers[j], st.Users)
					}
					for k, r := range st.Rates {
						if !near(stageRates[fmt.Sprint(j, k)], r.PerSecond) {
							t.Errorf("stage %d rate %s adds up to %g, want %g", j, k, stageRates[fmt.Sprint(j, k)], r.PerSecond)
						}
					}
				}
				for _, name := range RateBehaviours {
					if r, ok := whole.Behaviours.RateOf(name); ok && !near(rates[name], r.PerSecond) {
						t.Errorf("%s rate adds up to %g, want %g", name, rates[name], r.PerSecond)
					}
				}
				if !near(connect, whole.Fleet.ConnectRate.PerSecond) {
					t.Errorf("connect rates add up to %g, want %g", connect, whole.Fleet.ConnectRate.PerSecond)
				}
			})
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// TestSliceSources checks that shards on one machine never share a source
// address when there are enough, and share the list when there are not.
func TestSliceSources(t *testing.T) {
	whole, err := testParse(base+"seed: 1\n", Options{Set: []string{"fleet.source_ips=10.0.0.1-10.0.0.5"}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[netip.Addr]int{}
	for i := range 2 {
		part, err := whole.Slice(Shard{Index: i, Count: 2})
		if err != nil {
			t.Fatal(err)
		}
		if !part.Shard.OwnSources {
			t.Errorf("shard %d/2 of 5 addresses does not own its addresses", i)
		}
		for _, a := range part.Fleet.SourceIPs {
			if j, dup := seen[a]; dup {
				t.Errorf("%s is used by shards %d and %d", a, j, i)
			}
			seen[a] = i
		}
	}
	if len(seen) != 5 {
		t.Errorf("the shards use %d of the 5 addresses", len(seen))
	}
	part, err := whole.Slice(Shard{Index: 3, Count: 7})
	if err == nil && (len(part.Fleet.SourceIPs) != 5 || part.Shard.OwnSources) {
		t.Errorf("with fewer addresses than shards, a shard uses %v, want all 5", part.Fleet.SourceIPs)
	}
}

// TestSliceThresholds checks that volume rules are scaled to the slice
// and the others kept.
func TestSliceThresholds(t *testing.T) {
	whole, err := testParse(shardScenarios[1], Options{})
	if err != nil {
		t.Fatal(err)
	}
	part, err := whole.Slice(Shard{Index: 0, Count: 2}) // 502 of 1003 users
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, mr := range part.Thresholds.Metrics {
		for _, r := range mr.Rules {
			got[mr.Metric+" "+r.AggString()] = r.Source
		}
	}
	want := map[string]string{
		"mqtt.connect p(95)":    "p(95) < 1s",
		"mqtt.connect count":    "count >= 500",
		"telemetry.puback rate": "rate >= 6/s",
		"users.online min":      "min >= 450", // 900 x 502/1003, rounded down
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	if whole.Thresholds.Metrics[0].Rules[1].Source != "count >= 1000" {
		t.Error("Slice changed the whole scenario's rules")
	}
}

func TestSliceRefusals(t *testing.T) {
	noSeed, err := testParse(base, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noSeed.Slice(Shard{Index: 0, Count: 2}); err != ErrNoSeed {
		t.Errorf("no seed: %v", err)
	}
	s, err := testParse(strings.Replace(base, "duration: 10s", "stages: [{for: 1s, users: 1}, {for: 1s, users: 2}]", 1)+"seed: 3\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		shard Shard
		want  string
	}{
		{Shard{Index: 10, Count: 11}, "shard 10/11 has no users: fleet.users (10) is fewer than the 11 shards"},
		{Shard{Index: 2, Count: 3}, "shard 2/3 would have no user online in any stage: the stages have at most 2 users online, fewer than the 3 shards"},
		{Shard{Index: 2, Count: 2}, "shard 2/2: the index must be 0..1 (shards count from 0)"},
	} {
		if _, err := s.Slice(tc.shard); err == nil || err.Error() != tc.want {
			t.Errorf("Slice(%v) = %v, want %q", tc.shard, err, tc.want)
		}
	}
	part, err := s.Slice(Shard{Index: 1, Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := part.Slice(Shard{Index: 0, Count: 2}); err == nil {
		t.Error("a slice was sliced again")
	}
}
