package contract

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Broker transports (contract §3.2).
const (
	TransportTCP = "tcp" // plain TCP
	TransportTLS = "tls" // TCP + TLS
	TransportWS  = "ws"  // WebSocket
	TransportWSS = "wss" // WebSocket over TLS
)

// BrokerSchemes are the broker URI schemes a scenario may name, in the
// order error messages list them. The SDK takes any other scheme (http and
// https included) as plain TCP, and so does ParseBroker; a scenario refuses
// them because an http:// broker URI is almost always the API URL pasted
// into the wrong key.
var BrokerSchemes = []string{"tcp", "mqtt", "mqtts", "ssl", "tls", "ws", "wss"}

// Broker is a broker URI read the way the SDK reads it (contract §3.2).
type Broker struct {
	Raw       string
	Transport string   // TransportTCP, TransportTLS, TransportWS or TransportWSS
	HostPort  string   // host:port to dial, with the scheme's default port
	URL       *url.URL // ws/wss: the URL to dial, path kept, query dropped; nil otherwise
}

// TLS reports whether the transport encrypts.
func (b Broker) TLS() bool { return b.Transport == TransportTLS || b.Transport == TransportWSS }

// ParseBroker reads a broker URI as the SDK does: ws and wss keep their
// path and drop the query; ssl and tls are TCP+TLS; every other scheme
// (tcp, mqtt, mqtts, http, https) is plain TCP — mqtts is not TLS. Default
// ports 80 (ws), 443 (wss), 8883 (ssl, tls), 1883 (the rest); an explicit
// port wins.
func ParseBroker(raw string) (Broker, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Broker{}, fmt.Errorf("broker URI %q: %w", raw, err)
	}
	if u.Hostname() == "" {
		return Broker{}, fmt.Errorf("broker URI %q has no host", raw)
	}
	b := Broker{Raw: raw}
	var port string
	switch strings.ToLower(u.Scheme) {
	case "ws":
		b.Transport, port = TransportWS, "80"
	case "wss":
		b.Transport, port = TransportWSS, "443"
	case "ssl", "tls":
		b.Transport, port = TransportTLS, "8883"
	default:
		b.Transport, port = TransportTCP, "1883"
	}
	if u.Port() != "" {
		port = u.Port()
	}
	b.HostPort = net.JoinHostPort(u.Hostname(), port)
	if b.Transport == TransportWS || b.Transport == TransportWSS {
		wsURL := *u
		wsURL.RawQuery = ""
		wsURL.Host = b.HostPort
		b.URL = &wsURL
	}
	return b, nil
}
