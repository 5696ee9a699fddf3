package procs

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/eixamsim/eixamsim/engine"
	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/health"
	"github.com/eixamsim/eixamsim/metrics"
)

// StatusFD is the file descriptor a worker writes its Status lines to: the
// first of exec.Cmd.ExtraFiles. The worker's stdout and stderr stay free
// for its messages.
const StatusFD = 3

// Status is one line a worker writes after each one-second interval of
// its run: JSON, one object per line.
type Status struct {
	// T is the end of the interval in seconds since the worker's start;
	// Seconds its length.
	T       float64 `json:"t"`
	Seconds float64 `json:"seconds"`
	// Stage, StageIndex and StageEnd are the worker's current stage
	// (fleet.Status); Stage is "" before the first.
	Stage      string    `json:"stage,omitempty"`
	StageIndex int       `json:"stage_index"`
	StageEnd   time.Time `json:"stage_end,omitzero"`
	// Target and Online are the worker's users wanted and online.
	Target int   `json:"target"`
	Online int64 `json:"online"`
	// Values are the worker's counters and gauges (metrics.Point.Values).
	Values map[string]int64 `json:"values,omitempty"`
	// Counts are each latency metric's successes and errors in the
	// interval.
	Counts map[string]Count `json:"counts,omitempty"`
	// Hists are the interval histograms of the metrics the writer was told
	// to keep, HdrHistogram V2 compressed and base64 encoded; only those
	// with values.
	Hists map[string]string `json:"hists,omitempty"`
	// Health is the worker's own health over the interval, when its writer
	// samples it (StatusWriter.WithHealth); nil otherwise.
	Health *health.Sample `json:"health,omitempty"`
	// Settled, when set, makes the line a step mark instead of an
	// interval: the worker's fleet.StageSource was told that step
	// Settled.Step has its users online (a capacity search's worker). The
	// other fields are then empty.
	Settled *Settled `json:"settled,omitempty"`
}

// Settled is a worker's step that has its users online, from At.
type Settled struct {
	Step int       `json:"step"`
	At   time.Time `json:"at"`
}

// Count is a latency metric's successes and errors in one interval.
type Count struct {
	N      int64 `json:"n"`
	Errors int64 `json:"errors,omitempty"`
	// ErrorsBy splits Errors by class (metrics.IntervalStat.ErrorsBy).
	ErrorsBy map[string]int64 `json:"errors_by,omitempty"`
}

// StatusWriter is a worker's engine.Progress: after each interval it
// writes one Status line to w. A write that fails (the parent is gone)
// stops the writing; the run goes on.
type StatusWriter struct {
	w    io.Writer
	keep map[string]bool // nil: every metric
	// health, if set, samples the worker's health at each Update.
	health func(metrics.Point) health.Sample

	mu     sync.Mutex
	hists  map[string]string
	failed bool
}

var _ engine.Progress = (*StatusWriter)(nil)

// NewStatusWriter writes Status lines to w, with the interval histograms
// of the metrics named in keep (the ones the parent's display shows); a
// nil keep sends every latency metric's histogram (a capacity search's
// parent measures its steps from them).
func NewStatusWriter(w io.Writer, keep []string) *StatusWriter {
	s := &StatusWriter{w: w, hists: map[string]string{}}
	if keep != nil {
		s.keep = map[string]bool{}
	}
	for _, m := range keep {
		s.keep[m] = true
	}
	return s
}

// WithHealth makes each line carry sample(point): the worker's own health
// over the interval. It returns s; call it before the run starts.
func (s *StatusWriter) WithHealth(sample func(metrics.Point) health.Sample) *StatusWriter {
	s.health = sample
	return s
}

// Settled writes a step mark: step i of the worker's steps has its users
// online from at (fleet.StageSource.Settled). Safe to call while the run
// goes.
func (s *StatusWriter) Settled(i int, at time.Time) {
	s.write(Status{Settled: &Settled{Step: i, At: at}})
}

// WriteInterval implements metrics.IntervalSink: a kept metric's interval
// histogram is encoded for the next line (h is valid during the call only).
func (s *StatusWriter) WriteInterval(metric string, h *hdr.Histogram) error {
	if (s.keep != nil && !s.keep[metric]) || h.TotalCount() == 0 {
		return nil
	}
	enc, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		return nil // the display misses one interval; the hlog file has it
	}
	s.mu.Lock()
	s.hists[metric] = string(enc)
	s.mu.Unlock()
	return nil
}

// Update writes the interval's line.
func (s *StatusWriter) Update(st fleet.Status, pt metrics.Point) {
	line := Status{
		T: pt.T, Seconds: pt.Seconds,
		Stage: st.Stage, StageIndex: st.StageIndex, StageEnd: st.StageEnd,
		Target: st.Target, Online: st.Online,
		Values: pt.Values,
	}
	if len(pt.Latencies) > 0 {
		line.Counts = make(map[string]Count, len(pt.Latencies))
		for name, l := range pt.Latencies {
			line.Counts[name] = Count{N: l.Count, Errors: l.Errors, ErrorsBy: l.ErrorsBy}
		}
	}
	if s.health != nil {
		h := s.health(pt)
		line.Health = &h
	}
	s.mu.Lock()
	line.Hists, s.hists = s.hists, map[string]string{}
	s.mu.Unlock()
	s.write(line)
}

// write writes one line; after a failed write (the parent is gone) it
// writes nothing more.
func (s *StatusWriter) write(line Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed {
		return
	}
	b, err := json.Marshal(line)
	if err == nil {
		_, err = s.w.Write(append(b, '\n'))
	}
	if err != nil {
		s.failed = true
	}
}

// DecodeHists decodes a Status's histograms. On an error it returns
// those decoded before it, with the error.
func (s Status) DecodeHists() (map[string]*hdr.Histogram, error) {
	out := make(map[string]*hdr.Histogram, len(s.Hists))
	for name, enc := range s.Hists {
		h, err := hdr.Decode([]byte(enc))
		if err != nil {
			return out, fmt.Errorf("status: histogram of %s: %w", name, err)
		}
		out[name] = h
	}
	return out, nil
}
