package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

func testRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	rsaOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		rsaKey = k
	})
	return rsaKey
}

func sign(t *testing.T, m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func pkixDER(t *testing.T, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func tokenAuthz(t *testing.T, props map[string]string) *Authz {
	t.Helper()
	a, err := New(Settings{
		AuthenticationEnabled:   true,
		AuthenticationProviders: []string{ProviderToken},
		Properties:              props,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func bearer(tok string) *http.Request {
	r := httptest.NewRequest("GET", "/admin/v3/functions/t/n", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

func TestTokenProvider(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef") // 256 bits
	longSecret := []byte(strings.Repeat("k", 64))
	secretB64 := base64.StdEncoding.EncodeToString(secret)
	rk := testRSAKey(t)
	rsaDER := pkixDER(t, &rk.PublicKey)
	rsaFile := filepath.Join(t.TempDir(), "public.key")
	if err := os.WriteFile(rsaFile, rsaDER, 0o600); err != nil {
		t.Fatal(err)
	}
	otherRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	past, future := now.Add(-time.Hour).Unix(), now.Add(time.Hour).Unix()

	hs := map[string]string{"tokenSecretKey": secretB64}
	rs := map[string]string{"tokenPublicKey": base64.StdEncoding.EncodeToString(rsaDER)}

	for _, tc := range []struct {
		name    string
		props   map[string]string
		req     *http.Request
		want    string
		wantErr string
	}{
		{name: "HS256 base64 secret", props: hs,
			req: bearer(sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "alice"})), want: "alice"},
		{name: "HS256 data URL secret", props: map[string]string{"tokenSecretKey": "data:;base64," + secretB64},
			req: bearer(sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "alice"})), want: "alice"},
		{name: "HS384 needs a 384-bit key", props: hs,
			req: bearer(sign(t, jwt.SigningMethodHS384, secret, jwt.MapClaims{"sub": "alice"})), wantErr: "not secure enough"},
		{name: "HS512 with a 512-bit key", props: map[string]string{"tokenSecretKey": base64.StdEncoding.EncodeToString(longSecret)},
			req: bearer(sign(t, jwt.SigningMethodHS512, longSecret, jwt.MapClaims{"sub": "bob"})), want: "bob"},
		{name: "HS256 wrong secret", props: hs,
			req: bearer(sign(t, jwt.SigningMethodHS256, longSecret, jwt.MapClaims{"sub": "alice"})), wantErr: "signature is invalid"},
		{name: "RS256 DER base64", props: rs,
			req: bearer(sign(t, jwt.SigningMethodRS256, rk, jwt.MapClaims{"sub": "carol"})), want: "carol"},
		{name: "RS256 DER file path", props: map[string]string{"tokenPublicKey": rsaFile},
			req: bearer(sign(t, jwt.SigningMethodRS256, rk, jwt.MapClaims{"sub": "carol"})), want: "carol"},
		{name: "RS256 DER file URL", props: map[string]string{"tokenPublicKey": "file://" + rsaFile + " \n"},
			req: bearer(sign(t, jwt.SigningMethodRS256, rk, jwt.MapClaims{"sub": "carol"})), want: "carol"},
		{name: "PS256 with an RSA key", props: rs,
			req: bearer(sign(t, jwt.SigningMethodPS256, rk, jwt.MapClaims{"sub": "carol"})), want: "carol"},
		{name: "RS256 wrong key", props: rs,
			req: bearer(sign(t, jwt.SigningMethodRS256, otherRSA, jwt.MapClaims{"sub": "carol"})), wantErr: "verification error"},
		{name: "HS256 token against RSA key", props: rs,
			req: bearer(sign(t, jwt.SigningMethodHS256, rsaDER, jwt.MapClaims{"sub": "carol"})), wantErr: "signing method HS256 is invalid"},
		{name: "unsigned token", props: hs,
			req: bearer(sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": "eve"})), wantErr: "Failed to authentication token"},
		{name: "ES256", props: map[string]string{"tokenPublicKey": base64.StdEncoding.EncodeToString(pkixDER(t, &ek.PublicKey)), "tokenPublicAlg": "es256"},
			req: bearer(sign(t, jwt.SigningMethodES256, ek, jwt.MapClaims{"sub": "dave"})), want: "dave"},
		{name: "expired", props: hs,
			req: bearer(sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "alice", "exp": past})), wantErr: "token is expired"},
		{name: "expired within clock skew", props: map[string]string{"tokenSecretKey": secretB64, "tokenAllowedClockSkewSeconds": "7200"},
			req: bearer(sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "alice", "exp": past})), want: "alice"},
		{name: "not yet valid", props: hs,
			req: bearer(sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "alice", "nbf": future})), wantErr: "token is not valid yet"},
		{name: "valid window", props: hs,
			req: bearer(sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "alice", "nbf": past, "exp": future})), want: "alice"},
		{name: "custom role claim", props: map[string]string{"tokenSecretKey": secretB64, "tokenAuthClaim": "role"},
			req: bearer(sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "alice", "role": "admin"})), want: "admin"},
		{name: "role claim list takes the first", props: hs,
			req: bearer(sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": []any{"r1", "r2"}})), want: "r1"},
		{name: "missing role claim authenticates without a role", props: hs,
			req: bearer(sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"foo": "bar"})), want: ""},
		{name: "numeric role claim", props: hs,
			req: bearer(sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": 42})), wantErr: "neither a string nor a list"},
		{name: "setting prefix", props: map[string]string{"tokenSettingPrefix": "x_", "x_tokenSecretKey": secretB64, "x_tokenAuthClaim": "r"},
			req: bearer(sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"r": "pre"})), want: "pre"},
		{name: "audience string", props: map[string]string{"tokenSecretKey": secretB64, "tokenAudienceClaim": "aud", "tokenAudience": "worker"},
			req: bearer(sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "alice", "aud": "worker"})), want: "alice"},
		{name: "audience list", props: map[string]string{"tokenSecretKey": secretB64, "tokenAudienceClaim": "aud", "tokenAudience": "worker"},
			req: bearer(sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "alice", "aud": []any{"broker", "worker"}})), want: "alice"},
		{name: "audience mismatch", props: map[string]string{"tokenSecretKey": secretB64, "tokenAudienceClaim": "aud", "tokenAudience": "worker"},
			req: bearer(sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "alice", "aud": []any{"broker"}})), wantErr: "not contains this broker"},
		{name: "audience missing", props: map[string]string{"tokenSecretKey": secretB64, "tokenAudienceClaim": "myaud", "tokenAudience": "worker"},
			req: bearer(sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "alice", "aud": "worker"})), wantErr: "Found null Audience"},
		{name: "audience wrong type", props: map[string]string{"tokenSecretKey": secretB64, "tokenAudienceClaim": "aud", "tokenAudience": "worker"},
			req: bearer(sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "alice", "aud": 7})), wantErr: "not in expected format"},
		{name: "query parameter token", props: hs,
			req: httptest.NewRequest("GET", "/ws?token="+url.QueryEscape(sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "q"})), nil), want: "q"},
		{name: "query parameter with Bearer prefix", props: hs,
			req: httptest.NewRequest("GET", "/ws?token="+url.QueryEscape("Bearer "+sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "q"})), nil), want: "q"},
		{name: "header wins over query parameter", props: hs,
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/ws?token="+sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "q"}), nil)
				r.Header.Set("Authorization", "Basic Zm9vOmJhcg==")
				return r
			}(), wantErr: "Invalid HTTP Authorization header"},
		{name: "no credentials", props: hs, req: httptest.NewRequest("GET", "/", nil), wantErr: "Invalid HTTP Authorization header"},
		{name: "lowercase bearer", props: hs,
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/", nil)
				r.Header.Set("Authorization", "bearer "+sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "a"}))
				return r
			}(), wantErr: "Invalid HTTP Authorization header"},
		{name: "blank token", props: hs, req: bearer("   "), wantErr: "Blank token found"},
		{name: "garbage token", props: hs, req: bearer("a.b.c"), wantErr: "Failed to authentication token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tokenAuthz(t, tc.props)
			role, err := a.Authenticate(tc.req)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q (role %q)", err, tc.wantErr, role)
				}
				return
			}
			if err != nil || role != tc.want {
				t.Fatalf("Authenticate = %q, %v; want %q", role, err, tc.want)
			}
		})
	}
}

func TestTokenProviderStartupErrors(t *testing.T) {
	rk := testRSAKey(t)
	der := pkixDER(t, &rk.PublicKey)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secretB64 := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	for _, tc := range []struct {
		name    string
		props   map[string]string
		wantErr string
	}{
		{"no key", map[string]string{}, "No secret key was provided"},
		{"blank key", map[string]string{"tokenSecretKey": "  "}, "No secret key was provided"},
		{"short secret", map[string]string{"tokenSecretKey": base64.StdEncoding.EncodeToString([]byte("short"))}, "not secure enough"},
		{"missing file", map[string]string{"tokenSecretKey": "/no/such/file.key"}, "doesn't exist"},
		{"illegal base64", map[string]string{"tokenSecretKey": "abc-def_"}, "illegal base64"},
		{"not base64 nor file", map[string]string{"tokenSecretKey": "not a key!"}, "doesn't exist"},
		{"missing file URL", map[string]string{"tokenSecretKey": "file:///no/such/file.key"}, "no such file"},
		{"bad data URL", map[string]string{"tokenSecretKey": "data:;base64"}, "malformed data: URL"},
		{"PEM public key", map[string]string{"tokenPublicKey": "data:;base64," + base64.StdEncoding.EncodeToString(pemKey)}, "PEM is not accepted"},
		{"small RSA key", map[string]string{"tokenPublicKey": base64.StdEncoding.EncodeToString(pkixDER(t, &small.PublicKey))}, "at least 2048"},
		{"EC key with RS256", map[string]string{"tokenPublicKey": base64.StdEncoding.EncodeToString(pkixDER(t, &ek.PublicKey))}, "not an RSA key"},
		{"HS alg with a public key", map[string]string{"tokenPublicKey": base64.StdEncoding.EncodeToString(der), "tokenPublicAlg": "HS256"}, "does not support Key Pairs"},
		{"unknown alg", map[string]string{"tokenSecretKey": secretB64, "tokenPublicAlg": "XS999"}, "invalid algorithm provided XS999"},
		{"audience claim without audience", map[string]string{"tokenSecretKey": secretB64, "tokenAudienceClaim": "aud"}, "Audience stands for this broker not"},
		{"bad clock skew", map[string]string{"tokenSecretKey": secretB64, "tokenAllowedClockSkewSeconds": "soon"}, "tokenAllowedClockSkewSeconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Settings{AuthenticationEnabled: true, AuthenticationProviders: []string{ProviderToken}, Properties: tc.props})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), ProviderToken) {
				t.Errorf("error does not name the provider class: %v", err)
			}
		})
	}
}

func TestReadKeyFromURL(t *testing.T) {
	f := filepath.Join(t.TempDir(), "k")
	if err := os.WriteFile(f, []byte("file-bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{"data:;base64,aGVsbG8=", "hello"},
		{"data:;base64,aGVsbG8", "hello"},
		{"data:application/octet-stream;base64,aGVsbG8=", "hello"},
		{"data:text/plain;charset=utf-8;base64,aGVsbG8=", "hello"},
		{"data:,hello%20world", "hello world"},
		{"data:text/plain,a,b", "a,b"},
		{"file://" + f, "file-bytes"},
		{"file:" + f, "file-bytes"},
		{f, "file-bytes"},
		{"aGVsbG8=", "hello"},
		{" aGVsbG8= ", "hello"},
	} {
		got, err := readKeyFromURL("k", tc.in)
		if err != nil || string(got) != tc.want {
			t.Errorf("readKeyFromURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"data:", "data:,", "data:;foo,abc", "data:;base64,***", "file://otherhost/etc/passwd", "a!b", "data:%zz,x"} {
		if got, err := readKeyFromURL("k", in); err == nil {
			t.Errorf("readKeyFromURL(%q) = %q, want an error", in, got)
		}
	}
}
