package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/eixamsim/eixamsim/engine"
	"github.com/eixamsim/eixamsim/metrics/prom"
	"github.com/eixamsim/eixamsim/metrics/promwrite"
	"github.com/eixamsim/eixamsim/progress"
)

// metricsShutdownTimeout bounds how long a scrape in flight may delay the
// end of a run.
const metricsShutdownTimeout = 2 * time.Second

// The environment variables remote-write credentials come from: never
// flags, so they appear in no command line, process list or summary.json.
const (
	envRemoteWriteToken    = "EIXAM_REMOTE_WRITE_TOKEN"
	envRemoteWriteUser     = "EIXAM_REMOTE_WRITE_USER"
	envRemoteWritePassword = "EIXAM_REMOTE_WRITE_PASSWORD"
	// envPodName is the pod's name, which the Kubernetes Job passes
	// through the downward API: the instance label.
	envPodName = "POD_NAME"
)

// promFlags are the Prometheus options `run` and `capacity` share:
// --metrics-addr, --remote-write and the remote write's labels, headers
// and interval.
type promFlags struct {
	metricsAddr string
	remoteWrite string
	labels      []string // k=v
	headers     []string // "Name: value"
	interval    time.Duration
}

// register adds the flags to fl.
func (p *promFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&p.metricsAddr, "metrics-addr", "", "serve live Prometheus metrics at http://`ADDR`/metrics (e.g. :9464)")
	fl.StringVar(&p.remoteWrite, "remote-write", "", "push the same metrics every --remote-write-interval, and once at the end, to the Prometheus remote-write `URL` (e.g. http://prometheus:9090/api/v1/write); credentials from $"+envRemoteWriteToken+" (bearer) or $"+envRemoteWriteUser+" and $"+envRemoteWritePassword+" (basic)")
	fl.StringArrayVar(&p.labels, "remote-write-label", nil, "add the label `NAME=VALUE` to every pushed series (repeatable; job=eixamsim unless given; run_id, shard and instance are always set)")
	fl.StringArrayVar(&p.headers, "remote-write-header", nil, "send the header `HEADER` with every push, as 'Name: value' (repeatable), e.g. 'X-Scope-OrgID: load'")
	fl.DurationVar(&p.interval, "remote-write-interval", promwrite.DefaultInterval, "time between pushes (`DURATION`)")
}

// remoteWriteFlags are the flags that need --remote-write.
var remoteWriteFlags = []string{"remote-write-label", "remote-write-header", "remote-write-interval"}

// labelNameRE is a Prometheus label name.
var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// reservedLabels are the label names eixamsim sets on its series: a
// --remote-write-label of one would be shadowed or would merge shards.
var reservedLabels = map[string]bool{prom.LabelRunID: true, prom.LabelShard: true, prom.LabelInstance: true,
	"le": true, "quantile": true, "class": true, "reason": true, "stage": true, "index": true,
	"version": true, "scenario": true, "verdict": true, "dimension": true}

// pushConfig checks the remote-write flags (every problem at once) and
// reads the credentials from the environment; the zero Config when there
// is no --remote-write.
func (p *promFlags) pushConfig(fl *pflag.FlagSet, getenv func(string) string) (promwrite.Config, error) {
	if p.remoteWrite == "" {
		for _, name := range remoteWriteFlags {
			if fl.Changed(name) {
				return promwrite.Config{}, usageError("--%s needs --remote-write", name)
			}
		}
		return promwrite.Config{}, nil
	}
	cfg := promwrite.Config{URL: p.remoteWrite, Interval: p.interval, Labels: map[string]string{"job": promwrite.DefaultJob}}
	var errs []error
	if p.interval <= 0 {
		errs = append(errs, fmt.Errorf("--remote-write-interval %v: want a positive duration such as 10s", p.interval))
	}
	given := map[string]bool{}
	for _, kv := range p.labels {
		name, value, ok := strings.Cut(kv, "=")
		name = strings.TrimSpace(name)
		switch {
		case !ok || value == "":
			errs = append(errs, fmt.Errorf("--remote-write-label %q: want NAME=VALUE with a value", kv))
		case !labelNameRE.MatchString(name) || strings.HasPrefix(name, "__"):
			errs = append(errs, fmt.Errorf("--remote-write-label %q: %q is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)", kv, name))
		case reservedLabels[name]:
			errs = append(errs, fmt.Errorf("--remote-write-label %q: eixamsim sets the label %s itself", kv, name))
		case given[name]:
			errs = append(errs, fmt.Errorf("--remote-write-label %q: %s given twice", kv, name))
		default:
			given[name] = true
			cfg.Labels[name] = value
		}
	}
	for _, h := range p.headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			errs = append(errs, fmt.Errorf("--remote-write-header %q: want 'NAME: VALUE'", redactHeader(h)))
			continue
		}
		if cfg.Headers == nil {
			cfg.Headers = http.Header{}
		}
		cfg.Headers.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	token, user, password := getenv(envRemoteWriteToken), getenv(envRemoteWriteUser), getenv(envRemoteWritePassword)
	switch {
	case token != "" && (user != "" || password != ""):
		errs = append(errs, fmt.Errorf("$%s and $%s/$%s are both set: give a bearer token or basic auth, not both", envRemoteWriteToken, envRemoteWriteUser, envRemoteWritePassword))
	case token != "":
		cfg.BearerToken = token
	case user != "":
		cfg.BasicAuth = &promwrite.BasicAuth{User: user, Password: password}
	case password != "":
		errs = append(errs, fmt.Errorf("$%s is set without $%s", envRemoteWritePassword, envRemoteWriteUser))
	}
	if len(errs) == 0 {
		if _, err := promwrite.New(prometheus.NewRegistry(), cfg); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return promwrite.Config{}, withCode(exitUsage, fmt.Errorf("--remote-write: %w", err))
	}
	return cfg, nil
}

// redactHeader is a header flag with its value hidden, for messages.
func redactHeader(h string) string {
	if name, _, ok := strings.Cut(h, ":"); ok {
		return name + ": " + redacted
	}
	return redacted
}

// instanceName is the instance label: $POD_NAME, else the host name.
func instanceName(getenv func(string) string) string {
	if v := strings.TrimSpace(getenv(envPodName)); v != "" {
		return v
	}
	h, _ := os.Hostname()
	return h
}

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
// port, taken (nil without --metrics-addr), and the remote write.
type metricsPlan struct {
	probe    net.Listener
	push     promwrite.Config // URL "" without --remote-write
	instance string
	// step, if set, reads a capacity search's position for its families.
	step func() prom.Step
}

// planMetrics checks the remote-write flags and takes the --metrics-addr
// port, so a clash or a typo is a usage error that leaves no result
// directory behind. close releases the port if the run never starts.
func planMetrics(p promFlags, fl *pflag.FlagSet) (metricsPlan, error) {
	var plan metricsPlan
	cfg, err := p.pushConfig(fl, os.Getenv)
	if err != nil {
		return plan, err
	}
	plan.push, plan.instance = cfg, instanceName(os.Getenv)
	if p.metricsAddr != "" {
		ln, err := net.Listen("tcp", p.metricsAddr)
		if err != nil {
			return plan, withCode(exitUsage, fmt.Errorf("--metrics-addr: %w", err))
		}
		plan.probe = ln
	}
	return plan, nil
}

// close releases the port if it was not handed over.
func (p metricsPlan) close() {
	if p.probe != nil {
		p.probe.Close()
	}
}

// start serves and pushes the live run's metrics as planned; nil when
// nothing was asked for. The probe's port is handed to the server (the
// same port, also for ":0"). warn shows a line from any goroutine: the
// pusher's failures and recoveries.
func (p metricsPlan) start(live engine.Live, warn func(string)) (*promOutputs, error) {
	if p.probe == nil && p.push.URL == "" {
		return nil, nil
	}
	status := func() prom.Status {
		st := live.Status()
		return prom.Status{Stage: st.Stage, StageIndex: st.StageIndex, StageRemaining: time.Until(st.StageEnd), TargetUsers: st.Target}
	}
	runID := live.RunID
	if runID == "" {
		runID = filepath.Base(live.Dir)
	}
	shard := "0"
	if sh := live.Scenario.Shard; sh != nil {
		shard = strconv.Itoa(sh.Index)
	}
	c, err := prom.New(live.Registry, prom.Config{
		Start:  live.Start,
		Status: status,
		Step:   p.step,
		Info: prom.Info{Version: engine.BuildInfo().Version, Scenario: live.Scenario.Name,
			RunID: runID, Shard: shard, Instance: p.instance},
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
	if p.push.URL != "" {
		reg := prometheus.NewRegistry()
		if err := reg.Register(c); err != nil {
			m.stop(io.Discard)
			return nil, err
		}
		cfg := p.push
		cfg.Warn = warn
		pusher, err := promwrite.New(reg, cfg)
		if err != nil {
			m.stop(io.Discard)
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
// pusher's last push, with the final values, and its staleness markers.
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

// warnLine shows a warning from any goroutine through the live display
// (its Println, which queues the line above the bars on a terminal).
func warnLine(p *progress.Display) func(string) {
	return func(msg string) { p.Println("eixamsim: warning: " + msg) }
}

// lineWriter shows a warning from any goroutine as one line on w, where no
// live display runs.
func lineWriter(w io.Writer) func(string) {
	var mu sync.Mutex
	return func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "eixamsim: warning: %s\n", msg)
	}
}
