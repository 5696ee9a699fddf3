package refbackend

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// connectTimeout bounds how long an accepted connection may take to send
// its CONNECT (TLS and WebSocket handshakes included). mochi replaces the
// deadline with the keep-alive one once the CONNECT is read.
const connectTimeout = 10 * time.Second

// wsPath is the only path of the MQTT WebSocket listener (contract §1.5).
const wsPath = "/ws"

// listener is a mochi listener for MQTT over TCP or over WebSocket (path
// /ws), optionally with TLS. Unlike mochi's own listeners it binds in Init,
// so that a ":0" port can be read back before Serve; it closes connections
// that do not send CONNECT within connectTimeout; and Close returns only
// after every goroutine it started has ended.
type listener struct {
	id        string
	ws        bool
	addr      string
	tlsConfig *tls.Config
	log       *slog.Logger

	ln      net.Listener
	httpSrv *http.Server // WebSocket only
	upgrade websocket.Upgrader

	mu        sync.Mutex
	closed    bool
	conns     map[net.Conn]struct{}
	establish listeners.EstablishFn
	wg        sync.WaitGroup // Serve and every connection
}

var _ listeners.Listener = (*listener)(nil)

func newListener(id, addr string, ws bool, tlsConfig *tls.Config) *listener {
	return &listener{
		id:        id,
		ws:        ws,
		addr:      addr,
		tlsConfig: tlsConfig,
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

// Address implements listeners.Listener: the bound address after Init.
func (l *listener) Address() string {
	if l.ln != nil {
		return l.ln.Addr().String()
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
	ln, err := net.Listen("tcp", l.addr)
	if err != nil {
		return fmt.Errorf("listen %s (%s): %w", l.addr, l.Protocol(), err)
	}
	if l.tlsConfig != nil {
		ln = tls.NewListener(ln, l.tlsConfig)
	}
	l.ln = ln
	if l.ws {
		l.httpSrv = &http.Server{
			Handler:           http.HandlerFunc(l.serveWS),
			ReadHeaderTimeout: connectTimeout,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		}
	}
	return nil
}

// Serve implements listeners.Listener; mochi runs it on its own goroutine.
func (l *listener) Serve(establish listeners.EstablishFn) {
	l.mu.Lock()
	if l.closed || l.ln == nil {
		l.mu.Unlock()
		return
	}
	l.establish = establish
	l.wg.Add(1)
	l.mu.Unlock()
	defer l.wg.Done()

	if l.ws {
		_ = l.httpSrv.Serve(l.ln) // returns on Close
		return
	}
	backoff := 5 * time.Millisecond
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			if l.isClosed() || errors.Is(err, net.ErrClosed) {
				return
			}
			// e.g. out of file descriptors: wait and retry, as net/http does.
			l.log.Warn("accept failed", "listener", l.id, "error", err, "retry_in", backoff)
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		if !l.track(conn) {
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
func (l *listener) serveWS(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != wsPath {
		http.Error(w, "MQTT over WebSocket is served on "+wsPath, http.StatusNotFound)
		return
	}
	c, err := l.upgrade.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered the request
	}
	conn := &wsConn{Conn: c.UnderlyingConn(), ws: c}
	if !l.track(conn) {
		_ = conn.Close()
		return
	}
	defer l.untrack(conn)
	l.serveConn(conn)
}

// serveConn runs one MQTT connection until it ends.
func (l *listener) serveConn(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(connectTimeout))
	if err := l.establish(l.id, conn); err != nil {
		l.log.Debug("mqtt connection ended", "listener", l.id, "remote", conn.RemoteAddr().String(), "error", err)
	}
}

func (l *listener) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// track registers conn; false once the listener is closed.
func (l *listener) track(conn net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
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

// Close implements listeners.Listener. It stops accepting, lets mochi send
// DISCONNECT (0x8B server shutting down) to the established clients, closes
// the connections still waiting for CONNECT and waits for all of them.
func (l *listener) Close(closeClients listeners.CloseFn) {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	switch {
	case l.httpSrv != nil:
		_ = l.httpSrv.Close() // closes l.ln and the connections not yet upgraded
	case l.ln != nil:
		_ = l.ln.Close()
	}
	closeClients(l.id)
	l.mu.Lock()
	for conn := range l.conns {
		_ = conn.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}
