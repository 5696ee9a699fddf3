package fleet

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eixamsim/eixamsim/internal/wsconn"
	"github.com/gorilla/websocket"
)

// brokerAddr is a parsed broker URI (contract §3.2).
type brokerAddr struct {
	raw       string
	transport string // "tcp", "tls", "ws", "wss"
	hostport  string
	url       *url.URL // ws/wss: the URL to dial, path kept, query dropped
}

// parseBroker reads a broker URI the way the SDK does: ws and wss keep their
// path and drop the query; ssl and tls are TCP+TLS; every other scheme
// (tcp, mqtt, mqtts, http, https) is plain TCP. Default ports 80, 443, 8883,
// 1883; an explicit port wins.
func parseBroker(raw string) (brokerAddr, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return brokerAddr{}, fmt.Errorf("broker URI %q: %w", raw, err)
	}
	if u.Hostname() == "" {
		return brokerAddr{}, fmt.Errorf("broker URI %q has no host", raw)
	}
	b := brokerAddr{raw: raw}
	var port string
	switch strings.ToLower(u.Scheme) {
	case "ws":
		b.transport, port = "ws", "80"
	case "wss":
		b.transport, port = "wss", "443"
	case "ssl", "tls":
		b.transport, port = "tls", "8883"
	default:
		b.transport, port = "tcp", "1883"
	}
	if u.Port() != "" {
		port = u.Port()
	}
	b.hostport = net.JoinHostPort(u.Hostname(), port)
	if b.transport == "ws" || b.transport == "wss" {
		wsURL := *u
		wsURL.RawQuery = ""
		wsURL.Host = b.hostport
		b.url = &wsURL
	}
	return b, nil
}

// BrokerAddress returns the host:port that a broker URI connects to, with
// the SDK's default port for its scheme (contract §3.2).
func BrokerAddress(raw string) (string, error) {
	b, err := parseBroker(raw)
	return b.hostport, err
}

// dialer opens broker connections, optionally from a rotating set of local
// source addresses (to go past one address's ephemeral port range).
type dialer struct {
	broker  brokerAddr
	tls     *tls.Config
	sources []net.IP
}

func (d *dialer) netDialer(userIndex int) *net.Dialer {
	nd := &net.Dialer{}
	if len(d.sources) > 0 {
		nd.LocalAddr = &net.TCPAddr{IP: d.sources[userIndex%len(d.sources)]}
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

// dial connects user userIndex to the broker and returns a connection paho
// can use from several goroutines.
func (d *dialer) dial(ctx context.Context, userIndex int) (net.Conn, error) {
	nd := d.netDialer(userIndex)
	switch d.broker.transport {
	case "tcp":
		return nd.DialContext(ctx, "tcp", d.broker.hostport)
	case "tls":
		conn, err := nd.DialContext(ctx, "tcp", d.broker.hostport)
		if err != nil {
			return nil, err
		}
		tc := tls.Client(conn, d.tlsFor(d.broker.hostport))
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		// tls.Conn is not safe for concurrent writes; paho writes from
		// several goroutines.
		return packets.NewThreadSafeConn(tc), nil
	default: // ws, wss
		wd := websocket.Dialer{
			NetDialContext:  nd.DialContext,
			TLSClientConfig: d.tls,
			Subprotocols:    []string{"mqtt", "mqttv5"}, // what the SDK's client offers
		}
		ws, resp, err := wd.DialContext(ctx, d.broker.url.String(), http.Header{})
		if err != nil {
			if resp != nil {
				return nil, fmt.Errorf("websocket upgrade: HTTP %d: %w", resp.StatusCode, err)
			}
			return nil, err
		}
		return wsconn.New(ws), nil
	}
}
