package auth

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
)

// tlsProvider is AuthenticationProviderTls: the role is the CN of the leaf
// client certificate.
type tlsProvider struct{}

func (tlsProvider) method() string { return "tls" }

var errNoTLSRole = errors.New("Client unable to authenticate with TLS certificate")

func (tlsProvider) authenticate(r *http.Request) (string, error) {
	if r == nil || r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return "", errNoTLSRole
	}
	// Java splits the RFC 2253 subject on "," and takes the first
	// non-empty CN; an escaped comma inside a value splits too.
	for _, part := range javaSplit(subjectRFC2253(r.TLS.PeerCertificates[0]), ",") {
		if k, v, ok := strings.Cut(part, "="); ok && k == "CN" && v != "" {
			return v, nil
		}
	}
	return "", errNoTLSRole
}

// rfc2253Keywords are the attribute names Java's X500Principal.getName()
// prints; other attributes appear as dotted OIDs.
var rfc2253Keywords = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.9":                    "STREET",
	"0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1":  "UID",
}

// subjectRFC2253 renders the certificate subject like Java's
// X500Principal.getName(): RDNs last to first, values escaped with Java's
// RFC 2253 escape set (which, unlike Go's, includes '=' and '#', so a value
// such as "x,CN=y" cannot forge a CN after the split on commas).
func subjectRFC2253(cert *x509.Certificate) string {
	var seq pkix.RDNSequence
	if rest, err := asn1.Unmarshal(cert.RawSubject, &seq); err != nil || len(rest) != 0 {
		seq = cert.Subject.ToRDNSequence()
	}
	var b strings.Builder
	for i := len(seq) - 1; i >= 0; i-- {
		if i != len(seq)-1 {
			b.WriteByte(',')
		}
		for j, atv := range seq[i] {
			if j > 0 {
				b.WriteByte('+')
			}
			oid := atv.Type.String()
			name, known := rfc2253Keywords[oid]
			if !known {
				name = oid
			}
			b.WriteString(name)
			b.WriteByte('=')
			s, isString := atv.Value.(string)
			if known && isString {
				b.WriteString(escapeRFC2253(s))
				continue
			}
			der, err := asn1.Marshal(atv.Value)
			if err != nil {
				der = nil
			}
			b.WriteByte('#')
			b.WriteString(hex.EncodeToString(der))
		}
	}
	return b.String()
}

func escapeRFC2253(s string) string {
	var b strings.Builder
	for i, c := range s {
		switch {
		case strings.ContainsRune(",=+<>#;\\\"", c):
			b.WriteByte('\\')
		case c == ' ' && (i == 0 || i == len(s)-1):
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
