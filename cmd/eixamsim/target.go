package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/refbackend"
	"github.com/eixamsim/eixamsim/scenario"
)

// reachTimeout bounds the pre-flight check of an external target.
const reachTimeout = 5 * time.Second

// target is what a run connects to: the embedded reference backend, or an
// external one named in the scenario.
type target struct {
	kind    string // "embedded" or "external"
	httpURL string
	mqttURL string
	tls     *tls.Config
	backend *refbackend.Server // embedded only
}

func (t *target) close() {
	if t.backend != nil {
		t.backend.Close()
	}
}

// startTarget starts the embedded backend on free loopback ports, or checks
// that an external target answers on TCP, so a typo in a host name fails in
// seconds with exit 3 instead of as thousands of connect errors.
func startTarget(ctx context.Context, sc *scenario.Scenario) (*target, error) {
	if e := sc.Target.Embedded; e != nil {
		return startEmbedded(ctx, sc, e)
	}
	tlsConf, err := sc.Target.TLS.Config()
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	t := &target{kind: "external", httpURL: sc.Target.HTTP, mqttURL: sc.Target.MQTT, tls: tlsConf}
	mqttAddr, err := fleet.BrokerAddress(sc.Target.MQTT)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	httpAddr, err := httpAddress(sc.Target.HTTP)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	for _, tc := range [][2]string{{sc.Target.HTTP, httpAddr}, {sc.Target.MQTT, mqttAddr}} {
		if err := checkReachable(ctx, tc[0], tc[1]); err != nil {
			if ctx.Err() != nil { // a signal during the check: not the target's fault
				return nil, withCode(exitInterrupted, context.Cause(ctx))
			}
			return nil, withCode(exitUnreachable, err)
		}
	}
	return t, nil
}

func startEmbedded(ctx context.Context, sc *scenario.Scenario, e *scenario.Embedded) (*target, error) {
	cfg := refbackend.Config{
		MQTTAddr:        "127.0.0.1:0",
		WSAddr:          "127.0.0.1:0",
		HTTPAddr:        "127.0.0.1:0",
		Apps:            map[string][]byte{sc.Identity.AppID: []byte(sc.Identity.AppSecret.Reveal())},
		CanonicalPrefix: e.CanonicalPrefix,
		AckDelay:        e.AckDelay,
		Faults: refbackend.Faults{
			HTTPLatency:   e.HTTPLatency,
			ErrorRate:     e.ErrorRate,
			EventDelay:    e.EventDelay,
			EventDropRate: e.EventDrop,
		},
	}
	for _, f := range e.Faults {
		// Validated with the scenario; the run starts within milliseconds
		// of the backend, so AT counts from the run start.
		sf, err := refbackend.ParseScheduledFault(f)
		if err != nil {
			return nil, withCode(exitUsage, fmt.Errorf("target.embedded.faults: %w", err))
		}
		cfg.Schedule = append(cfg.Schedule, sf)
	}
	srv, err := refbackend.Start(ctx, cfg)
	if err != nil {
		return nil, withCode(exitUnreachable, fmt.Errorf("embedded backend: %w", err))
	}
	t := &target{kind: "embedded", httpURL: srv.HTTPURL(), mqttURL: srv.MQTTURL(), backend: srv}
	if e.Transport == "ws" {
		t.mqttURL = srv.WSURL()
	}
	return t, nil
}

// targetHosts returns the hosts the run connects to (loopback for the
// embedded backend).
func targetHosts(sc *scenario.Scenario) []string {
	if sc.Target.Embedded != nil {
		return []string{"127.0.0.1"}
	}
	var hosts []string
	for _, raw := range []string{sc.Target.HTTP, sc.Target.MQTT} {
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
	ctx, cancel := context.WithTimeout(ctx, reachTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("target %s unreachable: no answer from %s within %v", raw, addr, reachTimeout)
		}
		return fmt.Errorf("target %s unreachable: %w", raw, err)
	}
	return conn.Close()
}
