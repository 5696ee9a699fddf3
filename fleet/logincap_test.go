package fleet_test

import (
	"context"
	"github.com/eixamsim/eixamsim/faults"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// concurrency counts requests in flight on one path and keeps the highest
// count seen.
type concurrency struct {
	mu       sync.Mutex
	now, max int
}

func (c *concurrency) enter() {
	c.mu.Lock()
	c.now++
	c.max = max(c.max, c.now)
	c.mu.Unlock()
}

func (c *concurrency) leave() {
	c.mu.Lock()
	c.now--
	c.mu.Unlock()
}

func (c *concurrency) highest() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.max
}

// TestLoginsInFlightAreCapped asks for 40 users at once against a backend
// whose /v1/sdk/me takes 200 ms, with MaxLoginsInFlight 4: a proxy in front
// of the backend must never see more than 4 /me requests at once, every
// user must still log in, and the queueing must show in user.login (the
// last users waited ~10 rounds of 200 ms) but not in http.me.
func TestLoginsInFlightAreCapped(t *testing.T) {
	t.Parallel() // leaks: TestMain; it only waits on a slow backend
	const (
		users  = 20
		limit  = 4
		meTime = 200 * time.Millisecond
	)
	srv := startFaulty(t, faults.Set{EndpointLatency: map[string]faults.Latency{
		contract.EndpointMe: {Kind: "fixed", Fixed: meTime},
	}}, -1)
	defer srv.Close()
	target, err := url.Parse(srv.HTTPURL())
	if err != nil {
		t.Fatal(err)
	}
	var me concurrency
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == contract.PathMe {
			me.enter()
			defer me.leave()
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	defer proxy.Client().CloseIdleConnections()
	if tr, ok := rp.Transport.(*http.Transport); ok {
		defer tr.CloseIdleConnections()
	} else {
		defer http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	}

	sc := parse(t, `
version: 1
name: login-cap
duration: 2s
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 20, connect_rate: 2000/s }
behaviours:
  login: [me]
`)
	reg := metrics.NewRegistry()
	r, err := fleet.New(fleet.Config{Scenario: sc, HTTPURL: proxy.URL, MQTTURL: srv.MQTTURL(), Metrics: reg,
		Logger: testLogger(t), MaxLoginsInFlight: limit})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}

	if got := me.highest(); got != limit {
		t.Errorf("at most %d /v1/sdk/me requests were in flight at once, want exactly the cap %d", got, limit)
	}
	login := reg.Latency(scenario.UserLogin).Summary()
	if login.Count != users || login.Errors != 0 {
		t.Fatalf("user.login: %d samples, %d errors %v; want %d, 0", login.Count, login.Errors, login.ErrorsBy, users)
	}
	// users/limit rounds of meTime: the last user queued for 4 of them.
	if minWait := (users/limit - 1) * meTime; login.Max < minWait {
		t.Errorf("user.login max %v is below the %v the last users queued: queueing was not counted", login.Max, minWait)
	}
	hm := reg.Latency(scenario.HTTPMe).Summary()
	if p50, _ := hm.At(50); hm.Min < meTime || p50 > meTime+medianMargin {
		t.Errorf("http.me min %v, median %v; want about %v (the queue must not count in the request)", hm.Min, p50, meTime)
	}
	t.Logf("max /me in flight %d; user.login max %v; http.me min %v max %v", me.highest(), login.Max, hm.Min, hm.Max)
}
