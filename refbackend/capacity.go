package refbackend

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/faults"
)

// capacity is the running form of Config.Capacity (faults.Capacity): one
// serviceQueue per configured resource. A nil *capacity models nothing and
// costs one nil check on the hot paths.
type capacity struct {
	telemetry, sos *serviceQueue            // nil: unlimited
	http           map[string]*serviceQueue // endpoint name -> its queue (its own or "http"); missing: unlimited
	all            []*serviceQueue          // every queue, by name
}

// newCapacity builds the queues of c, their clocks starting at start; nil
// when c models nothing.
func newCapacity(c faults.Capacity, start time.Time) *capacity {
	if c.IsZero() {
		return nil
	}
	m := &capacity{http: map[string]*serviceQueue{}}
	queues := map[string]*serviceQueue{}
	for name, rate := range c.Rates {
		q := newServiceQueue(name, rate, c.QueueBound(), start)
		queues[name] = q
		m.all = append(m.all, q)
	}
	slices.SortFunc(m.all, func(a, b *serviceQueue) int { return cmp.Compare(a.name, b.name) })
	m.telemetry, m.sos = queues[faults.ResourceTelemetry], queues[faults.ResourceSOS]
	for _, ep := range contract.EndpointNames() {
		if q := queues[faults.ResourceHTTPPrefix+ep]; q != nil {
			m.http[ep] = q
		} else if q := queues[faults.ResourceHTTP]; q != nil {
			m.http[ep] = q
		}
	}
	return m
}

// forEndpoint is the queue of an HTTP endpoint's requests; nil when
// unlimited (or when m is nil).
func (m *capacity) forEndpoint(endpoint string) *serviceQueue {
	if m == nil {
		return nil
	}
	return m.http[endpoint]
}

// stats snapshots every queue; nil when m is nil.
func (m *capacity) stats() map[string]ResourceStats {
	if m == nil {
		return nil
	}
	out := make(map[string]ResourceStats, len(m.all))
	for _, q := range m.all {
		out[q.name] = q.snapshot()
	}
	return out
}

// serviceQueue is one resource of the capacity model: a single server
// working through a FIFO queue, each piece of work taking exactly service
// (1/rate), waiting at most bound before its service starts. It runs on a
// virtual timeline: admitting work only moves free forward, so the server
// is never slower than its rate however late the goroutines wake up, and
// never faster.
//
//	arrival at now:  start = max(now, free)
//	                 start − now > bound  → refused (costs nothing)
//	                 otherwise free = start + service; done at free
type serviceQueue struct {
	name    string
	rate    float64       // work items per second
	service time.Duration // 1/rate, at least 1ns
	bound   time.Duration // longest wait before service
	base    time.Time     // origin of the timeline (monotonic)

	mu   sync.Mutex
	free time.Duration // when the work admitted so far is done, since base

	served, refused, inQueue atomic.Int64
	waitTotal, waitMax       atomic.Int64 // nanoseconds
}

func newServiceQueue(name string, rate float64, bound time.Duration, base time.Time) *serviceQueue {
	service := time.Duration(math.Round(float64(time.Second) / rate))
	return &serviceQueue{name: name, rate: rate, service: max(service, 1), bound: bound, base: base}
}

// admit queues one piece of work arriving at now (since base). It returns
// how long after now the work is done (its wait plus its service time), or
// false when it would wait longer than the bound: refused.
func (q *serviceQueue) admit(now time.Duration) (time.Duration, bool) {
	q.mu.Lock()
	start := max(now, q.free)
	wait := start - now
	if wait > q.bound {
		q.mu.Unlock()
		q.refused.Add(1)
		return 0, false
	}
	q.free = start + q.service
	q.mu.Unlock()
	q.inQueue.Add(1)
	q.waitTotal.Add(int64(wait))
	storeMax(&q.waitMax, int64(wait))
	return wait + q.service, true
}

// serve passes one piece of work through the queue: false at once if it is
// refused, otherwise true once its service ended (its wait and service
// time slept off, cut short when ctx ends: the server's time is spent
// either way, so it counts as served).
func (q *serviceQueue) serve(ctx context.Context) bool {
	d, ok := q.admit(time.Since(q.base))
	if !ok {
		return false
	}
	sleep(ctx, d)
	q.inQueue.Add(-1)
	q.served.Add(1)
	return true
}

// retryAfter is the Retry-After header of a refused HTTP request: the
// queue bound in whole seconds, rounded up, at least 1.
func (q *serviceQueue) retryAfter() string {
	return strconv.FormatInt(max(1, int64(math.Ceil(q.bound.Seconds()))), 10)
}

// snapshot copies the queue's counters.
func (q *serviceQueue) snapshot() ResourceStats {
	q.mu.Lock()
	backlog := max(0, q.free-time.Since(q.base))
	q.mu.Unlock()
	return ResourceStats{
		Rate:            q.rate,
		QueueBound:      q.bound,
		Served:          q.served.Load(),
		Refused:         q.refused.Load(),
		InQueue:         q.inQueue.Load(),
		QueueDelayTotal: time.Duration(q.waitTotal.Load()),
		QueueDelayMax:   time.Duration(q.waitMax.Load()),
		Backlog:         backlog,
	}
}

// storeMax raises v to x if x is larger.
func storeMax(v *atomic.Int64, x int64) {
	for {
		cur := v.Load()
		if x <= cur || v.CompareAndSwap(cur, x) {
			return
		}
	}
}
