package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eixamsim/eixamsim/engine"
	"github.com/eixamsim/eixamsim/metrics/prom"
	"github.com/eixamsim/eixamsim/metrics/promwrite"
)

// metricsShutdownTimeout bounds how long a scrape in flight may delay the
// end of a run.
const metricsShutdownTimeout = 2 * time.Second

// promOutputs are a run's Prometheus outputs: the --metrics-addr endpoint
// and the --remote-write pusher, over one collector of the run's registry.
// Either may be absent; a nil *promOutputs has neither.
type promOutputs struct {
	collector *prom.Collector
	srv       *prom.Server // nil without --metrics-addr

	stopPush func() // ends the pusher after its last push; nil without --remote-write
	pushDone chan error
}

// metricsPlan is what was checked before the run created anything: the
// port, taken (nil without --metrics-addr), and the remote-write URL.
type metricsPlan struct {
	probe       net.Listener
	remoteWrite string
}

// planMetrics takes the --metrics-addr port and checks the --remote-write
// URL, so a clash or a typo is a usage error that leaves no result
// directory behind. close releases the port if the run never starts.
func planMetrics(f runFlags) (metricsPlan, error) {
	var p metricsPlan
	if f.remoteWrite != "" {
		if _, err := promwrite.New(prometheus.NewRegistry(), promwrite.Config{URL: f.remoteWrite}); err != nil {
			return p, withCode(exitUsage, fmt.Errorf("--remote-write: %w", err))
		}
		p.remoteWrite = f.remoteWrite
	}
	if f.metricsAddr != "" {
		ln, err := net.Listen("tcp", f.metricsAddr)
		if err != nil {
			return p, withCode(exitUsage, fmt.Errorf("--metrics-addr: %w", err))
		}
		p.probe = ln
	}
	return p, nil
}

// close releases the port if it was not handed over.
func (p metricsPlan) close() {
	if p.probe != nil {
		p.probe.Close()
	}
}

// start serves and pushes the live run's metrics as planned; nil when
// nothing was asked for. The probe's port is handed to the server (the
// same port, also for ":0").
func (p metricsPlan) start(live engine.Live, stderr io.Writer) (*promOutputs, error) {
	if p.probe == nil && p.remoteWrite == "" {
		return nil, nil
	}
	status := func() prom.Status {
		st := live.Status()
		return prom.Status{Stage: st.Stage, StageIndex: st.StageIndex, StageRemaining: time.Until(st.StageEnd), TargetUsers: st.Target}
	}
	c, err := prom.New(live.Registry, prom.Config{
		Start:  live.Start,
		Status: status,
		Info:   prom.Info{Version: engine.BuildInfo().Version, Scenario: live.Scenario.Name, RunID: filepath.Base(live.Dir)},
	})
	if err != nil {
		return nil, err
	}
	m := &promOutputs{collector: c}
	if p.probe != nil {
		addr := p.probe.Addr().String()
		p.probe.Close()
		if m.srv, err = prom.Listen(addr, c); err != nil {
			return nil, withCode(exitUsage, fmt.Errorf("--metrics-addr: %w", err))
		}
	}
	if p.remoteWrite != "" {
		reg := prometheus.NewRegistry()
		if err := reg.Register(c); err != nil {
			m.stop(stderr)
			return nil, err
		}
		pusher, err := promwrite.New(reg, promwrite.Config{URL: p.remoteWrite})
		if err != nil {
			m.stop(stderr)
			return nil, withCode(exitUsage, fmt.Errorf("--remote-write: %w", err))
		}
		ctx, cancel := context.WithCancel(context.Background())
		m.stopPush, m.pushDone = cancel, make(chan error, 1)
		go func() { m.pushDone <- pusher.Run(ctx) }()
	}
	return m, nil
}

// URL is the endpoint's address, "" without one.
func (m *promOutputs) URL() string {
	if m == nil || m.srv == nil {
		return ""
	}
	return m.srv.URL()
}

// finish marks the run as ended (eixamsim_run_finished 1) and makes the
// pusher's last push, with the final values.
func (m *promOutputs) finish(stderr io.Writer) {
	if m == nil {
		return
	}
	m.collector.Finish()
	if m.stopPush != nil {
		m.stopPush()
		if err := <-m.pushDone; err != nil {
			fmt.Fprintf(stderr, "eixamsim: warning: %v\n", err)
		}
		m.stopPush = nil
	}
}

// stop ends the endpoint (after finish); a nil *promOutputs is a no-op.
func (m *promOutputs) stop(stderr io.Writer) {
	if m == nil {
		return
	}
	m.finish(stderr)
	if m.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), metricsShutdownTimeout)
	defer cancel()
	if err := m.srv.Close(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "eixamsim: %v\n", err)
	}
}
