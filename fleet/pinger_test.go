package fleet_test

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// mqttProxy is a TCP proxy on loopback in front of a broker. It counts the
// MQTT packets clients send, by type, and can freeze: the connections open
// at that moment stop carrying bytes either way but stay open, as behind a
// broker (or a path) that hung without closing anything. Connections made
// after a freeze pass as usual.
type mqttProxy struct {
	ln       net.Listener
	upstream string
	sent     [16]atomic.Int64 // packets from clients, by MQTT packet type

	mu     sync.Mutex
	conns  []net.Conn    // both sides of every proxied connection
	frozen chan struct{} // closed by freeze; replaced for new connections
	wg     sync.WaitGroup
}

// startProxy starts a proxy to upstream; the caller closes it.
func startProxy(t *testing.T, upstream string) *mqttProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &mqttProxy{ln: ln, upstream: upstream, frozen: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	return p
}

// URL is the proxy's address as an MQTT URL.
func (p *mqttProxy) URL() string { return "tcp://" + p.ln.Addr().String() }

// Sent returns how many packets of MQTT type typ (1..15) clients sent.
func (p *mqttProxy) Sent(typ byte) int64 { return p.sent[typ].Load() }

// freeze stops every connection open now from carrying bytes.
func (p *mqttProxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.frozen)
	p.frozen = make(chan struct{})
}

func (p *mqttProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *mqttProxy) accept() {
	defer p.wg.Done()
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.upstream)
		if err != nil {
			_ = down.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, down, up)
		frozen := p.frozen
		p.mu.Unlock()
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			p.pipe(up, down, frozen, true)
		}()
		go func() {
			defer p.wg.Done()
			p.pipe(down, up, frozen, false)
		}()
	}
}

// pipe copies src to dst packet by packet until either fails or frozen is
// closed; then it holds both open (the other end sees silence) until the
// proxy closes. Packets from clients are counted.
func (p *mqttProxy) pipe(dst, src net.Conn, frozen <-chan struct{}, fromClient bool) {
	r := bufio.NewReader(src)
	for {
		pkt, typ, err := readPacket(r)
		if err != nil {
			select {
			case <-frozen: // a hung path passes no hang-up either
			default:
				_ = dst.Close()
			}
			return
		}
		select {
		case <-frozen:
			// Hold the bytes; read no more. The proxy's close ends the
			// connection.
			return
		default:
		}
		if fromClient {
			p.sent[typ].Add(1)
		}
		if _, err := dst.Write(pkt); err != nil {
			_ = src.Close()
			return
		}
	}
}

// readPacket reads one MQTT control packet: fixed header, variable byte
// remaining length, body.
func readPacket(r *bufio.Reader) (pkt []byte, typ byte, err error) {
	var buf bytes.Buffer
	first, err := r.ReadByte()
	if err != nil {
		return nil, 0, err
	}
	buf.WriteByte(first)
	n, mult := 0, 1
	for i := 0; i < 4; i++ {
		b, err := r.ReadByte()
		if err != nil {
			return nil, 0, err
		}
		buf.WriteByte(b)
		n += int(b&0x7f) * mult
		if b&0x80 == 0 {
			break
		}
		mult *= 128
	}
	if _, err := io.CopyN(&buf, r, int64(n)); err != nil {
		return nil, 0, err
	}
	return buf.Bytes(), first >> 4, nil
}

const (
	pingreq  = 12 // MQTT packet type of PINGREQ
	publish  = 3
	onlineBy = 3 * time.Second
)

// TestIdleUsersStayConnectedByPings keeps idle users (telemetry once an
// hour) connected with a 2 s keep-alive for 9 s. The broker closes a
// connection silent for 1.5x the keep-alive (mochi: 3 s), so they stay
// only if the pinger sends PINGREQs, about one per keep-alive each.
func TestIdleUsersStayConnectedByPings(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const users = 5
	srv := startBackend(t, "demo-secret", -1)
	defer srv.Close()
	proxy := startProxy(t, strings.TrimPrefix(srv.MQTTURL(), "tcp://"))
	defer proxy.close()
	sc := parse(t, `
version: 1
name: idle-pings
duration: 1m
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 5, connect_rate: 1000/s, keep_alive: 2s }
behaviours: { telemetry: { every: 1h } }
`)
	reg := metrics.NewRegistry()
	r, err := fleet.New(fleet.Config{Scenario: sc, HTTPURL: srv.HTTPURL(), MQTTURL: proxy.URL(), Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	stop := startRun(t, r)
	defer stop()
	waitOnline(t, reg, users, onlineBy)
	before := proxy.Sent(pingreq)
	const idle = 9 * time.Second // 4.5 keep-alives, 3 broker timeouts
	time.Sleep(idle)
	pings := proxy.Sent(pingreq) - before
	if n := reg.Counter(scenario.MQTTDisconnects).Value(); n != 0 {
		t.Errorf("mqtt.disconnects = %d over %v idle; want 0", n, idle)
	}
	if n := reg.Gauge(scenario.UsersOnline).Value(); n != users {
		t.Errorf("%d users online after %v idle, want %d", n, idle, users)
	}
	if n := srv.Stats().MQTT.ConnectsAccepted; n != users {
		t.Errorf("broker accepted %d connects, want %d (nobody reconnected)", n, users)
	}
	// One PINGREQ per user per 2 s: 4 in 9 s, give or take one at each end.
	if pings < 3*users || pings > 5*users {
		t.Errorf("%d PINGREQs from %d users in %v, want %d..%d", pings, users, idle, 3*users, 5*users)
	}
	t.Logf("%d PINGREQs from %d users in %v", pings, users, idle)
}

// TestHungBrokerIsDetectedByPings freezes every connection (the broker
// stops answering, nothing is closed) and checks that each user notices
// within about twice the keep-alive (a PINGREQ at most a keep-alive after
// the last packet, then a keep-alive for its PINGRESP), counts the loss,
// and reconnects per its policy.
func TestHungBrokerIsDetectedByPings(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const (
		users     = 5
		keepAlive = 2 * time.Second
	)
	srv := startBackend(t, "demo-secret", -1)
	defer srv.Close()
	proxy := startProxy(t, strings.TrimPrefix(srv.MQTTURL(), "tcp://"))
	defer proxy.close()
	sc := parse(t, `
version: 1
name: hung-broker
duration: 1m
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 5, connect_rate: 1000/s, keep_alive: 2s, reconnect: { policy: backoff, initial: 100ms, max: 200ms } }
behaviours: { telemetry: { every: 1h } }
`)
	reg := metrics.NewRegistry()
	logs := &syncBuffer{}
	r, err := fleet.New(fleet.Config{Scenario: sc, HTTPURL: srv.HTTPURL(), MQTTURL: proxy.URL(), Metrics: reg,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	stop := startRun(t, r)
	defer stop()
	waitOnline(t, reg, users, onlineBy)
	// Let a ping or two go through first, so the freeze lands mid-cycle.
	time.Sleep(keepAlive + keepAlive/2)

	frozen := time.Now()
	proxy.freeze()
	limit := 2*keepAlive + time.Second // timers and a loaded machine
	for reg.Counter(scenario.MQTTDisconnects).Value() < users && time.Since(frozen) < limit+5*time.Second {
		time.Sleep(10 * time.Millisecond)
	}
	detected := time.Since(frozen)
	if n := reg.Counter(scenario.MQTTDisconnects).Value(); n != users {
		t.Fatalf("mqtt.disconnects = %d %v after the freeze, want %d", n, detected, users)
	}
	if detected > limit {
		t.Errorf("the hung connections were noticed %v after the freeze; want within %v (2x keep-alive)", detected, limit)
	}
	// Nothing else can have seen it first: the proxy holds the sockets
	// open, so the loss must be the pinger's.
	if n := strings.Count(logs.String(), "PINGRESP timed out"); n != users {
		t.Errorf("%d losses logged as a PINGRESP timeout, want %d", n, users)
	}
	waitOnline(t, reg, users, onlineBy)
	if n := reg.Latency(scenario.MQTTReconnect).Summary().Count; n != users {
		t.Errorf("mqtt.reconnect count = %d, want %d", n, users)
	}
	t.Logf("%d users noticed the hung broker %v after the freeze and came back", users, detected)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestConnectedUserCostsTwoPahoGoroutines brings users online and counts
// the goroutines running paho code: its reader and its router per client,
// and no pinger loop (paho's DefaultPinger would make it three).
func TestConnectedUserCostsTwoPahoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const users = 100
	srv := startBackend(t, "demo-secret", -1)
	defer srv.Close()
	sc := parse(t, `
version: 1
name: goroutines
duration: 1m
identity: { app_id: demo-app, app_secret: demo-secret }
fleet: { users: 100, connect_rate: 2000/s, keep_alive: 2s }
behaviours: { telemetry: { every: 1h } }
`)
	reg := metrics.NewRegistry()
	r, err := fleet.New(fleet.Config{Scenario: sc, HTTPURL: srv.HTTPURL(), MQTTURL: srv.MQTTURL(), Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	stop := startRun(t, r)
	defer stop()
	waitOnline(t, reg, users, onlineBy)
	// Past a keep-alive, so that every pinger has fired at least once.
	time.Sleep(2500 * time.Millisecond)

	paho, total := pahoGoroutines()
	t.Logf("%d users online: %d goroutines in the process, %d running paho code (%.2f per user)", users, total, paho, float64(paho)/users)
	if paho != 2*users {
		t.Errorf("%d goroutines run paho code for %d users; want %d (reader and router each)", paho, users, 2*users)
	}
}

// pahoGoroutines counts the goroutines whose stack has a frame of
// paho.golang.
func pahoGoroutines() (paho, total int) {
	buf := make([]byte, 64<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		total++
		if strings.Contains(g, "\ngithub.com/eclipse/paho.golang/") {
			paho++
		}
	}
	return paho, total
}
