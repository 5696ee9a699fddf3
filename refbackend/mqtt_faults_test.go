package refbackend

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"go.uber.org/goleak"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/internal/testcert"
	"github.com/eixamsim/eixamsim/internal/testnet"
)

// watchedClient is an MQTT 5 client that records the server DISCONNECT.
type watchedClient struct {
	*paho.Client
	id         identity
	disconnect chan *paho.Disconnect // the server's DISCONNECT, if any
}

// connectWatched connects id over conn; the client is disconnected when
// the test ends.
func connectWatched(t *testing.T, conn net.Conn, id identity) *watchedClient {
	t.Helper()
	c := &watchedClient{id: id, disconnect: make(chan *paho.Disconnect, 1)}
	c.Client = paho.NewClient(paho.ClientConfig{
		Conn:               packets.NewThreadSafeConn(conn),
		OnServerDisconnect: func(d *paho.Disconnect) { c.disconnect <- d },
		OnClientError:      func(error) {},
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ca, err := c.Connect(ctx, &paho.Connect{
		ClientID:     contract.ClientID(id.app, id.user),
		Username:     contract.Username(id.app, id.user),
		UsernameFlag: true,
		Password:     []byte(id.hash),
		PasswordFlag: true,
		KeepAlive:    30,
		CleanStart:   true,
	})
	if err != nil {
		t.Fatalf("connect %s: %v (connack %+v)", id.user, err, ca)
	}
	t.Cleanup(func() {
		_ = c.Disconnect(&paho.Disconnect{})
		<-c.Done()
	})
	return c
}

// wantDropped waits for c's connection to end with a server DISCONNECT
// carrying code.
func (c *watchedClient) wantDropped(t *testing.T, code byte) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(waitFor):
		t.Fatalf("%s still connected", c.id.user)
	}
	select {
	case d := <-c.disconnect:
		if d.ReasonCode != code {
			t.Errorf("%s: DISCONNECT 0x%02x, want 0x%02x", c.id.user, d.ReasonCode, code)
		}
	case <-time.After(waitFor): // OnServerDisconnect runs on its own goroutine
		t.Errorf("%s: connection closed without DISCONNECT 0x%02x", c.id.user, code)
	}
}

// alive checks that c is still connected with a QoS 1 round trip.
func (c *watchedClient) alive(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	pr, err := c.Publish(ctx, &paho.Publish{Topic: contract.TelemetryTopic(c.id.user), QoS: 1, Payload: telemetry(1, 2)})
	if err != nil || pr.ReasonCode != 0 {
		t.Fatalf("%s: publish after the fault: %v %+v", c.id.user, err, pr)
	}
}

// wantNotListening checks that this process no longer listens on the address
// of rawURL (an MQTT or WebSocket URL). Not a dial: the freed port may be
// another process's by now.
func wantNotListening(t *testing.T, rawURL string) {
	t.Helper()
	ok, err := testnet.ListeningOn(hostPort(t, rawURL))
	if err != nil {
		t.Skipf("cannot list this process's sockets: %v", err)
	}
	if ok {
		t.Fatalf("%s is still listening while stopped", rawURL)
	}
}

func TestStopAndStartMQTT(t *testing.T) {
	s := startServer(t, nil)
	mqttURL, wsURL := s.MQTTURL(), s.WSURL()
	var clients []*watchedClient
	for i := range 3 {
		clients = append(clients, connectWatched(t, dialTCP(t, s), signed(app1, secret1, fmt.Sprintf("tcp-%d", i))))
	}
	for i := range 2 {
		clients = append(clients, connectWatched(t, dialWS(t, wsURL, nil), signed(app1, secret1, fmt.Sprintf("ws-%d", i))))
	}
	waiting := dialTCP(t, s) // connected, no CONNECT yet: closed too
	eventually(t, "5 sessions", func() bool { return s.Stats().MQTT.Connected == 5 })

	if err := s.StopMQTT(); err != nil {
		t.Fatalf("StopMQTT: %v", err)
	}
	// Every session ended before StopMQTT returned.
	if st := s.Stats().MQTT; st.Connected != 0 || st.DroppedByStop != 5 || st.ListenerStops != 1 || st.Listening {
		t.Errorf("after StopMQTT: %+v", st)
	}
	for _, c := range clients {
		c.wantDropped(t, 0x8B)
	}
	_ = waiting.SetReadDeadline(time.Now().Add(waitFor))
	if _, err := waiting.Read(make([]byte, 1)); err == nil {
		t.Error("a connection waiting for CONNECT survived StopMQTT")
	}
	wantNotListening(t, mqttURL)
	wantNotListening(t, wsURL)
	// HTTP keeps serving.
	wantStatus(t, "GET me while MQTT is down", newAPIClient(t, s, signed(app1, secret1, "tcp-0")).do(t, "GET", "/v1/sdk/me", nil), 200)
	if err := s.StopMQTT(); err != nil || s.Stats().MQTT.ListenerStops != 1 {
		t.Errorf("second StopMQTT: %v, stops %d", err, s.Stats().MQTT.ListenerStops)
	}

	if err := s.StartMQTT(); err != nil {
		t.Fatalf("StartMQTT: %v", err)
	}
	if s.MQTTURL() != mqttURL || s.WSURL() != wsURL {
		t.Errorf("URLs changed: %s %s, were %s %s", s.MQTTURL(), s.WSURL(), mqttURL, wsURL)
	}
	sosRoundTrip(t, dialTCP(t, s), signed(app1, secret1, "tcp-0"))
	sosRoundTrip(t, dialWS(t, wsURL, nil), signed(app1, secret1, "ws-0"))
	if err := s.StartMQTT(); err != nil {
		t.Errorf("second StartMQTT: %v", err)
	}
	if st := s.Stats().MQTT; st.ListenerRestarts != 1 || !st.Listening {
		t.Errorf("after StartMQTT: restarts %d listening %v", st.ListenerRestarts, st.Listening)
	}
}

func TestStopAndStartMQTTWithTLS(t *testing.T) {
	certFile, keyFile, pool := testcert.Write(t)
	s := startServer(t, func(c *Config) { c.TLSCertFile, c.TLSKeyFile = certFile, keyFile })
	clientTLS := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	dialTLS := func() net.Conn {
		conn, err := tls.Dial("tcp", hostPort(t, s.MQTTURL()), clientTLS)
		if err != nil {
			t.Fatalf("tls dial: %v", err)
		}
		return conn
	}
	c := connectWatched(t, dialTLS(), signed(app1, secret1, "tls-user"))
	if err := s.StopMQTT(); err != nil {
		t.Fatal(err)
	}
	c.wantDropped(t, 0x8B)
	wantNotListening(t, s.MQTTURL())
	if err := s.StartMQTT(); err != nil {
		t.Fatal(err)
	}
	sosRoundTrip(t, dialTLS(), signed(app1, secret1, "tls-user"))
	sosRoundTrip(t, dialWS(t, s.WSURL(), clientTLS), signed(app1, secret1, "wss-user"))
}

func TestStopMQTTErrors(t *testing.T) {
	s := startServer(t, func(c *Config) { c.MQTTAddr, c.WSAddr = "", "" })
	if err := s.StopMQTT(); err != ErrNoMQTT {
		t.Errorf("StopMQTT without MQTT: %v", err)
	}
	if err := s.StartMQTT(); err != ErrNoMQTT {
		t.Errorf("StartMQTT without MQTT: %v", err)
	}
	if s.Stats().MQTT.Listening {
		t.Error("listening without an MQTT listener")
	}
	s2 := startServer(t, nil)
	if err := s2.StopMQTT(); err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil { // Close with stopped listeners
		t.Fatal(err)
	}
	if err := s2.StartMQTT(); err != ErrClosed {
		t.Errorf("StartMQTT after Close: %v", err)
	}
	if err := s2.StopMQTT(); err != ErrClosed {
		t.Errorf("StopMQTT after Close: %v", err)
	}
	if n := s2.Kick(1); n != 0 {
		t.Errorf("Kick after Close = %d", n)
	}
}

func TestKick(t *testing.T) {
	const n = 20
	s := startServer(t, nil)
	clients := make(map[*watchedClient]bool, n)
	for i := range n {
		clients[connectWatched(t, dialTCP(t, s), signed(app1, secret1, fmt.Sprintf("kick-%02d", i)))] = true
	}
	eventually(t, "20 sessions", func() bool { return s.Stats().MQTT.Connected == n })
	for _, f := range []float64{0, -1, math.NaN()} {
		if k := s.Kick(f); k != 0 {
			t.Errorf("Kick(%v) = %d", f, k)
		}
	}
	if k := s.Kick(0.5); k != n/2 {
		t.Fatalf("Kick(0.5) of %d = %d", n, k)
	}
	// The kicked half got DISCONNECT 0x98; the other half is still there.
	kicked := 0
	deadline := time.After(waitFor)
	for kicked < n/2 {
		for c := range clients {
			select {
			case <-c.Done():
				c.wantDropped(t, 0x98)
				delete(clients, c)
				kicked++
			default:
			}
		}
		select {
		case <-deadline:
			t.Fatalf("%d of %d kicked clients noticed", kicked, n/2)
		case <-time.After(2 * time.Millisecond):
		}
	}
	for c := range clients {
		c.alive(t)
	}
	eventually(t, "10 sessions left", func() bool { return s.Stats().MQTT.Connected == n/2 })
	if st := s.Stats().MQTT; st.Kicks != 1 || st.Kicked != n/2 {
		t.Errorf("kicks %d kicked %d", st.Kicks, st.Kicked)
	}
	// Kicked users reconnect at once (the listeners stay open).
	connectWatched(t, dialTCP(t, s), signed(app1, secret1, "kick-again")).alive(t)
	// Fractions above 1 kick everyone.
	if k := s.Kick(7); k != n/2+1 {
		t.Errorf("Kick(7) = %d, want %d", k, n/2+1)
	}
	eventually(t, "no session left", func() bool { return s.Stats().MQTT.Connected == 0 })
}

func TestKickMQTT311(t *testing.T) {
	s := startServer(t, nil)
	c := v3Dial(t, s)
	if rc := c.connect(t, contract.Username(app1, "v3"), contract.Sign([]byte(secret1), "v3")); rc != 0 {
		t.Fatalf("connect: 0x%02x", rc)
	}
	eventually(t, "session", func() bool { return s.Stats().MQTT.Connected == 1 })
	if k := s.Kick(1); k != 1 {
		t.Fatalf("Kick = %d", k)
	}
	// MQTT 3.1.1 has no server DISCONNECT: the connection just closes.
	_ = c.conn.SetReadDeadline(time.Now().Add(waitFor))
	b := make([]byte, 8)
	if n, err := c.conn.Read(b); err == nil {
		t.Errorf("read %x after the kick, want the connection closed", b[:n])
	} else if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") {
		t.Errorf("read after the kick: %v, want EOF or reset", err)
	}
}

// TestCloseWithFaultsInProgress closes a server whose listeners are
// stopped, with a restart pending, a schedule waiting, a stall holding a
// request and a half-open connection: every goroutine must be gone.
func TestCloseWithFaultsInProgress(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := testConfig()
	cfg.FaultControl = true
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: waitFor}
	resp, err := c.Post(s.HTTPURL()+"/debug/faults/restart-mqtt?down=1h", "text/plain", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("restart-mqtt: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, err := s.RunSchedule(time.Time{}, parseAll(t, "kick@1h:1", "restart_mqtt@2h:1s")); err != nil {
		t.Fatal(err)
	}
	s.StallHTTP(time.Hour)
	held := make(chan struct{})
	go func() {
		defer close(held)
		getAt(c, s.HTTPURL(), signed(app1, secret1, "u"))
	}()
	eventually(t, "held request", func() bool { return s.Stats().HTTP.StalledNow == 1 })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	<-held
	if st := s.Stats().Schedule; st.Pending != 0 {
		t.Errorf("pending %d after Close", st.Pending)
	}
}

// clientsOn is what StopMQTT and Close disconnect: the open clients of one
// listener, read without mochi's Clients.GetByListener (see clientsOn).
func TestClientsOnListsOpenClientsOfOneListener(t *testing.T) {
	s := startServer(t, nil)
	a := mustConnect(t, s, signed(app1, secret1, "on-a"))
	mustConnect(t, s, signed(app1, secret1, "on-b"))
	eventually(t, "two clients on mqtt", func() bool { return len(clientsOn(s.broker.Clients, "mqtt")) == 2 })
	if got := clientsOn(s.broker.Clients, "ws"); len(got) != 0 {
		t.Errorf("ws listener has %d clients, want 0", len(got))
	}
	if err := a.Disconnect(&paho.Disconnect{ReasonCode: 0}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "one client left on mqtt", func() bool { return len(clientsOn(s.broker.Clients, "mqtt")) == 1 })
	sources, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range sources {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(src), ".GetByListener(") && name != "mqtt_faults_test.go" {
			t.Errorf("%s calls mochi's Clients.GetByListener, which can deadlock; use clientsOn", name)
		}
	}
}
