package fleet

import (
	"github.com/eixamsim/eixamsim/errclass"

	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/scenario"
)

// maxResponseBytes bounds what we read of any response body.
const maxResponseBytes = 1 << 20

// sdkHTTP makes the SDK's HTTP calls (contract §2) through one shared,
// tuned transport for the whole fleet.
type sdkHTTP struct {
	bases  []string // user n's requests go to bases[n % len]
	client *http.Client
}

func newSDKHTTP(bases []string, tlsConf *tls.Config, timeout time.Duration, users int, sources []net.IP) *sdkHTTP {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	dial := dialer.DialContext
	if len(sources) > 0 {
		// Spread HTTP connections over the source addresses too. The
		// transport dials from many goroutines at once.
		var next atomic.Uint64
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			d := *dialer
			d.LocalAddr = &net.TCPAddr{IP: sources[(next.Add(1)-1)%uint64(len(sources))]}
			return d.DialContext(ctx, network, addr)
		}
	}
	perHost := httpPoolSize(users)
	transport := &http.Transport{
		Proxy:               nil, // a load test never goes through an environment proxy
		DialContext:         dial,
		TLSClientConfig:     tlsConf,
		ForceAttemptHTTP2:   false, // one request per connection like the phone's http package
		MaxIdleConns:        perHost,
		MaxIdleConnsPerHost: perHost,
		MaxConnsPerHost:     0,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: timeout,
	}
	return &sdkHTTP{bases: bases, client: &http.Client{Transport: transport, Timeout: timeout,
		// The SDK's client follows redirects only for GET; POST/PUT/DELETE
		// answered with a redirect are failures (contract §2.1). Never
		// follow: a redirect is always reported as the status it is.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (h *sdkHTTP) close() { h.client.CloseIdleConnections() }

// url joins user s's base URL and path the SDK way: plain
// concatenation, a leading '/' ensured on the path, a trailing '/' on the
// base kept (contract §2.1).
func (h *sdkHTTP) url(s scenario.Session, path string) string {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return h.bases[s.Index%len(h.bases)] + path
}

// call sends one request with the SDK's headers and decodes a JSON answer
// into out (if out is non-nil and the status is the wanted one). It returns
// an error class for metrics ("" on success).
func (h *sdkHTTP) call(ctx context.Context, s scenario.Session, method, path string, body any, wantStatus func(int) bool, out any) (class string, err error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return errclass.Internal, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.url(s, path), rd)
	if err != nil {
		return errclass.Internal, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8") // what Dart's http sets with a body
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	if path == contract.PathMe {
		req.Header.Set("Accept", "application/json") // only /me sends it (contract §2.1)
	}
	req.Header.Set(contract.HeaderAppID, s.AppID)
	req.Header.Set(contract.HeaderUserID, s.ExternalUserID)
	req.Header.Set("Authorization", "Bearer "+s.UserHash.Reveal())
	resp, err := h.client.Do(req)
	if err != nil {
		return classifyNetError(err), err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return classifyNetError(err), err
	}
	if !wantStatus(resp.StatusCode) {
		return errclass.HTTP(resp.StatusCode), fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, snippet(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return "invalid_response", fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return "", nil
}

func is2xx(code int) bool { return code >= 200 && code < 300 }

func isStatus(want int) func(int) bool { return func(code int) bool { return code == want } }

func snippet(b []byte) string {
	const n = 200
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// classifyNetError names a transport failure for error counts.
func classifyNetError(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return errclass.Cancelled
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return errclass.Timeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return errclass.ConnectionRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errclass.ConnectionReset
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return errclass.NoLocalPort
	}
	var tlsErr *tls.CertificateVerificationError
	if errors.As(err, &tlsErr) {
		return errclass.TLSVerify
	}
	return errclass.Network
}
