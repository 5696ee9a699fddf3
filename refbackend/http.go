package refbackend

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/eixamsim/eixamsim/contract"
)

// statsPath serves Stats as JSON, without authentication or faults.
const statsPath = "/debug/stats"

// debugPrefix starts the paths that faults (latency, errors, stalls) never
// apply to.
const debugPrefix = "/debug/"

// handlerFunc serves one endpoint for an authenticated user; id is the
// {id} path segment of rows 8, 9 and 12, "" elsewhere.
type handlerFunc func(w http.ResponseWriter, r *http.Request, u *user, id string)

// route is one method of one path.
type route struct {
	endpoint string
	handle   handlerFunc
}

// api is the SDK HTTP API (contract §2). It does its own routing instead of
// using http.ServeMux, which answers the SDK's doubled-slash paths
// ("//v1/sdk/me", contract §2.1, §7) with a redirect the SDK cannot follow
// for POST, PUT and DELETE. Every answer but 204 is JSON with
// Content-Type application/json; errors are {"error":"…"}.
type api struct {
	s          *Server
	exact      map[string]map[string]route // path -> method -> route
	withID     map[string]map[string]route // path prefix ending in "/" -> method -> route
	contactSeq atomic.Uint64
	deviceSeq  atomic.Uint64
}

func newAPI(s *Server) *api {
	a := &api{s: s}
	a.exact = map[string]map[string]route{
		contract.PathMe: {
			http.MethodGet: {contract.EndpointMe, a.me},
		},
		contract.PathSOS: {
			http.MethodGet:  {contract.EndpointSOSGet, a.sosGet},
			http.MethodPost: {contract.EndpointSOSCreate, a.sosCreate},
		},
		contract.PathSOSCancel: {
			http.MethodPost: {contract.EndpointSOSCancel, a.sosCancel},
		},
		contract.PathSOSResolve: {
			http.MethodPost: {contract.EndpointSOSResolve, a.sosResolve},
		},
		contract.PathContacts: {
			http.MethodGet:  {contract.EndpointContactsList, a.contactsList},
			http.MethodPost: {contract.EndpointContactsCreate, a.contactsCreate},
		},
		contract.PathDevices: {
			http.MethodGet:  {contract.EndpointDevicesList, a.devicesList},
			http.MethodPost: {contract.EndpointDevicesUpsert, a.devicesUpsert},
		},
	}
	a.withID = map[string]map[string]route{
		contract.PathContacts + "/": {
			http.MethodPut:    {contract.EndpointContactsUpdate, a.contactsUpdate},
			http.MethodDelete: {contract.EndpointContactsDelete, a.contactsDelete},
		},
		contract.PathDevices + "/": {
			http.MethodDelete: {contract.EndpointDevicesDelete, a.devicesDelete},
		},
	}
	return a
}

// ServeHTTP implements http.Handler. Order of checks: stall (held),
// path (404), method (405), the capacity model's queue (held for its wait
// and service time, or 503 when full), injected latency, injected 503,
// authentication (401), then the endpoint (400, 404, 409, 413 or success);
// the answer is held again if a stall began meanwhile. /debug/* is served
// without any of the faults and outside the capacity model.
func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := "/" + strings.TrimLeft(r.URL.Path, "/") // "//v1/sdk/me" is "/v1/sdk/me"
	if strings.HasPrefix(path, debugPrefix) {
		a.serveDebug(w, r, path)
		return
	}
	h := &hold{st: &a.s.stall, stats: a.s.stats, ctx: r.Context()}
	if !h.wait() {
		return // client gone or server closing
	}
	w = &stallWriter{ResponseWriter: w, h: h}
	methods, id := a.lookup(path)
	if methods == nil {
		a.s.stats.httpUnrouted.add(http.StatusNotFound)
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+path)
		return
	}
	rt, ok := methods[r.Method]
	if !ok {
		a.s.stats.httpUnrouted.add(http.StatusMethodNotAllowed)
		w.Header().Set("Allow", strings.Join(slices.Sorted(maps.Keys(methods)), ", "))
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+path)
		return
	}
	rec := &recorder{ResponseWriter: w, count: func(status int) {
		a.s.stats.httpRequests.add(endpointStatus{rt.endpoint, status})
	}}
	if q := a.s.capacity.forEndpoint(rt.endpoint); q != nil && !q.serve(r.Context()) {
		rec.Header().Set("Retry-After", q.retryAfter())
		writeError(rec, http.StatusServiceUnavailable, "over capacity: "+q.name)
		return
	}
	f := a.s.faults.Load()
	if !sleep(r.Context(), f.LatencyFor(rt.endpoint)) {
		return // client gone or server closing
	}
	if f.InjectError(rt.endpoint) {
		writeError(rec, http.StatusServiceUnavailable, "injected fault")
		return
	}
	u, reason := a.authenticate(r)
	if u == nil {
		a.s.stats.httpAuthFailures.add(reason)
		rec.Header().Set("WWW-Authenticate", `Bearer realm="eixam-sdk"`)
		writeError(rec, http.StatusUnauthorized, "unauthorized: "+reason)
		return
	}
	rt.handle(rec, r, u, id)
}

// lookup returns the methods of path and its {id} segment; nil if no
// endpoint has that path.
func (a *api) lookup(path string) (map[string]route, string) {
	if m, ok := a.exact[path]; ok {
		return m, ""
	}
	for prefix, m := range a.withID {
		if id, ok := strings.CutPrefix(path, prefix); ok && id != "" && !strings.Contains(id, "/") {
			return m, id
		}
	}
	return nil, ""
}

// serveDebug serves /debug/stats and, with Config.FaultControl,
// /debug/faults/*; anything else under /debug/ is 404.
func (a *api) serveDebug(w http.ResponseWriter, r *http.Request, path string) {
	switch {
	case path == statsPath:
		a.serveStats(w, r)
	case strings.HasPrefix(path, faultControlPrefix) && a.s.cfg.FaultControl:
		a.serveFaultControl(w, r, strings.TrimPrefix(path, faultControlPrefix))
	default:
		a.s.stats.httpUnrouted.add(http.StatusNotFound)
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+path)
	}
}

// serveStats answers GET /debug/stats; ?per_user=false leaves out the
// per-user telemetry.
func (a *api) serveStats(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		a.s.stats.httpUnrouted.add(http.StatusMethodNotAllowed)
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+statsPath)
		return
	}
	var users []*user
	switch r.URL.Query().Get("per_user") {
	case "false", "0", "no":
	default:
		users = a.s.ids.all()
	}
	writeJSON(w, http.StatusOK, a.s.snapshot(users))
}

// me serves GET /v1/sdk/me (contract §2.3).
func (a *api) me(w http.ResponseWriter, _ *http.Request, u *user, _ string) {
	writeJSON(w, http.StatusOK, contract.Me{User: contract.MeUser{ID: u.id, ExternalUserID: u.canonical}})
}

// recorder counts the status of a response before any byte of it is sent,
// so a client never sees an answer the Stats do not show yet.
type recorder struct {
	http.ResponseWriter
	count   func(status int)
	counted bool
}

func (r *recorder) WriteHeader(status int) {
	if !r.counted {
		r.counted = true
		r.count(status)
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.counted {
		r.WriteHeader(http.StatusOK)
	}
	return r.ResponseWriter.Write(b)
}

// sleep waits d; false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// writeJSON writes v as a JSON answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// errorBody is the JSON body of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

// writeError writes {"error": msg} with status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

// writeNoContent answers 204 without a body (DELETE, contract §2.2).
func writeNoContent(w http.ResponseWriter) {
	w.WriteHeader(http.StatusNoContent)
}
