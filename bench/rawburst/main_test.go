package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/refbackend"
)

// backend is the reference backend (it checks the Bearer HMAC, the MQTT
// credentials and that a user subscribes to its own canonical events
// topic; its canonical ids are "canon-" + the user's) behind a proxy that
// keeps every request's headers by path.
type backend struct {
	srv   *refbackend.Server
	front *httptest.Server
	mu    sync.Mutex
	seen  map[string][]http.Header
}

func startBackend(t *testing.T) *backend {
	t.Helper()
	srv, err := refbackend.Start(context.Background(), refbackend.Config{
		MQTTAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		Apps:            map[string][]byte{"demo-app": []byte("demo-secret")},
		CanonicalPrefix: "canon-",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	target, err := url.Parse(srv.HTTPURL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	b := &backend{srv: srv, seen: map[string][]http.Header{}}
	b.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.seen[r.URL.Path] = append(b.seen[r.URL.Path], r.Header.Clone())
		b.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(b.front.Close)
	return b
}

func (b *backend) config(login bool, secret string) config {
	return config{
		login: login, broker: strings.TrimPrefix(b.srv.MQTTURL(), "tcp://"), base: b.front.URL,
		app: "demo-app", secret: []byte(secret), users: 20, inflight: 4,
	}
}

// With -login every user makes both login calls with the SDK's headers,
// takes its topic segment from /me (the backend's canonical id differs
// from the user id) and comes online, over at most one HTTP connection
// per worker.
func TestLoginIsTheSDKs(t *testing.T) {
	b := startBackend(t)
	res := newBurst(b.config(true, "demo-secret")).run(context.Background())
	if res.Connected != 20 || len(res.Errors) != 0 {
		t.Fatalf("connected %d of 20, errors %v", res.Connected, res.Errors)
	}
	if res.HTTPRequests != 40 || res.HTTPConnections < 1 || res.HTTPConnections > 4 {
		t.Errorf("%d requests over %d new connections, want 40 over 1..4 (one per worker at most)", res.HTTPRequests, res.HTTPConnections)
	}
	st := b.srv.Stats()
	if st.MQTT.ConnectsAccepted != 20 || st.MQTT.ACLDeniedSubscribe != 0 {
		t.Errorf("backend: %d connects accepted, %d subscriptions denied; want 20 and 0", st.MQTT.ConnectsAccepted, st.MQTT.ACLDeniedSubscribe)
	}
	if me, sos := st.HTTP.Requests[contract.EndpointMe][200], st.HTTP.Requests[contract.EndpointSOSGet][200]; me != 20 || sos != 20 {
		t.Errorf("backend answered 200 to %d GET /v1/sdk/me and %d GET /v1/sdk/sos, want 20 each", me, sos)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for path, accept := range map[string]string{contract.PathMe: "application/json", contract.PathSOS: ""} {
		if len(b.seen[path]) != 20 {
			t.Errorf("%s: %d requests, want 20", path, len(b.seen[path]))
		}
		for _, h := range b.seen[path] {
			id := h.Get(contract.HeaderUserID)
			want := map[string]string{
				"Accept": accept, "Content-Type": "application/json", contract.HeaderAppID: "demo-app",
				"Authorization": "Bearer " + contract.Sign([]byte("demo-secret"), id),
			}
			for k, v := range want {
				if got := h.Get(k); got != v {
					t.Errorf("%s for %s: %s %q, want %q", path, id, k, got, v)
				}
			}
		}
	}
}

// A refused login is counted by step and class, and nobody connects.
func TestRefusedLoginsAreCounted(t *testing.T) {
	b := startBackend(t)
	res := newBurst(b.config(true, "wrong-secret")).run(context.Background())
	if res.Connected != 0 || res.Errors["me http_401"] != 20 || len(res.Errors) != 1 {
		t.Errorf("connected %d, errors %v; want 0 and 20 me http_401", res.Connected, res.Errors)
	}
}

// Without -login the segment is the user id, which this backend's ACL
// refuses (its canonical ids differ): what the login's /me is for.
func TestWithoutLoginTheSegmentIsTheUserID(t *testing.T) {
	b := startBackend(t)
	res := newBurst(b.config(false, "demo-secret")).run(context.Background())
	if res.Connected != 0 || res.HTTPRequests != 0 || res.Errors["subscribe suback_0x87"] != 20 {
		t.Errorf("connected %d, %d HTTP requests, errors %v; want 0, 0 and 20 subscribe suback_0x87 (not authorized)",
			res.Connected, res.HTTPRequests, res.Errors)
	}
}

// pace hands users over on eixamsim's schedule: one per interval from the
// start, a late wake-up absorbed up to one interval, and all at once at
// rate 0.
func TestPace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		due := make(chan int, 10)
		pace(context.Background(), start, 5, 10, due)
		if got, want := time.Since(start), 1800*time.Millisecond; got != want {
			t.Errorf("10 users at 5/s handed over in %v, want %v (the last due at 9 × 200ms)", got, want)
		}
		if len(due) != 10 {
			t.Errorf("%d users handed over, want 10", len(due))
		}

		start = time.Now()
		all := make(chan int, 10)
		pace(context.Background(), start, 0, 10, all)
		if got := time.Since(start); got != 0 || len(all) != 10 {
			t.Errorf("rate 0: %d users in %v, want 10 at once", len(all), got)
		}
	})
}
