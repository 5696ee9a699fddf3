package refbackend

import (
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/internal/testcert"
	"github.com/eixamsim/eixamsim/internal/wsconn"
)

// dialWS opens an MQTT-over-WebSocket connection the way mqtt5_client does
// (sub-protocols mqtt and mqttv5) and presents it as a net.Conn.
func dialWS(t *testing.T, wsURL string, tlsConfig *tls.Config) net.Conn {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"mqtt", "mqttv5"}, TLSClientConfig: tlsConfig, HandshakeTimeout: waitFor}
	c, resp, err := d.Dial(wsURL, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", wsURL, err)
	}
	resp.Body.Close()
	if c.Subprotocol() != "mqtt" {
		t.Errorf("negotiated sub-protocol %q, want mqtt", c.Subprotocol())
	}
	return wsconn.New(c)
}

// sosRoundTrip connects over conn, raises an SOS and waits for its event.
func sosRoundTrip(t *testing.T, conn net.Conn, id identity) {
	t.Helper()
	c, ca, err := connectMQTT(t, conn, id)
	if err != nil {
		t.Fatalf("connect: %v %+v", err, ca)
	}
	if code := c.subscribe(t, contract.EventsTopic(id.user)); code != 1 {
		t.Fatalf("subscribe: 0x%02x", code)
	}
	if code := c.publish(t, contract.TelemetryTopic(id.user), telemetry(1, 2)); code != 0 {
		t.Fatalf("telemetry: 0x%02x", code)
	}
	if code := c.publish(t, contract.TopicSOSAlerts, alert(1, 2)); code != 0 {
		t.Fatalf("alert: 0x%02x", code)
	}
	if ev := c.nextEvent(t); ev.Status != "active" {
		t.Fatalf("event %+v", ev)
	}
}

func TestWebSocketListener(t *testing.T) {
	s := startServer(t, nil)
	if !strings.HasPrefix(s.WSURL(), "ws://127.0.0.1:") || !strings.HasSuffix(s.WSURL(), "/ws") {
		t.Fatalf("WSURL = %q", s.WSURL())
	}
	sosRoundTrip(t, dialWS(t, s.WSURL(), nil), signed(app1, secret1, "ws-user"))

	// Bad credentials are refused over WebSocket too.
	_, ca, err := connectMQTT(t, dialWS(t, s.WSURL(), nil), identity{app1, "ws-user", "bad"})
	if err == nil || ca == nil || ca.ReasonCode != 0x86 {
		t.Errorf("bad credentials over ws: %+v %v", ca, err)
	}

	// Only /ws upgrades.
	base := "http://" + hostPort(t, s.WSURL())
	for path, want := range map[string]int{"/": 404, "/mqtt": 404, "/ws": 400} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s (no upgrade): %d, want %d", path, resp.StatusCode, want)
		}
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestTLSListeners(t *testing.T) {
	certFile, keyFile, pool := testcert.Write(t)
	s := startServer(t, func(c *Config) { c.TLSCertFile, c.TLSKeyFile = certFile, keyFile })
	for name, u := range map[string]string{"mqtt": s.MQTTURL(), "ws": s.WSURL(), "http": s.HTTPURL()} {
		if !strings.HasPrefix(u, map[string]string{"mqtt": "ssl://", "ws": "wss://", "http": "https://"}[name]) {
			t.Errorf("%s URL %q has the wrong scheme", name, u)
		}
	}
	clientTLS := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}

	conn, err := tls.Dial("tcp", hostPort(t, s.MQTTURL()), clientTLS)
	if err != nil {
		t.Fatalf("tls dial: %v", err)
	}
	sosRoundTrip(t, conn, signed(app1, secret1, "tls-user"))
	sosRoundTrip(t, dialWS(t, s.WSURL(), clientTLS), signed(app1, secret1, "wss-user"))

	api := newAPIClientTLS(t, s.HTTPURL(), signed(app1, secret1, "tls-user"), clientTLS)
	if inc := api.do(t, "GET", "/v1/sdk/sos", nil).incident(t); inc == nil {
		t.Error("https GET sos does not see the incident raised over ssl://")
	}
	// A client that does not trust the certificate fails (as the SDK would).
	if _, err := tls.Dial("tcp", hostPort(t, s.MQTTURL()), &tls.Config{ServerName: "127.0.0.1"}); err == nil {
		t.Error("untrusted certificate accepted")
	}
}
