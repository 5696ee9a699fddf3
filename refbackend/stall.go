package refbackend

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// StallHTTP freezes the HTTP API for d: every request that arrives before
// now+d, and every request being served then (held before its answer is
// written), is held until now+d and then answered normally, as by a server
// that stopped responding for a while. The added wait is what an open-model
// client must see as latency. A stall in progress is extended when now+d
// is later than its end, never shortened; d <= 0 ends the stall at once and
// releases the held requests. /debug/* is never stalled. Close cuts a stall
// short (held requests that have not been served yet are dropped). It
// returns when the stall ends (the zero Time when d <= 0).
func (s *Server) StallHTTP(d time.Duration) time.Time {
	if d <= 0 {
		s.stall.end()
		return time.Time{}
	}
	until, extended := s.stall.extend(time.Now().Add(d))
	if extended {
		s.stats.stalls.Add(1)
		s.log.Warn("http stalled (injected fault)", "for", d)
	}
	return until
}

// stall holds HTTP requests until a moment. The zero value holds nothing.
type stall struct {
	mu    sync.Mutex
	state atomic.Pointer[stallState] // nil: never stalled
}

// stallState is one value of the stall end; changed is closed when it is
// replaced, waking the held requests to look again.
type stallState struct {
	until   time.Time
	changed chan struct{}
}

// extend moves the end of the stall to until if that is later. It returns
// the end of the stall and whether it moved.
func (st *stall) extend(until time.Time) (time.Time, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	old := st.state.Load()
	if old != nil && !until.After(old.until) {
		return old.until, false
	}
	st.replace(old, until)
	return until, true
}

// end ends the stall now.
func (st *stall) end() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if old := st.state.Load(); old != nil && time.Now().Before(old.until) {
		st.replace(old, time.Time{})
	}
}

// replace installs a new end and wakes the waiters of old. The caller holds
// st.mu.
func (st *stall) replace(old *stallState, until time.Time) {
	st.state.Store(&stallState{until: until, changed: make(chan struct{})})
	if old != nil {
		close(old.changed)
	}
}

// hold is the stall check of one request; the request is counted in
// StalledRequests once, however often it is held.
type hold struct {
	st      *stall
	stats   *counters
	ctx     context.Context
	counted bool
}

// wait blocks while the stall lasts; false if ctx ended first.
func (h *hold) wait() bool {
	var t *time.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	waiting := false
	defer func() {
		if waiting {
			h.stats.stalledNow.Add(-1)
		}
	}()
	for {
		cur := h.st.state.Load()
		if cur == nil {
			return true
		}
		d := time.Until(cur.until)
		if d <= 0 {
			return true
		}
		if !waiting {
			waiting = true
			h.stats.stalledNow.Add(1)
			if !h.counted {
				h.counted = true
				h.stats.stalledRequests.Add(1)
			}
		}
		if t == nil {
			t = time.NewTimer(d)
		} else {
			t.Reset(d)
		}
		select {
		case <-t.C:
		case <-cur.changed:
		case <-h.ctx.Done():
			return false
		}
	}
}

// stallWriter holds a response before its first byte while a stall lasts,
// so that requests in flight when a stall begins are held too.
type stallWriter struct {
	http.ResponseWriter
	h       *hold
	started bool
}

// WriteHeader implements http.ResponseWriter.
func (w *stallWriter) WriteHeader(status int) {
	if !w.started {
		w.started = true
		w.h.wait() // the answer is written even if the client left
	}
	w.ResponseWriter.WriteHeader(status)
}

// Write implements http.ResponseWriter.
func (w *stallWriter) Write(b []byte) (int, error) {
	if !w.started {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}
