package procs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/eixamsim/eixamsim/faults"
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

// StartBackend starts sc's embedded backend (sc.Target.Embedded, non-nil)
// on free loopback ports, configured as engine.Run configures it for one
// process. lead is how long before the users start it starts: the
// scheduled faults, whose times count from the start of the run, are
// shifted by it.
func StartBackend(ctx context.Context, sc *scenario.Scenario, lead time.Duration) (*Backend, error) {
	e := sc.Target.Embedded
	sched := make([]faults.ScheduledFault, len(e.Schedule))
	for i, f := range e.Schedule {
		f.At += lead
		sched[i] = f
	}
	srv, err := refbackend.Start(ctx, refbackend.Config{
		MQTTAddr:        "127.0.0.1:0",
		WSAddr:          "127.0.0.1:0",
		HTTPAddr:        "127.0.0.1:0",
		Apps:            map[string][]byte{sc.Identity.AppID: []byte(sc.Identity.AppSecret.Reveal())},
		CanonicalPrefix: e.CanonicalPrefix,
		AckDelay:        e.AckDelay,
		Faults: faults.Set{
			HTTPLatency:   e.HTTPLatency,
			ErrorRate:     e.ErrorRate,
			EventDelay:    e.EventDelay,
			EventDropRate: e.EventDrop,
		},
		Schedule: sched,
		Capacity: e.Capacity,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded backend: %w", err)
	}
	b := &Backend{Server: srv, HTTP: srv.HTTPURL(), MQTT: srv.MQTTURL()}
	if e.Transport == "ws" {
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
