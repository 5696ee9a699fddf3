package prom

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/eixamsim/eixamsim/metrics"
)

func TestCollectorIsConsistent(t *testing.T) {
	reg := metrics.NewRegistry()
	l := reg.Latency("telemetry.puback")
	// 1..1000 ms, one each: 1000 values, every bucket boundary crossed.
	for i := 1; i <= 1000; i++ {
		l.Record(time.Duration(i) * time.Millisecond)
	}
	l.Record(400 * time.Second) // above the last bucket: only in +Inf
	l.Error("timeout")
	l.Error("timeout")
	reg.Latency("http.me").Error("http_503")
	reg.Counter("mqtt.disconnects").Add(3)
	reg.Gauge("users.online").Add(42)
	status := func() Status {
		return Status{Stage: "steady", StageIndex: 1, StageRemaining: 1500 * time.Millisecond, TargetUsers: 50, OnlineUsers: 42}
	}
	preg := prometheus.NewPedanticRegistry()
	preg.MustRegister(NewCollector(reg, time.Unix(1_700_000_000, 0), status))
	mfs, err := preg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		byName[mf.GetName()] = mf
	}

	lat := byName["eixamsim_latency_seconds"]
	if lat == nil || len(lat.Metric) != 2 {
		t.Fatalf("latency family = %v", lat)
	}
	var h *dto.Histogram
	for _, m := range lat.Metric {
		if m.Label[0].GetValue() == "telemetry.puback" {
			h = m.Histogram
		}
	}
	if h.GetSampleCount() != 1001 {
		t.Errorf("count = %d, want 1001", h.GetSampleCount())
	}
	if sum := h.GetSampleSum(); sum < 900 || sum > 901.5 { // 500.5 s + 400 s
		t.Errorf("sum = %v s, want about 900.5", sum)
	}
	want := map[float64]uint64{0.0005: 0, 0.001: 1, 0.005: 5, 0.01: 10, 0.1: 100, 0.25: 250, 1: 1000, 300: 1000}
	for _, b := range h.Bucket {
		if w, ok := want[b.GetUpperBound()]; ok && b.GetCumulativeCount() != w {
			t.Errorf("le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), w)
		}
	}
	if len(h.Bucket) != len(latencyBuckets) {
		t.Errorf("%d buckets, want %d", len(h.Bucket), len(latencyBuckets))
	}

	errs := byName["eixamsim_errors_total"]
	if errs == nil || len(errs.Metric) != 2 {
		t.Fatalf("errors family = %v", errs)
	}
	got := map[string]float64{}
	for _, m := range errs.Metric {
		// Labels come sorted by name: class, metric.
		got[m.Label[1].GetValue()+"/"+m.Label[0].GetValue()] = m.Counter.GetValue()
	}
	if got["telemetry.puback/timeout"] != 2 || got["http.me/http_503"] != 1 {
		t.Errorf("errors = %v", got)
	}
	checks := map[string]float64{
		"eixamsim_count_total":             3,
		"eixamsim_gauge":                   42,
		"eixamsim_users_online":            42,
		"eixamsim_users_target":            50,
		"eixamsim_stage_info":              1,
		"eixamsim_stage_remaining_seconds": 1.5,
		"eixamsim_start_time_seconds":      1_700_000_000,
	}
	for name, want := range checks {
		mf := byName[name]
		if mf == nil || len(mf.Metric) != 1 {
			t.Errorf("%s = %v", name, mf)
			continue
		}
		m := mf.Metric[0]
		v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
		if v != want {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
}

func TestServerScrape(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	reg := metrics.NewRegistry()
	reg.Latency("sos.delivered").Record(3 * time.Millisecond)
	srv, err := Listen("127.0.0.1:0", NewCollector(reg, time.Now(), nil))
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`eixamsim_latency_seconds_bucket{metric="sos.delivered",le="0.005"} 1`,
		`eixamsim_latency_seconds_count{metric="sos.delivered"} 1`,
		"# TYPE eixamsim_latency_seconds histogram",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("scrape lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(string(body), "go_goroutines") {
		t.Error("scrape carries the default registry's Go metrics")
	}
	if err := srv.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(strings.TrimPrefix(strings.TrimSuffix(srv.URL(), "/metrics"), "http://")+"x", NewCollector(reg, time.Now(), nil)); err == nil {
		t.Error("bad address accepted")
	}
}
