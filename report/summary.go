package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/eixamsim/eixamsim/health"
	"github.com/eixamsim/eixamsim/metrics"
)

// SchemaVersion is the version of summary.json. It changes only when a field
// changes meaning or goes away; added fields keep it. Version 2 put every
// number in the one unit convention of docs/results.md (durations in
// milliseconds, run times in seconds, rates per second); ReadJSON still
// reads version 1.
const SchemaVersion = 2

// SchemaName is the summary's "schema" value.
const SchemaName = "eixamsim/summary"

// EndReason says why a run ended (summary.json end_reason).
type EndReason string

// End reasons of a run.
const (
	// EndCompleted: the last stage ended.
	EndCompleted EndReason = "completed"
	// EndInterrupted: a signal (or a cancelled context) stopped the run
	// before its last stage ended.
	EndInterrupted EndReason = "interrupted"
	// EndAborted: an abort_on_fail threshold stopped the run.
	EndAborted EndReason = "aborted"
)

// TargetKind says what kind of backend a run ran against.
type TargetKind string

// Target kinds.
const (
	// TargetEmbedded is the reference backend the run started itself.
	TargetEmbedded TargetKind = "embedded"
	// TargetExternal is a backend named in the scenario's target.
	TargetExternal TargetKind = "external"
)

// Summary is the content of summary.json: everything a run measured and
// enough about the run to read it without the scenario file. Units follow
// docs/results.md: durations in milliseconds (_ms), run times in seconds
// (_s), rates per second (_per_s), instants in RFC 3339.
type Summary struct {
	Schema    string    `json:"schema"`
	Version   int       `json:"schema_version"`
	Name      string    `json:"name"`
	Scenario  any       `json:"scenario"` // the resolved scenario, secrets redacted
	Meta      *Meta     `json:"meta,omitempty"`
	Target    Target    `json:"target"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Seconds   float64   `json:"duration_s"`
	EndReason EndReason `json:"end_reason"`
	Stages    []Stage   `json:"stages"`
	// Events is how each incident of the scenario went; absent without.
	Events     []metrics.Event   `json:"events,omitempty"`
	Metrics    map[string]Metric `json:"metrics"`
	Counters   map[string]int64  `json:"counters"`
	Thresholds []Verdict         `json:"thresholds"`
	// UsersOnline is users.online per stage, the teardown excluded.
	UsersOnline *Online `json:"users_online,omitempty"`
	// Connect is how fast users came online against the rate asked, over
	// the main ramp; nil when no stage raised the users target (and for a
	// capacity search, whose steps are not stages).
	Connect *Connect `json:"connect,omitempty"`
	// Generator is the simulator's own health over the run and whether it
	// was the bottleneck (package health).
	Generator *health.Report `json:"generator,omitempty"`
	Series    []Point        `json:"series,omitempty"`
	Notes     []string       `json:"notes,omitempty"`
	// Profiles holds, in summary.json only, the per-profile twins of the
	// latency metrics by network profile and metric (profiles.go); in
	// memory they are in Metrics, as "metric@profile".
	Profiles map[string]map[string]Metric `json:"profiles,omitempty"`
}

// Target says what the run ran against.
type Target struct {
	Kind TargetKind `json:"kind"`
	HTTP string     `json:"http"` // the (first) API base URL
	MQTT string     `json:"mqtt"` // the (first) broker URI
	// HTTPs and MQTTs list every address, in the scenario's order, when
	// target.http or target.mqtt has several (users are spread over
	// them); nil with one.
	HTTPs []string `json:"http_addresses,omitempty"`
	MQTTs []string `json:"mqtt_addresses,omitempty"`
}

// Stage is when one stage ran and what it measured. Its first four
// fields are those of fleet.StageTiming (engine checks that they stay
// so).
//
// The statistics are those of the one-second intervals assigned to the
// stage (an interval belongs to the stage its middle falls in; the
// teardown after the last stage belongs to the last): From and To bound
// them in seconds since the run's start, and rates are over To - From.
// Metrics has the shape of Summary.Metrics (every latency metric, empty
// ones too), Counters each counter's growth during the stage. Both are
// absent in files written before eixamsim kept per-stage statistics.
type Stage struct {
	Name     string            `json:"name"`
	Users    int               `json:"users"`
	Start    time.Time         `json:"start"`
	End      time.Time         `json:"end"`
	From     float64           `json:"from_s"`
	To       float64           `json:"to_s"`
	Metrics  map[string]Metric `json:"metrics,omitempty"`
	Counters map[string]int64  `json:"counters,omitempty"`
}

// Seconds is the length of the intervals the stage's statistics cover.
func (st Stage) Seconds() float64 { return st.To - st.From }

// Metric is one latency metric's cumulative statistics. Times are in
// milliseconds (floats, microsecond precision).
type Metric struct {
	Count    int64            `json:"count"`
	Errors   int64            `json:"errors"`
	ErrorsBy map[string]int64 `json:"errors_by_class"`
	Rate     float64          `json:"rate_per_s"`
	Min      float64          `json:"min_ms"`
	Mean     float64          `json:"mean_ms"`
	P50      float64          `json:"p50_ms"`
	P90      float64          `json:"p90_ms"`
	P95      float64          `json:"p95_ms"`
	P99      float64          `json:"p99_ms"`
	P999     float64          `json:"p99_9_ms"`
	Max      float64          `json:"max_ms"`
	// ErrorSamples holds, per error class, the first few error messages
	// (metrics.MaxErrorSamples at most), scrubbed of anything that looks
	// like a secret (ScrubMessage); absent when none were kept.
	ErrorSamples map[string][]string `json:"error_samples,omitempty"`
}

// MetricFrom converts a metrics.Summary over a run of the given length.
func MetricFrom(s metrics.Summary, seconds float64) Metric {
	m := Metric{Count: s.Count, Errors: s.Errors, ErrorsBy: s.ErrorsBy}
	if m.ErrorsBy == nil {
		m.ErrorsBy = map[string]int64{}
	}
	if seconds > 0 {
		m.Rate = float64(s.Count) / seconds
	}
	m.Min, m.Mean, m.Max = ms(s.Min), ms(s.Mean), ms(s.Max)
	at := func(q float64) float64 { v, _ := s.At(q); return ms(v) }
	m.P50, m.P90, m.P95, m.P99, m.P999 = at(50), at(90), at(95), at(99), at(99.9)
	return m
}

// WithSamples returns m carrying samples, a metric's kept error messages by
// class (metrics.Latency.ErrorSamples), each scrubbed with ScrubMessage.
// An empty samples map leaves m as it is.
func (m Metric) WithSamples(samples map[string][]string) Metric {
	if len(samples) == 0 {
		return m
	}
	m.ErrorSamples = make(map[string][]string, len(samples))
	for class, msgs := range samples {
		out := make([]string, len(msgs))
		for i, msg := range msgs {
			out[i] = ScrubMessage(msg)
		}
		m.ErrorSamples[class] = out
	}
	return m
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// MetricNames returns the summary's metric names, sorted, without the
// per-profile twins (ProfileMetrics).
func (s *Summary) MetricNames() []string {
	names := make([]string, 0, len(s.Metrics))
	for n := range s.Metrics {
		if !isTwin(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// TotalErrors sums the errors of every metric (the per-profile twins
// count in their totals already).
func (s *Summary) TotalErrors() int64 {
	var n int64
	for name, m := range s.Metrics {
		if !isTwin(name) {
			n += m.Errors
		}
	}
	return n
}

// WriteJSON writes s as indented JSON, without HTML escaping.
func WriteJSON(w io.Writer, s *Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // rules read "p(95) < 2s", not "p(95) \u003c 2s"
	if err := enc.Encode(s.grouped()); err != nil {
		return fmt.Errorf("summary.json: %w", err)
	}
	return nil
}

// ReadJSON reads a summary written by WriteJSON, of this schema version or
// of version 1 (upgraded to this one, see upgradeV1).
func ReadJSON(r io.Reader) (*Summary, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("summary.json: %w", err)
	}
	var head struct {
		Version int `json:"schema_version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("summary.json: %w", err)
	}
	switch head.Version {
	case SchemaVersion:
	case 1:
		return readV1(data)
	default:
		return nil, fmt.Errorf("summary.json: schema version %d, this eixamsim reads 1 and %d", head.Version, SchemaVersion)
	}
	// The scenario echo stays raw JSON, so re-rendering lists its keys in
	// the order they were written.
	s := Summary{Scenario: new(json.RawMessage)}
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("summary.json: %w", err)
	}
	s.flatten()
	return &s, nil
}

// StageMetrics are the latency metrics the per-stage tables show: those
// named by a threshold, then the first key metrics, then any other,
// keeping those that measured something (a success or an error) in some
// stage, at most MaxKeyMetrics. None when the run had fewer than two
// stages or its stages kept no statistics.
func (s *Summary) StageMetrics() []string {
	if len(s.Stages) < 2 {
		return nil
	}
	measured := func(name string) bool {
		for _, st := range s.Stages {
			if m := st.Metrics[name]; m.Count > 0 || m.Errors > 0 {
				return true
			}
		}
		return false
	}
	var cands []string
	for _, v := range s.Thresholds {
		cands = append(cands, v.Metric)
	}
	cands = append(cands, firstKeyMetrics...)
	cands = append(cands, s.MetricNames()...)
	seen := map[string]bool{}
	var out []string
	for _, name := range cands {
		if seen[name] || len(out) == MaxKeyMetrics {
			continue
		}
		seen[name] = true
		if _, latency := s.Metrics[name]; latency && measured(name) {
			out = append(out, name)
		}
	}
	return out
}
