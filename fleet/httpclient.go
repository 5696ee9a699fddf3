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
	"net/url"
	"strings"
	"sync"
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
//
// Requests go to the transports' RoundTrip, not through an http.Client:
// the client adds nothing the SDK's calls need (no redirect is ever
// followed, there is no cookie jar) and costs ~10 allocations a request
// (a header copy kept for redirects, a forked request, the timeout's
// wrapping of the body). call sets the timeout itself, on the request's
// context, over the same span: until the body is read.
type sdkHTTP struct {
	bases []string // user n's requests go to bases[n % len]
	// nativeBases are bases with their trailing slashes stripped, as the
	// Android service joins them (contract §2.6): built once, not per
	// request.
	nativeBases []string
	timeout     time.Duration
	transport   *http.Transport
	// With the network on: users[n - net.offset] is user n's transport,
	// on its link; nil otherwise.
	net   *fleetNet
	users []*http.Transport
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
	h := &sdkHTTP{bases: bases, timeout: timeout, net: nw}
	h.nativeBases = make([]string, len(bases))
	for i, b := range bases {
		h.nativeBases[i] = strings.TrimRight(b, "/")
	}
	if nw != nil {
		h.users = make([]*http.Transport, len(nw.users))
		for i := range h.users {
			d := *dialer
			if len(sources) > 0 {
				d.LocalAddr = &net.TCPAddr{IP: sources[(nw.offset+i)%len(sources)]}
			}
			h.users[i] = &http.Transport{
				Proxy:               nil,
				DialContext:         nw.users[i].link.Dial(d.DialContext),
				TLSClientConfig:     tlsConf,
				ForceAttemptHTTP2:   false,
				MaxIdleConns:        userMaxIdleConns,
				MaxIdleConnsPerHost: userMaxIdleConns,
				MaxConnsPerHost:     userMaxConns,
				IdleConnTimeout:     userIdleTimeout,
				TLSHandshakeTimeout: timeout,
			}
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
	h.transport = &http.Transport{
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
	return h
}

func (h *sdkHTTP) close() {
	h.transport.CloseIdleConnections()
	for _, t := range h.users {
		t.CloseIdleConnections()
	}
}

// transportFor returns the transport user n's requests go through.
func (h *sdkHTTP) transportFor(n int) *http.Transport {
	if h.users == nil {
		return h.transport
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
	return h.nativeBases[s.Index%len(h.nativeBases)] + path
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
	ctx, cancel := context.WithTimeout(ctx, h.timeout) // until the body is read
	defer cancel()
	target, header := h.url(s, path), sdkHeader
	if native {
		target, header = h.nativeURL(s, path), nativeHeader
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return errclass.Internal, err
	}
	req.Header = header(s, path, body != nil)
	// A transport never follows a redirect: the SDK's client follows them
	// only for GET, and POST/PUT/DELETE answered with one are failures
	// (contract §2.1), so a redirect is always reported as the status it
	// is.
	resp, err := h.transportFor(s.Index).RoundTrip(req)
	if err != nil {
		err = &url.Error{Op: urlOp(method), URL: req.URL.Redacted(), Err: err} // as http.Client says it
		return classifyNetError(err), err
	}
	defer resp.Body.Close()
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer putBodyBuffer(buf)
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxResponseBytes)); err != nil {
		return classifyNetError(err), err
	}
	data := buf.Bytes() // not kept past the return: the buffer is reused
	if !wantStatus(resp.StatusCode) {
		return errclass.HTTP(resp.StatusCode), fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, snippet(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return errclass.InvalidResponse, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return "", nil
}

// Header names as net/http writes them: canonical, so that a request's
// header is built as a map, without canonicalising each name per Set.
var (
	headerAccept      = http.CanonicalHeaderKey("Accept")
	headerContentType = http.CanonicalHeaderKey("Content-Type")
	headerAuth        = http.CanonicalHeaderKey("Authorization")
	headerAppID       = http.CanonicalHeaderKey(contract.HeaderAppID)
	headerUserID      = http.CanonicalHeaderKey(contract.HeaderUserID)
)

// sdkHeader is the SDK's request header for session s (contract §2.1):
// Content-Type (with the charset Dart's http adds to a request with a
// body), Accept on /me only, the app and user ids and the bearer userHash.
func sdkHeader(s scenario.Session, path string, withBody bool) http.Header {
	v := &[5]string{"application/json", s.AppID, s.ExternalUserID, "Bearer " + s.UserHash.Reveal(), "application/json"}
	if withBody {
		v[0] = "application/json; charset=utf-8"
	}
	h := http.Header{
		headerContentType: v[0:1:1],
		headerAppID:       v[1:2:2],
		headerUserID:      v[2:3:3],
		headerAuth:        v[3:4:4],
	}
	if path == contract.PathMe {
		h[headerAccept] = v[4:5:5]
	}
	return h
}

// nativeHeader is the Android Protection Mode service's request header
// (contract §2.6): Accept on every request, Content-Type only with a body
// and without a charset, the app and user ids and the bearer userHash.
func nativeHeader(s scenario.Session, _ string, withBody bool) http.Header {
	v := &[4]string{"application/json", s.AppID, s.ExternalUserID, "Bearer " + s.UserHash.Reveal()}
	h := http.Header{
		headerAccept: v[0:1:1],
		headerAppID:  v[1:2:2],
		headerUserID: v[2:3:3],
		headerAuth:   v[3:4:4],
	}
	if withBody {
		h[headerContentType] = v[0:1:1]
	}
	return h
}

// bodyBuffers holds the buffers responses are read into, so that a
// request does not allocate one (~512 B and up) each time.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putBodyBuffer returns buf to the pool, unless a large answer grew it.
func putBodyBuffer(buf *bytes.Buffer) {
	if buf.Cap() > 64<<10 {
		return
	}
	buf.Reset()
	bodyBuffers.Put(buf)
}

// urlOp is how http.Client names a method in its errors ("Get").
func urlOp(method string) string {
	if method == "" {
		return "Get"
	}
	return method[:1] + strings.ToLower(method[1:])
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
