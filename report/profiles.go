package report

import (
	"sort"

	"github.com/eixamsim/eixamsim/scenario"
)

// Per-profile metrics. With fleet.network on, every latency metric has a
// twin per network profile, "sos.delivered@3g" (scenario.MetricAtProfile),
// recorded in the registry and the hlogs like any metric, so shards merge
// them exactly. In memory a Summary keeps them in Metrics under those
// names; summary.json groups them under "profiles" ({profile: {metric:
// stats}}), and ReadJSON puts them back, so a summary reads as it was
// written. The tables of totals (MetricNames, error counts) leave them
// out: each of their samples is also a sample of its total. With
// sos.origin: mixed the SOS clocks have twins per origin of the same form
// (scenario.MetricAtOrigin, "sos.delivered@device"), grouped the same way
// under the reserved names app and device.

// isTwin reports whether name is a per-profile twin.
func isTwin(name string) bool {
	_, _, ok := scenario.MetricProfile(name)
	return ok
}

// ProfileMetrics returns the per-profile metrics by profile and then by
// base metric; nil when the run had no network profiles.
func (s *Summary) ProfileMetrics() map[string]map[string]Metric {
	var out map[string]map[string]Metric
	for name, m := range s.Metrics {
		base, profile, ok := scenario.MetricProfile(name)
		if !ok {
			continue
		}
		if out == nil {
			out = map[string]map[string]Metric{}
		}
		if out[profile] == nil {
			out[profile] = map[string]Metric{}
		}
		out[profile][base] = m
	}
	return out
}

// ProfileNames returns the profiles of ProfileMetrics, sorted.
func (s *Summary) ProfileNames() []string {
	var names []string
	for p := range s.ProfileMetrics() {
		names = append(names, p)
	}
	sort.Strings(names)
	return names
}

// grouped returns the summary as summary.json holds it: the twins moved
// from Metrics to Profiles, and left out of the stages (per-profile
// figures are the whole run's).
func (s *Summary) grouped() *Summary {
	profiles := s.ProfileMetrics()
	if profiles == nil {
		return s
	}
	c := *s
	c.Profiles = profiles
	c.Metrics = withoutTwins(s.Metrics)
	c.Stages = make([]Stage, len(s.Stages))
	for i, st := range s.Stages {
		st.Metrics = withoutTwins(st.Metrics)
		c.Stages[i] = st
	}
	return &c
}

// flatten puts the twins of a summary read from summary.json back into
// Metrics.
func (s *Summary) flatten() {
	for profile, ms := range s.Profiles {
		if s.Metrics == nil {
			s.Metrics = map[string]Metric{}
		}
		for base, m := range ms {
			s.Metrics[scenario.MetricAtProfile(base, profile)] = m
		}
	}
	s.Profiles = nil
}

func withoutTwins(ms map[string]Metric) map[string]Metric {
	if ms == nil {
		return nil
	}
	out := make(map[string]Metric, len(ms))
	for name, m := range ms {
		if !isTwin(name) {
			out[name] = m
		}
	}
	return out
}
