package refbackend

import (
	"context"
	"github.com/eixamsim/eixamsim/faults"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eixamsim/eixamsim/contract"
)

func TestStartInvalidConfig(t *testing.T) {
	apps := map[string][]byte{app1: []byte(secret1)}
	tests := []struct {
		name string
		cfg  Config
		want string // part of the error
	}{
		{"no app", Config{HTTPAddr: "127.0.0.1:0"}, "no app"},
		{"empty app id", Config{HTTPAddr: "127.0.0.1:0", Apps: map[string][]byte{"": []byte("s")}}, "app id"},
		{"colon in app id", Config{HTTPAddr: "127.0.0.1:0", Apps: map[string][]byte{"a:b": []byte("s")}}, "':'"},
		{"empty secret", Config{HTTPAddr: "127.0.0.1:0", Apps: map[string][]byte{"a": nil}}, "empty secret"},
		{"no listener", Config{Apps: apps}, "no listener"},
		{"cert without key", Config{HTTPAddr: "127.0.0.1:0", Apps: apps, TLSCertFile: "c.pem"}, "TLS"},
		{"missing cert files", Config{HTTPAddr: "127.0.0.1:0", Apps: apps, TLSCertFile: "/nonexistent/c.pem", TLSKeyFile: "/nonexistent/k.pem"}, "certificate"},
		{"negative limit", Config{HTTPAddr: "127.0.0.1:0", Apps: apps, MaxContactsPerUser: -1}, "negative"},
		{"bad address", Config{MQTTAddr: "127.0.0.1:99999", Apps: apps}, "listen"},
	}
	for _, tt := range tests {
		s, err := Start(context.Background(), tt.cfg)
		if err == nil {
			s.Close()
			t.Errorf("%s: Start succeeded", tt.name)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %q does not mention %q", tt.name, err, tt.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Start(ctx, testConfig()); err == nil {
		t.Error("Start with a cancelled context succeeded")
	}
}

func TestStartPortInUse(t *testing.T) {
	first := startServer(t, nil)
	for _, edit := range []func(*Config){
		func(c *Config) { c.MQTTAddr = hostPort(t, first.MQTTURL()) },
		func(c *Config) { c.WSAddr = hostPort(t, first.WSURL()) },
		func(c *Config) { c.HTTPAddr = hostPort(t, first.HTTPURL()) },
	} {
		cfg := testConfig()
		edit(&cfg)
		if s, err := Start(context.Background(), cfg); err == nil {
			s.Close()
			t.Errorf("Start on a used port succeeded: %+v", cfg)
		}
	}
	// The failed starts released the ports they had bound: the package's
	// leak check (TestMain) covers their goroutines.
}

func TestConfigIsCopied(t *testing.T) {
	cfg := testConfig()
	cfg.Faults.ErrorRate = map[string]float64{"*": 0}
	s := startServer(t, func(c *Config) { *c = cfg })
	cfg.Apps[app1] = []byte("changed")
	cfg.Faults.ErrorRate["*"] = 1
	if cfg.MaxBodyBytes != 0 {
		t.Error("Start wrote its defaults into the caller's Config")
	}
	wantStatus(t, "me", newAPIClient(t, s, signed(app1, secret1, "u")).do(t, "GET", "/v1/sdk/me", nil), 200)
}

func TestURLs(t *testing.T) {
	s := startServer(t, func(c *Config) { c.WSAddr, c.HTTPAddr = "", "" })
	if !strings.HasPrefix(s.MQTTURL(), "tcp://127.0.0.1:") || s.WSURL() != "" || s.HTTPURL() != "" {
		t.Errorf("URLs %q %q %q", s.MQTTURL(), s.WSURL(), s.HTTPURL())
	}
	for in, want := range map[string]string{
		"0.0.0.0:1883":   "127.0.0.1:1883",
		"[::]:1883":      "[::1]:1883",
		"127.0.0.1:8080": "127.0.0.1:8080",
		"[::1]:8080":     "[::1]:8080",
	} {
		if got := dialAddr(in); got != want {
			t.Errorf("dialAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCloseReleasesEverything closes a busy server: connected MQTT (TCP and
// WebSocket) clients, a connection that never sends CONNECT, an HTTP request
// held by injected latency, a pending acknowledgement and a delayed event.
func TestCloseReleasesEverything(t *testing.T) {
	cfg := testConfig()
	cfg.AckDelay = time.Hour
	cfg.Faults.EventDelay = time.Hour
	cfg.Faults.EndpointLatency = map[string]faults.Latency{contract.EndpointContactsList: {Kind: "fixed", Fixed: time.Hour}}
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	id := signed(app1, secret1, "user-1")
	tcpClient, _, err := connectMQTTNoCleanup(dialTCP(t, s), id)
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := connectMQTTNoCleanup(dialWS(t, s.WSURL(), nil), signed(app1, secret1, "user-2"))
	if err != nil {
		t.Fatal(err)
	}
	silent := dialTCP(t, s) // never sends CONNECT
	defer silent.Close()
	tcpClient.publish(t, contract.TopicSOSAlerts, alert(1, 2))
	if st := s.Stats(); st.SOS.AckPending != 1 || st.Events.Pending != 1 {
		t.Fatalf("want a pending ack and event, got %+v %+v", st.SOS, st.Events)
	}

	tr := &http.Transport{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // held by the one-hour latency until Close
		defer wg.Done()
		req, _ := http.NewRequest("GET", s.HTTPURL()+"/v1/sdk/contacts", nil)
		req.Header.Set(contract.HeaderAppID, id.app)
		req.Header.Set(contract.HeaderUserID, id.user)
		req.Header.Set("Authorization", "Bearer "+id.hash)
		if resp, err := (&http.Client{Transport: tr}).Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(20 * time.Millisecond) // let the request reach its latency wait; Close must end it either way

	start := time.Now()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %v", d)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	for _, c := range []*mqttClient{tcpClient, ws} {
		select {
		case <-c.Done(): // the server's DISCONNECT ended the client
		case <-time.After(waitFor):
			t.Fatal("client still connected after Close")
		}
	}
	wg.Wait()
	tr.CloseIdleConnections()
	silent.Close()
	goleak.VerifyNone(t)
}
