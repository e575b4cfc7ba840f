package broker

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/apache/pulsar-client-go/oauth2"
	adminauth "github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/auth"
)

// TLSOptions is how the worker's clients check the servers they talk to.
type TLSOptions struct {
	// TrustCertsFile is a PEM bundle of CAs; empty means the system roots.
	TrustCertsFile string
	// AllowInsecure skips certificate verification altogether.
	AllowInsecure bool
	// VerifyHostname checks the server name against its certificate. When
	// false (the Java default) the chain is still verified.
	VerifyHostname bool
}

// ClientConfig builds a crypto/tls client configuration. A client certificate
// is added when auth is TLS authentication.
func (o TLSOptions) ClientConfig(auth ClientAuth) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	var roots *x509.CertPool
	if o.TrustCertsFile != "" {
		pem, err := os.ReadFile(o.TrustCertsFile)
		if err != nil {
			return nil, fmt.Errorf("read trust certs %s: %w", o.TrustCertsFile, err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read trust certs %s: no PEM certificate found", o.TrustCertsFile)
		}
		cfg.RootCAs = roots
	}
	switch {
	case o.AllowInsecure:
		cfg.InsecureSkipVerify = true
	case !o.VerifyHostname:
		// Verify the chain ourselves, without the name check.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("server sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
			return err
		}
	}
	if auth.Kind == AuthTLS {
		cert, err := tls.LoadX509KeyPair(auth.CertFile, auth.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate %s: %w", auth.CertFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// trustDescription says, for error messages, which certificates the
// worker trusts and which settings chose them.
func (o TLSOptions) trustDescription() string {
	if o.TrustCertsFile == "" {
		return "the system's CA certificates (brokerClientTrustCertsFilePath and tlsTrustCertsFilePath are unset)"
	}
	return fmt.Sprintf("the CA certificates in %s (brokerClientTrustCertsFilePath, else tlsTrustCertsFilePath)", o.TrustCertsFile)
}

// untrustedCertificate tells whether err is a server certificate failing
// verification: unknown CA, expired, or issued for another host name.
func untrustedCertificate(err error) bool {
	var unknownCA x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	var verify *tls.CertificateVerificationError
	return errors.As(err, &unknownCA) || errors.As(err, &invalid) || errors.As(err, &host) || errors.As(err, &verify)
}

// authTransport adds the worker's credentials to every HTTP request. It
// satisfies pulsaradmin's auth.Provider, so the admin client and our own
// worker-to-worker calls share one implementation.
type authTransport struct {
	base  http.RoundTripper
	auth  ClientAuth
	oauth adminauth.Provider // set for OAuth2 only
}

// NewHTTPTransport returns a RoundTripper that speaks TLS as opts say and
// authenticates as auth.
func NewHTTPTransport(auth ClientAuth, opts TLSOptions) (http.RoundTripper, error) {
	tlsCfg, err := opts.ClientConfig(auth)
	if err != nil {
		return nil, err
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = tlsCfg
	base.MaxIdleConnsPerHost = 16
	t := &authTransport{base: base, auth: auth}
	if auth.Kind == AuthOAuth2 {
		key := strings.TrimPrefix(auth.PrivateKey, "file://")
		p, err := adminauth.NewAuthenticationOAuth2WithDefaultFlow(oauth2.Issuer{
			IssuerEndpoint: auth.IssuerURL, ClientID: auth.ClientID, Audience: auth.Audience,
		}, key)
		if err != nil {
			return nil, fmt.Errorf("oauth2 authentication with issuer %s: %w", auth.IssuerURL, err)
		}
		p.WithTransport(base)
		t.oauth = p
	}
	return t, nil
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.oauth != nil {
		return t.oauth.RoundTrip(req)
	}
	switch t.auth.Kind {
	case AuthToken:
		tok := t.auth.Token
		if t.auth.TokenFile != "" {
			b, err := os.ReadFile(t.auth.TokenFile)
			if err != nil {
				return nil, fmt.Errorf("read token file %s: %w", t.auth.TokenFile, err)
			}
			tok = strings.TrimSpace(string(b))
		}
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("X-Pulsar-Auth-Method-Name", "token")
	case AuthBasic:
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(t.auth.User+":"+t.auth.Password)))
		req.Header.Set("X-Pulsar-Auth-Method-Name", "basic")
	case AuthTLS:
		req = req.Clone(req.Context())
		req.Header.Set("X-Pulsar-Auth-Method-Name", "tls")
	}
	return t.base.RoundTrip(req)
}

func (t *authTransport) Transport() http.RoundTripper       { return t.base }
func (t *authTransport) WithTransport(rt http.RoundTripper) { t.base = rt }
