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
	p, err := New(testGatherer(t), Config{URL: r.srv.URL + "/api/v1/write", Interval: 20 * time.Millisecond})
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
