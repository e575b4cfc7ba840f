package broker

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestUntrustedCertificate(t *testing.T) {
	urlErr := func(err error) error {
		return &url.Error{Op: "Get", URL: "https://broker:8443/admin/v2/clusters", Err: err}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"unknown CA", urlErr(x509.UnknownAuthorityError{}), true},
		{"verification error", urlErr(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), true},
		{"other host name", urlErr(x509.HostnameError{Host: "broker"}), true},
		{"expired", fmt.Errorf("list clusters: %w", x509.CertificateInvalidError{Reason: x509.Expired}), true},
		{"connection refused", urlErr(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), false},
		{"plain HTTP port", urlErr(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), false},
		{"server error", errors.New("500 Internal Server Error"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := untrustedCertificate(tt.err); got != tt.want {
				t.Errorf("untrustedCertificate(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// TestConnectOverTLS connects to an HTTPS admin API whose certificate (for
// 127.0.0.1) the test's own CA file does or does not vouch for. A certificate
// the worker does not trust stops Connect at the first attempt, naming the
// URL and the CA file, instead of retrying for ever.
func TestConnectOverTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/admin/v2/clusters" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`["standalone"]`))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	rightCA := writeCertPEM(t, filepath.Join(dir, "right-ca.pem"), srv.Certificate().Raw)
	wrongCA := writeCertPEM(t, filepath.Join(dir, "wrong-ca.pem"), selfSigned(t))

	tests := []struct {
		name    string
		tls     TLSOptions
		wantErr []string // substrings of the error; none: Connect succeeds
	}{
		{name: "trusted CA", tls: TLSOptions{TrustCertsFile: rightCA}},
		{name: "trusted CA, host name checked", tls: TLSOptions{TrustCertsFile: rightCA, VerifyHostname: true}},
		{name: "untrusted CA, insecure allowed", tls: TLSOptions{TrustCertsFile: wrongCA, AllowInsecure: true}},
		{name: "untrusted CA", tls: TLSOptions{TrustCertsFile: wrongCA},
			wantErr: []string{srv.URL, "not trusted", wrongCA, "brokerClientTrustCertsFilePath"}},
		{name: "untrusted CA, host name checked", tls: TLSOptions{TrustCertsFile: wrongCA, VerifyHostname: true},
			wantErr: []string{srv.URL, "not trusted", wrongCA}},
		{name: "system CAs", tls: TLSOptions{},
			wantErr: []string{srv.URL, "not trusted", "system's CA certificates"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			b, err := Connect(ctx, Options{
				ServiceURL:    "pulsar+ssl://127.0.0.1:1", // not dialled by Connect
				WebServiceURL: srv.URL,
				TLS:           tt.tls,
				RetryMin:      10 * time.Millisecond,
				RetryMax:      10 * time.Millisecond,
			})
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Connect: %v", err)
				}
				b.Close()
				return
			}
			if err == nil {
				b.Close()
				t.Fatal("Connect succeeded, want an untrusted certificate error")
			}
			if ctx.Err() != nil {
				t.Fatalf("Connect retried until the deadline: %v", err)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func writeCertPEM(t *testing.T, path string, der []byte) string {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// selfSigned makes a CA certificate nothing else was signed with.
func selfSigned(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "some other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
