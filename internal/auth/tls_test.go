package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert, key}
}

// issue signs a leaf certificate whose subject is exactly rdns.
func (ca *testCA) issue(t *testing.T, rdns pkix.RDNSequence, usage x509.ExtKeyUsage, dns ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rawSubject, err := asn1.Marshal(rdns)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		RawSubject:   rawSubject,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     dns,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

var (
	oidCN = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidO  = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOU = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidC  = asn1.ObjectIdentifier{2, 5, 4, 6}
)

func rdn(pairs ...any) []pkix.AttributeTypeAndValue {
	var set []pkix.AttributeTypeAndValue
	for i := 0; i < len(pairs); i += 2 {
		set = append(set, pkix.AttributeTypeAndValue{Type: pairs[i].(asn1.ObjectIdentifier), Value: pairs[i+1]})
	}
	return set
}

// A real mTLS round trip: the role is the client certificate's CN.
func TestTLSProviderOverHTTPS(t *testing.T) {
	ca := newTestCA(t)
	a, err := New(Settings{AuthenticationEnabled: true, AuthenticationProviders: []string{ProviderTLS}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		role, err := a.Authenticate(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		io.WriteString(w, role)
	}))
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{ca.issue(t, pkix.RDNSequence{rdn(oidCN, "localhost")}, x509.ExtKeyUsageServerAuth, "localhost")},
		ClientCAs:    pool,
		ClientAuth:   tls.VerifyClientCertIfGiven,
	}
	srv.StartTLS()
	defer srv.Close()

	get := func(certs ...tls.Certificate) (int, string) {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs, ServerName: "localhost"}}}
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	client := ca.issue(t, pkix.RDNSequence{rdn(oidC, "US"), rdn(oidO, "Acme"), rdn(oidCN, "proxy-admin")}, x509.ExtKeyUsageClientAuth)
	if code, body := get(client); code != 200 || body != "proxy-admin" {
		t.Errorf("with client cert: %d %q", code, body)
	}
	if code, body := get(); code != 401 {
		t.Errorf("without client cert: %d %q", code, body)
	}
}

func TestTLSProviderCN(t *testing.T) {
	ca := newTestCA(t)
	for _, tc := range []struct {
		name    string
		subject pkix.RDNSequence
		want    string // "" = failure
	}{
		{"CN only", pkix.RDNSequence{rdn(oidCN, "alice")}, "alice"},
		{"CN is most specific", pkix.RDNSequence{rdn(oidC, "US"), rdn(oidO, "Acme"), rdn(oidOU, "x"), rdn(oidCN, "bob")}, "bob"},
		{"last CN in the DER comes first", pkix.RDNSequence{rdn(oidCN, "outer"), rdn(oidCN, "inner")}, "inner"},
		{"no CN", pkix.RDNSequence{rdn(oidO, "Acme")}, ""},
		{"empty CN skipped", pkix.RDNSequence{rdn(oidCN, "fallback"), rdn(oidCN, "")}, "fallback"},
		// Java splits on ',' even when escaped: the role is the part before.
		{"escaped comma", pkix.RDNSequence{rdn(oidCN, "a,b")}, `a\`},
		// '=' is escaped, so another attribute cannot forge a CN.
		{"no forged CN", pkix.RDNSequence{rdn(oidO, "x,CN=evil")}, ""},
		{"equals escaped in CN", pkix.RDNSequence{rdn(oidCN, "a=b")}, `a\=b`},
		{"multi-valued RDN", pkix.RDNSequence{rdn(oidCN, "m", oidOU, "u")}, "m+OU=u"},
		{"unicode", pkix.RDNSequence{rdn(oidCN, "été")}, "été"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ca.issue(t, tc.subject, x509.ExtKeyUsageClientAuth)
			r := httptest.NewRequest("GET", "/", nil)
			r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c.Leaf, ca.cert}}
			role, err := tlsProvider{}.authenticate(r)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("role %q, want failure (subject %s)", role, subjectRFC2253(c.Leaf))
				}
				return
			}
			if err != nil || role != tc.want {
				t.Fatalf("role %q, %v; want %q (subject %s)", role, err, tc.want, subjectRFC2253(c.Leaf))
			}
		})
	}
	r := httptest.NewRequest("GET", "/", nil)
	if _, err := (tlsProvider{}).authenticate(r); err == nil {
		t.Error("plain HTTP request authenticated")
	}
	r.TLS = &tls.ConnectionState{}
	if _, err := (tlsProvider{}).authenticate(r); err == nil {
		t.Error("TLS request without a client certificate authenticated")
	}
}
