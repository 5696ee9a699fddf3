package procs

import (
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/eixamsim/eixamsim/engine"
	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
)

// live combines the workers' Status lines into one view of the run, for
// one progress display. Lines arrive from each worker's reader goroutine
// (add); flush, once a second from one goroutine, hands everything that
// arrived since the last flush to an engine.Progress as one interval:
// users online summed over the workers' latest lines, latency counts
// summed, interval histograms merged. The workers' seconds are aligned
// (they start at one whole second), so a flush holds about one interval
// of each; the display's rolling windows smooth the rest.
type live struct {
	mu      sync.Mutex
	workers []workerView
	hists   map[string]*hdr.Histogram // merged since the last flush
	counts  map[string]metrics.IntervalStat
	fresh   bool // a line arrived since the last flush
	last    time.Time
}

// workerView is the latest state of one worker.
type workerView struct {
	status Status
	seen   bool
	gone   bool // exited: no longer counts as online
}

func newLive(n int, now time.Time) *live {
	return &live{workers: make([]workerView, n), last: now, hists: map[string]*hdr.Histogram{}, counts: map[string]metrics.IntervalStat{}}
}

// add takes worker i's line. A line whose histograms cannot be decoded
// still counts; only its histograms are lost to the display.
func (l *live) add(i int, s Status) {
	hs, _ := s.DecodeHists()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.workers[i] = workerView{status: s, seen: true}
	for name, c := range s.Counts {
		cur := l.counts[name]
		cur.Count += c.N
		cur.Errors += c.Errors
		l.counts[name] = cur
	}
	for name, h := range hs {
		if m, ok := l.hists[name]; ok {
			m.Merge(h)
		} else {
			l.hists[name] = h
		}
	}
	l.fresh = true
}

// exited marks worker i as gone: its users no longer count as online.
func (l *live) exited(i int) {
	l.mu.Lock()
	l.workers[i].gone = true
	l.fresh = true
	l.mu.Unlock()
}

// flush hands what arrived since the last flush to p (nil: drops it) as
// one interval ending at now. Nothing happens until a first line came.
func (l *live) flush(now time.Time, p engine.Progress) {
	l.mu.Lock()
	if !l.fresh {
		l.mu.Unlock()
		return
	}
	st, pt := l.view(now)
	hists := l.hists
	l.hists, l.counts, l.fresh, l.last = map[string]*hdr.Histogram{}, map[string]metrics.IntervalStat{}, false, now
	l.mu.Unlock()
	if p == nil {
		return
	}
	for name, h := range hists {
		_ = p.WriteInterval(name, h)
	}
	p.Update(st, pt)
}

// view is the combined status and point; l.mu is held. The stage is the
// lowest-numbered running worker's (all run the same stages at the same
// times).
func (l *live) view(now time.Time) (fleet.Status, metrics.Point) {
	var st fleet.Status
	pt := metrics.Point{Seconds: now.Sub(l.last).Seconds(), Values: map[string]int64{}, Latencies: l.counts}
	staged := false
	for _, w := range l.workers {
		if !w.seen {
			continue
		}
		s := w.status
		pt.T = max(pt.T, s.T)
		for k, v := range s.Values {
			pt.Values[k] += v
		}
		if w.gone {
			continue
		}
		st.Online += s.Online
		st.Target += s.Target
		if !staged && s.Stage != "" {
			st.Stage, st.StageIndex, st.StageEnd, staged = s.Stage, s.StageIndex, s.StageEnd, true
		}
	}
	return st, pt
}
