package scenario

import (
	"gopkg.in/yaml.v3"
)

// targetKeys are the keys of the target block. Omitting http and mqtt
// selects the embedded backend; resolveTarget settles which one runs.
var targetKeys = keys[Target]{
	{name: "http", shape: shapeAddresses, doc: "the API base URL of an external backend (http:// or https://), or a list of them: users are spread over them",
		decode: readAddresses(func(t *Target, all []string) { t.HTTPs = all }),
		echo:   func(t *Target) (any, bool) { return echoAddresses(t.APIs()) }},
	{name: "mqtt", shape: shapeAddresses, doc: "the broker of an external backend (tcp, mqtt, mqtts, ssl, tls, ws or wss), or a list of a broker cluster's addresses: users are spread over them",
		decode: readAddresses(func(t *Target, all []string) { t.MQTTs = all }),
		echo:   func(t *Target) (any, bool) { return echoAddresses(t.Brokers()) }},
	{name: "tls", shape: shapeMapping, block: tlsKeys, doc: "client TLS settings of an external target",
		decode: func(d *decoder, n *yaml.Node, p string, t *Target) bool {
			tlsKeys.read(d, n, p, &t.TLS)
			return true
		},
		echo: func(t *Target) (any, bool) { return t.TLS, !t.TLS.IsZero() }},
	{name: "embedded", shape: shapeMapping, block: embeddedKeys, doc: "the in-process reference backend and its fault knobs (when http and mqtt are omitted)",
		decode: func(d *decoder, n *yaml.Node, p string, t *Target) bool {
			t.Embedded = &Embedded{}
			embeddedKeys.read(d, n, p, t.Embedded)
			return true
		},
		echo: func(t *Target) (any, bool) { return t.Embedded, t.Embedded != nil }},
}

// tlsKeys are the keys of target.tls. File paths are kept as written here;
// resolveTarget makes them absolute.
var tlsKeys = keys[TLS]{
	{name: "ca_file", shape: shapeString, doc: "PEM bundle to verify the server with, instead of the system roots",
		decode: readStr(func(t *TLS, s string) { t.CAFile = s }),
		echo:   func(t *TLS) (any, bool) { return t.CAFile, t.CAFile != "" }},
	{name: "cert_file", shape: shapeString, doc: "client certificate (PEM), with key_file",
		decode: readStr(func(t *TLS, s string) { t.CertFile = s }),
		echo:   func(t *TLS) (any, bool) { return t.CertFile, t.CertFile != "" }},
	{name: "key_file", shape: shapeString, doc: "client key (PEM), with cert_file",
		decode: readStr(func(t *TLS, s string) { t.KeyFile = s }),
		echo:   func(t *TLS) (any, bool) { return t.KeyFile, t.KeyFile != "" }},
	{name: "server_name", shape: shapeString, doc: "SNI and verification name (default: the URL's host)",
		decode: readStr(func(t *TLS, s string) { t.ServerName = s }),
		echo:   func(t *TLS) (any, bool) { return t.ServerName, t.ServerName != "" }},
	{name: "insecure_skip_verify", shape: shapeBool, doc: "accept any server certificate (rehearsals only; default false)",
		decode: readBool(func(t *TLS, b bool) { t.InsecureSkipVerify = b }),
		echo:   func(t *TLS) (any, bool) { return t.InsecureSkipVerify, t.InsecureSkipVerify }},
}

// MarshalJSON implements json.Marshaler.
func (t Target) MarshalJSON() ([]byte, error) { return targetKeys.marshal(&t) }

// MarshalJSON implements json.Marshaler.
func (t TLS) MarshalJSON() ([]byte, error) { return tlsKeys.marshal(&t) }

// readAddresses reads a URL or a list of URLs (at least one).
func readAddresses(set func(*Target, []string)) func(*decoder, *yaml.Node, string, *Target) bool {
	return func(d *decoder, n *yaml.Node, p string, t *Target) bool {
		if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
			d.errAt(n, p, "must list at least one address")
			return false
		}
		all, _, ok := d.stringList(n, p, true)
		if !ok || len(all) == 0 {
			return false
		}
		set(t, all)
		return true
	}
}

// echoAddresses echoes one address as a string (as it is usually written)
// and several as a list.
func echoAddresses(all []string) (any, bool) {
	switch len(all) {
	case 0:
		return nil, false
	case 1:
		return all[0], true
	}
	return all, true
}

// Brokers returns every broker URI of the target, in the scenario's order:
// MQTTs, or MQTT alone when MQTTs is empty (a hand-built Target); nil for
// the embedded target. User n (its index in the whole run) connects to
// Brokers()[n % len].
func (t Target) Brokers() []string { return addresses(t.MQTT, t.MQTTs) }

// APIs returns every API base URL of the target, like Brokers: user n
// sends its HTTP requests to APIs()[n % len].
func (t Target) APIs() []string { return addresses(t.HTTP, t.HTTPs) }

func addresses(first string, all []string) []string {
	if len(all) > 0 {
		return all
	}
	if first != "" {
		return []string{first}
	}
	return nil
}

// resolveTarget settles an external or the embedded target and makes the
// TLS file paths absolute.
func (p *parser) resolveTarget(t Target) Target {
	t.TLS.CAFile = p.resolvePath(t.TLS.CAFile)
	t.TLS.CertFile = p.resolvePath(t.TLS.CertFile)
	t.TLS.KeyFile = p.resolvePath(t.TLS.KeyFile)
	if len(t.HTTPs) > 0 {
		t.HTTP = t.HTTPs[0]
	}
	if len(t.MQTTs) > 0 {
		t.MQTT = t.MQTTs[0]
	}
	if p.read["target.http"] || p.read["target.mqtt"] {
		if t.Embedded != nil {
			p.errorf("target.embedded", "only allowed when target.http and target.mqtt are omitted (the embedded backend does not run for an external target)")
		}
		t.Embedded = nil
		return t
	}
	if t.Embedded == nil {
		t.Embedded = &Embedded{}
		embeddedKeys.defaults(t.Embedded, nil)
	}
	return t
}
