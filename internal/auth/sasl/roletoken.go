package sasl

import (
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// roleTokenLifetime is SASL_ROLE_TOKEN_LIVE_SECONDS: a role token is good for
// an hour after the exchange that produced it.
const roleTokenLifetime = time.Hour

// signatureSep separates a role token's text from its signature.
const signatureSep = "&s="

// signer signs and checks role tokens as SaslRoleTokenSigner does:
// text + "&s=" + base64(SHA-512(text || secret)).
type signer struct{ secret []byte }

func newSigner(secret []byte) (signer, error) {
	if len(secret) == 0 {
		return signer{}, errors.New("the role token signer secret is empty")
	}
	return signer{secret: append([]byte(nil), secret...)}, nil
}

func (s signer) signature(text string) string {
	h := sha512.New()
	h.Write([]byte(text))
	h.Write(s.secret)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func (s signer) sign(text string) string {
	return text + signatureSep + s.signature(text)
}

// verify returns the signed text; an error means the signature is missing
// or wrong (Java's "Invalid signed text" / "Invalid signature").
func (s signer) verify(signed string) (string, error) {
	i := strings.LastIndex(signed, signatureSep)
	if i < 0 {
		return "", errors.New("invalid signed text: no signature")
	}
	text, sig := signed[:i], signed[i+len(signatureSep):]
	if subtle.ConstantTimeCompare([]byte(s.signature(text)), []byte(sig)) != 1 {
		return "", errors.New("invalid signature")
	}
	return text, nil
}

// roleToken is SaslRoleToken: "u=<role>&i=<session>&e=<expiry millis>"
// (-1: never expires).
type roleToken struct {
	Role    string
	Session string
	Expires int64
}

func (t roleToken) String() string {
	return "u=" + t.Role + "&i=" + t.Session + "&e=" + strconv.FormatInt(t.Expires, 10)
}

func (t roleToken) expired(now time.Time) bool {
	return t.Expires != -1 && now.UnixMilli() > t.Expires
}

// parseRoleToken is SaslRoleToken.parse: exactly the attributes u, i and e
// (a later duplicate wins, empty parts are skipped as StringTokenizer does),
// a non-empty session without '&', and a decimal expiry.
func parseRoleToken(s string) (roleToken, error) {
	m := map[string]string{}
	for _, part := range strings.Split(s, "&") {
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return roleToken{}, errors.New("invalid authentication token")
		}
		m[k] = v
	}
	if len(m) != 3 {
		return roleToken{}, errors.New("invalid token string, missing attributes")
	}
	role, okU := m["u"]
	session, okI := m["i"]
	exp, okE := m["e"]
	if !okU || !okI || !okE {
		return roleToken{}, errors.New("invalid token string, missing attributes")
	}
	if session == "" {
		return roleToken{}, errors.New("session is NULL, empty or contains a '&'")
	}
	e, err := parseJavaLong(exp)
	if err != nil {
		return roleToken{}, fmt.Errorf("expiry %q: %w", exp, err)
	}
	return roleToken{Role: role, Session: session, Expires: e}, nil
}

// parseJavaLong is Long.parseLong: an optional sign and ASCII digits.
func parseJavaLong(s string) (int64, error) {
	digits := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	if digits == "" || len(s)-len(digits) > 1 {
		return 0, errors.New("not a number")
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, errors.New("not a number")
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// readSecret is AuthenticationProviderSasl.readSecretFromUrl: a "file:" URL
// or an existing path; the setting is required.
func readSecret(setting, v string) ([]byte, error) {
	if strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("%s is empty: the SASL provider needs a file with the secret that signs role tokens", setting)
	}
	p := v
	if strings.HasPrefix(v, "file:") {
		p = strings.TrimPrefix(v, "file:")
		if strings.HasPrefix(p, "//") {
			rest := strings.TrimPrefix(p, "//")
			host, path, _ := strings.Cut(rest, "/")
			if host != "" && host != "localhost" {
				return nil, fmt.Errorf("%s: file: URL with a remote host %q is not supported", setting, host)
			}
			p = "/" + path
		}
	} else if _, err := os.Stat(v); err != nil {
		return nil, fmt.Errorf("%s: role token signer secret file %s doesn't exist", setting, v)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("%s: read role token signer secret: %w", setting, err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%s: role token signer secret file %s is empty", setting, p)
	}
	return b, nil
}
