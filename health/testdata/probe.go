//go:build healthprobe

// probe.go is added to cmd/eixamsim at build time by measure_test.go
// (go build -overlay, -tags healthprobe), never compiled into the product: it samples a
// health.Monitor inside the real tool once a second and writes one JSON
// line per sample to $EIXAMSIM_HEALTH_PROBE. The engine's inputs
// (schedule.lag, backpressure) are not reachable from here; the test joins
// them from the run's result directory afterwards.
package main

import (
	"encoding/json"
	"os"
	"time"

	"github.com/eixamsim/eixamsim/health"
)

// A measurement probe, not product code: init is the only way in without
// editing the command.
func init() {
	path := os.Getenv("EIXAMSIM_HEALTH_PROBE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		panic(err)
	}
	go func() {
		mon := health.NewMonitor(health.DefaultLimits(), time.Now())
		enc := json.NewEncoder(f)
		t := time.NewTicker(time.Second)
		for now := range t.C {
			s := mon.Sample(now, health.Input{})
			r := mon.Report()
			_ = enc.Encode(probeLine{Unix: float64(now.UnixNano()) / 1e9, Sample: s,
				Cores: r.Cores, CPUMeanPct: r.CPU.MeanPct, SchedP99MS: r.SchedLatency.P99MS, GCMaxMS: r.GCPause.MaxMS})
			_ = f.Sync()
		}
	}()
}

// probeLine is a sample and the whole-run values so far.
type probeLine struct {
	Unix float64 `json:"unix"`
	health.Sample
	Cores      int     `json:"cores"`
	CPUMeanPct float64 `json:"cpu_mean_pct"`
	SchedP99MS float64 `json:"sched_p99_ms"`
	GCMaxMS    float64 `json:"gc_max_ms"`
}
