package interop

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/gorilla/websocket"

	"github.com/eixamsim/eixamsim/internal/testcert"
	"github.com/eixamsim/eixamsim/internal/wsconn"
)

// Churn over ws:// against mosquitto: how many cycles, how many at once,
// and how many QoS 1 publishes each cycle makes concurrently (paho then
// writes PUBLISH, PUBACK and PINGREQ packets from several goroutines on
// one connection, which is what used to interleave).
const (
	churnCycles      = 2000
	churnTLSCycles   = 500 // wss://: the same code under TLS, fewer for CPU
	churnConcurrency = 50
	churnPublishes   = 4
	churnBudget      = 60 * time.Second // the whole churn, far above what it takes
	cycleTimeout     = 10 * time.Second
)

// TestWebSocketChurnAgainstMosquitto connects, subscribes, publishes
// (concurrently, receiving its own messages back) and disconnects
// churnCycles times over ws:// through wsconn and paho, and checks every
// cycle succeeded, a TCP observer saw every message, and mosquitto logged
// a clean DISCONNECT for every client and no dropped one.
func TestWebSocketChurnAgainstMosquitto(t *testing.T) {
	m := startMosquitto(t)
	churn(t, m, m.WSURL, websocket.Dialer{}, churnCycles)
}

// TestSecureWebSocketChurnAgainstMosquitto is the same over wss://, the
// SDK's production transport.
func TestSecureWebSocketChurnAgainstMosquitto(t *testing.T) {
	certFile, keyFile, pool := testcert.Write(t)
	m := startMosquitto(t, "certfile "+certFile, "keyfile "+keyFile)
	churn(t, m, "wss"+strings.TrimPrefix(m.WSURL, "ws"), websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}}, churnTLSCycles)
}

// churn runs cycles churn cycles against m's WebSocket listener at wsURL
// with d (churnConcurrency at once) and checks them and mosquitto's log.
func churn(t *testing.T, m *mosquitto, wsURL string, d websocket.Dialer, cycles int) {
	ctx, cancel := context.WithTimeout(context.Background(), churnBudget)
	defer cancel()

	observed := make(chan struct{}, cycles*churnPublishes)
	observer := observe(ctx, t, m.TCPAddr, "churn/#", func(*paho.Publish) {
		select {
		case observed <- struct{}{}:
		default:
		}
	})

	start := time.Now()
	var (
		next, ok atomic.Int64
		emu      sync.Mutex
		errs     []error
		wg       sync.WaitGroup
	)
	for range churnConcurrency {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(cycles) || ctx.Err() != nil {
					return
				}
				if err := churnCycle(ctx, wsURL, d, int(i)); err != nil {
					emu.Lock()
					errs = append(errs, fmt.Errorf("cycle %d: %w", i, err))
					emu.Unlock()
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	for i := 0; i < cycles*churnPublishes; i++ {
		select {
		case <-observed:
		case <-ctx.Done():
			t.Errorf("TCP observer saw %d of %d messages", i, cycles*churnPublishes)
			i = cycles * churnPublishes
		}
	}
	if err := observer.Disconnect(&paho.Disconnect{ReasonCode: 0}); err != nil {
		t.Errorf("observer disconnect: %v", err)
	}
	<-observer.Done()
	// Every client has closed its side; give mosquitto a moment to read the
	// last DISCONNECTs before it is stopped (a stop cuts what it has not
	// read yet, and the log would miss those lines).
	m.WaitForLog(t, func(lines []string) bool {
		ends := 0
		for _, l := range lines {
			if brokerDrops.MatchString(l) || (strings.HasPrefix(l, "Client ") && strings.HasSuffix(l, " disconnected.")) {
				ends++
			}
		}
		return ends >= cycles+1
	}, 5*time.Second)
	m.Stop()
	t.Logf("%d cycles over %s in %v (%d at once)", ok.Load(), wsURL, elapsed.Round(time.Millisecond), churnConcurrency)

	if n := ok.Load(); n != int64(cycles) {
		t.Errorf("%d of %d cycles succeeded; first errors:\n%v", n, cycles, errors.Join(errs[:min(len(errs), 10)]...))
	}
	lines := m.Log(t)
	var drops []string
	connected, clean := 0, 0
	for _, l := range lines {
		switch {
		case brokerDrops.MatchString(l):
			drops = append(drops, l)
		case strings.HasPrefix(l, "New client connected"):
			connected++
		case strings.HasPrefix(l, "Client ") && strings.HasSuffix(l, " disconnected."):
			clean++
		}
	}
	if len(drops) > 0 {
		t.Errorf("mosquitto dropped %d clients, e.g.:\n%s", len(drops), strings.Join(drops[:min(len(drops), 10)], "\n"))
	}
	if want := cycles + 1; connected != want || clean != want { // + the observer
		t.Errorf("mosquitto logged %d connects and %d clean disconnects, want %d each", connected, clean, want)
	}
}

// churnCycle is one client's life: connect over ws:// (through wsconn),
// subscribe to its own topic at QoS 1, publish churnPublishes QoS 1
// messages to it at once, receive them all back, disconnect.
func churnCycle(ctx context.Context, wsURL string, d websocket.Dialer, i int) error {
	ctx, cancel := context.WithTimeout(ctx, cycleTimeout)
	defer cancel()
	d.HandshakeTimeout, d.Subprotocols = cycleTimeout, []string{"mqtt"}
	ws, _, err := d.DialContext(ctx, wsURL, nil)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	conn := wsconn.New(ws)
	defer conn.Close()

	id := fmt.Sprintf("churn-%d", i)
	topic := "churn/" + id
	received := make(chan []byte, churnPublishes)
	clientErr := make(chan error, 1)
	var leaving atomic.Bool // after our DISCONNECT, the connection's end is no error
	client := paho.NewClient(paho.ClientConfig{
		ClientID: id,
		Conn:     conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) {
				select {
				case received <- pr.Packet.Payload:
				default:
				}
				return true, nil
			},
		},
		OnClientError: func(err error) {
			if leaving.Load() {
				return
			}
			select {
			case clientErr <- err:
			default:
			}
		},
		OnServerDisconnect: func(d *paho.Disconnect) {
			select {
			case clientErr <- fmt.Errorf("server DISCONNECT reason 0x%02X", d.ReasonCode):
			default:
			}
		},
		PacketTimeout: cycleTimeout,
	})
	if _, err := client.Connect(ctx, &paho.Connect{ClientID: id, KeepAlive: 1, CleanStart: true}); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() { <-client.Done() }()
	sa, err := client.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 1}}})
	if err != nil || len(sa.Reasons) != 1 || sa.Reasons[0] != 1 {
		leaving.Store(true)
		_ = client.Disconnect(&paho.Disconnect{})
		return fmt.Errorf("subscribe: %v %v", sa, err)
	}

	var wg sync.WaitGroup
	perr := make(chan error, churnPublishes)
	for p := range churnPublishes {
		wg.Go(func() {
			// Sizes from a few bytes to past a 2-byte remaining length.
			payload := bytes.Repeat([]byte{byte('a' + p)}, 1+(i*131+p*4099)%20000)
			if _, err := client.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload}); err != nil {
				perr <- fmt.Errorf("publish %d: %w", p, err)
			}
		})
	}
	wg.Wait()
	close(perr)
	err = errors.Join(<-perr, <-perr)
	for n := 0; err == nil && n < churnPublishes; n++ {
		select {
		case msg := <-received:
			if len(msg) == 0 || !bytes.Equal(msg, bytes.Repeat(msg[:1], len(msg))) {
				err = fmt.Errorf("message %d came back altered (%d bytes)", n, len(msg))
			}
		case err = <-clientErr:
		case <-ctx.Done():
			err = fmt.Errorf("%d of %d messages back: %w", n, churnPublishes, ctx.Err())
		}
	}
	if err == nil {
		select {
		case err = <-clientErr:
		default:
		}
	}
	leaving.Store(true)
	if derr := client.Disconnect(&paho.Disconnect{ReasonCode: 0}); derr != nil && err == nil {
		err = fmt.Errorf("disconnect: %w", derr)
	}
	return err
}
