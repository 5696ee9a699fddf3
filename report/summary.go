package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/eixamsim/eixamsim/metrics"
)

// SchemaVersion is the version of summary.json. It changes only when a field
// changes meaning or goes away; added fields keep it.
const SchemaVersion = 1

// Summary is the content of summary.json: everything a run measured and
// enough about the run to read it without the scenario file.
type Summary struct {
	Schema     string            `json:"schema"`
	Version    int               `json:"schema_version"`
	Name       string            `json:"name"`
	Scenario   any               `json:"scenario"` // the resolved scenario, secrets redacted
	Target     Target            `json:"target"`
	Start      time.Time         `json:"start"`
	End        time.Time         `json:"end"`
	Seconds    float64           `json:"duration_s"`
	EndReason  string            `json:"end_reason"` // completed | interrupted | aborted | failed
	Stages     []Stage           `json:"stages"`
	Metrics    map[string]Metric `json:"metrics"`
	Counters   map[string]int64  `json:"counters"`
	Thresholds []Verdict         `json:"thresholds"`
	Series     []metrics.Point   `json:"series,omitempty"`
	Notes      []string          `json:"notes,omitempty"`
}

// Target says what the run ran against.
type Target struct {
	Kind string `json:"kind"` // embedded | external
	HTTP string `json:"http"`
	MQTT string `json:"mqtt"`
}

// Stage is when one stage ran.
type Stage struct {
	Name  string    `json:"name"`
	Users int       `json:"users"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

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
}

// Verdict is the outcome of one threshold rule. Value is the observed
// aggregate in the rule's unit (seconds, fraction 0..1, count, or per
// second); Observed is the same written as rules are ("1.52s", "0.3%"), or
// "no samples" when the metric had nothing to judge (NoData, Value 0: the
// rule failed). Note says more, e.g. that this rule aborted the run.
type Verdict struct {
	Metric   string  `json:"metric"`
	Rule     string  `json:"rule"`
	Observed string  `json:"observed"`
	Value    float64 `json:"observed_value"`
	Passed   bool    `json:"passed"`
	NoData   bool    `json:"no_data,omitempty"`
	Line     int     `json:"line,omitempty"`
	Note     string  `json:"note,omitempty"`
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

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// MetricNames returns the summary's metric names, sorted.
func (s *Summary) MetricNames() []string {
	names := make([]string, 0, len(s.Metrics))
	for n := range s.Metrics {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TotalErrors sums the errors of every metric.
func (s *Summary) TotalErrors() int64 {
	var n int64
	for _, m := range s.Metrics {
		n += m.Errors
	}
	return n
}

// WriteJSON writes s as indented JSON, without HTML escaping.
func WriteJSON(w io.Writer, s *Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // rules read "p(95) < 2s", not "p(95) \u003c 2s"
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("summary.json: %w", err)
	}
	return nil
}

// ReadJSON reads a summary written by WriteJSON.
func ReadJSON(r io.Reader) (*Summary, error) {
	// The scenario echo stays raw JSON, so re-rendering lists its keys in
	// the order they were written.
	s := Summary{Scenario: new(json.RawMessage)}
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return nil, fmt.Errorf("summary.json: %w", err)
	}
	if s.Version != SchemaVersion {
		return nil, fmt.Errorf("summary.json: schema version %d, this eixamsim reads %d", s.Version, SchemaVersion)
	}
	return &s, nil
}
