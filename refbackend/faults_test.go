package refbackend

import (
	"github.com/eixamsim/eixamsim/faults"
	"strings"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/contract"
)

// TestStartRejectsBadFaults checks that Start validates Config.Faults.
func TestStartRejectsBadFaults(t *testing.T) {
	bad := faults.Set{ErrorRate: map[string]float64{"sos_cancle": 0.1}}
	if _, err := Start(t.Context(), Config{HTTPAddr: "127.0.0.1:0", Apps: map[string][]byte{"a": []byte("s")}, Faults: bad}); err == nil || !strings.Contains(err.Error(), "sos_cancle") {
		t.Errorf("Start with a bad fault: %v", err)
	}
}

func TestFaultHTTPLatency(t *testing.T) {
	const fixed, low, high = 40 * time.Millisecond, 60 * time.Millisecond, 70 * time.Millisecond
	s := startServer(t, func(c *Config) {
		c.Faults.HTTPLatency = faults.Latency{Kind: "fixed", Fixed: fixed}
		c.Faults.EndpointLatency = map[string]faults.Latency{contract.EndpointMe: {Kind: "uniform", Min: low, Max: high}}
	})
	api := newAPIClient(t, s, signed(app1, secret1, "user-1"))
	for i := 0; i < 3; i++ {
		start := time.Now()
		wantStatus(t, "sos", api.do(t, "GET", "/v1/sdk/sos", nil), 200)
		if d := time.Since(start); d < fixed {
			t.Errorf("GET sos took %v, want >= %v", d, fixed)
		}
		start = time.Now()
		wantStatus(t, "me", api.do(t, "GET", "/v1/sdk/me", nil), 200)
		if d := time.Since(start); d < low {
			t.Errorf("GET me took %v, want >= %v (endpoint override)", d, low)
		}
	}
}

func TestFaultErrorRate(t *testing.T) {
	const n, rate = 400, 0.3
	s := startServer(t, func(c *Config) {
		c.Faults.ErrorRate = map[string]float64{contract.EndpointSOSGet: rate, "*": 1, contract.EndpointMe: 0}
	})
	api := newAPIClient(t, s, signed(app1, secret1, "user-1"))
	failed := 0
	for i := 0; i < n; i++ {
		r := api.do(t, "GET", "/v1/sdk/sos", nil)
		switch r.status {
		case 503:
			failed++
			if msg := r.errorMessage(t); msg != "injected fault" {
				t.Fatalf("503 message %q", msg)
			}
		case 200:
		default:
			t.Fatalf("status %d", r.status)
		}
	}
	// Binomial(400, 0.3): mean 120, sd 9.2; accept ±6 sd.
	if failed < 65 || failed > 175 {
		t.Errorf("%d of %d requests failed, want about %v", failed, n, rate*n)
	}
	if got := s.Stats().HTTP.Requests[contract.EndpointSOSGet][503]; got != int64(failed) {
		t.Errorf("stats count %d injected 503s, the client saw %d", got, failed)
	}
	// "*" covers endpoints without their own rate; an explicit 0 wins.
	wantStatus(t, "contacts (rate 1 via *)", api.do(t, "GET", "/v1/sdk/contacts", nil), 503)
	wantStatus(t, "me (rate 0)", api.do(t, "GET", "/v1/sdk/me", nil), 200)
}

func TestSetFaults(t *testing.T) {
	s := startServer(t, nil)
	api := newAPIClient(t, s, signed(app1, secret1, "user-1"))
	wantStatus(t, "before", api.do(t, "GET", "/v1/sdk/me", nil), 200)
	f := faults.Set{ErrorRate: map[string]float64{"*": 1}}
	if err := s.SetFaults(f); err != nil {
		t.Fatal(err)
	}
	f.ErrorRate["*"] = 0 // the server keeps its own copy
	wantStatus(t, "all failing", api.do(t, "GET", "/v1/sdk/me", nil), 503)
	if err := s.SetFaults(faults.Set{EventDropRate: 2}); err == nil {
		t.Error("SetFaults accepted a drop rate of 2")
	}
	wantStatus(t, "invalid faults ignored", api.do(t, "GET", "/v1/sdk/me", nil), 503)
	if err := s.SetFaults(faults.Set{}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "after", api.do(t, "GET", "/v1/sdk/me", nil), 200)
}

func TestFaultEventDropAll(t *testing.T) {
	s := startServer(t, func(c *Config) {
		c.AckDelay = 0
		c.Faults.EventDropRate = 1
	})
	c, api := sosUser(t, s)
	c.publish(t, contract.TopicSOSAlerts, alert(1, 2))
	if inc := api.do(t, "GET", "/v1/sdk/sos", nil).incident(t); inc == nil || inc.State != "acknowledged" {
		t.Fatalf("state changes must still happen: %+v", inc)
	}
	wantStatus(t, "cancel", api.do(t, "POST", "/v1/sdk/sos/cancel", nil), 200)
	st := s.Stats().Events
	if st.Dropped != 3 || st.Published != 0 || st.Pending != 0 {
		t.Errorf("events = %+v, want 3 dropped and none published", st)
	}
	if n := len(c.received); n != 0 {
		t.Errorf("client received %d events", n)
	}
}

func TestFaultEventDelay(t *testing.T) {
	const delay = 150 * time.Millisecond
	s := startServer(t, func(c *Config) {
		c.AckDelay = 0
		c.Faults.EventDelay = delay
	})
	c, api := sosUser(t, s)
	start := time.Now()
	c.publish(t, contract.TopicSOSAlerts, alert(1, 2))
	inc := api.do(t, "GET", "/v1/sdk/sos", nil).incident(t)
	if inc == nil {
		t.Fatal("the incident must be visible before its delayed event")
	}
	wantEvent(t, c, inc.ID, "active")
	if d := time.Since(start); d < delay {
		t.Errorf("event after %v, want >= %v", d, delay)
	}
	wantEvent(t, c, inc.ID, "acknowledged") // order kept
}
