package promwrite

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// protocolHeaders are set by the remote-write protocol itself.
var protocolHeaders = []string{"Content-Type", "Content-Encoding", "X-Prometheus-Remote-Write-Version", "User-Agent", "Retry-Attempt"}

// checkAuth reports headers that are not valid HTTP, or that the protocol
// owns, and credentials given twice.
func checkAuth(cfg Config) error {
	var errs []error
	for name, values := range cfg.Headers {
		if !httpguts.ValidHeaderFieldName(name) {
			errs = append(errs, fmt.Errorf("header %q: not a valid header name", name))
			continue
		}
		for _, p := range protocolHeaders {
			if strings.EqualFold(name, p) {
				errs = append(errs, fmt.Errorf("header %s: set by the remote-write protocol, not settable", name))
			}
		}
		for _, v := range values {
			if !httpguts.ValidHeaderFieldValue(v) {
				errs = append(errs, fmt.Errorf("header %s: its value is not a valid header value", name))
			}
		}
	}
	hasAuthHeader := cfg.Headers.Get("Authorization") != ""
	switch {
	case cfg.BearerToken != "" && cfg.BasicAuth != nil:
		errs = append(errs, errors.New("both a bearer token and basic auth: give one"))
	case (cfg.BearerToken != "" || cfg.BasicAuth != nil) && hasAuthHeader:
		errs = append(errs, errors.New("an Authorization header and credentials: give one"))
	}
	if b := cfg.BasicAuth; b != nil && (b.User == "" || strings.Contains(b.User, ":")) {
		errs = append(errs, errors.New("basic auth: the user must be non-empty and without ':'"))
	}
	return errors.Join(errs...)
}

// authTransport adds the configured headers and credentials to every
// request, on a clone (a RoundTripper must not change its request).
type authTransport struct {
	next    http.RoundTripper
	headers http.Header
	bearer  string
	basic   *BasicAuth
}

func newAuthTransport(next http.RoundTripper, cfg Config) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	if len(cfg.Headers) == 0 && cfg.BearerToken == "" && cfg.BasicAuth == nil {
		return next
	}
	var basic *BasicAuth
	if cfg.BasicAuth != nil {
		b := *cfg.BasicAuth
		basic = &b
	}
	return &authTransport{next: next, headers: cfg.Headers.Clone(), bearer: cfg.BearerToken, basic: basic}
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	for name, values := range t.headers {
		r.Header.Del(name)
		for _, v := range values {
			r.Header.Add(name, v)
		}
	}
	switch {
	case t.bearer != "":
		r.Header.Set("Authorization", "Bearer "+t.bearer)
	case t.basic != nil:
		r.SetBasicAuth(t.basic.User, t.basic.Password)
	}
	return t.next.RoundTrip(r)
}
