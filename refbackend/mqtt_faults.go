package refbackend

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Errors of the runtime fault controls.
var (
	// ErrClosed is returned by the fault controls after Server.Close.
	ErrClosed = errors.New("refbackend: server closed")
	// ErrNoMQTT is returned by StopMQTT and StartMQTT (and refused in a
	// schedule) when neither MQTTAddr nor WSAddr is configured.
	ErrNoMQTT = errors.New("refbackend: no MQTT listener configured")
)

// StopMQTT closes the MQTT listeners (TCP and WebSocket) and drops every
// connected client, as a broker crash or restart would: MQTT 5 clients get
// DISCONNECT 0x8B "server shutting down", then the connection is closed
// (MQTT 3.1.1 clients, which have no server DISCONNECT, only see the close).
// Connections still waiting for their CONNECT are closed too. While
// stopped, new connections are refused (the ports are not listening); the
// HTTP API keeps serving. It returns when every MQTT connection has ended,
// so Stats().MQTT.Connected is 0 then. Stopping stopped listeners does
// nothing. Errors: ErrNoMQTT, ErrClosed.
func (s *Server) StopMQTT() error {
	s.mqttMu.Lock()
	defer s.mqttMu.Unlock()
	if err := s.mqttUsable(); err != nil {
		return err
	}
	wasOpen := s.stats.listening.Swap(false)
	for _, l := range s.mqttListeners() {
		l.stop(s.dropClients) // also those a failed StartMQTT opened
	}
	if wasOpen {
		s.stats.listenerStops.Add(1)
		s.log.Warn("mqtt listeners stopped (injected fault)")
	}
	return nil
}

// StartMQTT re-opens the MQTT listeners closed by StopMQTT on the same
// addresses and ports, so clients reconnect to the same URLs (MQTTURL and
// WSURL do not change), with TLS if configured. Starting open listeners
// does nothing. If a port cannot be bound again (another process took it)
// the error says which; the listeners that could be opened stay open and
// StartMQTT may be called again. Errors: ErrNoMQTT, ErrClosed, bind errors.
func (s *Server) StartMQTT() error {
	s.mqttMu.Lock()
	defer s.mqttMu.Unlock()
	if err := s.mqttUsable(); err != nil {
		return err
	}
	if s.stats.listening.Load() {
		return nil
	}
	var errs []error
	for _, l := range s.mqttListeners() {
		if err := l.start(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("refbackend: start mqtt: %w", err)
	}
	s.stats.listening.Store(true)
	s.stats.listenerRestarts.Add(1)
	s.log.Warn("mqtt listeners restarted (injected fault)", "mqtt", s.MQTTURL(), "ws", s.WSURL())
	return nil
}

// Kick disconnects the given fraction of the sessions connected now,
// chosen at random, and returns how many it disconnected:
// round(fraction × connected), fraction clamped to 0..1 (NaN kicks none).
// MQTT 5 clients get DISCONNECT 0x98 "administrative action", then the
// connection is closed (MQTT 3.1.1 clients only see the close). Listeners
// stay open, so the clients may reconnect at once. Kick returns once the
// connections are closed; Stats().MQTT.Connected drops shortly after (the
// session goroutines end asynchronously).
func (s *Server) Kick(fraction float64) int {
	s.mqttMu.Lock()
	defer s.mqttMu.Unlock()
	if s.closed || !(fraction > 0) {
		return 0
	}
	var open []*mqtt.Client
	s.sessions.m.Range(func(k, _ any) bool {
		if cl := k.(*mqtt.Client); !cl.Closed() {
			open = append(open, cl)
		}
		return true
	})
	n := int(math.Round(min(fraction, 1) * float64(len(open))))
	rand.Shuffle(len(open), func(i, j int) { open[i], open[j] = open[j], open[i] })
	for _, cl := range open[:n] {
		s.disconnect(cl, packets.ErrAdministrativeAction)
	}
	s.stats.kicks.Add(1)
	s.stats.kicked.Add(int64(n))
	s.log.Warn("mqtt clients kicked (injected fault)", "kicked", n, "of", len(open))
	return n
}

// mqttUsable reports why the MQTT controls cannot act. The caller holds
// s.mqttMu.
func (s *Server) mqttUsable() error {
	switch {
	case s.closed:
		return ErrClosed
	case s.mqttLn == nil && s.wsLn == nil:
		return ErrNoMQTT
	}
	return nil
}

// mqttListeners returns the configured MQTT listeners.
func (s *Server) mqttListeners() []*listener {
	var out []*listener
	for _, l := range []*listener{s.mqttLn, s.wsLn} {
		if l != nil {
			out = append(out, l)
		}
	}
	return out
}

// dropClients is the listeners.CloseFn of StopMQTT: it disconnects every
// open client of the listener with 0x8B and counts them.
func (s *Server) dropClients(listenerID string) {
	for _, cl := range clientsOn(s.broker.Clients, listenerID) {
		if cl.Net.Inline {
			continue
		}
		s.disconnect(cl, packets.ErrServerShuttingDown)
		s.stats.droppedByStop.Add(1)
	}
}

// disconnect ends the session of cl: MQTT 5 clients first get a DISCONNECT
// with code (written within closeFlushTimeout, so a client that does not
// read cannot hold StopMQTT or Kick), then the connection is closed.
func (s *Server) disconnect(cl *mqtt.Client, code packets.Code) {
	if cl.Properties.ProtocolVersion < 5 {
		cl.Stop(code) // MQTT 3.1.1 has no server DISCONNECT
		return
	}
	_ = s.broker.DisconnectClient(cl, code) // returns code itself for codes >= 0x80
}

// shutDownClients is the listeners.CloseFn of the broker's Close: what
// mochi's own closeListenerClients does (DISCONNECT 0x8B to each open
// client of the listener), without Clients.GetByListener.
func (s *Server) shutDownClients(listenerID string) {
	for _, cl := range clientsOn(s.broker.Clients, listenerID) {
		_ = s.broker.DisconnectClient(cl, packets.ErrServerShuttingDown)
	}
}

// clientsOn lists the open clients of a listener. mochi's
// Clients.GetByListener takes the clients' read lock twice (it calls Len
// under RLock), which deadlocks for good when a connection attaches or
// detaches between the two (mochi-mqtt/server#488, open in v2.7.9); GetAll
// takes it once.
func clientsOn(clients *mqtt.Clients, listenerID string) []*mqtt.Client {
	var out []*mqtt.Client
	for _, cl := range clients.GetAll() {
		if cl.Net.Listener == listenerID && !cl.Closed() {
			out = append(out, cl)
		}
	}
	return out
}
