package refbackend

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"

	"github.com/eixamsim/eixamsim/contract"
)

// Test apps and their secrets.
const (
	app1, secret1 = "app-1", "secret-1"
	app2, secret2 = "app-2", "secret-2"
)

// waitFor bounds every wait for something asynchronous in these tests.
const waitFor = 5 * time.Second

// testConfig listens on free loopback ports and knows app1 and app2.
func testConfig() Config {
	return Config{
		MQTTAddr: "127.0.0.1:0",
		WSAddr:   "127.0.0.1:0",
		HTTPAddr: "127.0.0.1:0",
		Apps:     map[string][]byte{app1: []byte(secret1), app2: []byte(secret2)},
		AckDelay: -1,
	}
}

// startServer starts a server with testConfig changed by edit and closes it
// when the test ends.
func startServer(t *testing.T, edit func(*Config)) *Server {
	t.Helper()
	cfg := testConfig()
	if edit != nil {
		edit(&cfg)
	}
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// eventually polls cond until it holds or waitFor passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// hostPort strips the scheme and path of a server URL.
func hostPort(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parse %q: %v", rawURL, err)
	}
	return u.Host
}

// identity is one signed test user.
type identity struct {
	app, user, hash string
}

func signed(app, secret, user string) identity {
	return identity{app, user, contract.Sign([]byte(secret), user)}
}

// mqttClient is a paho MQTT 5 client that collects what it receives.
type mqttClient struct {
	*paho.Client
	received chan *paho.Publish
}

// connectMQTT opens an MQTT 5 session as id over conn. On a refused CONNACK
// it returns the CONNACK and an error; a connected client is disconnected
// when the test ends.
func connectMQTT(t *testing.T, conn net.Conn, id identity) (*mqttClient, *paho.Connack, error) {
	t.Helper()
	return connectMQTTAs(t, conn, contract.Username(id.app, id.user), id.hash, contract.ClientID(id.app, id.user))
}

func connectMQTTAs(t *testing.T, conn net.Conn, username, password, clientID string) (*mqttClient, *paho.Connack, error) {
	t.Helper()
	c := &mqttClient{received: make(chan *paho.Publish, 256)}
	c.Client = paho.NewClient(paho.ClientConfig{
		Conn: packets.NewThreadSafeConn(conn),
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) {
				select {
				case c.received <- pr.Packet:
				default:
				}
				return true, nil
			},
		},
	})
	receiveMax := uint16(16)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ca, err := c.Connect(ctx, &paho.Connect{
		ClientID:     clientID,
		Username:     username,
		UsernameFlag: username != "",
		Password:     []byte(password),
		PasswordFlag: password != "",
		KeepAlive:    30,
		CleanStart:   true,
		Properties:   &paho.ConnectProperties{ReceiveMaximum: &receiveMax},
	})
	if err != nil {
		return nil, ca, err
	}
	t.Cleanup(func() {
		_ = c.Disconnect(&paho.Disconnect{ReasonCode: 0})
		<-c.Done()
	})
	return c, ca, nil
}

// dialTCP connects to the server's MQTT TCP listener.
func dialTCP(t *testing.T, s *Server) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", hostPort(t, s.MQTTURL()))
	if err != nil {
		t.Fatalf("dial mqtt: %v", err)
	}
	return conn
}

// mustConnect connects id over TCP and fails the test on refusal.
func mustConnect(t *testing.T, s *Server, id identity) *mqttClient {
	t.Helper()
	c, ca, err := connectMQTT(t, dialTCP(t, s), id)
	if err != nil {
		t.Fatalf("connect %s: %v (connack %+v)", id.user, err, ca)
	}
	return c
}

// subscribe subscribes c to topic at QoS 1 and returns the SUBACK reason.
func (c *mqttClient) subscribe(t *testing.T, topic string) byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	sa, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 1}}})
	if sa == nil {
		t.Fatalf("subscribe %s: %v", topic, err)
	}
	return sa.Reasons[0]
}

// publish publishes payload at QoS 1 and returns the PUBACK reason code.
func (c *mqttClient) publish(t *testing.T, topic string, payload []byte) byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	pr, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload})
	if pr == nil {
		t.Fatalf("publish %s: no PUBACK: %v", topic, err)
	}
	return pr.ReasonCode
}

// nextEvent waits for the next lifecycle event c receives.
func (c *mqttClient) nextEvent(t *testing.T) contract.Event {
	t.Helper()
	select {
	case p := <-c.received:
		var ev contract.Event
		if err := json.Unmarshal(p.Payload, &ev); err != nil {
			t.Fatalf("event on %s is not JSON: %q", p.Topic, p.Payload)
		}
		if p.QoS != 1 || p.Retain {
			t.Errorf("event QoS %d retain %v, want QoS 1 not retained", p.QoS, p.Retain)
		}
		return ev
	case <-time.After(waitFor):
		t.Fatal("no event received")
	}
	return contract.Event{}
}

// alert is an SOS alert payload as the SDK sends it.
func alert(lat, lon float64) []byte {
	b, _ := json.Marshal(contract.SOSAlert{
		Timestamp: contract.Timestamp(time.Now()),
		Latitude:  contract.Double(lat),
		Longitude: contract.Double(lon),
		Altitude:  12,
		UserID:    "ignored",
	})
	return b
}

// telemetry is a telemetry payload as the SDK sends it.
func telemetry(lat, lon float64) []byte {
	b, _ := json.Marshal(contract.Telemetry{
		Timestamp: contract.Timestamp(time.Now()),
		Latitude:  contract.Double(lat),
		Longitude: contract.Double(lon),
		Altitude:  100,
		DeviceID:  "CF:82:12:34:56:78",
	})
	return b
}

// apiClient calls the HTTP API as one user.
type apiClient struct {
	base string
	id   identity
	c    *http.Client
}

func newAPIClient(t *testing.T, s *Server, id identity) *apiClient {
	return newAPIClientTLS(t, s.HTTPURL(), id, nil)
}

func newAPIClientTLS(t *testing.T, base string, id identity, tlsConfig *tls.Config) *apiClient {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: tlsConfig}
	t.Cleanup(tr.CloseIdleConnections)
	return &apiClient{base: base, id: id, c: &http.Client{
		Transport: tr,
		Timeout:   waitFor,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect is a failure for the SDK
		},
	}}
}

// response is an answer of the API.
type response struct {
	status int
	header http.Header
	body   []byte
}

// decode unmarshals the body into v, failing the test on bad JSON.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
}

// errorMessage checks a JSON error answer and returns its message.
func (r response) errorMessage(t *testing.T) string {
	t.Helper()
	var e struct {
		Error *string `json:"error"`
	}
	r.decode(t, &e)
	if e.Error == nil || *e.Error == "" {
		t.Fatalf("error body %q has no error message", r.body)
	}
	return *e.Error
}

// do sends method path with the SDK headers and body (a string or nil).
func (a *apiClient) do(t *testing.T, method, path string, body any) response {
	t.Helper()
	return a.doWith(t, method, path, body, func(h http.Header) {
		h.Set(contract.HeaderAppID, a.id.app)
		h.Set(contract.HeaderUserID, a.id.user)
		h.Set("Authorization", "Bearer "+a.id.hash)
	})
}

// doWith sends a request with headers set by headers.
func (a *apiClient) doWith(t *testing.T, method, path string, body any, headers func(http.Header)) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = strings.NewReader(string(j))
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	headers(req.Header)
	resp, err := a.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{resp.StatusCode, resp.Header, data}
}

// incident reads {"incident": …} from r, nil for null.
func (r response) incident(t *testing.T) *contract.Incident {
	t.Helper()
	var raw map[string]json.RawMessage
	r.decode(t, &raw)
	v, ok := raw["incident"]
	if !ok {
		t.Fatalf("body %q has no incident key", r.body)
	}
	if string(v) == "null" {
		return nil
	}
	var inc contract.Incident
	if err := json.Unmarshal(v, &inc); err != nil {
		t.Fatalf("incident %s: %v", v, err)
	}
	return &inc
}

func wantStatus(t *testing.T, what string, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: status %d, want %d (body %q)", what, r.status, want, r.body)
	}
}
