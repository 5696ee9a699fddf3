package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/eixamsim/eixamsim/engine"
	"github.com/eixamsim/eixamsim/metrics/prom"
)

// metricsShutdownTimeout bounds how long a scrape in flight may delay the
// end of a run.
const metricsShutdownTimeout = 2 * time.Second

// metricsServer is the --metrics-addr endpoint of a live run.
type metricsServer struct{ srv *prom.Server }

// URL is where the metrics are.
func (m *metricsServer) URL() string { return m.srv.URL() }

// stop ends the endpoint; a nil server is a no-op.
func (m *metricsServer) stop(stderr io.Writer) {
	if m == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), metricsShutdownTimeout)
	defer cancel()
	if err := m.srv.Close(ctx); err != nil {
		fmt.Fprintf(stderr, "eixamsim: %v\n", err)
	}
}

// serveMetrics serves the live run's registry and status on the address
// probe holds (nil: no endpoint, and a nil server). The probe took the
// port before the run created anything; it is handed over here.
func serveMetrics(probe net.Listener, live engine.Live) (*metricsServer, error) {
	if probe == nil {
		return nil, nil
	}
	status := func() prom.Status {
		st := live.Status()
		return prom.Status{
			Stage: st.Stage, StageIndex: st.StageIndex, StageRemaining: time.Until(st.StageEnd),
			TargetUsers: st.Target, OnlineUsers: int(st.Online),
		}
	}
	addr := probe.Addr().String() // the port the probe got, also for ":0"
	probe.Close()
	srv, err := prom.Listen(addr, prom.NewCollector(live.Registry, live.Start, status))
	if err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("--metrics-addr: %w", err))
	}
	return &metricsServer{srv: srv}, nil
}
