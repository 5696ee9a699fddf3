package scenario

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Config builds the client TLS configuration: RootCAs from CAFile (nil =
// the system roots), the client certificate from CertFile and KeyFile,
// ServerName and InsecureSkipVerify as given, TLS 1.2 at least. It reads
// the files each time it is called.
func (t TLS) Config() (*tls.Config, error) {
	cfg, _, err := t.config(os.ReadFile)
	return cfg, err
}

// config is Config with a file reader; on error it also returns which key
// is at fault.
func (t TLS) config(read func(string) ([]byte, error)) (*tls.Config, string, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, // an explicit, documented rehearsal setting
	}
	if t.CAFile != "" {
		pem, err := read(t.CAFile)
		if err != nil {
			return nil, "ca_file", fmt.Errorf("cannot read %s: %w", t.CAFile, unwrapPath(err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, "ca_file", fmt.Errorf("no PEM certificate in %s", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, "cert_file", errors.New("cert_file and key_file go together")
	}
	if t.CertFile != "" {
		certPEM, err := read(t.CertFile)
		if err != nil {
			return nil, "cert_file", fmt.Errorf("cannot read %s: %w", t.CertFile, unwrapPath(err))
		}
		keyPEM, err := read(t.KeyFile)
		if err != nil {
			return nil, "key_file", fmt.Errorf("cannot read %s: %w", t.KeyFile, unwrapPath(err))
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, "cert_file", fmt.Errorf("cannot load the client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, "", nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// loadTLS checks that the TLS files of the target can be loaded.
func (p *parser) loadTLS(t *Target) {
	if t.TLS.CAFile == "" && t.TLS.CertFile == "" && t.TLS.KeyFile == "" {
		return
	}
	if (t.TLS.CertFile == "") != (t.TLS.KeyFile == "") {
		return // validate reports the missing half
	}
	if _, key, err := t.TLS.config(p.readFile); err != nil {
		p.errorf("target.tls."+key, "%v", err).Err = err
	}
}
