package collect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SendFor bounds how long a Client keeps trying: the collector may still
// be starting, or restarting its network, when a shard ends.
const SendFor = 3 * time.Minute

// Client sends one shard's report to the collector at URL.
type Client struct {
	// URL is the collector's base URL: http://host:port, or with a path
	// prefix.
	URL   string
	RunID string
	Index int
	// Logf, if not nil, hears about each attempt that failed.
	Logf func(format string, args ...any)
}

// CheckURL reports a collector URL that cannot be one.
func CheckURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q: want the collector's base URL, http://HOST:PORT", s)
	}
	return nil
}

// SendResults sends the result directory dir, retrying for up to
// SendFor while the collector does not answer or answers 5xx; a refusal
// (4xx) is final.
func (c Client) SendResults(ctx context.Context, dir string) error {
	return c.send(ctx, "results", "application/gzip", func() io.Reader {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(pack(pw, dir)) }()
		return pr
	})
}

// SendFailure tells the collector that this shard has no results, and why.
func (c Client) SendFailure(ctx context.Context, f Failure) error {
	if len(f.Error) > maxFailureBytes/2 {
		f.Error = f.Error[:maxFailureBytes/2] + "…"
	}
	body, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return c.send(ctx, "failure", "application/json", func() io.Reader { return bytes.NewReader(body) })
}

// send PUTs what body gives (a new reader for each attempt) to the
// shard's path under what.
func (c Client) send(ctx context.Context, what, contentType string, body func() io.Reader) error {
	target := strings.TrimSuffix(c.URL, "/") + fmt.Sprintf("/v1/runs/%s/shards/%d/%s", url.PathEscape(c.RunID), c.Index, what)
	ctx, cancel := context.WithTimeout(ctx, SendFor)
	defer cancel()
	pause := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		final, err := c.attempt(ctx, target, contentType, body())
		if err == nil {
			return nil
		}
		if final {
			return fmt.Errorf("the collector at %s refused shard %d's %s: %w", c.URL, c.Index, what, err)
		}
		if c.Logf != nil {
			c.Logf("sending shard %d's %s to %s (attempt %d): %v; trying again in %v", c.Index, what, c.URL, attempt, err, pause)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("shard %d's %s not sent to %s after %d attempts in %v: %w", c.Index, what, c.URL, attempt, SendFor, err)
		case <-time.After(pause):
		}
		pause = min(2*pause, 10*time.Second)
	}
}

// attempt makes one request; final says a refusal that another attempt
// would not change. The transport closes body, which stops a packing
// goroutine whose attempt failed.
func (c Client) attempt(ctx context.Context, target, contentType string, body io.Reader) (final bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, target, body)
	if err != nil {
		if c, ok := body.(io.Closer); ok {
			c.Close()
		}
		return true, err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	retry := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout
	return !retry, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
}
