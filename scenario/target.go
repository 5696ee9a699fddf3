package scenario

import (
	"gopkg.in/yaml.v3"
)

// targetKeys are the keys of the target block. Omitting http and mqtt
// selects the embedded backend; resolveTarget settles which one runs.
var targetKeys = keys[Target]{
	{name: "http", shape: "http:// or https:// URL", doc: "the API base URL of an external backend",
		decode: readStr(func(t *Target, s string) { t.HTTP = s }),
		echo:   func(t *Target) (any, bool) { return t.HTTP, t.HTTP != "" }},
	{name: "mqtt", shape: "broker URI", doc: "the broker of an external backend: tcp, mqtt, mqtts, ssl, tls, ws or wss",
		decode: readStr(func(t *Target, s string) { t.MQTT = s }),
		echo:   func(t *Target) (any, bool) { return t.MQTT, t.MQTT != "" }},
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

// resolveTarget settles an external or the embedded target and makes the
// TLS file paths absolute.
func (p *parser) resolveTarget(t Target) Target {
	t.TLS.CAFile = p.resolvePath(t.TLS.CAFile)
	t.TLS.CertFile = p.resolvePath(t.TLS.CertFile)
	t.TLS.KeyFile = p.resolvePath(t.TLS.KeyFile)
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
