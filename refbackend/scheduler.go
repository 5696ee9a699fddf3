package refbackend

import (
	"container/heap"
	"sync"
	"time"
)

// scheduler runs functions at given times on one goroutine, in order of
// (time, scheduling order). It carries the operator acknowledgements and the
// lifecycle events, so that no timer goroutine outlives Server.Close and
// events of one user keep their order. Functions must not block for long.
type scheduler struct {
	mu      sync.Mutex
	queue   taskQueue
	seq     uint64
	running bool
	stopped bool

	wake   chan struct{} // a task became the earliest
	done   chan struct{} // closed by stop
	exited chan struct{} // closed when run returns
}

// task is one scheduled function; index is its heap position, -1 once it
// left the queue (ran or was cancelled).
type task struct {
	at    time.Time
	seq   uint64
	fn    func()
	index int
}

func newScheduler() *scheduler {
	return &scheduler{
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
}

// start runs the scheduler goroutine until stop.
func (s *scheduler) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running || s.stopped {
		return
	}
	s.running = true
	go s.run()
}

// at schedules fn to run at t (at once if t has passed). It returns nil,
// and never runs fn, once the scheduler is stopped.
func (s *scheduler) at(t time.Time, fn func()) *task {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	s.seq++
	tk := &task{at: t, seq: s.seq, fn: fn}
	heap.Push(&s.queue, tk)
	if tk.index == 0 {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return tk
}

// cancel removes tk from the queue and reports whether it was still
// waiting (false if it ran, was cancelled, or tk is nil).
func (s *scheduler) cancel(tk *task) bool {
	if tk == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if tk.index < 0 {
		return false
	}
	heap.Remove(&s.queue, tk.index)
	return true
}

// stop discards the waiting tasks and waits for a running one to finish.
// It is safe to call more than once, and without start.
func (s *scheduler) stop() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	running := s.running
	for _, tk := range s.queue {
		tk.index = -1
	}
	s.queue = nil
	s.mu.Unlock()
	close(s.done)
	if running {
		<-s.exited
	}
}

func (s *scheduler) run() {
	defer close(s.exited)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		s.mu.Lock()
		var due *task
		wait := time.Duration(-1)
		if len(s.queue) > 0 {
			if d := time.Until(s.queue[0].at); d > 0 {
				wait = d
			} else {
				due = heap.Pop(&s.queue).(*task)
			}
		}
		s.mu.Unlock()

		if due != nil {
			due.fn()
			continue
		}
		var fire <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			fire = timer.C
		}
		select {
		case <-s.done:
			timer.Stop()
			return
		case <-s.wake:
		case <-fire:
		}
		timer.Stop()
	}
}

// taskQueue is a min-heap of tasks by (at, seq).
type taskQueue []*task

func (q taskQueue) Len() int { return len(q) }

func (q taskQueue) Less(i, j int) bool {
	if q[i].at.Equal(q[j].at) {
		return q[i].seq < q[j].seq
	}
	return q[i].at.Before(q[j].at)
}

func (q taskQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index = i
	q[j].index = j
}

func (q *taskQueue) Push(x any) {
	tk := x.(*task)
	tk.index = len(*q)
	*q = append(*q, tk)
}

func (q *taskQueue) Pop() any {
	old := *q
	n := len(old)
	tk := old[n-1]
	old[n-1] = nil
	tk.index = -1
	*q = old[:n-1]
	return tk
}

var _ heap.Interface = (*taskQueue)(nil)
