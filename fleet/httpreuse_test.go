package fleet_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// TestLoginsReuseIdleHTTPConnections logs 20 users in one at a time
// (MaxLoginsInFlight 1: 40 GETs, never two at once) through the shared
// transport and counts the TCP connections the HTTP server accepted. A
// request dials only when no connection is idle; the one the previous
// request used goes back to the pool a moment after its body is read, so a
// request may dial once while it is on its way back, and from then on one
// of the two is always idle: at most 2 connections.
func TestLoginsReuseIdleHTTPConnections(t *testing.T) {
	t.Parallel() // leaks: TestMain
	srv := startBackend(t, "demo-secret", 0)
	defer srv.Close()
	target, err := url.Parse(srv.HTTPURL())
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	var conns, requests atomic.Int64
	proxy := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		rp.ServeHTTP(w, r)
	}))
	proxy.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	proxy.Start()
	defer proxy.Close()
	if tr, ok := rp.Transport.(*http.Transport); ok {
		defer tr.CloseIdleConnections()
	} else {
		defer http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	}

	sc := parse(t, `
version: 1
name: reuse
duration: 5s
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 20, connect_rate: 1000/s }
behaviours:
  login: [me, sos_rehydrate]
`)
	reg := metrics.NewRegistry()
	r, err := fleet.New(fleet.Config{Scenario: sc, HTTPURL: proxy.URL, MQTTURL: srv.MQTTURL(), Metrics: reg,
		Logger: testLogger(t), MaxLoginsInFlight: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if s := reg.Latency(scenario.UserLogin).Summary(); s.Count != 20 || s.Errors != 0 {
		t.Fatalf("user.login: %d samples, %d errors %v; want 20, 0", s.Count, s.Errors, s.ErrorsBy)
	}
	if n := requests.Load(); n != 40 {
		t.Fatalf("%d requests reached the server, want 40", n)
	}
	if n := conns.Load(); n > 2 {
		t.Errorf("40 sequential GETs opened %d TCP connections, want at most 2: a request dialed while an idle connection existed", n)
	}
	t.Logf("40 GETs over %d TCP connections", conns.Load())
}

// TestStalledBodyIsATimeout answers GET /v1/sdk/me with its status and
// headers at once and then no body until the client gives up: fleet's
// http_timeout bounds the whole request, body included, so every attempt
// is an http.me error of class timeout and no user logs in.
func TestStalledBodyIsATimeout(t *testing.T) {
	t.Parallel() // leaks: TestMain
	srv := startBackend(t, "demo-secret", 0)
	defer srv.Close()
	var stalled atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		stalled.Add(1)
		<-r.Context().Done() // the client hung up
	}))
	defer api.Close()
	sc := parse(t, `
version: 1
name: stalled-body
duration: 1500ms
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 3, connect_rate: 1000/s, http_timeout: 300ms }
behaviours:
  login: [me]
`)
	reg, _ := run(t, sc, api.URL, srv.MQTTURL())
	me := reg.Latency(scenario.HTTPMe).Summary()
	if me.Count != 0 || me.ErrorsBy["timeout"] == 0 || len(me.ErrorsBy) != 1 {
		t.Errorf("http.me: %d ok, errors %v; want only timeouts", me.Count, me.ErrorsBy)
	}
	if n := reg.Latency(scenario.UserLogin).Summary().Count; n != 0 {
		t.Errorf("%d users logged in on a body that never came", n)
	}
	if stalled.Load() == 0 {
		t.Error("no request reached the stalling handler")
	}
	t.Logf("http.me errors %v", me.ErrorsBy)
}

// TestRedirectIsReportedAsItsStatus answers GET /v1/sdk/me with a 302 to
// another path: the simulator never follows a redirect, so every attempt
// is an http.me error of class http_302 and the other path is never asked.
func TestRedirectIsReportedAsItsStatus(t *testing.T) {
	t.Parallel() // leaks: TestMain
	srv := startBackend(t, "demo-secret", 0)
	defer srv.Close()
	var followed atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/sdk/me" {
			followed.Add(1)
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer api.Close()
	sc := parse(t, `
version: 1
name: redirect
duration: 500ms
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 3, connect_rate: 1000/s }
behaviours:
  login: [me]
`)
	reg, _ := run(t, sc, api.URL, srv.MQTTURL())
	me := reg.Latency(scenario.HTTPMe).Summary()
	if me.Count != 0 || me.ErrorsBy["http_302"] == 0 || len(me.ErrorsBy) != 1 {
		t.Errorf("http.me: %d ok, errors %v; want only http_302", me.Count, me.ErrorsBy)
	}
	if n := followed.Load(); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
	}
}
