package refbackend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/eixamsim/eixamsim/contract"
)

// rawClient is an MQTT 5 connection driven byte by byte: it can go silent
// (send nothing, read nothing, no FIN) as a phone that lost coverage.
type rawClient struct {
	net.Conn
	id      identity
	version byte // 5, or 4 for MQTT 3.1.1
}

// rawConnect opens an MQTT 5 session as id with client id clientID and
// keep-alive ka seconds over a fresh TCP connection, and reads the
// CONNACK. rcvBuf > 0 shrinks the socket's receive buffer (set before the
// handshake, so the window is small from the start). The connection is
// closed when the test ends.
func rawConnect(t *testing.T, s *Server, id identity, clientID string, ka uint16, rcvBuf int) *rawClient {
	t.Helper()
	return rawConnectVersion(t, s, 5, id, clientID, ka, rcvBuf)
}

// rawConnectVersion is rawConnect with MQTT version 5 or 4 (3.1.1).
func rawConnectVersion(t *testing.T, s *Server, version byte, id identity, clientID string, ka uint16, rcvBuf int) *rawClient {
	t.Helper()
	d := net.Dialer{Timeout: waitFor}
	if rcvBuf > 0 {
		d.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvBuf)
			})
			return errors.Join(err, serr)
		}
	}
	conn, err := d.Dial("tcp", hostPort(t, s.MQTTURL()))
	if err != nil {
		t.Fatalf("dial mqtt: %v", err)
	}
	return rawConnectOn(t, conn, version, id, clientID, ka)
}

// rawConnectOn is rawConnectVersion over conn (TCP or WebSocket).
func rawConnectOn(t *testing.T, conn net.Conn, version byte, id identity, clientID string, ka uint16) *rawClient {
	t.Helper()
	t.Cleanup(func() { _ = conn.Close() })
	c := &rawClient{Conn: conn, id: id, version: version}
	var vh bytes.Buffer
	vh.Write(mqttString("MQTT"))
	vh.Write([]byte{version, 0xC2, byte(ka >> 8), byte(ka)}) // username+password+clean start, keep-alive
	if version == 5 {
		vh.WriteByte(0) // no properties
	}
	vh.Write(mqttString(clientID))
	vh.Write(mqttString(contract.Username(id.app, id.user)))
	vh.Write(mqttString(id.hash))
	c.send(t, mqttPacket(0x10, vh.Bytes()))
	typ, body := c.next(t)
	if typ != 0x20 || len(body) < 2 || body[1] != 0 {
		t.Fatalf("CONNACK: packet 0x%02x %x", typ, body)
	}
	return c
}

func (c *rawClient) send(t *testing.T, packet []byte) {
	t.Helper()
	_ = c.SetWriteDeadline(time.Now().Add(waitFor))
	if _, err := c.Write(packet); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// next reads one packet within waitFor.
func (c *rawClient) next(t *testing.T) (byte, []byte) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitFor))
	typ, body, err := readPacket(c.Conn)
	if err != nil {
		t.Fatalf("read packet: %v", err)
	}
	return typ, body
}

// readPacket reads one MQTT packet: its first byte and its body.
func readPacket(r io.Reader) (byte, []byte, error) {
	hdr := make([]byte, 1)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return 0, nil, err
	}
	n, mul := 0, 1
	for range 4 {
		b := make([]byte, 1)
		if _, err := io.ReadFull(r, b); err != nil {
			return 0, nil, err
		}
		n += int(b[0]&127) * mul
		mul *= 128
		if b[0] < 128 {
			break
		}
	}
	body := make([]byte, n)
	_, err := io.ReadFull(r, body)
	return hdr[0], body, err
}

// subscribeEvents subscribes c to its user's events topic at qos and
// reads the SUBACK.
func (c *rawClient) subscribeEvents(t *testing.T, qos byte) {
	t.Helper()
	c.sendSubscribe(t, qos)
	if typ, body := c.next(t); typ != 0x90 || len(body) < 3 || body[len(body)-1] != qos {
		t.Fatalf("SUBACK: packet 0x%02x %x", typ, body)
	}
}

// sendSubscribe sends a SUBSCRIBE to its user's events topic at qos.
func (c *rawClient) sendSubscribe(t *testing.T, qos byte) {
	t.Helper()
	var b bytes.Buffer
	b.Write([]byte{0, 1}) // packet id 1
	if c.version == 5 {
		b.WriteByte(0) // no properties
	}
	b.Write(mqttString(contract.EventsTopic(c.id.user)))
	b.WriteByte(qos)
	c.send(t, mqttPacket(0x82, b.Bytes()))
}

// waitClosed reads until the server closes the connection (within limit)
// and returns the bytes it sent before.
func (c *rawClient) waitClosed(t *testing.T, limit time.Duration) []byte {
	t.Helper()
	_, got, err := c.closed(limit)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// closed reads until the server closes the connection and returns when
// it did and the bytes it sent before; an error if still open after limit.
func (c *rawClient) closed(limit time.Duration) (time.Time, []byte, error) {
	_ = c.SetReadDeadline(time.Now().Add(limit))
	var got []byte
	buf := make([]byte, 512)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			at := time.Now()
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return at, got, fmt.Errorf("%s: still open after %v", c.id.user, limit)
			}
			return at, got, nil
		}
	}
}

// maxSendBuffer is the kernel's largest TCP send buffer (tcp_wmem max),
// 4 MiB if it cannot be read.
func maxSendBuffer() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_wmem")
	if err != nil {
		return 4 << 20
	}
	f := strings.Fields(string(b))
	if len(f) != 3 {
		return 4 << 20
	}
	n, err := strconv.Atoi(f[2])
	if err != nil || n <= 0 {
		return 4 << 20
	}
	return n
}

// causes reads the disconnect counters, checking they add up.
func causes(t *testing.T, s *Server) DisconnectStats {
	t.Helper()
	st := s.Stats().MQTT
	d := st.DisconnectsByCause
	if sum := d.Clean + d.KeepaliveExpired + d.TakenOver + d.ClosedWithoutDisconnect + d.SlowConsumer + d.Other; sum != d.Total || d.Total != st.Disconnects {
		t.Errorf("causes sum %d, total %d, disconnects %d: %+v", sum, d.Total, st.Disconnects, d)
	}
	return d
}

func TestKeepaliveIsExactlyOneAndAHalfTimes(t *testing.T) {
	// mochi alone closes after 1 s for keep-alive 1 and 4 s for 3; MQTT
	// says 1.5 s and 4.5 s. The margin absorbs a loaded machine.
	const margin = 1500 * time.Millisecond
	s := startServer(t, nil)
	type result struct {
		ka         time.Duration
		sent, seen time.Time // CONNECT sent, CONNACK read
		closed     time.Time
		got        []byte
		err        error
	}
	kas := []uint16{1, 3}
	results := make(chan result, len(kas))
	for _, ka := range kas {
		r := result{ka: time.Duration(ka) * time.Second, sent: time.Now()}
		c := rawConnect(t, s, signed(app1, secret1, fmt.Sprintf("ka-%d", ka)), fmt.Sprintf("ka-%d", ka), ka, 0)
		r.seen = time.Now()
		go func() {
			r.closed, r.got, r.err = c.closed(3*r.ka + margin) // silent from here on
			results <- r
		}()
	}
	// A client that keeps talking stays: PINGREQ every 0.5 s with
	// keep-alive 1, for twice the timeout.
	pinger := rawConnect(t, s, signed(app1, secret1, "ka-pinger"), "ka-pinger", 1, 0)
	for range 6 {
		time.Sleep(500 * time.Millisecond) // the client's own pace, not a wait for the server
		pinger.send(t, []byte{0xC0, 0})
		if typ, _ := pinger.next(t); typ != 0xD0 {
			t.Fatalf("pinger: packet 0x%02x, want PINGRESP", typ)
		}
	}
	for range kas {
		var r result
		select {
		case r = <-results:
		case <-time.After(10 * time.Second):
			t.Fatal("a silent client's result never came")
		}
		if r.err != nil {
			t.Errorf("keep-alive %v: %v", r.ka, r.err)
			continue
		}
		want := r.ka * 3 / 2
		if d := r.closed.Sub(r.sent); d < want {
			t.Errorf("keep-alive %v: closed %v after CONNECT, want at least %v", r.ka, d, want)
		}
		if d := r.closed.Sub(r.seen); d > want+margin {
			t.Errorf("keep-alive %v: closed %v after CONNACK, want at most %v", r.ka, d, want+margin)
		}
		if len(r.got) != 0 {
			t.Errorf("keep-alive %v: server sent %x before closing, want nothing (closed as if the network failed)", r.ka, r.got)
		}
	}
	eventually(t, "two keep-alive expiries", func() bool { return causes(t, s).KeepaliveExpired == 2 })
	if d := causes(t, s); d.Total != 2 {
		t.Errorf("disconnects %+v, want only the 2 keep-alive expiries", d)
	}
}

func TestSessionTakeover(t *testing.T) {
	s := startServer(t, nil)
	id := signed(app1, secret1, "roamer")
	clientID := contract.ClientID(id.app, id.user)

	// A live paho client is taken over by a second CONNECT with its id.
	old := connectWatched(t, dialTCP(t, s), id)
	eventually(t, "first session", func() bool { return s.Stats().MQTT.Connected == 1 })
	fresh := connectWatched(t, dialTCP(t, s), id)
	old.wantDropped(t, 0x8E)
	fresh.alive(t)

	// A silent one (no FIN, as a phone whose Wi-Fi went away) too: it gets
	// DISCONNECT 0x8E, then the close.
	ghost := rawConnect(t, s, id, clientID+"-ghost", 0, 0)
	ghost.subscribeEvents(t, 1)
	roamed := connectMQTTNoCleanupAs(t, s, id, clientID+"-ghost")
	got := ghost.waitClosed(t, waitFor)
	typ, body, err := readPacket(bytes.NewReader(got))
	if err != nil || typ != 0xE0 || len(body) < 1 || body[0] != 0x8E {
		t.Errorf("ghost got %x, want DISCONNECT 0x8E then the close", got)
	}
	// The new session is clean and works: its own subscription, its events.
	if rc := roamed.subscribe(t, contract.EventsTopic(id.user)); rc != 1 {
		t.Fatalf("SUBACK after takeover: 0x%02x", rc)
	}
	if rc := roamed.publish(t, contract.TopicSOSAlerts, alert(41.4, 2.2)); rc != 0 {
		t.Fatalf("alert after takeover: PUBACK 0x%02x", rc)
	}
	if ev := roamed.nextEvent(t); ev.Status != contract.StateActive {
		t.Errorf("event after takeover: %+v", ev)
	}
	// MQTT 3.1.1: the old connection is closed (mochi writes a bare
	// DISCONNECT first, which 3.1.1 does not define).
	old311 := rawConnectVersion(t, s, 4, id, clientID+"-311", 30, 0)
	new311 := rawConnectVersion(t, s, 4, id, clientID+"-311", 30, 0)
	if got := old311.waitClosed(t, waitFor); len(got) != 0 && !bytes.Equal(got, []byte{0xE0, 0}) {
		t.Errorf("MQTT 3.1.1 old connection got %x, want the close", got)
	}
	new311.send(t, []byte{0xC0, 0})
	if typ, _ := new311.next(t); typ != 0xD0 {
		t.Errorf("MQTT 3.1.1 new connection: packet 0x%02x, want PINGRESP", typ)
	}
	eventually(t, "three takeovers", func() bool { return causes(t, s).TakenOver == 3 })
	if st := s.Stats().MQTT; st.Connected != 3 || st.DisconnectsByCause.Total != 3 {
		t.Errorf("connected %d, disconnects %+v; want the 3 new sessions open, 3 taken over", st.Connected, st.DisconnectsByCause)
	}
	_ = roamed.Disconnect(&paho.Disconnect{})
	<-roamed.Done()
}

func TestTakeoverChain(t *testing.T) {
	// Back-to-back takeovers of one client id: each closes the previous
	// connection (mochi alone loses about one in a few hundred).
	const n = 300
	s := startServer(t, nil)
	id := signed(app1, secret1, "chain")
	prev := rawConnect(t, s, id, "chain", 30, 0)
	for i := range n {
		next := rawConnect(t, s, id, "chain", 30, 0)
		if _, _, err := prev.closed(waitFor); err != nil {
			t.Fatalf("takeover %d: %v", i, err)
		}
		prev = next
	}
	eventually(t, "every takeover counted", func() bool { return causes(t, s).TakenOver == n })
	if st := s.Stats().MQTT; st.Connected != 1 || st.DisconnectsByCause.Total != n {
		t.Errorf("connected %d, disconnects %+v; want 1 open, %d taken over", st.Connected, st.DisconnectsByCause, n)
	}
}

// connectMQTTNoCleanupAs connects id with clientID over TCP; the caller
// disconnects it.
func connectMQTTNoCleanupAs(t *testing.T, s *Server, id identity, clientID string) *mqttClient {
	t.Helper()
	c := &mqttClient{received: make(chan *paho.Publish, 256)}
	c.Client = paho.NewClient(paho.ClientConfig{
		Conn: dialTCP(t, s),
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			select {
			case c.received <- pr.Packet:
			default:
			}
			return true, nil
		}},
		OnClientError: func(error) {},
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if ca, err := c.Connect(ctx, &paho.Connect{
		ClientID: clientID, CleanStart: true, KeepAlive: 30,
		Username: contract.Username(id.app, id.user), UsernameFlag: true,
		Password: []byte(id.hash), PasswordFlag: true,
	}); err != nil {
		t.Fatalf("connect %s: %v (connack %+v)", clientID, err, ca)
	}
	return c
}

func TestDisconnectCauses(t *testing.T) {
	s := startServer(t, nil)
	user := func(name string) identity { return signed(app1, secret1, name) }

	// clean: DISCONNECT, then close.
	clean := rawConnect(t, s, user("clean"), "clean", 30, 0)
	clean.send(t, []byte{0xE0, 0})
	clean.waitClosed(t, waitFor)
	// closed_without_disconnect: FIN with no DISCONNECT (an app killed by
	// the OS), and a reset.
	killed := rawConnect(t, s, user("killed"), "killed", 30, 0)
	_ = killed.Close()
	reset := rawConnect(t, s, user("reset"), "reset", 30, 0)
	_ = reset.Conn.(*net.TCPConn).SetLinger(0)
	_ = reset.Close()
	eventually(t, "three sessions ended", func() bool { return causes(t, s).Total == 3 })
	// other: a kick.
	kicked := rawConnect(t, s, user("kicked"), "kicked", 30, 0)
	if n := s.Kick(1); n != 1 {
		t.Fatalf("Kick(1) = %d", n)
	}
	kicked.waitClosed(t, waitFor)
	eventually(t, "four sessions ended", func() bool { return causes(t, s).Total == 4 })
	want := DisconnectStats{Total: 4, Clean: 1, ClosedWithoutDisconnect: 2, Other: 1}
	if d := causes(t, s); d != want {
		t.Errorf("causes %+v, want %+v", d, want)
	}

	// The JSON names are stable: the churn of the simulator reads them.
	api := newAPIClient(t, s, user("clean"))
	r := api.doWith(t, "GET", "/debug/stats?per_user=false", nil, func(http.Header) {})
	var raw struct {
		MQTT struct {
			Disconnects int64            `json:"disconnects"`
			ByCause     map[string]int64 `json:"disconnects_by_cause"`
			Backlog     *int64           `json:"write_backlog_bytes"`
		} `json:"mqtt"`
	}
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatalf("stats: %v", err)
	}
	wantJSON := map[string]int64{"total": 4, "clean": 1, "keepalive_expired": 0, "taken_over": 0,
		"closed_without_disconnect": 2, "slow_consumer": 0, "other": 1}
	if fmt.Sprint(raw.MQTT.ByCause) != fmt.Sprint(wantJSON) || raw.MQTT.Disconnects != 4 || raw.MQTT.Backlog == nil {
		t.Errorf("mqtt.disconnects %d, disconnects_by_cause %v (want %v), write_backlog_bytes %v",
			raw.MQTT.Disconnects, raw.MQTT.ByCause, wantJSON, raw.MQTT.Backlog)
	}
}

// pushAlerts publishes duplicate QoS 0 alerts from pub, 50 at a time,
// until until holds: each one re-publishes the incident's event to every
// subscriber of the user's events topic. Bounded in count and time.
func pushAlerts(t *testing.T, s *Server, pub *mqttClient, until func() bool) {
	t.Helper()
	deadline := time.Now().Add(6 * waitFor)
	for i := 0; !until(); i++ {
		if i >= 20_000 || time.Now().After(deadline) {
			t.Fatalf("after %d rounds of alerts: stats %+v %+v %+v", i, s.Stats().MQTT, s.Stats().SOS, s.Stats().Events)
		}
		for range 50 {
			if _, err := pub.Publish(context.Background(), &paho.Publish{Topic: contract.TopicSOSAlerts, QoS: 0, Payload: alert(41, 2)}); err != nil {
				t.Fatalf("publish: %v", err)
			}
		}
	}
}

// silentReader connects a subscriber of busy's events that then reads
// nothing more (tiny receive buffer), keeps its socket open and never
// times out (keep-alive 0), and a publisher as busy whose alerts keep the
// topic busy.
func silentReader(t *testing.T, s *Server, busy identity) (silent *rawClient, pub *mqttClient) {
	t.Helper()
	silent = rawConnect(t, s, busy, "busy-silent", 0, 4096)
	silent.subscribeEvents(t, 0)
	pub = connectMQTTNoCleanupAs(t, s, busy, "busy-publisher")
	t.Cleanup(func() {
		_ = pub.Disconnect(&paho.Disconnect{})
		<-pub.Done()
	})
	return silent, pub
}

func TestSilentReaderDoesNotStallOthers(t *testing.T) {
	// The kernel takes up to its largest send buffer (which grows while
	// the peer's window is shut) before the broker's queue holds anything
	// for good: a backlog past that cannot drain while the reader is
	// silent. The limit is far above what this test queues (events reach
	// the queue in bursts of up to mochi's 8192 pending packets), so the
	// reader stays stuck, never closed, however the machine schedules.
	kernel := maxSendBuffer()
	stuck := int64(kernel + 256<<10)
	s := startServer(t, func(c *Config) { c.MaxPendingWrite = kernel + 64<<20 })
	busy := signed(app1, secret1, "busy")

	// At QoS 0 first, so that its socket buffers fill (mochi sends a
	// client that acks nothing at most 8192 QoS 1 messages, which
	// loopback's buffers may hold), then at QoS 1, whose deliveries take
	// the client's lock: mochi alone would stall every publisher of the
	// topic there, the server's lifecycle events included.
	silent, pub := silentReader(t, s, busy)
	// Wait until the broker holds bytes it cannot write: the silent
	// reader's socket buffers are full.
	pushAlerts(t, s, pub, func() bool { return s.Stats().MQTT.WriteBacklogBytes >= stuck })
	silent.sendSubscribe(t, 1) // from now on QoS 1 deliveries, queued behind the rest
	sent := 0
	pushAlerts(t, s, pub, func() bool { sent++; return sent > 20 })

	// Others are served as usual meanwhile: acks and events in bounded time.
	other := signed(app1, secret1, "other")
	c := mustConnect(t, s, other)
	if rc := c.subscribe(t, contract.EventsTopic(other.user)); rc != 1 {
		t.Fatalf("SUBACK 0x%02x", rc)
	}
	for i := range 20 {
		if rc := c.publish(t, contract.TopicSOSAlerts, alert(41, 2)); rc != 0 {
			t.Fatalf("alert %d: PUBACK 0x%02x", i, rc)
		}
		if ev := c.nextEvent(t); ev.Status != contract.StateActive {
			t.Fatalf("event %d: %+v", i, ev)
		}
		if rc := c.publish(t, contract.TelemetryTopic(other.user), telemetry(41, 2)); rc != 0 {
			t.Fatalf("telemetry %d: PUBACK 0x%02x", i, rc)
		}
	}
	if st := s.Stats().MQTT; st.WriteBacklogBytes < stuck-int64(kernel) || st.DisconnectsByCause.Total != 0 {
		t.Fatalf("the silent reader was not stuck all along: %+v", st)
	}
}

func TestSlowConsumerClosed(t *testing.T) {
	// Past the limit the silent reader is closed as a slow consumer, what
	// it held is released, and the others go on.
	s := startServer(t, func(c *Config) { c.MaxPendingWrite = 256 << 10 })
	busy := signed(app1, secret1, "busy")
	_, pub := silentReader(t, s, busy)
	pushAlerts(t, s, pub, func() bool { return causes(t, s).SlowConsumer == 1 })
	eventually(t, "backlog released", func() bool { return s.Stats().MQTT.WriteBacklogBytes == 0 })
	other := signed(app1, secret1, "other")
	c := mustConnect(t, s, other)
	if rc := c.publish(t, contract.TelemetryTopic(other.user), telemetry(41, 2)); rc != 0 {
		t.Fatalf("telemetry after the close: PUBACK 0x%02x", rc)
	}
	if d := causes(t, s); d.Total != 1 {
		t.Errorf("disconnects %+v, want only the slow consumer", d)
	}
}

func TestKeepaliveAndCloseOverWebSocket(t *testing.T) {
	const margin = 1500 * time.Millisecond
	s := startServer(t, nil)
	sent := time.Now()
	silent := rawConnectOn(t, dialWS(t, s.WSURL(), nil), 5, signed(app1, secret1, "ws-silent"), "ws-silent", 1)
	seen := time.Now()
	closer := rawConnectOn(t, dialWS(t, s.WSURL(), nil), 5, signed(app1, secret1, "ws-closer"), "ws-closer", 30)
	_ = closer.Close() // a WebSocket close, no MQTT DISCONNECT
	at, got, err := silent.closed(3*time.Second + margin)
	if err != nil {
		t.Fatal(err)
	}
	if d := at.Sub(sent); d < 1500*time.Millisecond {
		t.Errorf("closed %v after CONNECT, want at least 1.5 s", d)
	}
	if d := at.Sub(seen); d > 1500*time.Millisecond+margin {
		t.Errorf("closed %v after CONNACK, want at most %v", d, 1500*time.Millisecond+margin)
	}
	if len(got) != 0 {
		t.Errorf("server sent %x before closing, want nothing", got)
	}
	eventually(t, "both sessions ended", func() bool { return causes(t, s).Total == 2 })
	if d := causes(t, s); d.KeepaliveExpired != 1 || d.ClosedWithoutDisconnect != 1 {
		t.Errorf("causes %+v, want 1 keep-alive expiry and 1 close without DISCONNECT", d)
	}
}

// BenchmarkTelemetryRoundTrip is one client's QoS 1 telemetry publish and
// its PUBACK, the path every broker write takes (conn.go queues it):
//
//	go test -run=NONE -bench=TelemetryRoundTrip -benchtime=20000x ./refbackend
func BenchmarkTelemetryRoundTrip(b *testing.B) {
	cfg := testConfig()
	s, err := Start(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	id := signed(app1, secret1, "bench")
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.MQTTURL(), "tcp://"))
	if err != nil {
		b.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn, OnClientError: func(error) {}})
	ctx := context.Background()
	if _, err := c.Connect(ctx, &paho.Connect{
		ClientID: "bench", CleanStart: true, KeepAlive: 30,
		Username: contract.Username(id.app, id.user), UsernameFlag: true,
		Password: []byte(id.hash), PasswordFlag: true,
	}); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = c.Disconnect(&paho.Disconnect{})
		<-c.Done()
	}()
	topic, payload := contract.TelemetryTopic(id.user), telemetry(41, 2)
	b.ResetTimer()
	for range b.N {
		if pr, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload}); err != nil || pr.ReasonCode != 0 {
			b.Fatalf("publish: %v %+v", err, pr)
		}
	}
}
