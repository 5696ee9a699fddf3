package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/metrics/prom"
	"github.com/eixamsim/eixamsim/metrics/promwrite"
	"github.com/eixamsim/eixamsim/scenario"
)

// startPrometheus runs Debian's prometheus with its remote-write receiver
// on a free loopback port, scraping nothing, and returns its base URL
// ("http://127.0.0.1:port"). It skips the test when prometheus is not
// installed and stops it when the test ends.
func startPrometheus(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus not installed: apt-get install prometheus")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(conf, []byte("global:\n  scrape_interval: 1m\nscrape_configs: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "prometheus.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	base := "http://127.0.0.1:" + strconv.Itoa(freePort(t))
	cmd := exec.Command(bin,
		"--config.file="+conf,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+base[len("http://"):],
		"--web.enable-remote-write-receiver",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	prom := startPeer(t, cmd, syscall.SIGTERM, 10*time.Second)
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case <-prom.Exited():
			log, _ := os.ReadFile(logPath)
			t.Fatalf("prometheus exited (%v):\n%s", prom.Err(), log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("prometheus not ready after 30 s:\n%s", log)
		}
	}
}

// query runs an instant PromQL query and returns each result series'
// value by its labels' JSON.
func query(t *testing.T, base, q string) map[string]float64 {
	t.Helper()
	return queryURL(t, base+"/api/v1/query?query="+url.QueryEscape(q), q)
}

// queryURL runs the instant query at u (q is for messages).
func queryURL(t *testing.T, u, q string) map[string]float64 {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Value  [2]any // [unix seconds, "value"]
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("query %s: %v %s %s", q, err, body.Status, body.Error)
	}
	out := map[string]float64{}
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("query %s: value %v", q, r.Value[1])
		}
		labels, _ := json.Marshal(r.Metric)
		out[string(labels)] = v
	}
	return out
}

// TestRemoteWriteToPrometheus pushes a run's live families to a real
// Prometheus for a couple of seconds, changing values between pushes, and
// queries back what arrived: the last pushed values, the labels, the
// histogram, and the staleness markers that end every series.
func TestRemoteWriteToPrometheus(t *testing.T) {
	base := startPrometheus(t)

	reg := metrics.NewRegistry()
	c, err := prom.New(reg, prom.Config{Start: time.Now(), Info: prom.Info{Version: "test", Scenario: "remote-write", RunID: "r42"}})
	if err != nil {
		t.Fatal(err)
	}
	preg := prometheus.NewRegistry()
	preg.MustRegister(c)
	p, err := promwrite.New(preg, promwrite.Config{URL: base + "/api/v1/write", Interval: 200 * time.Millisecond, Labels: map[string]string{"job": "interop"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	for i := range 10 { // 2 s of pushes with the values moving
		reg.Counter(scenario.MQTTDisconnects).Inc()
		reg.Latency(scenario.TelemetryPuback).Record(time.Duration(i+1) * time.Millisecond)
		time.Sleep(200 * time.Millisecond)
	}
	reg.Counter(scenario.ArrivalsDropped).Inc()
	reg.Counter(scenario.ArrivalsDropped + ".no_idle_user").Inc()
	reg.Gauge(scenario.UsersOnline).Add(17)
	c.Finish()
	cancel() // Run pushes once more: these final values must arrive
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("final push: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return")
	}

	checks := []struct {
		q    string
		want map[string]float64
	}{
		{`eixamsim_mqtt_disconnects_total`, map[string]float64{`{"__name__":"eixamsim_mqtt_disconnects_total","job":"interop","run_id":"r42"}`: 10}},
		{`eixamsim_users_online`, map[string]float64{`{"__name__":"eixamsim_users_online","job":"interop","run_id":"r42"}`: 17}},
		{`eixamsim_arrivals_dropped_total`, map[string]float64{
			`{"__name__":"eixamsim_arrivals_dropped_total","job":"interop","run_id":"r42"}`:                         0,
			`{"__name__":"eixamsim_arrivals_dropped_total","job":"interop","reason":"no_idle_user","run_id":"r42"}`: 1,
		}},
		{`sum(eixamsim_arrivals_dropped_total)`, map[string]float64{`{}`: 1}},
		{`eixamsim_telemetry_puback_seconds_count`, map[string]float64{`{"__name__":"eixamsim_telemetry_puback_seconds_count","job":"interop","run_id":"r42"}`: 10}},
		{`eixamsim_telemetry_puback_seconds_bucket{le="0.005"}`, map[string]float64{`{"__name__":"eixamsim_telemetry_puback_seconds_bucket","job":"interop","le":"0.005","run_id":"r42"}`: 5}},
		{`eixamsim_telemetry_puback_errors_total`, map[string]float64{`{"__name__":"eixamsim_telemetry_puback_errors_total","job":"interop","run_id":"r42"}`: 0}},
		{`eixamsim_info`, map[string]float64{`{"__name__":"eixamsim_info","job":"interop","run_id":"r42","scenario":"remote-write","version":"test"}`: 1}},
		{`eixamsim_run_finished`, map[string]float64{`{"__name__":"eixamsim_run_finished","job":"interop","run_id":"r42"}`: 1}},
		// Pushed throughout, so a rate over the pushes is defined.
		{`count_over_time(eixamsim_mqtt_disconnects_total[1m]) >= 5`, nil},
	}
	// The last push's time: after it come the staleness markers, which
	// end every series (checked below).
	at := lastSample(t, base, `eixamsim_run_finished`)
	for _, c := range checks {
		got := queryAt(t, base, c.q, at)
		if c.want == nil {
			if len(got) != 1 {
				t.Errorf("%s: %v, want one series (several pushes stored)", c.q, got)
			}
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s = %v, want %v", c.q, got, c.want)
		}
	}
	if got := query(t, base, `{job="interop"}`); len(got) != 0 {
		t.Errorf("series still current after the run: %v, want every one ended by a staleness marker", got)
	}
}
