package refbackend

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eixamsim/eixamsim/internal/wsconn"
	"github.com/gorilla/websocket"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// connectTimeout bounds how long an accepted connection may take to send
// its CONNECT (TLS and WebSocket handshakes included). mochi replaces the
// deadline with the keep-alive one once the CONNECT is read.
const connectTimeout = 10 * time.Second

// wsPath is the only path of the MQTT WebSocket listener (contract §1.5).
const wsPath = "/ws"

// errListenerClosed is returned by listener.start after Close.
var errListenerClosed = errors.New("listener closed")

// listener is a mochi listener for MQTT over TCP or over WebSocket (path
// /ws), optionally with TLS. Unlike mochi's own listeners it binds in Init,
// so that a ":0" port can be read back before Serve; it closes connections
// that do not send CONNECT within connectTimeout; it can be stopped and
// started again on the same address (Server.StopMQTT, Server.StartMQTT);
// and stop and Close return only after every goroutine it started has
// ended.
//
// States: open (ln != nil) ⇄ stopped (ln == nil) → closed (final). Every
// bind is a generation: a connection accepted by an earlier generation is
// refused once that generation was stopped.
type listener struct {
	id        string
	ws        bool
	addr      string // configured address
	tlsConfig *tls.Config
	log       *slog.Logger
	onEnd     func(err error) // called with the error that ended each connection; may be nil
	upgrade   websocket.Upgrader
	writes    writeQueue // how every connection queues its writes (conn.go)

	bound string // address bound by Init; start binds it again (same port)

	mu        sync.Mutex
	closed    bool
	gen       uint64       // current generation; bumped by every bind and stop
	ln        net.Listener // nil while stopped
	httpSrv   *http.Server // WebSocket only, one per generation
	conns     map[net.Conn]struct{}
	establish listeners.EstablishFn
	wg        sync.WaitGroup // accept loops and connections

	// shutDown, when set, ends the established sessions at Close in place
	// of the CloseFn mochi passes, which can deadlock (clientsOn).
	shutDown listeners.CloseFn
}

var _ listeners.Listener = (*listener)(nil)

// writeQueue is what the listener's connections share about their write
// queues: the limit of each, and the server-wide gauge of bytes waiting.
type writeQueue struct {
	limit   int
	backlog *atomic.Int64
}

func newListener(id, addr string, ws bool, tlsConfig *tls.Config, writes writeQueue, onEnd func(error)) *listener {
	return &listener{
		id:        id,
		ws:        ws,
		addr:      addr,
		tlsConfig: tlsConfig,
		onEnd:     onEnd,
		writes:    writes,
		conns:     make(map[net.Conn]struct{}),
		upgrade: websocket.Upgrader{
			// MQTT over WebSocket (MQTT 5 §6); the SDK offers mqtt and mqttv5.
			Subprotocols: []string{"mqtt", "mqttv5", "mqttv3.1"},
			CheckOrigin:  func(*http.Request) bool { return true },
		},
	}
}

// ID implements listeners.Listener.
func (l *listener) ID() string { return l.id }

// Address implements listeners.Listener: the bound address after Init (also
// while stopped).
func (l *listener) Address() string {
	if l.bound != "" {
		return l.bound
	}
	return l.addr
}

// Protocol implements listeners.Listener: tcp, ssl, ws or wss (the URL
// scheme a client uses, contract §3.2).
func (l *listener) Protocol() string {
	switch {
	case l.ws && l.tlsConfig != nil:
		return "wss"
	case l.ws:
		return "ws"
	case l.tlsConfig != nil:
		return "ssl"
	}
	return "tcp"
}

// Init implements listeners.Listener: it binds the address.
func (l *listener) Init(log *slog.Logger) error {
	l.log = log
	ln, err := l.bind(l.addr)
	if err != nil {
		return err
	}
	l.bound = ln.Addr().String()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ln = ln
	l.gen++
	return nil
}

// bind listens on addr, with TLS when configured.
func (l *listener) bind(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s (%s): %w", addr, l.Protocol(), err)
	}
	if l.tlsConfig != nil {
		ln = tls.NewListener(ln, l.tlsConfig)
	}
	return ln, nil
}

// Serve implements listeners.Listener. mochi runs it on its own goroutine;
// it starts the accept loop of the current generation and returns.
func (l *listener) Serve(establish listeners.EstablishFn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.establish = establish
	if !l.closed && l.ln != nil {
		l.serveLocked()
	}
}

// serveLocked starts the accept loop of the current generation. The caller
// holds l.mu, l.ln is set and l.establish too.
func (l *listener) serveLocked() {
	ln, gen := l.ln, l.gen
	l.wg.Add(1)
	if l.ws {
		srv := &http.Server{
			Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { l.serveWS(w, r, gen) }),
			ReadHeaderTimeout: connectTimeout,
			ErrorLog:          slog.NewLogLogger(l.log.Handler(), slog.LevelDebug),
		}
		l.httpSrv = srv
		go func() {
			defer l.wg.Done()
			_ = srv.Serve(ln) // returns on stop or Close
		}()
		return
	}
	go func() {
		defer l.wg.Done()
		l.acceptLoop(ln, gen)
	}()
}

// acceptLoop accepts TCP connections on ln until it is closed.
func (l *listener) acceptLoop(ln net.Listener, gen uint64) {
	backoff := 5 * time.Millisecond
	for {
		raw, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || !l.isCurrent(gen) {
				return
			}
			// e.g. out of file descriptors: wait and retry, as net/http does.
			l.log.Warn("accept failed", "listener", l.id, "error", err, "retry_in", backoff)
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		conn := l.wrap(raw)
		if !l.track(conn, gen) {
			_ = conn.Close()
			continue
		}
		go func() {
			defer l.untrack(conn)
			l.serveConn(conn)
		}()
	}
}

// serveWS upgrades a request on /ws and hands the connection to mochi.
func (l *listener) serveWS(w http.ResponseWriter, r *http.Request, gen uint64) {
	if r.URL.Path != wsPath {
		http.Error(w, "MQTT over WebSocket is served on "+wsPath, http.StatusNotFound)
		return
	}
	c, err := l.upgrade.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered the request
	}
	conn := l.wrap(wsconn.New(c))
	if !l.track(conn, gen) {
		_ = conn.Close()
		return
	}
	defer l.untrack(conn)
	l.serveConn(conn)
}

// wrap gives c the exact keep-alive and the write queue of conn.go.
func (l *listener) wrap(c net.Conn) *conn {
	return newConn(c, l.writes.limit, &l.wg, l.writes.backlog)
}

// serveConn runs one MQTT connection until it ends.
func (l *listener) serveConn(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(connectTimeout))
	err := l.establish(l.id, conn)
	if err != nil {
		l.log.Debug("mqtt connection ended", "listener", l.id, "remote", conn.RemoteAddr().String(), "error", err)
	}
	if l.onEnd != nil {
		l.onEnd(err)
	}
}

// isCurrent reports whether gen is the open generation.
func (l *listener) isCurrent(gen uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.closed && l.ln != nil && l.gen == gen
}

// track registers conn of generation gen; false once that generation was
// stopped or the listener closed.
func (l *listener) track(conn net.Conn, gen uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.ln == nil || l.gen != gen {
		return false
	}
	l.conns[conn] = struct{}{}
	l.wg.Add(1)
	return true
}

func (l *listener) untrack(conn net.Conn) {
	l.mu.Lock()
	delete(l.conns, conn)
	l.mu.Unlock()
	l.wg.Done()
}

// start binds the address of Init again and serves it; nil if already
// open. The caller serialises start, stop and Close.
func (l *listener) start() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errListenerClosed
	}
	if l.ln != nil {
		return nil
	}
	ln, err := l.bind(l.bound)
	if err != nil {
		return err
	}
	l.ln = ln
	l.gen++
	if l.establish != nil { // else the pending Serve starts it
		l.serveLocked()
	}
	return nil
}

// stop closes the socket (new connections are refused), lets closeClients
// end the established sessions, closes the connections still waiting for
// CONNECT and waits for every connection and accept loop to end. Stopping
// a stopped listener only waits.
func (l *listener) stop(closeClients listeners.CloseFn) {
	l.mu.Lock()
	ln, srv := l.ln, l.httpSrv
	l.ln, l.httpSrv = nil, nil
	l.gen++
	l.mu.Unlock()
	switch {
	case srv != nil:
		_ = srv.Close() // closes ln and the connections not yet upgraded
	case ln != nil:
		_ = ln.Close()
	}
	closeClients(l.id)
	l.mu.Lock()
	for conn := range l.conns {
		_ = conn.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

// Close implements listeners.Listener. It stops the listener for good:
// shutDown (or mochi's closeClients) sends DISCONNECT (0x8B server
// shutting down) to the established clients.
func (l *listener) Close(closeClients listeners.CloseFn) {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	if l.shutDown != nil {
		closeClients = l.shutDown
	}
	l.stop(closeClients)
}
