package auth

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token provider settings, read from properties (after tokenSettingPrefix).
const (
	confTokenSettingPrefix        = "tokenSettingPrefix"
	confTokenSecretKey            = "tokenSecretKey"
	confTokenPublicKey            = "tokenPublicKey"
	confTokenPublicAlg            = "tokenPublicAlg"
	confTokenAuthClaim            = "tokenAuthClaim"
	confTokenAudienceClaim        = "tokenAudienceClaim"
	confTokenAudience             = "tokenAudience"
	confTokenAllowedClockSkewSecs = "tokenAllowedClockSkewSeconds"
)

const bearerPrefix = "Bearer "

// hmacMinKeyBytes is the key length jjwt requires for each HMAC algorithm.
var hmacMinKeyBytes = map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}

// jwtAlgs are jjwt's SignatureAlgorithm values, accepted case-insensitively
// for tokenPublicAlg.
var jwtAlgs = []string{"NONE", "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"}

// tokenProvider is AuthenticationProviderToken.
type tokenProvider struct {
	key       any // []byte, *rsa.PublicKey or *ecdsa.PublicKey
	hmac      bool
	roleClaim string
	audClaim  string // "" = no audience check
	audience  string
	parser    *jwt.Parser
}

func newTokenProvider(props map[string]string) (*tokenProvider, error) {
	prefix := props[confTokenSettingPrefix]
	get := func(k string) string {
		v := props[prefix+k]
		if isBlank(v) {
			return ""
		}
		return v
	}
	name := func(k string) string { return prefix + k }

	// Java parses the algorithm first, even when a secret key is used.
	alg := "RS256"
	if v := get(confTokenPublicAlg); v != "" {
		alg = ""
		for _, a := range jwtAlgs {
			if strings.EqualFold(a, v) {
				alg = a
			}
		}
		if alg == "" {
			return nil, fmt.Errorf("%s: invalid algorithm provided %s", name(confTokenPublicAlg), v)
		}
	}

	p := &tokenProvider{roleClaim: "sub"}
	var methods []string
	switch secret, public := get(confTokenSecretKey), get(confTokenPublicKey); {
	case secret != "":
		b, err := readKeyFromURL(name(confTokenSecretKey), secret)
		if err != nil {
			return nil, err
		}
		if len(b) < 32 {
			return nil, fmt.Errorf("%s: the key is %d bits, which is not secure enough for any JWT HMAC-SHA algorithm (at least 256 bits)",
				name(confTokenSecretKey), len(b)*8)
		}
		p.key, p.hmac = b, true
		methods = []string{"HS256", "HS384", "HS512"}
	case public != "":
		b, err := readKeyFromURL(name(confTokenPublicKey), public)
		if err != nil {
			return nil, err
		}
		key, err := decodePublicKey(b, alg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name(confTokenPublicKey), err)
		}
		p.key = key
		switch key.(type) {
		case *rsa.PublicKey:
			methods = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
		case *ecdsa.PublicKey:
			methods = []string{"ES256", "ES384", "ES512"}
		}
	default:
		return nil, fmt.Errorf("No secret key was provided for token authentication (set %s or %s in properties)",
			name(confTokenSecretKey), name(confTokenPublicKey))
	}

	if v := get(confTokenAuthClaim); v != "" {
		p.roleClaim = v
	}
	p.audClaim = get(confTokenAudienceClaim)
	p.audience = get(confTokenAudience)
	var skew int64
	if v := get(confTokenAllowedClockSkewSecs); v != "" {
		var err error
		if skew, err = strconv.ParseInt(v, 10, 64); err != nil || skew < 0 {
			return nil, fmt.Errorf("%s: %q is not a non-negative number of seconds", name(confTokenAllowedClockSkewSecs), v)
		}
	}
	if p.audClaim != "" && p.audience == "" {
		return nil, fmt.Errorf("Token Audience Claim [%s] configured, but Audience stands for this broker not (set %s)",
			p.audClaim, name(confTokenAudience))
	}
	p.parser = jwt.NewParser(jwt.WithValidMethods(methods), jwt.WithLeeway(time.Duration(skew)*time.Second))
	return p, nil
}

// decodePublicKey is AuthTokenUtils.decodePublicKey: DER X.509
// SubjectPublicKeyInfo of the key type alg implies.
func decodePublicKey(der []byte, alg string) (any, error) {
	if blk, _ := pem.Decode(der); blk != nil {
		return nil, errors.New("Failed to decode public key: PEM is not accepted, the key must be DER-encoded X.509 SubjectPublicKeyInfo (openssl pkey -pubin -outform DER)")
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("Failed to decode public key: %w", err)
	}
	switch alg[:2] {
	case "RS", "PS":
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("Failed to decode public key: not an RSA key, as tokenPublicAlg %s requires", alg)
		}
		if k.N.BitLen() < 2048 {
			// jjwt refuses to verify with a smaller RSA key.
			return nil, fmt.Errorf("Failed to decode public key: the RSA key is %d bits, JWT verification needs at least 2048", k.N.BitLen())
		}
		return k, nil
	case "ES":
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("Failed to decode public key: not an EC key, as tokenPublicAlg %s requires", alg)
		}
		return k, nil
	}
	return nil, fmt.Errorf("Failed to decode public key: The %s algorithm does not support Key Pairs.", alg)
}

func (p *tokenProvider) method() string { return "token" }

func (p *tokenProvider) authenticate(r *http.Request) (string, error) {
	tok, err := bearerToken(r)
	if err != nil {
		return "", err
	}
	claims := jwt.MapClaims{}
	if _, err := p.parser.ParseWithClaims(tok, claims, p.keyFunc); err != nil {
		return "", fmt.Errorf("Failed to authentication token: %w", err)
	}
	if p.audClaim != "" {
		if err := p.checkAudience(claims); err != nil {
			return "", err
		}
	}
	return p.principal(claims)
}

// keyFunc also enforces jjwt's rule that an HMAC key is at least as long as
// the algorithm's hash.
func (p *tokenProvider) keyFunc(t *jwt.Token) (any, error) {
	if p.hmac {
		if need := hmacMinKeyBytes[t.Method.Alg()]; len(p.key.([]byte)) < need {
			return nil, fmt.Errorf("the signing key is %d bits, not secure enough for %s", len(p.key.([]byte))*8, t.Method.Alg())
		}
	}
	return p.key, nil
}

func (p *tokenProvider) checkAudience(claims jwt.MapClaims) error {
	switch v := claims[p.audClaim].(type) {
	case nil:
		return fmt.Errorf("Failed to authentication token: Found null Audience in token, for claimed field: %s", p.audClaim)
	case string:
		if v != p.audience {
			return fmt.Errorf("Audiences in token: [%s] not contains this broker: %s", v, p.audience)
		}
	case []any:
		strs := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok && s == p.audience {
				return nil
			}
			strs = append(strs, fmt.Sprint(x))
		}
		return fmt.Errorf("Audiences in token: [%s] not contains this broker: %s", strings.Join(strs, ","), p.audience)
	default:
		return fmt.Errorf("Audiences in token is not in expected format: %v", v)
	}
	return nil
}

// principal is getPrincipal: the role claim as a string, or the first
// element of a list; missing or unusable list means no role.
func (p *tokenProvider) principal(claims jwt.MapClaims) (string, error) {
	switch v := claims[p.roleClaim].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case []any:
		if len(v) > 0 {
			if s, ok := v[0].(string); ok {
				return s, nil
			}
		}
		return "", nil
	default:
		return "", fmt.Errorf("token claim %s is neither a string nor a list", p.roleClaim)
	}
}

// bearerToken is the token provider's view of the request: the
// Authorization header, or when that header is absent the "token" query
// parameter ("Bearer " added when missing).
func bearerToken(r *http.Request) (string, error) {
	h, ok := firstHeader(r, "Authorization")
	if !ok && r != nil && r.URL != nil {
		if vs := r.URL.Query()["token"]; len(vs) > 0 {
			h, ok = vs[0], true
			if !strings.HasPrefix(h, bearerPrefix) {
				h = bearerPrefix + h
			}
		}
	}
	if !ok || !strings.HasPrefix(h, bearerPrefix) {
		return "", errors.New("Invalid HTTP Authorization header")
	}
	tok := h[len(bearerPrefix):]
	if isBlank(tok) {
		return "", errors.New("Blank token found")
	}
	return tok, nil
}
