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
// tuned transport for the whole fleet, or, with fleet.network on, through
// one transport per user whose connections go over the user's link: a
// shared pool would hand one user's connection, on its link, to another,
// and a phone's connections are its own.
type sdkHTTP struct {
	bases  []string // user n's requests go to bases[n % len]
	client *http.Client
	// With the network on: users[n - net.offset] is user n's client, on
	// its link; nil otherwise.
	net   *fleetNet
	users []*http.Client
}

// Per-user transports (network on): a phone's HTTP client keeps a
// connection or two to its backend, not a pool, and closes an idle one
// after 15 s (dart:io HttpClient.idleTimeout, under package http's
// IOClient). net/http runs two goroutines per open connection, so this
// also bounds what idle users cost.
const (
	userMaxConns     = 2
	userMaxIdleConns = 2
	userIdleTimeout  = 15 * time.Second
)

// newSDKHTTP prepares the fleet's HTTP clients; net is nil when
// fleet.network is off, and the one shared transport then serves
// everyone at no added cost.
func newSDKHTTP(bases []string, tlsConf *tls.Config, timeout time.Duration, users int, sources []net.IP, nw *fleetNet) *sdkHTTP {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	h := &sdkHTTP{bases: bases, net: nw}
	if nw != nil {
		h.users = make([]*http.Client, len(nw.users))
		for i := range h.users {
			d := *dialer
			if len(sources) > 0 {
				d.LocalAddr = &net.TCPAddr{IP: sources[(nw.offset+i)%len(sources)]}
			}
			h.users[i] = newHTTPClient(&http.Transport{
				Proxy:               nil,
				DialContext:         nw.users[i].link.Dial(d.DialContext),
				TLSClientConfig:     tlsConf,
				ForceAttemptHTTP2:   false,
				MaxIdleConns:        userMaxIdleConns,
				MaxIdleConnsPerHost: userMaxIdleConns,
				MaxConnsPerHost:     userMaxConns,
				IdleConnTimeout:     userIdleTimeout,
				TLSHandshakeTimeout: timeout,
			}, timeout)
		}
	}
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
	h.client = newHTTPClient(transport, timeout)
	return h
}

func newHTTPClient(t *http.Transport, timeout time.Duration) *http.Client {
	return &http.Client{Transport: t, Timeout: timeout,
		// The SDK's client follows redirects only for GET; POST/PUT/DELETE
		// answered with a redirect are failures (contract §2.1). Never
		// follow: a redirect is always reported as the status it is.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (h *sdkHTTP) close() {
	h.client.CloseIdleConnections()
	for _, c := range h.users {
		c.CloseIdleConnections()
	}
}

// clientFor returns the client user n's requests go through.
func (h *sdkHTTP) clientFor(n int) *http.Client {
	if h.users == nil {
		return h.client
	}
	return h.users[n-h.net.offset]
}

// release closes user n's idle connections when its life ends (network
// on; with the shared transport, the pool keeps them for other users).
func (h *sdkHTTP) release(n int) {
	if h.users != nil {
		h.users[n-h.net.offset].CloseIdleConnections()
	}
}

// url joins user s's base URL and path the SDK way: plain
// concatenation, a leading '/' ensured on the path, a trailing '/' on the
// base kept (contract §2.1).
func (h *sdkHTTP) url(s scenario.Session, path string) string {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return h.bases[s.Index%len(h.bases)] + path
}

// nativeURL joins the base URL and path the Android service's way: the
// base's trailing slashes stripped (contract §2.6).
func (h *sdkHTTP) nativeURL(s scenario.Session, path string) string {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return strings.TrimRight(h.bases[s.Index%len(h.bases)], "/") + path
}

// call sends one request with the SDK's headers and decodes a JSON answer
// into out (if out is non-nil and the status is the wanted one). It returns
// an error class for metrics ("" on success). With the network on it also
// records the request, from its start to its body read, on the endpoint
// metric's per-profile twin (http.me@3g).
func (h *sdkHTTP) call(ctx context.Context, s scenario.Session, method, path string, body any, wantStatus func(int) bool, out any) (class string, err error) {
	return h.send(ctx, s, false, method, path, body, wantStatus, out)
}

// nativeCall is call made by the Android Protection Mode service's own
// HTTP client rather than the Dart SDK's (contract §2.6): Accept:
// application/json on every request, Content-Type: application/json only
// with a body, and the base URL's trailing slash stripped.
func (h *sdkHTTP) nativeCall(ctx context.Context, s scenario.Session, method, path string, body any, wantStatus func(int) bool, out any) (class string, err error) {
	return h.send(ctx, s, true, method, path, body, wantStatus, out)
}

func (h *sdkHTTP) send(ctx context.Context, s scenario.Session, native bool, method, path string, body any, wantStatus func(int) bool, out any) (class string, err error) {
	if h.net != nil {
		if metric := endpointMetric(method, path); metric != "" {
			t0 := time.Now()
			defer func() {
				if err != nil {
					h.net.twin(s.Index, metric).Fail(class, err)
				} else {
					h.net.twin(s.Index, metric).Record(time.Since(t0))
				}
			}()
		}
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return errclass.Internal, err
		}
		rd = bytes.NewReader(b)
	}
	url := h.url(s, path)
	if native {
		url = h.nativeURL(s, path)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return errclass.Internal, err
	}
	switch {
	case native:
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
	case body != nil:
		req.Header.Set("Content-Type", "application/json; charset=utf-8") // what Dart's http sets with a body
	default:
		req.Header.Set("Content-Type", "application/json")
	}
	if !native && path == contract.PathMe {
		req.Header.Set("Accept", "application/json") // only /me sends it (contract §2.1)
	}
	req.Header.Set(contract.HeaderAppID, s.AppID)
	req.Header.Set(contract.HeaderUserID, s.ExternalUserID)
	req.Header.Set("Authorization", "Bearer "+s.UserHash.Reveal())
	resp, err := h.clientFor(s.Index).Do(req)
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

// endpointMetric names the latency metric of an SDK request, "" for a
// request that is not one of the SDK's endpoints.
func endpointMetric(method, path string) string {
	under := func(base string) bool { return strings.HasPrefix(path, base+"/") }
	switch {
	case path == contract.PathMe && method == http.MethodGet:
		return scenario.HTTPMe
	case path == contract.PathSOS && method == http.MethodGet:
		return scenario.HTTPSOSGet
	case path == contract.PathSOS && method == http.MethodPost:
		return scenario.HTTPSOSCreate
	case path == contract.PathSOSCancel:
		return scenario.HTTPSOSCancel
	case path == contract.PathSOSResolve:
		return scenario.HTTPSOSResolve
	case path == contract.PathContacts && method == http.MethodGet:
		return scenario.HTTPContactsList
	case path == contract.PathContacts && method == http.MethodPost:
		return scenario.HTTPContactsCreate
	case under(contract.PathContacts) && method == http.MethodPut:
		return scenario.HTTPContactsUpdate
	case under(contract.PathContacts) && method == http.MethodDelete:
		return scenario.HTTPContactsDelete
	case path == contract.PathDevices && method == http.MethodGet:
		return scenario.HTTPDevicesList
	case path == contract.PathDevices && method == http.MethodPost:
		return scenario.HTTPDevicesUpsert
	case under(contract.PathDevices) && method == http.MethodDelete:
		return scenario.HTTPDevicesDelete
	}
	return ""
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
