package scenario

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate and its key into dir.
func writeCert(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, DNSNames: []string{"api.x"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"ca.pem":  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"key.pem": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		"bad.pem": []byte("not pem\n"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTLSFiles(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir)
	scenario := func(tls string) string {
		return "version: 1\nname: tls\nduration: 1s\nidentity: { app_id: a, app_secret: s }\nfleet: { users: 1 }\n" +
			"target:\n  http: https://api.x\n  mqtt: wss://api.x/ws\n  tls: " + tls + "\n"
	}
	file := filepath.Join(dir, "t.yaml")

	// Files relative to the scenario load, and come back absolute.
	s, err := Parse(file, []byte(scenario("{ ca_file: ca.pem, cert_file: ca.pem, key_file: key.pem, server_name: api.x }")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Target.TLS.CAFile != filepath.Join(dir, "ca.pem") || s.Target.TLS.KeyFile != filepath.Join(dir, "key.pem") {
		t.Errorf("tls = %+v", s.Target.TLS)
	}
	cfg, err := s.Target.TLS.Config()
	if err != nil || cfg.RootCAs == nil || len(cfg.Certificates) != 1 || cfg.ServerName != "api.x" {
		t.Errorf("Config() = %+v, %v", cfg, err)
	}

	tests := []struct {
		name, tls, want string
	}{
		// A CA file that does not exist.
		{"missing", "{ ca_file: nope.pem }", "t.yaml:9:19: target.tls.ca_file: cannot read " + filepath.Join(dir, "nope.pem") + ": no such file or directory"},
		// A CA file without certificates.
		{"not pem", "{ ca_file: bad.pem }", "t.yaml:9:19: target.tls.ca_file: no PEM certificate in " + filepath.Join(dir, "bad.pem")},
		// A certificate without its key.
		{"cert without key", "{ cert_file: ca.pem }", "t.yaml:9:21: target.tls.cert_file: needs target.tls.key_file too"},
		// A key that does not match.
		{"bad pair", "{ cert_file: ca.pem, key_file: bad.pem }", "t.yaml:9:21: target.tls.cert_file: cannot load the client certificate: tls: failed to find any PEM data in key input"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(file, []byte(scenario(tc.tls)), Options{})
			if err == nil || !strings.HasSuffix(err.Error(), tc.want) || strings.Count(err.Error(), "\n") != 0 {
				t.Errorf("got:\n%v\nwant:\n...%s", err, tc.want)
			}
		})
	}

	// TLS settings with only plain-text URLs do nothing: an error.
	plain := strings.NewReplacer("https://", "http://", "wss://", "ws://").Replace(scenario("{ insecure_skip_verify: true }"))
	if _, err := Parse(file, []byte(plain), Options{}); err == nil || !strings.HasSuffix(err.Error(), "t.yaml:9:8: target.tls: neither target.http nor target.mqtt uses TLS (https://, ssl://, tls://, wss://)") {
		t.Errorf("tls with plain URLs: %v", err)
	}
}
