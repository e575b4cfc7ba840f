package api

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
	"time"
)

// TLSFiles names the PEM files of the HTTPS listener.
type TLSFiles struct {
	CertFile, KeyFile string
	// TrustCertsFile holds the CAs client certificates are checked against.
	TrustCertsFile string
	// RequireClientCert refuses clients without a trusted certificate.
	RequireClientCert bool
	// RefreshInterval is how often the files are checked for changes
	// (tlsCertRefreshCheckDurationSec); 0 never reloads.
	RefreshInterval time.Duration
}

// ServerTLSConfig loads the certificate, and reloads it when the files change,
// so renewed certificates are served without a restart.
func ServerTLSConfig(f TLSFiles) (*tls.Config, error) {
	r := &certReloader{files: f}
	if err := r.load(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.get}
	if f.TrustCertsFile != "" {
		pem, err := os.ReadFile(f.TrustCertsFile)
		if err != nil {
			return nil, fmt.Errorf("read tlsTrustCertsFilePath %s: %w", f.TrustCertsFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read tlsTrustCertsFilePath %s: no PEM certificate found", f.TrustCertsFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	if f.RequireClientCert {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

type certReloader struct {
	files TLSFiles
	mu    sync.Mutex
	cert  *tls.Certificate
	mtime time.Time
	next  time.Time
}

func (r *certReloader) modTime() time.Time {
	var t time.Time
	for _, p := range []string{r.files.CertFile, r.files.KeyFile} {
		if st, err := os.Stat(p); err == nil && st.ModTime().After(t) {
			t = st.ModTime()
		}
	}
	return t
}

func (r *certReloader) load() error {
	c, err := tls.LoadX509KeyPair(r.files.CertFile, r.files.KeyFile)
	if err != nil {
		return fmt.Errorf("load TLS certificate %s / key %s: %w", r.files.CertFile, r.files.KeyFile, err)
	}
	r.cert, r.mtime = &c, r.modTime()
	return nil
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.files.RefreshInterval > 0 && time.Now().After(r.next) {
		r.next = time.Now().Add(r.files.RefreshInterval)
		if r.modTime().After(r.mtime) {
			// Keep serving the old certificate if the new files are bad.
			_ = r.load()
		}
	}
	return r.cert, nil
}
