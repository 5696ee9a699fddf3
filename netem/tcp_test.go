package netem

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/internal/testcert"
	"go.uber.org/goleak"
)

// These tests run over real loopback TCP, on the wall clock. Every sample
// must take at least what the model adds: delays are never short. The
// fastest of several may take at most 10 % more (the 100ms ± 10 %
// for a 100ms profile): a load on the machine only ever adds delay, to
// some samples, while an overhead of the wrapper's own would show in every
// one, the fastest too. Medians are logged; on an idle machine they are
// within 3 % (docs/network.md). The exact timing of the model is tested on
// virtual time in conn_test.go. The timing tests run one after another,
// not to load each other.

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echoServer accepts on loopback and echoes every connection, over TLS
// if conf is not nil.
func echoServer(t *testing.T, conf *tls.Config) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if conf != nil {
		ln = tls.NewListener(ln, conf)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func tlsConfigs(t *testing.T) (server, client *tls.Config) {
	certFile, keyFile, pool := testcert.Write(t)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

func link100ms(t *testing.T) *Link { return newLink(t, Profile{RTT: Exactly(100 * ms)}) }

// roundTrips measures n echoes of a 32-byte message over c.
func roundTrips(t *testing.T, c net.Conn, n int) []time.Duration {
	t.Helper()
	msg := []byte(strings.Repeat("x", 32))
	var out []time.Duration
	for range n {
		start := time.Now()
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		readN(t, c, len(msg))
		out = append(out, time.Since(start))
	}
	return out
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return slices.Sorted(slices.Values(d))[len(d)/2]
}

// within checks that every sample is at least want, the least the link
// adds, and that the fastest is at most 10 % above want more than the
// fastest of bare, the same operations without the link (nothing for an
// echo on loopback, TLS's own work for a new HTTPS connection).
func within(t *testing.T, what string, samples, bare []time.Duration, want time.Duration) {
	t.Helper()
	fastest := func(d []time.Duration) time.Duration {
		if len(d) == 0 {
			return 0
		}
		return slices.Min(d)
	}
	if fastest(samples) < want {
		t.Errorf("%s: the fastest took %v, less than the %v the link adds", what, fastest(samples), want)
	}
	added := fastest(samples) - fastest(bare)
	t.Logf("%s: the link added %v at the fastest, %v at the median", what, added, median(samples)-median(bare))
	if added > want+want/10 {
		t.Errorf("%s: the link added %v even to the fastest; want %v + at most 10 %% (all: %v)", what, added, want, samples)
	}
}

func TestLoopbackRoundTripIsTheRTT(t *testing.T) {
	addr := echoServer(t, nil)
	dial := link100ms(t).Dial((&net.Dialer{}).DialContext)
	start := time.Now()
	c, err := dial(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if d := time.Since(start); d < 100*ms {
		t.Errorf("dial took %v; want at least one RTT", d)
	}
	within(t, "echo over loopback TCP", roundTrips(t, c, 15), nil, 100*ms)
}

func TestTLSOverTheLink(t *testing.T) {
	serverConf, clientConf := tlsConfigs(t)
	addr := echoServer(t, serverConf)
	raw, err := link100ms(t).Dial((&net.Dialer{}).DialContext)(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := tls.Client(raw, clientConf)
	defer c.Close()
	start := time.Now()
	if err := c.HandshakeContext(t.Context()); err != nil {
		t.Fatal(err)
	}
	// TLS 1.3 takes one round trip (the client's Finished goes out with
	// its first data); TestHTTPOverTheLink counts it on a new HTTPS
	// connection, against the same handshake without the link.
	if d := time.Since(start); d < 100*ms {
		t.Errorf("the TLS handshake took %v; want at least one RTT", d)
	}
	within(t, "echo over TLS", roundTrips(t, c, 10), nil, 100*ms)

	// tls.Conn.CloseWrite reaches the raw connection's CloseWrite: the
	// server sees the end of the stream, echoes it, and closes.
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("after CloseWrite the client read %d, %v; want EOF once the server closes", n, err)
	}
}

// TestHTTPOverTheLink: net/http dialing through the link pays the TCP
// handshake and the request's round trip on a new connection, one round
// trip on a kept-alive one, and over HTTPS TLS 1.3's round trip besides,
// which is timed on its own (httptrace) because TLS's own work, stretched
// by a loaded machine, falls inside it.
func TestHTTPOverTheLink(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"ok":true}`) })
	for name, server := range map[string]*httptest.Server{
		"http":  httptest.NewServer(handler),
		"https": httptest.NewTLSServer(handler),
	} {
		t.Run(name, func(t *testing.T) {
			defer server.Close()
			tlsConf := server.Client().Transport.(*http.Transport).TLSClientConfig
			onLink := &http.Transport{DialContext: link100ms(t).Dial((&net.Dialer{}).DialContext), TLSClientConfig: tlsConf}
			bare := &http.Transport{TLSClientConfig: tlsConf}
			defer onLink.CloseIdleConnections()
			defer bare.CloseIdleConnections()
			// get returns how long a request took, less its TLS
			// handshake, and the handshake.
			get := func(transport *http.Transport, wantReused bool) (rest, handshake time.Duration) {
				var reused bool
				var tlsStart time.Time
				trace := &httptrace.ClientTrace{
					GotConn:           func(i httptrace.GotConnInfo) { reused = i.Reused },
					TLSHandshakeStart: func() { tlsStart = time.Now() },
					TLSHandshakeDone:  func(tls.ConnectionState, error) { handshake = time.Since(tlsStart) },
				}
				req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), "GET", server.URL+"/v1/sdk/me", nil)
				start := time.Now()
				resp, err := (&http.Client{Transport: transport}).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if reused != wantReused {
					t.Fatalf("the request reused a connection: %v, want %v", reused, wantReused)
				}
				return time.Since(start) - handshake, handshake
			}
			var fresh, kept, bareFresh, bareKept []time.Duration
			for range 6 {
				for _, tr := range []*http.Transport{onLink, bare} {
					tr.CloseIdleConnections()
				}
				rest, handshake := get(onLink, false)
				if name == "https" && handshake < 100*ms {
					t.Errorf("the TLS handshake of a new connection took %v, less than its round trip", handshake)
				}
				fresh = append(fresh, rest)
				for range 2 {
					d, _ := get(onLink, true)
					kept = append(kept, d)
				}
				d, _ := get(bare, false)
				bareFresh = append(bareFresh, d)
				for range 2 {
					d, _ := get(bare, true)
					bareKept = append(bareKept, d)
				}
			}
			within(t, "a request on a new connection, less its TLS handshake", fresh, bareFresh, 200*ms)
			within(t, "a request on a kept-alive connection", kept, bareKept, 100*ms)
		})
	}
}

// TestIdleConnsAddNoGoroutines: connections on a link, each with the one
// reader goroutine a client has anyway, run no goroutine of their own once
// their traffic is through.
func TestIdleConnsAddNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	addr := echoServer(t, nil) // one goroutine accepting, one per connection
	l := newLink(t, Profile{RTT: Between(10*ms, 30*ms), Jitter: 2 * ms, Up: 2 * Mbit, Down: 5 * Mbit, Loss: 0.01})
	dial := l.Dial((&net.Dialer{}).DialContext)
	const n = 50
	echoed := make(chan struct{}, n)
	var conns []net.Conn
	for range n {
		c, err := dial(t.Context(), "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		go func() { // the client's own reader, as paho's
			buf := make([]byte, 64)
			io.ReadFull(c, buf[:5])
			echoed <- struct{}{}
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
			}
		}()
		c.Write([]byte("hello"))
	}
	for range n {
		<-echoed
	}
	want := before + 1 + n + n // the accept loop, the echo handlers, the readers
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines with %d idle connections; want at most %d (none of netem's)", runtime.NumGoroutine(), n, want)
		}
		time.Sleep(10 * ms)
	}
	for _, c := range conns {
		c.Close()
	}
}

func TestDialHonoursItsContext(t *testing.T) {
	t.Parallel()
	addr := echoServer(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := link100ms(t).Dial((&net.Dialer{}).DialContext)(ctx, "tcp", addr); err == nil {
		t.Error("a dial with a cancelled context succeeded")
	}
}

func TestCloseWriteHalfCloses(t *testing.T) {
	t.Parallel()
	addr := echoServer(t, nil)
	c, err := link100ms(t).Dial((&net.Dialer{}).DialContext)(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("last words"))
	if err := c.(*Conn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("Write after CloseWrite = %v, want EPIPE", err)
	}
	// The queued bytes still cross, then the FIN; the echo comes back,
	// then the server's own end.
	if got := readN(t, c, 10); string(got) != "last words" {
		t.Errorf("read %q back", got)
	}
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("then read %v, want EOF", err)
	}
}
