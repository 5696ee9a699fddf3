package fleet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/internal/wsconn"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
	"github.com/gorilla/websocket"
)

// BrokerAddress returns the host:port that a broker URI connects to, with
// the SDK's default port for its scheme (contract §3.2).
func BrokerAddress(raw string) (string, error) {
	b, err := contract.ParseBroker(raw)
	return b.HostPort, err
}

// dialer opens broker connections. With several brokers (the addresses
// of a broker cluster), user n (its index in the whole run,
// scenario.Session.Index) connects to brokers[n % len], so the users of a
// sharded run spread over the brokers exactly as in the unsharded run.
// Connections go out from a rotating set of local source addresses when
// there are some (to go past one address's ephemeral port range): user n
// binds sources[n % len].
type dialer struct {
	brokers []contract.Broker
	tls     *tls.Config
	sources []net.IP
	// connect are the latency metrics a connect to each broker counts on:
	// mqtt.connect, plus mqtt.connect@host:port with several brokers.
	connect []connectMetrics
	// net holds the users' mobile links; nil when fleet.network is off.
	// With it, every transport's connection goes through the user's link:
	// TLS and WebSocket run on top of it, as on a phone.
	net *fleetNet
}

// newDialer parses the brokers (at least one) and prepares their metrics.
func newDialer(uris []string, tlsConf *tls.Config, sources []net.IP, reg *metrics.Registry) (*dialer, error) {
	if len(uris) == 0 {
		return nil, errors.New("fleet: Config.MQTTURL (or MQTTURLs) is required")
	}
	d := &dialer{tls: tlsConf, sources: sources}
	total := reg.Latency(scenario.MQTTConnect)
	for _, raw := range uris {
		b, err := contract.ParseBroker(raw)
		if err != nil {
			return nil, fmt.Errorf("fleet: %w", err)
		}
		cm := connectMetrics{total}
		if len(uris) > 1 {
			cm = append(cm, reg.Latency(scenario.MQTTConnectAt(b.HostPort)))
		}
		d.brokers = append(d.brokers, b)
		d.connect = append(d.connect, cm)
	}
	return d, nil
}

// metrics returns what a connect of user n counts on: with the network
// on, also mqtt.connect@<profile>.
func (d *dialer) metrics(n int) connectMetrics {
	cm := d.connect[n%len(d.connect)]
	if t := d.net.twin(n, scenario.MQTTConnect); t != nil {
		cm = append(cm[:len(cm):len(cm)], t)
	}
	return cm
}

// connectMetrics are the latency metrics of one connect: the total and,
// with several brokers, the broker's own.
type connectMetrics []*metrics.Latency

// Record records a successful connect's latency on each metric.
func (c connectMetrics) Record(d time.Duration) {
	for _, l := range c {
		l.Record(d)
	}
}

// Error counts a failed connect of class on each metric.
func (c connectMetrics) Error(class string) {
	for _, l := range c {
		l.Error(class)
	}
}

// Fail counts a failed connect of class on each metric, keeping err as a
// sample message (metrics.Latency.Fail).
func (c connectMetrics) Fail(class string, err error) {
	for _, l := range c {
		l.Fail(class, err)
	}
}

// netDialer dials user n's broker connection from its source address,
// shift addresses further on (a roamed phone reconnects from another
// one). It turns TCP keep-alive off (net.Dialer's default sends a probe
// after 15 s idle, and costs four setsockopt calls a connection): a
// phone's MQTT socket has none, and MQTT's own keep-alive (pinger) is what
// finds a dead connection.
func (d *dialer) netDialer(n, shift int) *net.Dialer {
	nd := &net.Dialer{KeepAlive: -1}
	if len(d.sources) > 0 {
		nd.LocalAddr = &net.TCPAddr{IP: d.sources[(n+shift)%len(d.sources)]}
	}
	return nd
}

// tlsFor returns the TLS settings for a TCP+TLS connection to hostport:
// the configured ones, with ServerName set from the host when empty (as
// net/http and the WebSocket dialer do by themselves).
func (d *dialer) tlsFor(hostport string) *tls.Config {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if d.tls != nil {
		conf = d.tls.Clone()
	}
	if conf.ServerName == "" {
		host, _, _ := net.SplitHostPort(hostport)
		conf.ServerName = host
	}
	return conf
}

// dial connects user n (its index in the whole run) to its broker and
// returns a connection paho can use from several goroutines. With the
// network on, the TCP connection is on the user's link (a *netem.Conn,
// a sync.Locker as paho needs), under TLS or WebSocket alike. shift moves
// the source address (netDialer). With phone set (churn), the connection
// is a *phoneConn that knows its TCP socket.
func (d *dialer) dial(ctx context.Context, n, shift int, phone bool) (net.Conn, error) {
	var raw net.Conn
	tcp := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.netDialer(n, shift).DialContext(ctx, network, addr)
		raw = c
		return c, err
	}
	conn, err := d.dialOn(ctx, n, tcp)
	if err != nil || !phone {
		return conn, err
	}
	return &phoneConn{Conn: conn, raw: raw}, nil
}

// dialOn connects user n to its broker over the TCP dial function tcp.
func (d *dialer) dialOn(ctx context.Context, n int, tcp func(context.Context, string, string) (net.Conn, error)) (net.Conn, error) {
	if link := d.net.link(n); link != nil {
		tcp = link.Dial(tcp)
	}
	broker := d.brokers[n%len(d.brokers)]
	switch broker.Transport {
	case "tcp":
		conn, err := tcp(ctx, "tcp", broker.HostPort)
		if err != nil {
			return nil, err
		}
		return bufferReads(conn), nil
	case "tls":
		conn, err := tcp(ctx, "tcp", broker.HostPort)
		if err != nil {
			return nil, err
		}
		tc := tls.Client(conn, d.tlsFor(broker.HostPort))
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		// tls.Conn is not safe for concurrent writes; paho writes from
		// several goroutines.
		return packets.NewThreadSafeConn(tc), nil
	default: // ws, wss
		wd := websocket.Dialer{
			NetDialContext:  tcp,
			TLSClientConfig: d.tls,
			Subprotocols:    []string{"mqtt", "mqttv5"}, // what the SDK's client offers
		}
		ws, resp, err := wd.DialContext(ctx, broker.URL.String(), http.Header{})
		if err != nil {
			if resp != nil {
				return nil, fmt.Errorf("websocket upgrade: HTTP %d: %w", resp.StatusCode, err)
			}
			return nil, err
		}
		return wsconn.New(ws), nil
	}
}
