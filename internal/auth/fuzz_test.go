package auth

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func FuzzParseBasicHeader(f *testing.F) {
	for _, s := range []string{"", "Basic", "Basic dTpw", "basic dTpw", "BASIC  dTpw", "Basic ===", "Basic " + base64.StdEncoding.EncodeToString([]byte("a:b:c")), "Bearer x", "Basicdtpw dTpw", "ß dTpw"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		user, pass, err := parseBasicHeader(h)
		if err == nil && (strings.Contains(user, ":") || strings.Contains(pass, ":")) {
			t.Fatalf("parseBasicHeader(%q) = %q, %q: a part contains ':'", h, user, pass)
		}
	})
}

// FuzzAuthenticate throws arbitrary Authorization headers, token query
// parameters and method names at every provider.
func FuzzAuthenticate(f *testing.F) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	a, err := New(Settings{
		AuthenticationEnabled:   true,
		AuthenticationProviders: []string{ProviderToken, ProviderBasic, ProviderTLS},
		Properties: map[string]string{
			"tokenSecretKey":     base64.StdEncoding.EncodeToString(secret),
			"tokenAudienceClaim": "aud",
			"tokenAudience":      "w",
			"basicAuthConf":      "data:;base64," + base64.StdEncoding.EncodeToString([]byte(htpasswd)),
		},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig", "", "")
	f.Add("", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "token")
	f.Add("Basic YWxpY2U6cGFzc3dvcmQ=", "", "basic")
	f.Add("Bearer a.b.c", "x", "tls")
	f.Add("Bearer eyJhbGciOiJIUzI1NiJ9.W10.", "", "")
	f.Fuzz(func(t *testing.T, authz, token, method string) {
		r := &http.Request{Header: http.Header{}, URL: &url.URL{Path: "/"}}
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		if token != "" {
			r.URL.RawQuery = url.Values{"token": {token}}.Encode()
		}
		if method != "" {
			r.Header.Set(HeaderAuthMethodName, method)
		}
		_, _ = a.Authenticate(r)
	})
}

func FuzzReadKey(f *testing.F) {
	for _, s := range []string{"data:;base64,aGVsbG8=", "data:,x", "data:a;charset=b;base64,", "data:%", "aGVsbG8", "file:", "file://", "file:%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if strings.HasPrefix(v, "file:") || (!strings.HasPrefix(v, "data:") && !isBase64Chars(v)) {
			return // would read arbitrary local files
		}
		_, _ = readKeyFromURL("k", v)
		_, _ = readData("k", v)
	})
}

func FuzzCrypt(f *testing.F) {
	f.Add([]byte("password"), "ab")
	f.Add([]byte{}, "saltsalt")
	f.Fuzz(func(t *testing.T, pw []byte, salt string) {
		_, _ = apr1Crypt(pw, salt)
		_, _ = desCrypt(pw, salt)
	})
}
