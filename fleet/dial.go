package fleet

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/internal/wsconn"
	"github.com/gorilla/websocket"
)

// BrokerAddress returns the host:port that a broker URI connects to, with
// the SDK's default port for its scheme (contract §3.2).
func BrokerAddress(raw string) (string, error) {
	b, err := contract.ParseBroker(raw)
	return b.HostPort, err
}

// dialer opens broker connections, optionally from a rotating set of local
// source addresses (to go past one address's ephemeral port range).
type dialer struct {
	broker  contract.Broker
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
	switch d.broker.Transport {
	case "tcp":
		return nd.DialContext(ctx, "tcp", d.broker.HostPort)
	case "tls":
		conn, err := nd.DialContext(ctx, "tcp", d.broker.HostPort)
		if err != nil {
			return nil, err
		}
		tc := tls.Client(conn, d.tlsFor(d.broker.HostPort))
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
		ws, resp, err := wd.DialContext(ctx, d.broker.URL.String(), http.Header{})
		if err != nil {
			if resp != nil {
				return nil, fmt.Errorf("websocket upgrade: HTTP %d: %w", resp.StatusCode, err)
			}
			return nil, err
		}
		return wsconn.New(ws), nil
	}
}
