package promwrite

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/encoding/protowire"
)

// received is what a test receiver decoded: each series as
// "name{l1=v1,...}" (labels in wire order, __name__ left out of the
// braces) -> its one sample.
type received struct {
	header http.Header
	series map[string]sample
	order  [][]string // each series' label names, in wire order
}

type sample struct {
	value float64
	tsMs  int64
}

// receiver is a remote-write 1.0 endpoint over real HTTP that decodes
// every request with the wire format of Prometheus's prompb.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	status int // answer; 0 means 204
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Error(err)
			return
		}
		raw, err := snappy.Decode(nil, body)
		if err != nil {
			t.Errorf("body is not snappy block format: %v", err)
			return
		}
		rec := received{header: req.Header, series: map[string]sample{}}
		if err := decodeWriteRequest(raw, &rec); err != nil {
			t.Errorf("decode: %v", err)
		}
		r.mu.Lock()
		r.got = append(r.got, rec)
		status := r.status
		r.mu.Unlock()
		if status == 0 {
			status = http.StatusNoContent
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func decodeWriteRequest(b []byte, rec *received) error {
	return eachField(b, func(num protowire.Number, v []byte) error {
		if num != 1 {
			return nil
		}
		var name string
		var labels, order []string
		var s sample
		err := eachField(v, func(num protowire.Number, v []byte) error {
			switch num {
			case 1: // Label
				var ln, lv string
				if err := eachField(v, func(num protowire.Number, v []byte) error {
					if num == 1 {
						ln = string(v)
					} else {
						lv = string(v)
					}
					return nil
				}); err != nil {
					return err
				}
				order = append(order, ln)
				if ln == "__name__" {
					name = lv
				} else {
					labels = append(labels, ln+"="+lv)
				}
			case 2: // Sample
				for len(v) > 0 {
					num, typ, n := protowire.ConsumeTag(v)
					v = v[n:]
					switch {
					case num == 1 && typ == protowire.Fixed64Type:
						x, n := protowire.ConsumeFixed64(v)
						s.value, v = math.Float64frombits(x), v[n:]
					case num == 2 && typ == protowire.VarintType:
						x, n := protowire.ConsumeVarint(v)
						s.tsMs, v = int64(x), v[n:]
					default:
						return protowire.ParseError(-1)
					}
				}
			}
			return nil
		})
		rec.series[name+"{"+strings.Join(labels, ",")+"}"] = s
		rec.order = append(rec.order, order)
		return err
	})
}

// eachField calls f with each length-delimited field of message b.
func eachField(b []byte, f func(protowire.Number, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || typ != protowire.BytesType {
			return protowire.ParseError(n)
		}
		b = b[n:]
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := f(num, v); err != nil {
			return err
		}
	}
	return nil
}

// testGatherer has a labelled counter (with an empty-label series), a
// gauge and a histogram.
func testGatherer(t *testing.T) prometheus.Gatherer {
	reg := prometheus.NewPedanticRegistry()
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_errors_total", Help: "h"}, []string{"class"})
	errs.WithLabelValues("").Add(0)
	errs.WithLabelValues("timeout").Add(2)
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x_users", Help: "h"})
	g.Set(42)
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "x_seconds", Help: "h", Buckets: []float64{0.001, 0.5}})
	h.Observe(0.0002)
	h.Observe(0.25)
	h.Observe(3)
	reg.MustRegister(errs, g, h)
	return reg
}

func TestPushSendsEverySeries(t *testing.T) {
	r := newReceiver(t)
	p, err := New(testGatherer(t), Config{URL: r.srv.URL + "/api/v1/write", Labels: map[string]string{"job": "load", "class": "not-this"}})
	if err != nil {
		t.Fatal(err)
	}
	at := time.UnixMilli(1_700_000_000_123)
	p.now = func() time.Time { return at }
	if err := p.Push(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := r.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	got := reqs[0]
	for h, want := range map[string]string{
		"Content-Encoding":                  "snappy",
		"Content-Type":                      "application/x-protobuf",
		"X-Prometheus-Remote-Write-Version": "0.1.0",
	} {
		if v := got.header.Get(h); v != want {
			t.Errorf("%s = %q, want %q", h, v, want)
		}
	}
	// The extra labels go on every series, except where the series has
	// its own non-empty value (class="timeout"); an empty class is no
	// label, so the extra one fills it.
	want := map[string]float64{
		"x_errors_total{class=not-this,job=load}":            0,
		"x_errors_total{class=timeout,job=load}":             2,
		"x_users{class=not-this,job=load}":                   42,
		"x_seconds_bucket{class=not-this,job=load,le=0.001}": 1,
		"x_seconds_bucket{class=not-this,job=load,le=0.5}":   2,
		"x_seconds_bucket{class=not-this,job=load,le=+Inf}":  3,
		"x_seconds_count{class=not-this,job=load}":           3,
		"x_seconds_sum{class=not-this,job=load}":             3.2502,
	}
	if len(got.series) != len(want) {
		t.Errorf("%d series, want %d: %v", len(got.series), len(want), got.series)
	}
	for k, v := range want {
		s, ok := got.series[k]
		if !ok || math.Abs(s.value-v) > 1e-9 || s.tsMs != at.UnixMilli() {
			t.Errorf("%s = %+v (present %v), want %v at %d", k, s, ok, v, at.UnixMilli())
		}
	}
	for _, names := range got.order {
		if !sort.StringsAreSorted(names) {
			t.Errorf("labels %v not sorted by name", names)
		}
	}
}

func TestRunPushesEveryIntervalAndAtTheEnd(t *testing.T) {
	r := newReceiver(t)
	p, err := New(testGatherer(t), Config{URL: r.srv.URL + "/api/v1/write", Interval: 20 * time.Millisecond,
		Timeout: 10 * time.Second}) // a push under a loaded -race suite may take longer than the interval
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(r.requests()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	before := len(r.requests())
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if before < 2 || len(r.requests()) <= before {
		t.Errorf("%d pushes while running, %d after the end; want >= 2 and one more", before, len(r.requests()))
	}
}

func TestPushReportsRefusal(t *testing.T) {
	r := newReceiver(t)
	r.status = http.StatusBadRequest // not retried
	p, err := New(testGatherer(t), Config{URL: r.srv.URL + "/api/v1/write"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Push(context.Background()); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("Push = %v, want the 400", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	g := prometheus.NewRegistry()
	for _, cfg := range []Config{
		{},                            // no URL
		{URL: "localhost:9090/write"}, // no scheme
		{URL: "ftp://h/api/v1/write"}, // not HTTP
		{URL: "http:///api/v1/write"}, // no host
		{URL: "http://h/w", Interval: -time.Second},
	} {
		if _, err := New(g, cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestHeadersAndCredentials(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want map[string]string // header -> value
	}{
		{"headers and a bearer token", Config{Headers: http.Header{"X-Scope-Orgid": {"tenant-1"}}, BearerToken: "tok"},
			map[string]string{"X-Scope-OrgID": "tenant-1", "Authorization": "Bearer tok"}},
		{"basic auth", Config{BasicAuth: &BasicAuth{User: "u", Password: "p:w"}},
			map[string]string{"Authorization": "Basic dTpwOnc="}},
		{"an Authorization header of its own", Config{Headers: http.Header{"Authorization": {"Custom x"}}},
			map[string]string{"Authorization": "Custom x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReceiver(t)
			tt.cfg.URL = r.srv.URL + "/api/v1/write"
			p, err := New(testGatherer(t), tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Push(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := r.requests()[0].header
			for h, v := range tt.want {
				if got.Get(h) != v {
					t.Errorf("%s = %q, want %q", h, got.Get(h), v)
				}
			}
			if got.Get("Content-Encoding") != "snappy" {
				t.Error("the protocol's headers were lost")
			}
		})
	}
}

func TestBadHeadersAndCredentials(t *testing.T) {
	g := prometheus.NewRegistry()
	for name, cfg := range map[string]Config{
		"bad header name":            {Headers: http.Header{"Bad Name": {"x"}}},
		"bad header value":           {Headers: http.Header{"X-A": {"a\nb"}}},
		"protocol header":            {Headers: http.Header{"Content-Encoding": {"gzip"}}},
		"token and basic auth":       {BearerToken: "t", BasicAuth: &BasicAuth{User: "u"}},
		"token and an Authorization": {BearerToken: "t", Headers: http.Header{"Authorization": {"x"}}},
		"basic auth without a user":  {BasicAuth: &BasicAuth{Password: "p"}},
	} {
		cfg.URL = "http://127.0.0.1:1/api/v1/write"
		_, err := New(g, cfg)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), "Bearer") || (cfg.BearerToken != "" && strings.Contains(err.Error(), cfg.BearerToken+" ")) {
			t.Errorf("%s: the error shows the credentials: %v", name, err)
		}
	}
	if _, err := New(g, Config{URL: "http://user:hunter2@h:1/w", Interval: -1}); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("New = %v, want an error without the URL's password", err)
	}
}

// TestRunEndsWithStaleMarkers checks the last two requests of a run: the
// final values, then a staleness marker for every series ever pushed
// (also one that was gone from the last gather), a millisecond or more
// later.
func TestRunEndsWithStaleMarkers(t *testing.T) {
	r := newReceiver(t)
	reg := prometheus.NewPedanticRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x_users", Help: "h"})
	gone := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x_gone", Help: "h"})
	reg.MustRegister(g, gone)
	p, err := New(reg, Config{URL: r.srv.URL + "/api/v1/write", Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Push(context.Background()); err != nil {
		t.Fatal(err)
	}
	reg.Unregister(gone)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	reqs := r.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want the push, the final push and the markers", len(reqs))
	}
	final, stale := reqs[1], reqs[2]
	if _, ok := final.series["x_gone{job=eixamsim}"]; ok {
		t.Error("the final push has the unregistered gauge")
	}
	for _, k := range []string{"x_users{job=eixamsim}", "x_gone{job=eixamsim}"} {
		s, ok := stale.series[k]
		if !ok || math.Float64bits(s.value) != 0x7ff0000000000002 {
			t.Errorf("%s: marker %+v (present %v), want the stale NaN", k, s, ok)
		}
		if ok && s.tsMs <= final.series["x_users{job=eixamsim}"].tsMs {
			t.Errorf("%s: marker at %d, not after the final push", k, s.tsMs)
		}
	}
	if len(stale.series) != 2 {
		t.Errorf("markers for %v, want the two series", stale.series)
	}
}

// TestFailuresAreReportedOnceAndRecovery checks that a receiver refusing
// pushes gives one warning, not one per push, and its recovery another.
func TestFailuresAreReportedOnceAndRecovery(t *testing.T) {
	r := newReceiver(t)
	r.status = http.StatusUnauthorized
	warns := make(chan string, 100)
	p, err := New(testGatherer(t), Config{URL: "http://user:hunter2@" + r.srv.Listener.Addr().String() + "/api/v1/write",
		Interval: 5 * time.Millisecond, Timeout: 10 * time.Second, BearerToken: "s3cret-token", Warn: func(m string) { warns <- m }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	next := func() string {
		t.Helper()
		select {
		case m := <-warns:
			return m
		case <-time.After(10 * time.Second):
			t.Fatal("no warning")
			return ""
		}
	}
	first := next()
	if !strings.Contains(first, "401") || !strings.Contains(first, "failed") {
		t.Errorf("first warning %q, want the failure with its status", first)
	}
	for i := 0; len(r.requests()) < 5; i++ { // several failed pushes: still one warning
		if i > 2000 {
			t.Fatal("the pushes stopped")
		}
		select {
		case m := <-warns:
			t.Fatalf("second warning while still failing: %q", m)
		case <-time.After(5 * time.Millisecond):
		}
	}
	r.mu.Lock()
	r.status = 0
	r.mu.Unlock()
	if m := next(); !strings.Contains(m, "works again") {
		t.Errorf("recovery warning %q", m)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	for _, m := range []string{first} {
		if strings.Contains(m, "hunter2") || strings.Contains(m, "s3cret-token") {
			t.Errorf("warning shows a credential: %q", m)
		}
	}
}
