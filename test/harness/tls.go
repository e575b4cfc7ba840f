package harness

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a certificate authority a test makes for itself; its certificate
// and key are PEM files in the test's temporary directory.
type CA struct {
	Cert string // the CA certificate's PEM file, for trust settings
	dir  string
	crt  *x509.Certificate
	key  *rsa.PrivateKey
}

// Issued is one certificate a CA signed: PEM files of the certificate and of
// its key (PKCS#8, the form Java's and Pulsar's PEM readers take).
type Issued struct {
	Cert, Key string
}

// NewCA makes a self-signed RSA certificate authority named cn.
func NewCA(t testing.TB, cn string) *CA {
	t.Helper()
	key := rsaKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("create CA %s: %v", cn, err)
	}
	crt, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse CA %s: %v", cn, err)
	}
	ca := &CA{dir: t.TempDir(), crt: crt, key: key}
	ca.Cert = writePEM(t, filepath.Join(ca.dir, cn+"-ca.pem"), "CERTIFICATE", der)
	return ca
}

// Issue signs a certificate for cn that serves as both a server certificate
// (for 127.0.0.1 and localhost) and a client certificate (its CN is the role
// AuthenticationProviderTls gives it).
func (ca *CA) Issue(t testing.TB, cn string) Issued {
	t.Helper()
	key := rsaKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.crt, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("issue certificate %s: %v", cn, err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("marshal key of %s: %v", cn, err)
	}
	prefix := filepath.Join(ca.dir, cn+"-"+ca.crt.Subject.CommonName)
	return Issued{
		Cert: writePEM(t, prefix+".cert.pem", "CERTIFICATE", der),
		Key:  writePEM(t, prefix+".key.pem", "PRIVATE KEY", pk),
	}
}

// RSAKeyPair is an RSA key pair for end-to-end encryption, in the PEM forms
// both Pulsar's Java client and pulsar-client-go read: the public key as
// PKIX ("PUBLIC KEY"), the private key as PKCS#1 ("RSA PRIVATE KEY").
type RSAKeyPair struct {
	Public, Private string
}

// NewRSAKeyPair writes a fresh key pair named name into dir.
func NewRSAKeyPair(t testing.TB, dir, name string) RSAKeyPair {
	t.Helper()
	key := rsaKey(t)
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatalf("marshal public key %s: %v", name, err)
	}
	return RSAKeyPair{
		Public:  writePEM(t, filepath.Join(dir, name+".pub.pem"), "PUBLIC KEY", pub),
		Private: writePEM(t, filepath.Join(dir, name+".priv.pem"), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)),
	}
}

func rsaKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("generate RSA key: %v", err)
	}
	return key
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatalf("certificate serial: %v", err)
	}
	return n
}

func writePEM(t testing.TB, path, typ string, der []byte) string {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return path
}
