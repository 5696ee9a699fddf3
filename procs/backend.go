package procs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/eixamsim/eixamsim/engine"
	"github.com/eixamsim/eixamsim/refbackend"
	"github.com/eixamsim/eixamsim/scenario"
)

// Backend is the reference backend the parent runs for its workers when
// the scenario has no external target: one backend for every worker,
// since a sharded run needs one target all shards reach.
type Backend struct {
	Server *refbackend.Server
	// HTTP and MQTT are the URLs the workers use (MQTT is the WebSocket
	// URL with target.embedded.transport ws).
	HTTP, MQTT string
}

// startBackend starts sc's embedded backend (sc.Target.Embedded, non-nil)
// on free loopback ports, configured as engine.Run configures it for one
// process. lead is how long before the users start it starts: the
// scheduled faults, whose times count from the start of the run, are
// shifted by it.
func startBackend(ctx context.Context, sc *scenario.Scenario, lead time.Duration) (*Backend, error) {
	srv, err := refbackend.Start(ctx, engine.EmbeddedConfig(sc, lead))
	if err != nil {
		return nil, fmt.Errorf("embedded backend: %w", err)
	}
	b := &Backend{Server: srv, HTTP: srv.HTTPURL(), MQTT: srv.MQTTURL()}
	if sc.Target.Embedded.Transport == "ws" {
		b.MQTT = srv.WSURL()
	}
	return b, nil
}

// TargetArg is the value of a worker's target flag (Retarget reads it):
// "HTTP_URL,MQTT_URL".
func (b *Backend) TargetArg() string { return b.HTTP + "," + b.MQTT }

// Retarget is sc run by a worker against the parent's backend: the
// embedded target replaced by the external one in arg (TargetArg). The
// scenario's file allows no --set of target.http next to a
// target.embedded block, so the worker swaps the target after loading.
func Retarget(sc *scenario.Scenario, arg string) (*scenario.Scenario, error) {
	httpURL, mqttURL, ok := strings.Cut(arg, ",")
	if !ok || !strings.HasPrefix(httpURL, "http") || mqttURL == "" {
		return nil, fmt.Errorf("want HTTP_URL,MQTT_URL, got %q", arg)
	}
	if sc.Target.Embedded == nil {
		return nil, fmt.Errorf("the scenario already names an external target")
	}
	c := *sc
	c.Target = scenario.Target{HTTP: httpURL, MQTT: mqttURL}
	return &c, nil
}
