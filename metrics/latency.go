package metrics

import (
	"sort"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram range: latencies are recorded in microseconds from 1 µs to one
// hour with 3 significant digits (0.1 % resolution at every magnitude).
const (
	lowestMicros  = 1
	highestMicros = int64(time.Hour / time.Microsecond)
	sigFigs       = 3
)

// ErrorOutOfRange is the error class counted when a latency is above the
// histogram's one-hour ceiling. Such a value is not recorded.
const ErrorOutOfRange = "out_of_range"

func newHistogram() *hdr.Histogram {
	return hdr.New(lowestMicros, highestMicros, sigFigs)
}

// Latency is one latency metric: a cumulative histogram, the histogram of
// the current interval, and error counts by class. The zero value is not
// usable; get one from Registry.Latency.
type Latency struct {
	name string

	mu       sync.Mutex
	total    *hdr.Histogram
	interval *hdr.Histogram
	errors   map[string]int64
	// samples keeps the first few error messages of each class, for
	// reports that show what an error class looked like.
	samples map[string][]string
	// intervalErrors counts errors since the last Rotate, for time series.
	intervalErrors int64
}

// MaxErrorSamples is how many messages Fail keeps per error class.
const MaxErrorSamples = 3

// maxSampleLen bounds one kept message, in bytes.
const maxSampleLen = 300

func newLatency(name string) *Latency {
	return &Latency{name: name, total: newHistogram(), interval: newHistogram(), errors: map[string]int64{}}
}

// Name returns the metric name, e.g. "telemetry.puback".
func (l *Latency) Name() string { return l.name }

// Record adds one successful operation that took d. Durations under 1 µs
// count as 1 µs; durations over one hour are counted as ErrorOutOfRange
// and not recorded, so a stuck clock can never silently skew percentiles.
func (l *Latency) Record(d time.Duration) {
	us := int64(d / time.Microsecond)
	if us < lowestMicros {
		us = lowestMicros
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if us > highestMicros {
		l.errors[ErrorOutOfRange]++
		l.intervalErrors++
		return
	}
	// Both records cannot fail: us is inside the range checked above.
	_ = l.total.RecordValue(us)
	_ = l.interval.RecordValue(us)
}

// Error counts one failed operation of this metric under class, a short
// snake_case word such as "timeout", "http_503" or "auth_refused".
func (l *Latency) Error(class string) {
	l.mu.Lock()
	l.errors[class]++
	l.intervalErrors++
	l.mu.Unlock()
}

// Fail counts one failed operation under class, as Error does, and keeps
// err's message as a sample of that class while it has fewer than
// MaxErrorSamples. The caller must not pass an error whose text holds a
// secret (a userHash, an app secret); transport and HTTP errors do not.
func (l *Latency) Fail(class string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errors[class]++
	l.intervalErrors++
	if err == nil || len(l.samples[class]) >= MaxErrorSamples {
		return
	}
	msg := err.Error()
	if len(msg) > maxSampleLen {
		msg = msg[:maxSampleLen] + "…"
	}
	if l.samples == nil {
		l.samples = map[string][]string{}
	}
	l.samples[class] = append(l.samples[class], msg)
}

// ErrorSamples returns the kept messages of each error class (a copy).
func (l *Latency) ErrorSamples() map[string][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string][]string, len(l.samples))
	for class, msgs := range l.samples {
		out[class] = append([]string(nil), msgs...)
	}
	return out
}

// ErrorCount returns how many errors of class were counted so far.
func (l *Latency) ErrorCount(class string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.errors[class]
}

// rotate swaps in spare as the new interval histogram and returns the
// finished one with the errors counted during it. spare must be empty.
func (l *Latency) rotate(spare *hdr.Histogram) (finished *hdr.Histogram, errs int64) {
	l.mu.Lock()
	finished, l.interval = l.interval, spare
	errs, l.intervalErrors = l.intervalErrors, 0
	l.mu.Unlock()
	return finished, errs
}

// Summary is the cumulative view of one latency metric. Durations are
// exact to the histogram's 3 significant digits.
type Summary struct {
	Name        string           `json:"name"`
	Count       int64            `json:"count"`
	Errors      int64            `json:"errors"`
	ErrorsBy    map[string]int64 `json:"errors_by_class,omitempty"`
	Min         time.Duration    `json:"-"`
	Mean        time.Duration    `json:"-"`
	Max         time.Duration    `json:"-"`
	Percentiles []Percentile     `json:"-"`
}

// Percentile is one point of a latency distribution: Q in 0..100.
type Percentile struct {
	Q     float64
	Value time.Duration
}

// SummaryQuantiles are the percentiles every Summary carries.
var SummaryQuantiles = []float64{50, 90, 95, 99, 99.9}

// Summary returns the cumulative statistics of this metric.
func (l *Latency) Summary() Summary {
	l.mu.Lock()
	defer l.mu.Unlock()
	return summarize(l.name, l.total, l.errors)
}

// Snapshot returns a copy of the cumulative histogram and error counts, for
// exact merging across processes and for threshold rules on arbitrary
// percentiles.
func (l *Latency) Snapshot() (*hdr.Histogram, map[string]int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	errs := make(map[string]int64, len(l.errors))
	for k, v := range l.errors {
		errs[k] = v
	}
	return l.total.Clone(), errs
}

// SummaryOf is the Summary of a histogram recorded as Latency records
// (microseconds) with errs as its error counts: how a merged or re-read
// histogram becomes the same statistics a run reports. h may be nil.
func SummaryOf(name string, h *hdr.Histogram, errs map[string]int64) Summary {
	if h == nil {
		h = newHistogram()
	}
	return summarize(name, h, errs)
}

func summarize(name string, h *hdr.Histogram, errs map[string]int64) Summary {
	s := Summary{Name: name, Count: h.TotalCount(), ErrorsBy: map[string]int64{}}
	for class, n := range errs {
		s.ErrorsBy[class] = n
		s.Errors += n
	}
	if s.Count == 0 {
		return s
	}
	s.Min = micros(h.Min())
	s.Max = micros(h.Max())
	s.Mean = time.Duration(h.Mean() * float64(time.Microsecond))
	for _, q := range SummaryQuantiles {
		s.Percentiles = append(s.Percentiles, Percentile{Q: q, Value: ValueAt(h, q)})
	}
	return s
}

// At returns the summary's value at percentile q if it carries it.
func (s Summary) At(q float64) (time.Duration, bool) {
	for _, p := range s.Percentiles {
		if p.Q == q {
			return p.Value, true
		}
	}
	return 0, false
}

func micros(v int64) time.Duration { return time.Duration(v) * time.Microsecond }

// ErrorClasses returns the error classes of s in a stable order.
func (s Summary) ErrorClasses() []string {
	classes := make([]string, 0, len(s.ErrorsBy))
	for c := range s.ErrorsBy {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	return classes
}
