package scenario

import "slices"

// Per-origin twins. With sos.origin: mixed, each SOS clock also has a twin
// per origin, "sos.delivered@device" (MetricAtOrigin): the same samples
// and errors, for the SOS raised from that origin only (device SOS
// include those the Protection Mode service created over HTTP). They take
// the per-profile twins' form so that the registry, the hlogs, shard
// merges, reports and thresholds read them as they read a profile's; the
// origin names are therefore reserved, and no network profile may take
// them.

// originMetrics are the SOS clocks with per-origin twins. sos.http_created
// is not one: only device SOS have it.
var originMetrics = []string{SOSPuback, SOSDelivered, SOSAcknowledged, SOSVisible, SOSCancelled, SOSResolved}

// twinOrigins are the origins a twin may name: mixed is a mix of them.
var twinOrigins = []string{OriginApp, OriginDevice}

// MetricAtOrigin names the per-origin twin of an SOS clock (OriginApp or
// OriginDevice).
func MetricAtOrigin(metric, origin string) string { return MetricAtProfile(metric, origin) }

// HasOriginTwin reports whether metric is an SOS clock with per-origin
// twins.
func HasOriginTwin(metric string) bool { return slices.Contains(originMetrics, metric) }

// IsOrigin reports whether the suffix of a twin (MetricProfile) names an
// SOS origin rather than a network profile.
func IsOrigin(suffix string) bool { return slices.Contains(twinOrigins, suffix) }

// OriginTwins reports whether the SOS clocks get per-origin twins: with
// sos.origin: mixed, the only way app and device SOS share a run
// (Protection Mode acts on device SOS only).
func (b Behaviours) OriginTwins() bool { return b.SOS != nil && b.SOS.Origin == OriginMixed }

// checkMetricOrigin checks that a threshold's per-origin twin (of an SOS
// clock: LookupMetric knows no other) is recorded.
func (v *validator) checkMetricOrigin(path string) {
	if !v.s.Behaviours.OriginTwins() {
		v.keyErrorf(path, "is recorded only with behaviours.sos.origin: mixed")
	}
}
