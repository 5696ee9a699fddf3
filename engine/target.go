package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/eixamsim/eixamsim/faults"
	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/refbackend"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// ReachTimeout bounds the pre-flight TCP check of each external target
// address.
const ReachTimeout = 5 * time.Second

// target is what a run connects to: the embedded reference backend, or an
// external one named in the scenario.
type target struct {
	report.Target
	apis, brokers []string // every address, in order (one each for the embedded backend)
	tls           *tls.Config
	backend       *refbackend.Server // embedded only
}

// close stops the embedded backend, if any; its listeners are closed when
// it returns.
func (t *target) close() {
	if t.backend != nil {
		t.backend.Close()
	}
}

// startTarget starts the embedded backend on free loopback ports, or checks
// that an external target answers on TCP, so a typo in a host name fails in
// seconds (Unreachable) instead of as thousands of connect errors.
func startTarget(ctx context.Context, sc *scenario.Scenario) (*target, error) {
	if e := sc.Target.Embedded; e != nil {
		return startEmbedded(ctx, sc, e)
	}
	tlsConf, err := sc.Target.TLS.Config()
	if err != nil {
		return nil, outcome.Wrap(outcome.BadInput, err)
	}
	apis, brokers := sc.Target.APIs(), sc.Target.Brokers()
	t := &target{Target: report.Target{Kind: report.TargetExternal, HTTP: apis[0], MQTT: brokers[0]}, apis: apis, brokers: brokers, tls: tlsConf}
	if len(apis) > 1 {
		t.HTTPs = apis
	}
	if len(brokers) > 1 {
		t.MQTTs = brokers
	}
	var check [][2]string // URL, host:port
	for _, raw := range apis {
		addr, err := httpAddress(raw)
		if err != nil {
			return nil, outcome.Wrap(outcome.BadInput, err)
		}
		check = append(check, [2]string{raw, addr})
	}
	for _, raw := range brokers {
		addr, err := fleet.BrokerAddress(raw)
		if err != nil {
			return nil, outcome.Wrap(outcome.BadInput, err)
		}
		check = append(check, [2]string{raw, addr})
	}
	for _, tc := range check {
		if err := checkReachable(ctx, tc[0], tc[1]); err != nil {
			if ctx.Err() != nil { // a signal during the check: not the target's fault
				return nil, outcome.Wrap(outcome.Interrupted, context.Cause(ctx))
			}
			return nil, outcome.Wrap(outcome.Unreachable, err)
		}
	}
	return t, nil
}

// EmbeddedConfig is the reference backend's configuration for sc's
// target.embedded block: free loopback ports, the scenario's app and
// secret, its fault knobs, fault schedule and capacity model. lead shifts
// the scheduled faults, whose times count from the users' start: the time
// from the backend's start to the users' (0 when they start together).
func EmbeddedConfig(sc *scenario.Scenario, lead time.Duration) refbackend.Config {
	e := sc.Target.Embedded
	sched := make([]faults.ScheduledFault, len(e.Schedule))
	for i, f := range e.Schedule {
		f.At += lead
		sched[i] = f
	}
	return refbackend.Config{
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
	}
}

func startEmbedded(ctx context.Context, sc *scenario.Scenario, e *scenario.Embedded) (*target, error) {
	// The run starts within milliseconds of the backend: no lead.
	srv, err := refbackend.Start(ctx, EmbeddedConfig(sc, 0))
	if err != nil {
		return nil, outcome.Wrap(outcome.Unreachable, fmt.Errorf("embedded backend: %w", err))
	}
	t := &target{Target: report.Target{Kind: report.TargetEmbedded, HTTP: srv.HTTPURL(), MQTT: srv.MQTTURL()}, backend: srv}
	if e.Transport == "ws" {
		t.MQTT = srv.WSURL()
	}
	t.apis, t.brokers = []string{t.HTTP}, []string{t.MQTT}
	return t, nil
}

// targetHosts returns the hosts the run connects to (loopback for the
// embedded backend).
func targetHosts(sc *scenario.Scenario) []string {
	if sc.Target.Embedded != nil {
		return []string{"127.0.0.1"}
	}
	var hosts []string
	for _, raw := range append(sc.Target.APIs(), sc.Target.Brokers()...) {
		if u, err := url.Parse(raw); err == nil {
			hosts = append(hosts, u.Hostname())
		}
	}
	return hosts
}

// httpAddress returns the host:port of an http(s) base URL.
func httpAddress(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("target.http %q: %w", raw, err)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// checkReachable opens (and closes) one TCP connection to addr, the
// address of target URL raw.
func checkReachable(ctx context.Context, raw, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, ReachTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("target %s unreachable: no answer from %s within %v", raw, addr, ReachTimeout)
		}
		return fmt.Errorf("target %s unreachable: %w", raw, err)
	}
	return conn.Close()
}
