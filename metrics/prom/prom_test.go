package prom

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// gather collects c through a pedantic registry (which checks every
// metric against its description) and returns the families by name.
func gather(t *testing.T, c prometheus.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	preg := prometheus.NewPedanticRegistry()
	preg.MustRegister(c)
	mfs, err := preg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		byName[mf.GetName()] = mf
	}
	return byName
}

// series returns the value of each series of mf by its labels
// ("name=value,..."; "" for none): the counter, gauge, or histogram count.
func series(mf *dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for _, m := range mf.GetMetric() {
		var ls []string
		for _, l := range m.GetLabel() {
			ls = append(ls, l.GetName()+"="+l.GetValue())
		}
		v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
		out[strings.Join(ls, ",")] = v
	}
	return out
}

func newCollector(t *testing.T, reg *metrics.Registry, cfg Config) *Collector {
	t.Helper()
	c, err := New(reg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEveryFamilyIsThereFromTheStart(t *testing.T) {
	c := newCollector(t, metrics.NewRegistry(), Config{Start: time.Unix(1_700_000_000, 0), Info: Info{Version: "1.2.3", Scenario: "smoke"}})
	got := gather(t, c)
	for _, m := range scenario.Metrics {
		for _, name := range families(m) {
			mf := got[name]
			if mf == nil {
				t.Errorf("%s: no family %s before any value", m.Name, name)
				continue
			}
			for labels, v := range series(mf) {
				if v != 0 {
					t.Errorf("%s{%s} = %v at start, want 0", name, labels, v)
				}
			}
			if !strings.HasPrefix(mf.GetHelp(), m.Name+": ") {
				t.Errorf("%s: help %q does not start with the eixamsim name", name, mf.GetHelp())
			}
		}
	}
	// Units in names: seconds for latencies, _total for counters.
	for name, mf := range got {
		switch mf.GetType() {
		case dto.MetricType_HISTOGRAM:
			if !strings.HasSuffix(name, "_seconds") {
				t.Errorf("histogram %s lacks _seconds", name)
			}
		case dto.MetricType_COUNTER:
			if !strings.HasSuffix(name, "_total") {
				t.Errorf("counter %s lacks _total", name)
			}
		}
	}
	for _, name := range []string{"eixamsim_telemetry_puback_seconds", "eixamsim_telemetry_puback_errors_total", "eixamsim_users_online",
		"eixamsim_mqtt_disconnects_total", "eixamsim_arrivals_dropped_total", "eixamsim_telemetry_unsent_total"} {
		if got[name] == nil {
			t.Errorf("no family %s", name)
		}
	}
	info := series(got["eixamsim_info"])
	if len(info) != 1 || info["scenario=smoke,version=1.2.3"] != 1 {
		t.Errorf("eixamsim_info = %v", info)
	}
	if v := series(got["eixamsim_start_time_seconds"])[""]; v != 1_700_000_000 {
		t.Errorf("start = %v", v)
	}
	if v := series(got["eixamsim_run_finished"]); v[""] != 0 || len(v) != 1 {
		t.Errorf("run_finished = %v, want 0 before Finish", v)
	}
	c.Finish()
	if v := series(gather(t, c)["eixamsim_run_finished"])[""]; v != 1 {
		t.Errorf("run_finished = %v after Finish, want 1", v)
	}
}

func TestValuesByFamily(t *testing.T) {
	reg := metrics.NewRegistry()
	l := reg.Latency(scenario.TelemetryPuback)
	// 1..1000 ms, one each: 1000 values, every bucket boundary crossed.
	for i := 1; i <= 1000; i++ {
		l.Record(time.Duration(i) * time.Millisecond)
	}
	l.Record(400 * time.Second) // above the last bucket: only in +Inf
	l.Error("timeout")
	l.Error("timeout")
	reg.Latency(scenario.HTTPMe).Error("http_503")
	reg.Counter(scenario.MQTTDisconnects).Add(3)
	reg.Gauge(scenario.UsersOnline).Add(42)
	reg.Counter("not.in.catalogue").Add(9) // not exported
	status := func() Status {
		return Status{Stage: "steady", StageIndex: 1, StageRemaining: 1500 * time.Millisecond, TargetUsers: 50}
	}
	got := gather(t, newCollector(t, reg, Config{Status: status}))

	lat := got["eixamsim_telemetry_puback_seconds"]
	if lat == nil || len(lat.Metric) != 1 {
		t.Fatalf("latency family = %v", lat)
	}
	h := lat.Metric[0].GetHistogram()
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
	checks := []struct {
		family string
		want   map[string]float64 // by labels
	}{
		{"eixamsim_telemetry_puback_errors_total", map[string]float64{"class=": 0, "class=timeout": 2}},
		{"eixamsim_http_me_errors_total", map[string]float64{"class=": 0, "class=http_503": 1}},
		{"eixamsim_http_me_seconds", map[string]float64{"": 0}},
		{"eixamsim_mqtt_disconnects_total", map[string]float64{"": 3}},
		{"eixamsim_users_online", map[string]float64{"": 42}},
		{"eixamsim_users_target", map[string]float64{"": 50}},
		{"eixamsim_stage_info", map[string]float64{"index=1,stage=steady": 1}},
		{"eixamsim_stage_remaining_seconds", map[string]float64{"": 1.5}},
	}
	for _, c := range checks {
		mf := got[c.family]
		if mf == nil {
			t.Errorf("no family %s", c.family)
			continue
		}
		s := series(mf)
		if len(s) != len(c.want) {
			t.Errorf("%s = %v, want %v", c.family, s, c.want)
			continue
		}
		for labels, w := range c.want {
			if v, ok := s[labels]; !ok || v != w {
				t.Errorf("%s{%s} = %v, want %v (all: %v)", c.family, labels, v, w, s)
			}
		}
	}
	for name := range got {
		if strings.Contains(name, "not_in_catalogue") {
			t.Errorf("%s exported; only catalogue metrics are", name)
		}
	}
}

// TestTwinsAreNotExported: a twin's samples are also its total's, so as
// series of the total's family a sum over the family would count them
// twice; they stay out (summary.json and the hlogs have them).
func TestTwinsAreNotExported(t *testing.T) {
	reg := metrics.NewRegistry()
	reg.Latency(scenario.SOSDelivered).Record(time.Second)
	reg.Latency(scenario.SOSDelivered).Record(time.Second)
	reg.Latency(scenario.MetricAtProfile(scenario.SOSDelivered, "3g")).Record(time.Second)
	reg.Latency(scenario.MetricAtOrigin(scenario.SOSDelivered, scenario.OriginDevice)).Record(time.Second)
	got := gather(t, newCollector(t, reg, Config{}))
	if s := series(got["eixamsim_sos_delivered_seconds"]); len(s) != 1 || s[""] != 2 {
		t.Errorf("eixamsim_sos_delivered_seconds = %v, want the total's 2 samples alone", s)
	}
	for _, twin := range []string{scenario.MetricAtProfile(scenario.SOSDelivered, "3g"), scenario.MetricAtOrigin(scenario.SOSDelivered, scenario.OriginDevice)} {
		if name := LatencyFamily(twin); got[name] != nil {
			t.Errorf("%s exported", name)
		}
	}
}

// TestDroppedReasonsAreLabelsOfOneFamily checks that arrivals.dropped and
// its per-reason children export as one family whose sum is the total:
// summing every eixamsim counter counts each drop once.
func TestDroppedReasonsAreLabelsOfOneFamily(t *testing.T) {
	reg := metrics.NewRegistry()
	reg.Counter(scenario.ArrivalsDropped).Add(5)
	reg.Counter(scenario.ArrivalsDropped + ".no_idle_user").Add(3)
	reg.Counter(scenario.ArrivalsDropped + ".no_user_online").Add(2)
	got := gather(t, newCollector(t, reg, Config{}))

	s := series(got["eixamsim_arrivals_dropped_total"])
	want := map[string]float64{"reason=": 0, "reason=no_idle_user": 3, "reason=no_user_online": 2}
	if len(s) != len(want) {
		t.Fatalf("arrivals_dropped = %v, want %v", s, want)
	}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("arrivals_dropped{%s} = %v, want %v", k, s[k], v)
		}
	}
	var all float64 // what sum({__name__=~"eixamsim_.*_total"}) would give
	for _, mf := range got {
		if mf.GetType() == dto.MetricType_COUNTER {
			for _, v := range series(mf) {
				all += v
			}
		}
	}
	if all != 5 {
		t.Errorf("all counters sum to %v, want the 5 drops counted once", all)
	}
}

func TestCatalogueFamiliesAreDistinct(t *testing.T) {
	if err := checkNames(scenario.Metrics); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		metrics []scenario.Metric
	}{
		{"two names, one family", []scenario.Metric{{Name: "a.b", Kind: scenario.KindCounter}, {Name: "a_b", Kind: scenario.KindCounter}}},
		{"a latency's errors family taken by a counter", []scenario.Metric{{Name: "x", Kind: scenario.KindLatency}, {Name: "x_errors", Kind: scenario.KindCounter}}},
		{"a run-wide family taken", []scenario.Metric{{Name: "users.target", Kind: scenario.KindGauge}}},
		{"unknown kind", []scenario.Metric{{Name: "x", Kind: "histogram"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(metrics.NewRegistry(), Config{Metrics: tt.metrics}); err == nil {
				t.Error("accepted")
			}
		})
	}
}

// scrape serves c over real HTTP and returns one scrape's body.
func scrape(t *testing.T, c prometheus.Collector) string {
	t.Helper()
	srv, err := Listen("127.0.0.1:0", c)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Close(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s, %v", resp.Status, err)
	}
	return string(body)
}

func TestServerScrape(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	reg := metrics.NewRegistry()
	reg.Latency(scenario.SOSDelivered).Record(3 * time.Millisecond)
	body := scrape(t, newCollector(t, reg, Config{}))
	for _, want := range []string{
		`eixamsim_sos_delivered_seconds_bucket{le="0.005"} 1`,
		`eixamsim_sos_delivered_seconds_count 1`,
		"# TYPE eixamsim_sos_delivered_seconds histogram",
		"# HELP eixamsim_sos_delivered_seconds sos.delivered: latency of successful operations in seconds",
		"eixamsim_mqtt_disconnects_total 0",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "go_goroutines") {
		t.Error("scrape carries the default registry's Go metrics")
	}
	if _, err := Listen("127.0.0.1:x", newCollector(t, reg, Config{})); err == nil {
		t.Error("bad address accepted")
	}
}

// TestScrapePassesPromtool runs `promtool check metrics` (its lint rules:
// units, _total, no type in names, HELP) on a scrape taken before any
// value and on one taken after values of every kind.
func TestScrapePassesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed: apt-get install prometheus")
	}
	reg := metrics.NewRegistry()
	status := func() Status { return Status{Stage: "ramp", TargetUsers: 10, StageRemaining: time.Second} }
	c := newCollector(t, reg, Config{Start: time.Now(), Status: status, Info: Info{Version: "dev", Scenario: "smoke", RunID: "r1"}})
	check := func(when string) {
		t.Helper()
		body := scrape(t, c)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("%s: promtool check metrics: %v\n%s", when, err, out)
		}
	}
	check("at start")
	reg.Latency(scenario.TelemetryPuback).Record(2 * time.Millisecond)
	reg.Latency(scenario.TelemetryPuback).Error("timeout")
	reg.Counter(scenario.ArrivalsDropped).Inc()
	reg.Counter(scenario.ArrivalsDropped + ".no_idle_user").Inc()
	reg.Counter(scenario.MQTTDisconnects).Inc()
	reg.Gauge(scenario.UsersOnline).Add(7)
	c.Finish()
	check("with values")
}

// TestEverySeriesNamesItsRunShardAndInstance checks that the run's id,
// shard and instance label every series, so that two shards' series never
// collide, and that the capacity families are there with a Step.
func TestEverySeriesNamesItsRunShardAndInstance(t *testing.T) {
	reg := metrics.NewRegistry()
	reg.Latency(scenario.TelemetryPuback).Error("timeout")
	reg.Counter(scenario.ArrivalsDropped + ".no_idle_user").Inc()
	step := func() Step {
		return Step{Index: 3, Load: 400, Dimension: "users", Passed: 2, Failed: 1, PassedLoad: 200}
	}
	info := Info{Version: "v", Scenario: "s", RunID: "soak-7", Shard: "1", Instance: "pod-1"}
	got := gather(t, newCollector(t, reg, Config{Start: time.Now(), Info: info, Step: step,
		Status: func() Status { return Status{Stage: "a", TargetUsers: 1} }}))
	n := 0
	for name, mf := range got {
		for _, m := range mf.GetMetric() {
			n++
			ls := map[string]string{}
			for _, l := range m.GetLabel() {
				ls[l.GetName()] = l.GetValue()
			}
			if ls[LabelRunID] != "soak-7" || ls[LabelShard] != "1" || ls[LabelInstance] != "pod-1" {
				t.Errorf("%s %v: lacks run_id, shard or instance", name, ls)
			}
		}
	}
	if n < 50 {
		t.Errorf("only %d series", n)
	}
	key := "instance=pod-1,run_id=soak-7,shard=1"
	for family, want := range map[string]map[string]float64{
		"eixamsim_capacity_step":        {key: 3},
		"eixamsim_capacity_step_load":   {"dimension=users," + key: 400},
		"eixamsim_capacity_passed_load": {"dimension=users," + key: 200},
		"eixamsim_capacity_steps_total": {key + ",verdict=pass": 2, key + ",verdict=fail": 1, key + ",verdict=inconclusive": 0},
	} {
		s := series(got[family])
		if fmt.Sprint(s) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", family, s, want)
		}
	}
	if got["eixamsim_capacity_step"] != nil && got["eixamsim_info"] == nil {
		t.Error("no eixamsim_info")
	}
	// Without a Step, no capacity family; without Info fields, no labels.
	got = gather(t, newCollector(t, reg, Config{}))
	if got["eixamsim_capacity_step"] != nil {
		t.Error("capacity families exported without a search")
	}
	if s := series(got["eixamsim_users_online"]); len(s) != 1 || s[""] != 0 {
		t.Errorf("users_online without Info = %v, want one unlabelled series", s)
	}
}
