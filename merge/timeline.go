package merge

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/eixamsim/eixamsim/metrics"
)

// timeline is the merged run's one-second grid: second k holds every
// shard interval that started within half a second of ref+k, so shards
// whose clocks (or --start-at starts) differ by less than half a second
// line up second by second. Histograms of one second add exactly; each
// shard interval lands in exactly one second, so the seconds of a metric
// add up to its whole-run histogram.
type timeline struct {
	// ref is second 0: the earliest shard's base.
	ref time.Time
	// spans are, per second, the earliest start and latest end of the
	// intervals in it, as offsets from ref.
	spans []span
	// hists holds each metric's histogram per second; nil: nothing there.
	hists map[string][]*hdr.Histogram
	// dropped counts values hdr.Histogram.Merge could not add (values out
	// of range of the merged histogram, which has the shards' own range:
	// 0 unless an input was written by another tool).
	dropped int64
}

// span is the time one second of the grid covers, from ref.
type span struct {
	start, end time.Duration
	set        bool
}

func newTimeline(ref time.Time) *timeline {
	return &timeline{ref: ref, hists: map[string][]*hdr.Histogram{}}
}

// second is the grid second of an interval starting at offset from ref.
func second(offset time.Duration) int {
	return max(0, int(math.Round(offset.Seconds())))
}

// grow makes the grid hold second k.
func (tl *timeline) grow(k int) {
	for len(tl.spans) <= k {
		tl.spans = append(tl.spans, span{})
	}
}

// widen records an interval [start, end) (offsets from ref) in second k.
func (tl *timeline) widen(k int, start, end time.Duration) {
	tl.grow(k)
	sp := &tl.spans[k]
	if !sp.set {
		*sp = span{start: start, end: end, set: true}
		return
	}
	sp.start, sp.end = min(sp.start, start), max(sp.end, end)
}

// span returns second k's span, one nominal second if no interval fell in
// it.
func (tl *timeline) span(k int) span {
	if k < len(tl.spans) && tl.spans[k].set {
		return tl.spans[k]
	}
	return span{start: time.Duration(k) * time.Second, end: time.Duration(k+1) * time.Second}
}

// add adds the shard's intervals of metric; off is the shard's base from
// ref.
func (tl *timeline) add(metric string, off time.Duration, ivs []intervalAt) {
	for _, iv := range ivs {
		start, end := off+iv.start, off+iv.end
		k := second(start)
		tl.widen(k, start, end)
		hs := tl.hists[metric]
		for len(hs) <= k {
			hs = append(hs, nil)
		}
		if hs[k] == nil {
			hs[k] = newLike(iv.hist)
		}
		tl.dropped += hs[k].Merge(iv.hist)
		tl.hists[metric] = hs
	}
}

// intervalAt is one interval of a shard's log, in durations from the
// shard's base.
type intervalAt struct {
	start, end time.Duration
	hist       *hdr.Histogram
}

// metricNames returns the metrics with a log, sorted.
func (tl *timeline) metricNames() []string {
	names := make([]string, 0, len(tl.hists))
	for n := range tl.hists {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// at returns metric's histogram of second k, nil if it had nothing.
func (tl *timeline) at(metric string, k int) *hdr.Histogram {
	hs := tl.hists[metric]
	if k < len(hs) {
		return hs[k]
	}
	return nil
}

// total merges every second of metric into one histogram: the merged
// run's whole-run histogram. nil when the metric has no log.
func (tl *timeline) total(metric string) *hdr.Histogram {
	var out *hdr.Histogram
	for _, h := range tl.hists[metric] {
		if h == nil {
			continue
		}
		if out == nil {
			out = newLike(h)
		}
		tl.dropped += out.Merge(h)
	}
	return out
}

// window merges the seconds [from, to) of metric into one histogram: a
// stage's histogram when from and to are the stage's bounds in whole
// seconds of the run. nil when nothing was recorded there.
func (tl *timeline) window(metric string, from, to int) *hdr.Histogram {
	var out *hdr.Histogram
	for k := max(from, 0); k < to; k++ {
		h := tl.at(metric, k)
		if h == nil {
			continue
		}
		if out == nil {
			out = newLike(h)
		}
		tl.dropped += out.Merge(h)
	}
	return out
}

// writeLogs writes one interval log per metric into dir, one line per
// second of the grid, empty seconds included, with ref as the logs' base.
func (tl *timeline) writeLogs(dir string) error {
	w, err := metrics.NewHlogWriter(dir, tl.ref)
	if err != nil {
		return err
	}
	var errs []error
	for _, metric := range tl.metricNames() {
		var empty *hdr.Histogram
		for _, h := range tl.hists[metric] {
			if h != nil {
				empty = newLike(h)
				break
			}
		}
		for k := range tl.spans {
			h := tl.at(metric, k)
			if h == nil {
				h = empty
			}
			sp := tl.span(k)
			h.SetStartTimeMs(tl.ref.Add(sp.start).UnixMilli())
			h.SetEndTimeMs(tl.ref.Add(sp.end).UnixMilli())
			h.SetTag("")
			if err := w.WriteInterval(metric, h); err != nil {
				errs = append(errs, err)
				break
			}
		}
	}
	if err := w.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("merged logs: %w", err)
	}
	return nil
}

// newLike returns an empty histogram with h's range and precision.
func newLike(h *hdr.Histogram) *hdr.Histogram {
	return hdr.New(h.LowestTrackableValue(), h.HighestTrackableValue(), int(h.SignificantFigures()))
}
