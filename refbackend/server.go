package refbackend

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/eixamsim/eixamsim/faults"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Server is a running reference backend. Its methods are safe for
// concurrent use.
type Server struct {
	cfg      Config
	log      *slog.Logger
	stats    *counters
	ids      *identities
	sessions *sessions
	sched    *scheduler
	life     *lifecycle
	faults   atomic.Pointer[faults.Set]
	stall    stall
	capacity *capacity // Config.Capacity; nil without a model

	// mqttMu serialises StopMQTT, StartMQTT, Kick and the start of Close;
	// closed is set by Close.
	mqttMu sync.Mutex
	closed bool

	runsMu     sync.Mutex
	runs       map[*FaultRun]struct{} // fault schedules running
	runsClosed bool
	runsWG     sync.WaitGroup

	broker     *mqtt.Server
	mqttLn     *listener
	wsLn       *listener
	httpLn     net.Listener
	httpSrv    *http.Server
	httpWG     sync.WaitGroup
	baseCtx    context.Context // parent of every HTTP request; cancelled by Close
	cancelBase context.CancelFunc
	closeOnce  sync.Once
	closeErr   error
	tlsEnabled bool
}

// Start starts the listeners of cfg and returns once they are bound. ctx
// bounds the start only; stop the server with Close. cfg is taken by value;
// defaults are filled in on the copy.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("refbackend: start: %w", err)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("refbackend: invalid config: %w", err)
	}
	tlsConfig, err := loadTLS(cfg.TLSCertFile, cfg.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("refbackend: %w", err)
	}

	s := &Server{
		cfg:        cfg,
		log:        cfg.Logger,
		stats:      new(counters),
		ids:        newIdentities(cfg.Apps, cfg.CanonicalPrefix),
		sessions:   new(sessions),
		sched:      newScheduler(),
		runs:       make(map[*FaultRun]struct{}),
		tlsEnabled: tlsConfig != nil,
		capacity:   newCapacity(cfg.Capacity, time.Now()),
	}
	s.baseCtx, s.cancelBase = context.WithCancel(context.Background())
	initial := cfg.Faults
	s.faults.Store(&initial)
	s.broker = mqtt.New(&mqtt.Options{
		InlineClient:           true, // lifecycle events are published in-process
		Logger:                 slog.New(shiftLevel{h: cfg.Logger.Handler(), by: -4}),
		Capabilities:           brokerCapabilities(cfg),
		SysTopicResendInterval: 3600, // nobody may read $SYS; spare the ReadMemStats
	})
	s.life = &lifecycle{
		ackDelay: cfg.AckDelay,
		sched:    s.sched,
		stats:    s.stats,
		faults:   s.faults.Load,
		events: &eventPublisher{
			publish: func(topic string, payload []byte) error { return s.broker.Publish(topic, payload, false, 1) },
			faults:  s.faults.Load,
			sched:   s.sched,
			stats:   s.stats,
		},
	}
	if err := s.listen(tlsConfig); err != nil {
		s.abort()
		return nil, fmt.Errorf("refbackend: %w", err)
	}
	if err := s.broker.Serve(); err != nil {
		s.abort()
		return nil, fmt.Errorf("refbackend: start broker: %w", err)
	}
	s.stats.listening.Store(s.mqttLn != nil || s.wsLn != nil)
	s.sched.start()
	if s.httpLn != nil {
		s.httpWG.Add(1)
		go func() {
			defer s.httpWG.Done()
			_ = s.httpSrv.Serve(s.httpLn) // returns on Close
		}()
	}
	s.log.Info("reference backend started", "mqtt", s.MQTTURL(), "ws", s.WSURL(), "http", s.HTTPURL())
	if len(cfg.Schedule) > 0 {
		if _, err := s.RunSchedule(time.Now(), cfg.Schedule); err != nil { // validated above: cannot fail
			_ = s.Close()
			return nil, err
		}
	}
	return s, nil
}

// brokerCapabilities are mochi's capabilities for the SDK's traffic.
func brokerCapabilities(cfg Config) *mqtt.Capabilities {
	c := mqtt.NewDefaultServerCapabilities()
	c.MaximumPacketSize = uint32(cfg.MaxPayloadBytes)
	c.MaximumQos = 1                      // the SDK uses QoS 1; QoS 2 is granted as 1 (announced in CONNACK)
	c.TopicAliasMaximum = 0               // mochi checks the ACL before resolving an alias
	c.MaximumClientWritesPending = 256    // per-client outbound queue; mochi's 8192 costs 64 KiB a client
	c.MaximumSessionExpiryInterval = 3600 // bound what non-SDK clients can leave behind
	return c
}

// listen adds the hooks and binds every configured listener.
func (s *Server) listen(tlsConfig *tls.Config) error {
	hooks := []struct {
		hook mqtt.Hook
		opts any
	}{
		{new(authHook), &authOptions{ids: s.ids, stats: s.stats}},
		{new(aclHook), &aclOptions{sessions: s.sessions, stats: s.stats}},
		{new(sessionHook), &sessionOptions{ids: s.ids, sessions: s.sessions, stats: s.stats, maxPacket: uint32(s.cfg.MaxPayloadBytes)}},
		{new(ingestHook), &ingestOptions{sessions: s.sessions, stats: s.stats, life: s.life, capacity: s.capacity, ctx: s.baseCtx}},
		{new(keepaliveHook), nil},
		{new(takeoverHook), nil},
		{new(disconnectHook), s.stats},
	}
	for _, h := range hooks {
		if err := s.broker.AddHook(h.hook, h.opts); err != nil {
			return fmt.Errorf("add hook %s: %w", h.hook.ID(), err)
		}
	}
	writes := writeQueue{limit: s.cfg.MaxPendingWrite, backlog: &s.stats.writeBacklog}
	if s.cfg.MQTTAddr != "" {
		s.mqttLn = newListener("mqtt", s.cfg.MQTTAddr, false, cloneTLS(tlsConfig), writes, s.connectionEnded)
		s.mqttLn.shutDown = s.shutDownClients
		if err := s.broker.AddListener(s.mqttLn); err != nil {
			s.mqttLn = nil
			return err
		}
	}
	if s.cfg.WSAddr != "" {
		s.wsLn = newListener("ws", s.cfg.WSAddr, true, cloneTLS(tlsConfig), writes, s.connectionEnded)
		s.wsLn.shutDown = s.shutDownClients
		if err := s.broker.AddListener(s.wsLn); err != nil {
			s.wsLn = nil
			return err
		}
	}
	if s.cfg.HTTPAddr != "" {
		ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("listen %s (http): %w", s.cfg.HTTPAddr, err)
		}
		if tlsConfig != nil {
			ln = tls.NewListener(ln, cloneTLS(tlsConfig)) // HTTP/1.1 only, like the SDK's client
		}
		s.httpLn = ln
		s.httpSrv = &http.Server{
			Handler:           newAPI(s),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       90 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return s.baseCtx },
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		}
	}
	return nil
}

// connectionEnded counts the MQTT connections closed for a bad packet.
// err is what ended the connection (mochi's attachClient error).
func (s *Server) connectionEnded(err error) {
	var code packets.Code
	switch {
	case err == nil:
	case errors.Is(err, packets.ErrPacketTooLarge):
		s.stats.packetsTooLarge.Add(1)
	case errors.As(err, &code) && (code.Code == packets.ErrMalformedPacket.Code || code.Code == packets.ErrProtocolViolation.Code):
		s.stats.malformedPackets.Add(1)
	}
}

// abort releases what a failed Start acquired.
func (s *Server) abort() {
	s.cancelBase()
	if s.httpLn != nil {
		_ = s.httpLn.Close()
	}
	_ = s.broker.Close() // closes the bound MQTT listeners
	s.sched.stop()
}

// Close stops the server: fault schedules first (the runtime fault
// controls return ErrClosed from then on), then HTTP (requests in progress
// finish, injected latency and stalls are cut short), then the broker
// (clients get DISCONNECT 0x8B), then pending acknowledgements and delayed
// events are discarded. It returns when every goroutine the server started
// has ended. Calling it again returns the first result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mqttMu.Lock()
		s.closed = true
		s.mqttMu.Unlock()
		s.stopRuns()
		s.cancelBase()
		if s.httpSrv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := s.httpSrv.Shutdown(ctx); err != nil {
				s.closeErr = fmt.Errorf("refbackend: http shutdown: %w", err)
				_ = s.httpSrv.Close()
			}
			cancel()
			s.httpWG.Wait()
		}
		if err := s.broker.Close(); err != nil {
			s.closeErr = errors.Join(s.closeErr, fmt.Errorf("refbackend: mqtt close: %w", err))
		}
		s.sched.stop()
		s.log.Info("reference backend stopped")
	})
	return s.closeErr
}

// MQTTURL is the MQTT TCP URL, "tcp://127.0.0.1:PORT" (ssl:// with TLS);
// "" if disabled. An unspecified bind address is reported as loopback.
func (s *Server) MQTTURL() string {
	if s.mqttLn == nil {
		return ""
	}
	return s.mqttLn.Protocol() + "://" + dialAddr(s.mqttLn.Address())
}

// WSURL is the MQTT WebSocket URL, "ws://127.0.0.1:PORT/ws" (wss:// with
// TLS); "" if disabled.
func (s *Server) WSURL() string {
	if s.wsLn == nil {
		return ""
	}
	return s.wsLn.Protocol() + "://" + dialAddr(s.wsLn.Address()) + wsPath
}

// HTTPURL is the API base URL, "http://127.0.0.1:PORT" (https:// with
// TLS); "" if disabled.
func (s *Server) HTTPURL() string {
	if s.httpLn == nil {
		return ""
	}
	scheme := "http"
	if s.tlsEnabled {
		scheme = "https"
	}
	return scheme + "://" + dialAddr(s.httpLn.Addr().String())
}

// Stats returns a snapshot of the counters, per-user telemetry included
// (the data of GET /debug/stats).
func (s *Server) Stats() Stats {
	return s.snapshot(s.ids.all())
}

// snapshot is Stats with the per-user telemetry of users (none when nil).
func (s *Server) snapshot(users []*user) Stats {
	st := s.stats.snapshot(users)
	st.Capacity = s.capacity.stats()
	return st
}

// SetFaults replaces the injected faults while the server runs. An invalid
// f is refused with an error and the current faults stay.
func (s *Server) SetFaults(f faults.Set) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("refbackend: invalid faults: %w", err)
	}
	f = f.Clone()
	s.faults.Store(&f)
	return nil
}

// loadTLS returns the server TLS config, nil when no files are given.
func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

func cloneTLS(c *tls.Config) *tls.Config {
	if c == nil {
		return nil
	}
	return c.Clone()
}

// dialAddr turns a bound address into one a client can dial: an
// unspecified IP (0.0.0.0, ::) becomes loopback.
func dialAddr(bound string) string {
	host, port, err := net.SplitHostPort(bound)
	if err != nil {
		return bound
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if ip.To4() != nil {
			host = "127.0.0.1"
		} else {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port)
}

// shiftLevel lowers the level of every record by `by` (negative): mochi's
// errors become warnings, warnings info, info debug.
type shiftLevel struct {
	h  slog.Handler
	by slog.Level
}

func (s shiftLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return s.h.Enabled(ctx, l+s.by)
}

func (s shiftLevel) Handle(ctx context.Context, r slog.Record) error {
	r.Level += s.by
	return s.h.Handle(ctx, r)
}

func (s shiftLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return shiftLevel{h: s.h.WithAttrs(attrs), by: s.by}
}

func (s shiftLevel) WithGroup(name string) slog.Handler {
	return shiftLevel{h: s.h.WithGroup(name), by: s.by}
}
