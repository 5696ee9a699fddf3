package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/faults"
	"github.com/eixamsim/eixamsim/refbackend"
)

// The demo app served when no --app is given. Its secret is public on
// purpose: it is only for trying the simulator on one machine.
const (
	demoAppID     = "demo-app"
	demoAppSecret = "demo-secret"
)

// serveLong is the description printed by `eixamsim serve --help`; the
// endpoint names and ")" are appended.
const serveLong = `Run the embedded reference backend (MQTT broker + SDK HTTP API) until
interrupted. Without --app it serves the demo app "demo-app" whose secret is
"demo-secret". Secrets are read from an environment variable or a file, never
from the command line, and are never printed. See docs/refbackend.md.

Fault specs: --http-latency 50ms | uniform:10ms-80ms | lognormal:40ms,0.5[,2s];
--fault restart_mqtt@20s:5s | kick@10s:25% | stall_http@15s:3s |
'set_faults@30s:error-rate=*=0.5;http-latency=200ms' (times from the start);
live: POST /debug/faults/{restart-mqtt?down=5s,kick?fraction=0.25,stall?d=3s,...};
--error-rate NAME=FRACTION where NAME is * or an endpoint (`

// serveOptions are the parsed flags of `eixamsim serve`.
type serveOptions struct {
	mqtt, ws, http          string
	apps                    []string
	secretEnv, secretFile   string
	secret                  string // refused: see refuseSecretFlag
	canonicalPrefix         string
	ackDelay                time.Duration
	httpLatency             string
	endpointLatency         []string
	errorRate               []string
	eventDelay              time.Duration
	alertDelay              time.Duration
	eventDrop               float64
	duplicateIncidents      bool
	tlsCert, tlsKey         string
	maxContacts, maxDevices int
	schedule                []string
	faultControl            bool
	capacity                string
}

func newServeCmd(e *env) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve [flags]",
		Short: "run the embedded reference backend until interrupted",
		Long:  serveLong + strings.Join(contract.EndpointNames(), ", ") + ")",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError("serve: unexpected argument %q (serve takes flags only)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := refuseSecretFlag(cmd, "serve"); err != nil {
				return err
			}
			return runServe(cmd.Context(), o, e.stdout, e.stderr)
		},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	fs.StringVar(&o.mqtt, "mqtt", "127.0.0.1:1883", "MQTT TCP listen `ADDR` (\"\" disables)")
	fs.StringVar(&o.ws, "ws", "127.0.0.1:8083", "MQTT over WebSocket listen `ADDR`, path /ws (\"\" disables)")
	fs.StringVar(&o.http, "http", "127.0.0.1:8080", "HTTP API listen `ADDR` (\"\" disables)")
	fs.StringArrayVar(&o.apps, "app", nil, "serve app `ID` (repeatable; all apps share the one secret)")
	fs.StringVar(&o.secretEnv, "secret-env", "", "read the app secret from environment variable `VAR`")
	fs.StringVar(&o.secretFile, "secret-file", "", "read the app secret from `FILE` (one trailing newline is dropped)")
	addSecretFlag(cmd, &o.secret)
	fs.StringVar(&o.canonicalPrefix, "canonical-prefix", "", "canonical user id = `PREFIX` + external user id (contract §1.4)")
	fs.DurationVar(&o.ackDelay, "ack-delay", 2*time.Second, "operator acknowledges an incident after `DURATION` (0 = at once, negative = never)")
	fs.StringVar(&o.httpLatency, "http-latency", "", "added latency before every SDK HTTP answer: `SPEC`")
	fs.StringArrayVar(&o.endpointLatency, "endpoint-latency", nil, "latency of one endpoint, `NAME=SPEC` (repeatable)")
	fs.StringArrayVar(&o.errorRate, "error-rate", nil, "fraction of requests answered 503, `NAME=FRACTION` (repeatable; NAME * = every endpoint)")
	fs.DurationVar(&o.eventDelay, "event-delay", 0, "extra delay of `DURATION` before every sos/events publish")
	fs.DurationVar(&o.alertDelay, "alert-delay", 0, "ingest lag: an sos/alerts publish is acknowledged at once, its incident opened `DURATION` later (at most 1m)")
	fs.Float64Var(&o.eventDrop, "event-drop", 0, "`FRACTION` (0..1) of lifecycle events never published")
	fs.BoolVar(&o.duplicateIncidents, "duplicate-incidents", false, "not idempotent: every SOS (alert or POST /v1/sdk/sos) opens a new incident")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate `FILE`: all listeners use TLS (with --tls-key)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "PEM private key `FILE` (with --tls-cert)")
	fs.IntVar(&o.maxContacts, "max-contacts", refbackend.DefaultMaxContactsPerUser, "`N` contacts per user before 409")
	fs.IntVar(&o.maxDevices, "max-devices", refbackend.DefaultMaxDevicesPerUser, "`N` devices per user before 409")
	fs.StringArrayVar(&o.schedule, "fault", nil, "scheduled fault `ACTION@AT:ARG`, AT from the start (repeatable), e.g. restart_mqtt@20s:5s, kick@10s:25%, stall_http@15s:3s")
	fs.StringVar(&o.capacity, "capacity", "", "capacity model `SPEC`: service rates with bounded queues, e.g. telemetry=2000/s,http=500/s[,queue=1s]")
	fs.BoolVar(&o.faultControl, "fault-control", true, "serve the unauthenticated POST /debug/faults/* controls on the HTTP listener")
	return cmd
}

// addSecretFlag defines the hidden --secret flag, only so that giving it
// gets the documented refusal (refuseSecretFlag) instead of "unknown flag".
func addSecretFlag(cmd *cobra.Command, v *string) {
	cmd.Flags().StringVar(v, "secret", "", "refused: a secret on the command line shows in the shell history and the process list")
	_ = cmd.Flags().MarkHidden("secret")
}

// refuseSecretFlag refuses --secret (docs/errors.md): the secret would be
// in the shell history and in every `ps` listing. The value is never
// echoed.
func refuseSecretFlag(cmd *cobra.Command, name string) error {
	if cmd.Flags().Changed("secret") {
		return usageError("%s: refusing --secret: a secret on the command line ends up in the shell history and the process list; use --secret-env VAR or --secret-file FILE", name)
	}
	return nil
}

// runServe runs the reference backend (refbackend) until ctx ends, then
// closes it and returns nil.
func runServe(ctx context.Context, o serveOptions, stdout, stderr io.Writer) error {
	cfg, demo, err := o.config()
	if err != nil {
		return err
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	srv, err := refbackend.Start(ctx, cfg)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	printListening(stdout, srv, cfg, demo)
	<-ctx.Done()
	fmt.Fprintln(stdout, "eixamsim serve: stopping")
	if err := srv.Close(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintln(stdout, "eixamsim serve: stopped")
	return nil
}

// config turns the flags into a refbackend.Config; demo reports that the
// demo app is served. Problems are usage errors (exit 2).
func (o *serveOptions) config() (cfg refbackend.Config, demo bool, err error) {
	cfg = refbackend.Config{
		MQTTAddr:           o.mqtt,
		WSAddr:             o.ws,
		HTTPAddr:           o.http,
		TLSCertFile:        o.tlsCert,
		TLSKeyFile:         o.tlsKey,
		CanonicalPrefix:    o.canonicalPrefix,
		AckDelay:           o.ackDelay,
		MaxContactsPerUser: o.maxContacts,
		MaxDevicesPerUser:  o.maxDevices,
		FaultControl:       o.faultControl,
	}
	if o.mqtt == "" && o.ws == "" && o.http == "" {
		return cfg, false, usageError("serve: --mqtt, --ws and --http are all disabled; nothing to serve")
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return cfg, false, usageError("serve: --tls-cert and --tls-key go together")
	}
	if o.maxContacts < 1 || o.maxDevices < 1 {
		return cfg, false, usageError("serve: --max-contacts and --max-devices must be at least 1")
	}
	cfg.Apps, demo, err = o.appSecrets()
	if err != nil {
		return cfg, false, err
	}
	cfg.Faults, err = o.faults()
	if err != nil {
		return cfg, false, err
	}
	cfg.Schedule, err = o.faultSchedule()
	if err != nil {
		return cfg, false, err
	}
	if cfg.Capacity, err = faults.ParseCapacity(o.capacity); err != nil {
		return cfg, false, usageError("serve: --capacity: %v", err)
	}
	return cfg, demo, nil
}

// faultSchedule parses the --fault flags.
func (o *serveOptions) faultSchedule() ([]faults.ScheduledFault, error) {
	var sched []faults.ScheduledFault
	for _, text := range o.schedule {
		f, err := faults.ParseScheduledFault(text)
		if err != nil {
			return nil, usageError("serve: --fault: %v", strings.ReplaceAll(err.Error(), "\n", "; "))
		}
		if f.Action == faults.RestartMQTT && o.mqtt == "" && o.ws == "" {
			return nil, usageError("serve: --fault %s: --mqtt and --ws are disabled, there is no MQTT listener to restart", text)
		}
		sched = append(sched, f)
	}
	return sched, nil
}

// appSecrets reads the secret of the --app ids, or returns the demo app.
func (o *serveOptions) appSecrets() (map[string][]byte, bool, error) {
	if len(o.apps) == 0 {
		if o.secretEnv != "" || o.secretFile != "" {
			return nil, false, usageError("serve: a secret was given but no --app to use it for")
		}
		return map[string][]byte{demoAppID: []byte(demoAppSecret)}, true, nil
	}
	secret, err := readSecret("serve", o.secretEnv, o.secretFile) // sign.go
	if err != nil {
		return nil, false, err
	}
	apps := make(map[string][]byte, len(o.apps))
	for _, id := range o.apps {
		if id == "" || strings.Contains(id, ":") {
			return nil, false, usageError("serve: --app %q: an app id must be non-empty and free of ':'", id)
		}
		apps[id] = []byte(secret)
	}
	return apps, false, nil
}

// faults parses the fault flags.
func (o *serveOptions) faults() (faults.Set, error) {
	var f faults.Set
	var err error
	if f.HTTPLatency, err = faults.ParseLatency(o.httpLatency); err != nil {
		return f, usageError("serve: --http-latency: %v", err)
	}
	for _, kv := range o.endpointLatency {
		name, spec, ok := strings.Cut(kv, "=")
		if !ok {
			return f, usageError("serve: --endpoint-latency %q: want NAME=SPEC, e.g. sos_cancel=uniform:10ms-80ms", kv)
		}
		l, err := faults.ParseLatency(spec)
		if err != nil {
			return f, usageError("serve: --endpoint-latency %s: %v", name, err)
		}
		if f.EndpointLatency == nil {
			f.EndpointLatency = map[string]faults.Latency{}
		}
		f.EndpointLatency[name] = l
	}
	for _, kv := range o.errorRate {
		name, val, ok := strings.Cut(kv, "=")
		rate, perr := strconv.ParseFloat(val, 64)
		if !ok || perr != nil {
			return f, usageError("serve: --error-rate %q: want NAME=FRACTION, e.g. sos_cancel=0.05", kv)
		}
		if f.ErrorRate == nil {
			f.ErrorRate = map[string]float64{}
		}
		f.ErrorRate[name] = rate
	}
	f.EventDelay, f.EventDropRate, f.AlertDelay = o.eventDelay, o.eventDrop, o.alertDelay
	f.DuplicateIncidents = o.duplicateIncidents
	if err := f.Validate(); err != nil {
		return f, usageError("serve: %v", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return f, nil
}

// printListening tells the user where the backend listens and how to use
// it. Secrets are printed only for the public demo app.
func printListening(w io.Writer, srv *refbackend.Server, cfg refbackend.Config, demo bool) {
	fmt.Fprintln(w, "eixamsim serve: Eixam reference backend running")
	for _, l := range []struct{ name, url string }{
		{"MQTT", srv.MQTTURL()},
		{"WebSocket", srv.WSURL()},
		{"HTTP API", srv.HTTPURL()},
	} {
		if l.url != "" {
			fmt.Fprintf(w, "  %-10s %s\n", l.name, l.url)
		}
	}
	if u := srv.HTTPURL(); u != "" {
		fmt.Fprintf(w, "  %-10s %s/debug/stats\n", "stats", u)
		if cfg.FaultControl {
			fmt.Fprintf(w, "  %-10s POST %s/debug/faults/{restart-mqtt?down=5s,stop-mqtt,start-mqtt,kick?fraction=0.25,stall?d=3s,schedule}\n", "faults", u)
		}
	}
	if len(cfg.Schedule) > 0 {
		texts := make([]string, len(cfg.Schedule))
		for i, f := range cfg.Schedule {
			texts[i] = f.String()
		}
		fmt.Fprintf(w, "  %-10s %s (from now)\n", "schedule", strings.Join(texts, ", "))
	}
	ids := make([]string, 0, len(cfg.Apps))
	for id := range cfg.Apps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	fmt.Fprintf(w, "  %-10s %s\n", "apps", strings.Join(ids, ", "))
	if !cfg.Capacity.IsZero() {
		fmt.Fprintf(w, "  %-10s %s (queue bound %v)\n", "capacity", cfg.Capacity, cfg.Capacity.QueueBound())
	}
	switch {
	case cfg.AckDelay < 0:
		fmt.Fprintln(w, "  operator never acknowledges incidents")
	default:
		fmt.Fprintf(w, "  operator acknowledges incidents after %v\n", cfg.AckDelay)
	}
	if demo {
		fmt.Fprintf(w, "No --app given: serving the demo app %q with the public secret %q (local testing only).\n", demoAppID, demoAppSecret)
		fmt.Fprintf(w, "  e.g. user \"user-1\": userHash %s\n", contract.Sign([]byte(demoAppSecret), "user-1"))
	}
	fmt.Fprintln(w, "Press Ctrl-C to stop.")
}
