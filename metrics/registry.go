package metrics

import (
	"maps"
	"sort"
	"sync"
)

// Registry holds every metric of one run by name. Lookups take a lock;
// callers on a hot path keep the returned pointer.
type Registry struct {
	mu        sync.Mutex
	latencies map[string]*Latency
	counters  map[string]*Counter
	gauges    map[string]*Gauge
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{latencies: map[string]*Latency{}, counters: map[string]*Counter{}, gauges: map[string]*Gauge{}}
}

// Latency returns the latency metric called name, creating it on first use.
func (r *Registry) Latency(name string) *Latency {
	return getOrCreate(r, r.latencies, name, newLatency)
}

// Counter returns the counter called name, creating it on first use.
func (r *Registry) Counter(name string) *Counter {
	return getOrCreate(r, r.counters, name, func(n string) *Counter { return &Counter{name: n} })
}

// Gauge returns the gauge called name, creating it on first use.
func (r *Registry) Gauge(name string) *Gauge {
	return getOrCreate(r, r.gauges, name, func(n string) *Gauge { return &Gauge{name: n} })
}

// getOrCreate looks name up in m, one of r's maps, under r's lock, and adds
// a new metric made by create if it is missing.
func getOrCreate[M any](r *Registry, m map[string]*M, name string, create func(string) *M) *M {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := m[name]
	if !ok {
		v = create(name)
		m[name] = v
	}
	return v
}

// Latencies returns every latency metric, sorted by name.
func (r *Registry) Latencies() []*Latency {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Latency, 0, len(r.latencies))
	for _, l := range r.latencies {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Values returns the current value of every counter and gauge by name.
func (r *Registry) Values() map[string]int64 {
	counters, gauges := r.sample()
	maps.Copy(counters, gauges)
	return counters
}

// sample reads every counter and gauge once, in one pass: a tick's one
// sample of them, whatever the run does meanwhile.
func (r *Registry) sample() (counters, gauges map[string]int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	counters = make(map[string]int64, len(r.counters)+len(r.gauges))
	for n, c := range r.counters {
		counters[n] = c.Value()
	}
	gauges = make(map[string]int64, len(r.gauges))
	for n, g := range r.gauges {
		gauges[n] = g.Value()
	}
	return counters, gauges
}

// Summaries returns the cumulative summary of every latency metric, sorted
// by name.
func (r *Registry) Summaries() []Summary {
	ls := r.Latencies()
	out := make([]Summary, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.Summary())
	}
	return out
}

// CounterValues returns the current value of every counter by name (not the
// gauges, unlike Values), for exporters that must tell the two apart.
func (r *Registry) CounterValues() map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int64, len(r.counters))
	for n, c := range r.counters {
		out[n] = c.Value()
	}
	return out
}

// GaugeValues returns the current value of every gauge by name.
func (r *Registry) GaugeValues() map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int64, len(r.gauges))
	for n, g := range r.gauges {
		out[n] = g.Value()
	}
	return out
}
