// Package promwrite pushes a run's live Prometheus metrics to a
// remote-write endpoint (Prometheus with --web.enable-remote-write-receiver,
// Mimir, Thanos receive, VictoriaMetrics, ...), for runs nobody can scrape:
// a CI job, a Kubernetes Job that ends. Every Interval, and once more at
// the end, it gathers the same families the /metrics endpoint serves
// (package prom) and sends them as one remote-write 1.0 request, which
// every receiver accepts. The protocol's transport (snappy, headers,
// retries with backoff) is client_golang's exp/api/remote.
package promwrite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Config's zero fields.
const (
	DefaultInterval = 10 * time.Second
	DefaultJob      = "eixamsim"
)

// Config configures a Pusher.
type Config struct {
	// URL is the full remote-write endpoint, e.g.
	// "http://prometheus:9090/api/v1/write". Required.
	URL string
	// Interval is the time between pushes; zero means DefaultInterval.
	Interval time.Duration
	// Timeout bounds one push, retries included; zero means Interval.
	Timeout time.Duration
	// Labels are added to every series (a family's own label of the same
	// name wins). nil means {"job": DefaultJob}.
	Labels map[string]string
	// Client sends the requests; nil means a client of the Pusher's own.
	Client *http.Client
	// Logger reports failed periodic pushes; nil discards them.
	Logger *slog.Logger
}

// Pusher sends what a prometheus.Gatherer gathers to a remote-write
// endpoint.
type Pusher struct {
	g   prometheus.Gatherer
	cfg Config
	api *remote.API
	now func() time.Time
}

// New returns a Pusher of g's families. It checks cfg but sends nothing.
func New(g prometheus.Gatherer, cfg Config) (*Pusher, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("remote write: URL %q: want http(s)://host[:port]/path", cfg.URL)
	}
	if cfg.Interval < 0 || cfg.Timeout < 0 {
		return nil, errors.New("remote write: negative interval or timeout")
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = cfg.Interval
	}
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{"job": DefaultJob}
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	api, err := remote.NewAPI(cfg.URL,
		remote.WithAPIPath(""), // cfg.URL is the whole endpoint
		remote.WithAPIHTTPClient(cfg.Client),
		remote.WithAPIBackoff(remote.BackoffConfig{Min: 100 * time.Millisecond, Max: time.Second, MaxRetries: 3}),
	)
	if err != nil {
		return nil, fmt.Errorf("remote write: %w", err)
	}
	return &Pusher{g: g, cfg: cfg, api: api, now: time.Now}, nil
}

// Push gathers once and sends every series with the current time,
// retrying 5xx and network errors until ctx ends.
func (p *Pusher) Push(ctx context.Context) error {
	mfs, err := p.g.Gather()
	if err != nil && len(mfs) == 0 {
		return fmt.Errorf("remote write: gather: %w", err)
	}
	ss := flatten(mfs, p.cfg.Labels, p.now().UnixMilli())
	if len(ss) == 0 {
		return nil
	}
	if _, werr := p.api.Write(ctx, remote.WriteV1MessageType, newWriteRequest(ss)); werr != nil {
		err = errors.Join(err, werr)
	}
	if err != nil {
		return fmt.Errorf("remote write: %w", err)
	}
	return nil
}

// Run pushes every Interval until ctx ends, then once more so the
// receiver has the final values, and returns that last push's error. A
// failed periodic push is logged and does not stop Run.
func (p *Pusher) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Timeout)
			defer cancel()
			return p.Push(final)
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
			if err := p.Push(pctx); err != nil && ctx.Err() == nil {
				p.cfg.Logger.Warn("remote write failed", "err", err)
			}
			cancel()
		}
	}
}
