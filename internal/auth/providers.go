package auth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/auth/sasl"
)

// Provider class names accepted in authenticationProviders.
const (
	// ProviderToken is the JWT provider (method "token").
	ProviderToken = "org.apache.pulsar.broker.authentication.AuthenticationProviderToken"
	// ProviderTLS is the client-certificate provider (method "tls").
	ProviderTLS = "org.apache.pulsar.broker.authentication.AuthenticationProviderTls"
	// ProviderBasic is the htpasswd-style provider (method "basic").
	ProviderBasic = "org.apache.pulsar.broker.authentication.AuthenticationProviderBasic"
	// ProviderSasl is the Kerberos (SASL GSSAPI) provider (method "sasl").
	ProviderSasl = "org.apache.pulsar.broker.authentication.AuthenticationProviderSasl"
)

// provider is one server-side authentication provider.
type provider interface {
	// method is getAuthMethodName, matched against X-Pulsar-Auth-Method-Name.
	method() string
	// authenticate returns the role, or an error when the request does not
	// carry credentials this provider accepts.
	authenticate(r *http.Request) (string, error)
}

func newProvider(class string, props map[string]string, saslSettings sasl.Settings) (provider, error) {
	switch class {
	case ProviderSasl:
		p, err := sasl.New(saslSettings)
		if err != nil {
			return nil, err
		}
		return saslProvider{p}, nil
	case ProviderToken:
		return newTokenProvider(props)
	case ProviderTLS:
		return tlsProvider{}, nil
	case ProviderBasic:
		return newBasicProvider(props)
	}
	return nil, fmt.Errorf("provider class %s is not supported by this worker (supported: %s, %s, %s, %s)",
		class, ProviderToken, ProviderTLS, ProviderBasic, ProviderSasl)
}

// saslProvider is AuthenticationProviderSasl (internal/auth/sasl); during the
// exchange its errors are *Answer values that end the request.
type saslProvider struct{ p *sasl.Provider }

func (s saslProvider) method() string { return s.p.Method() }

func (s saslProvider) authenticate(r *http.Request) (string, error) { return s.p.Authenticate(r) }

// Answer is a step of a multi-request authentication exchange (SASL) that
// answers the request itself: Authenticate returns it as its error, and the
// HTTP layer writes it (WriteAnswer) instead of a plain 401.
type Answer = sasl.Answer

// readKeyFromURL is AuthTokenUtils.readKeyFromUrl: "data:" and "file:" URLs,
// then an existing path, then the value itself as base64. setting names the
// property in errors; the value is never echoed, it may be a secret.
func readKeyFromURL(setting, v string) ([]byte, error) {
	if strings.HasPrefix(v, "data:") || strings.HasPrefix(v, "file:") {
		if strings.HasPrefix(v, "file:") {
			v = strings.TrimSpace(v)
		}
		b, err := readURL(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", setting, err)
		}
		return b, nil
	}
	if _, err := os.Stat(v); err == nil {
		b, err := os.ReadFile(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", setting, err)
		}
		return b, nil
	}
	if isBase64Chars(v) {
		b, err := decodeJJWTBase64(v)
		if err != nil {
			return nil, fmt.Errorf("%s: illegal base64 character, or the key file doesn't exist", setting)
		}
		return b, nil
	}
	return nil, fmt.Errorf("%s: the secret/public key file doesn't exist (and the value is not base64)", setting)
}

// readData is AuthenticationProviderBasic.readData: like readKeyFromURL but
// without trimming "file:" values and with Java's strict base64 decoder.
func readData(setting, v string) ([]byte, error) {
	if strings.HasPrefix(v, "data:") || strings.HasPrefix(v, "file:") {
		b, err := readURL(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", setting, err)
		}
		return b, nil
	}
	if _, err := os.Stat(v); err == nil {
		b, err := os.ReadFile(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", setting, err)
		}
		return b, nil
	}
	if isBase64Chars(v) {
		b, err := decodeJavaBase64(v)
		if err != nil {
			return nil, fmt.Errorf("%s: not a data:/file: URL, an existing file or valid base64: %w", setting, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("%s: Not supported config (not a data:/file: URL, an existing file or base64)", setting)
}

// readURL reads a "data:" or "file:" URL as Pulsar's URL handlers do.
func readURL(v string) ([]byte, error) {
	if strings.HasPrefix(v, "data:") {
		return readDataURL(v)
	}
	u, err := url.Parse(v)
	if err != nil {
		return nil, fmt.Errorf("malformed file: URL: %w", err)
	}
	if u.Host != "" && u.Host != "localhost" {
		return nil, fmt.Errorf("file: URL with a remote host %q is not supported", u.Host)
	}
	p := u.Path
	if u.Opaque != "" {
		if p, err = url.PathUnescape(u.Opaque); err != nil {
			return nil, fmt.Errorf("malformed file: URL: %w", err)
		}
	}
	if p == "" {
		return nil, errors.New("file: URL without a path")
	}
	return os.ReadFile(p)
}

// readDataURL is Pulsar's DataURLStreamHandler:
// data:[<mime>][;charset=<cs>][;base64],<data> with non-empty data.
func readDataURL(v string) ([]byte, error) {
	ssp, err := url.PathUnescape(strings.TrimPrefix(v, "data:"))
	if err != nil {
		return nil, fmt.Errorf("malformed data: URL: %w", err)
	}
	meta, data, ok := strings.Cut(ssp, ",")
	if !ok || data == "" {
		return nil, errors.New("malformed data: URL: want data:[<mime>][;base64],<data>")
	}
	parts := strings.Split(meta, ";")
	i := 1
	if i < len(parts) && strings.HasPrefix(parts[i], "charset=") && len(parts[i]) > len("charset=") {
		i++
	}
	b64 := false
	if i < len(parts) && parts[i] == "base64" {
		b64 = true
		i++
	}
	if i != len(parts) {
		return nil, errors.New("malformed data: URL: want data:[<mime>][;base64],<data>")
	}
	if !b64 {
		return []byte(data), nil
	}
	b, err := decodeJavaBase64(data)
	if err != nil {
		return nil, fmt.Errorf("malformed data: URL: %w", err)
	}
	return b, nil
}

// isBase64Chars is commons-codec Base64.isBase64: only base64 alphabet
// (either flavour), padding and whitespace.
func isBase64Chars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '+', c == '/', c == '-', c == '_', c == '=':
		case c == ' ', c == '\t', c == '\n', c == '\r':
		default:
			return false
		}
	}
	return true
}

// decodeJavaBase64 is java.util.Base64.getDecoder().decode: the standard
// alphabet, padding optional but correct when present, nothing else.
func decodeJavaBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		// Go's decoder skips newlines; Java's basic decoder does not.
		return nil, errors.New("illegal base64 character")
	}
	if strings.HasSuffix(s, "=") {
		return base64.StdEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// decodeJJWTBase64 is jjwt's Decoders.BASE64: surrounding whitespace is
// ignored, the rest must be standard base64.
func decodeJJWTBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty base64")
	}
	return decodeJavaBase64(s)
}

// javaSplit is String.split with a literal separator: trailing empty
// strings are removed, and a string without the separator is returned whole.
func javaSplit(s, sep string) []string {
	if !strings.Contains(s, sep) {
		return []string{s}
	}
	parts := strings.Split(s, sep)
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}
