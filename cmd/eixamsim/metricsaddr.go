package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/eixamsim/eixamsim/engine"
	"github.com/eixamsim/eixamsim/metrics/prom"
)

// metricsShutdownTimeout bounds how long a scrape in flight may delay the
// end of a run.
const metricsShutdownTimeout = 2 * time.Second

// serveMetrics starts the --metrics-addr Prometheus endpoint, if addr is
// set, over the live run's registry and status. stop ends it; it is never
// nil when err is.
func serveMetrics(addr string, live engine.Live, stderr io.Writer, quiet bool) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	status := func() prom.Status {
		st := live.Status()
		return prom.Status{
			Stage: st.Stage, StageIndex: st.StageIndex, StageRemaining: time.Until(st.StageEnd),
			TargetUsers: st.Target, OnlineUsers: int(st.Online),
		}
	}
	srv, err := prom.Listen(addr, prom.NewCollector(live.Registry, live.Start, status))
	if err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("--metrics-addr: %w", err))
	}
	if !quiet {
		fmt.Fprintf(stderr, "eixamsim: Prometheus metrics at %s\n", srv.URL())
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), metricsShutdownTimeout)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			fmt.Fprintf(stderr, "eixamsim: %v\n", err)
		}
	}, nil
}
