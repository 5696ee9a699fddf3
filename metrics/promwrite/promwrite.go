// Package promwrite pushes a run's live Prometheus metrics to a
// remote-write endpoint (Prometheus with --web.enable-remote-write-receiver,
// Mimir, Thanos receive, VictoriaMetrics, ...), for runs nobody can scrape:
// a CI job, a Kubernetes Job that ends. Every Interval, and once more at
// the end, it gathers the same families the /metrics endpoint serves
// (package prom) and sends them as one remote-write 1.0 request, which
// every receiver accepts; after the last push it marks every series it
// sent stale, so a finished run's lines end in Grafana instead of lasting
// five more minutes. The protocol's transport (snappy, retries with
// backoff) is client_golang's exp/api/remote; headers and credentials are
// added by the Pusher's own http.RoundTripper (auth.go).
package promwrite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Config's zero fields.
const (
	DefaultInterval = 10 * time.Second
	DefaultJob      = "eixamsim"
)

// StaleNaN is Prometheus's staleness marker: a sample with this exact NaN
// bit pattern ends a series (Prometheus's value.StaleNaN).
var StaleNaN = math.Float64frombits(0x7ff0000000000002)

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
	// Headers are added to every request (e.g. X-Scope-OrgID for Mimir).
	// The protocol's own headers (Content-Type, Content-Encoding,
	// X-Prometheus-Remote-Write-Version) cannot be set; Authorization
	// cannot be set together with BearerToken or BasicAuth.
	Headers http.Header
	// BearerToken, if set, is sent as "Authorization: Bearer <token>".
	BearerToken string
	// BasicAuth, if set, is sent as HTTP basic authentication. At most one
	// of BearerToken and BasicAuth.
	BasicAuth *BasicAuth
	// Client sends the requests; nil means a client of the Pusher's own.
	// Its Transport is wrapped to add Headers and the credentials.
	Client *http.Client
	// Warn, if set, is told when pushes start failing (the first failed
	// push, with its error) and when they succeed again, one line each
	// (never once per failed push). The lines carry no credentials.
	Warn func(msg string)
	// Logger receives every failed periodic push; nil discards them.
	Logger *slog.Logger
}

// BasicAuth is a user and password for HTTP basic authentication.
type BasicAuth struct {
	User, Password string
}

// Pusher sends what a prometheus.Gatherer gathers to a remote-write
// endpoint.
type Pusher struct {
	g   prometheus.Gatherer
	cfg Config
	api *remote.API
	now func() time.Time
	// where names the endpoint in warnings (its URL without user info).
	where string

	mu     sync.Mutex
	sent   map[string][]label // every series pushed, by seriesKey, for the stale markers
	lastMs int64              // the newest sample time pushed
	// failing counts the periodic pushes failed in a row since the last
	// success; 0 while pushes succeed.
	failing int
}

// New returns a Pusher of g's families. It checks cfg but sends nothing.
func New(g prometheus.Gatherer, cfg Config) (*Pusher, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("remote write: URL %q: want http(s)://host[:port]/path", redactURL(cfg.URL))
	}
	if cfg.Interval < 0 || cfg.Timeout < 0 {
		return nil, errors.New("remote write: negative interval or timeout")
	}
	if err := checkAuth(cfg); err != nil {
		return nil, fmt.Errorf("remote write: %w", err)
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
	client := &http.Client{}
	if cfg.Client != nil {
		c := *cfg.Client // the caller's client stays as it was
		client = &c
	}
	client.Transport = newAuthTransport(client.Transport, cfg)
	cfg.Client = client
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
	return &Pusher{g: g, cfg: cfg, api: api, now: time.Now, where: u.Redacted(), sent: map[string][]label{}}, nil
}

// Push gathers once and sends every series with the current time,
// retrying 5xx and network errors until ctx ends.
func (p *Pusher) Push(ctx context.Context) error {
	mfs, err := p.g.Gather()
	if err != nil && len(mfs) == 0 {
		return fmt.Errorf("remote write: gather: %w", err)
	}
	ts := p.now().UnixMilli()
	p.mu.Lock()
	ts = max(ts, p.lastMs+1) // never two samples of a series at one time
	p.lastMs = ts
	p.mu.Unlock()
	ss := flatten(mfs, p.cfg.Labels, ts)
	if len(ss) == 0 {
		return nil
	}
	p.mu.Lock()
	for _, s := range ss {
		p.sent[seriesKey(s.labels)] = s.labels
	}
	p.mu.Unlock()
	if werr := p.write(ctx, ss); werr != nil {
		err = errors.Join(err, werr)
	}
	if err != nil {
		return fmt.Errorf("remote write: %w", err)
	}
	return nil
}

// MarkStale sends a staleness marker, one millisecond after the last push,
// for every series pushed so far: the receiver ends each at once instead
// of showing its last value for its lookback (5 minutes in Prometheus).
func (p *Pusher) MarkStale(ctx context.Context) error {
	p.mu.Lock()
	ts := max(p.now().UnixMilli(), p.lastMs+1)
	p.lastMs = ts
	ss := make([]series, 0, len(p.sent))
	for _, ls := range p.sent {
		ss = append(ss, series{labels: ls, value: StaleNaN, tsMs: ts})
	}
	p.mu.Unlock()
	if len(ss) == 0 {
		return nil
	}
	if err := p.write(ctx, ss); err != nil {
		return fmt.Errorf("remote write: staleness markers: %w", err)
	}
	return nil
}

func (p *Pusher) write(ctx context.Context, ss []series) error {
	_, err := p.api.Write(ctx, remote.WriteV1MessageType, newWriteRequest(ss))
	return err
}

// Run pushes every Interval until ctx ends, then once more so the
// receiver has the final values, then marks every series stale; it
// returns the errors of those last two. A failed periodic push does not
// stop Run: Warn hears of the first of a row, and of the recovery.
func (p *Pusher) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Timeout)
			defer cancel()
			err := p.Push(final)
			p.observe(err)
			if serr := p.MarkStale(final); serr != nil {
				err = errors.Join(err, serr)
			}
			return err
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
			err := p.Push(pctx)
			cancel()
			if ctx.Err() == nil {
				p.observe(err)
			}
		}
	}
}

// observe tells Warn when a push fails after successes (or at the
// start), and when one succeeds after failures.
func (p *Pusher) observe(err error) {
	p.mu.Lock()
	failing := p.failing
	if err != nil {
		p.failing++
	} else {
		p.failing = 0
	}
	p.mu.Unlock()
	switch {
	case err != nil:
		p.cfg.Logger.Warn("remote write failed", "url", p.where, "err", err)
		if failing == 0 {
			p.warn(fmt.Sprintf("pushing metrics to %s failed: %v; retrying every %v (one line when it recovers)", p.where, err, p.cfg.Interval))
		}
	case failing > 0:
		p.warn(fmt.Sprintf("pushing metrics to %s works again, after %d failed push(es)", p.where, failing))
	}
}

func (p *Pusher) warn(msg string) {
	if p.cfg.Warn != nil {
		p.cfg.Warn(msg)
	}
}

// seriesKey identifies a series by its sorted labels.
func seriesKey(ls []label) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(l.name)
		b.WriteByte(0)
		b.WriteString(l.value)
		b.WriteByte(0)
	}
	return b.String()
}

// redactURL is raw without a password, for error messages.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return raw
}
