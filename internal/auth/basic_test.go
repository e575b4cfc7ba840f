package auth

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Hashes from `openssl passwd -apr1` (= htpasswd -m) and perl crypt (= htpasswd -d).
const htpasswd = "alice:$apr1$saltsalt$yAAkm4libquA.ZWLHbSBq/\n" +
	"bob:abJnggxhB/yWI\r\n" +
	"carol:$apr1$12345678$sHuPAw7VA9xjRbJz7zKV7/\r" +
	"dave:$2y$05$bcryptIsNotSupportedByJava\n" +
	"erin:$apr1$bad-salt$xxxxxxxxxxxxxxxxxxxxxx\n"

func basicReq(user, pass string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	return r
}

func TestBasicProvider(t *testing.T) {
	file := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(file, []byte(htpasswd), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, conf := range []string{
		file,
		"file://" + file,
		"data:;base64," + base64.StdEncoding.EncodeToString([]byte(htpasswd)),
		base64.StdEncoding.EncodeToString([]byte(htpasswd)),
	} {
		a, err := New(Settings{AuthenticationEnabled: true, AuthenticationProviders: []string{ProviderBasic},
			Properties: map[string]string{"basicAuthConf": conf}})
		if err != nil {
			t.Fatalf("basicAuthConf %.30q: %v", conf, err)
		}
		for _, tc := range []struct {
			name string
			req  *http.Request
			want string // "" = failure
		}{
			{"apr1", basicReq("alice", "password"), "alice"},
			{"des", basicReq("bob", "password"), "bob"},
			{"des uses 8 bytes", basicReq("bob", "password-and-more"), "bob"},
			{"apr1 empty password", basicReq("carol", ""), ""}, // "carol:" splits into 1 part
			{"wrong password", basicReq("alice", "Password"), ""},
			{"unknown user", basicReq("mallory", "password"), ""},
			{"unsupported hash never verifies", basicReq("dave", "x"), ""},
			{"bad apr1 salt never verifies", basicReq("erin", "x"), ""},
			{"lowercase scheme", func() *http.Request {
				r := basicReq("alice", "password")
				r.Header.Set("Authorization", "basic "+strings.SplitN(r.Header.Get("Authorization"), " ", 2)[1])
				return r
			}(), "alice"},
			{"bearer", bearer("abc"), ""},
			{"none", httptest.NewRequest("GET", "/", nil), ""},
		} {
			role, err := a.Authenticate(tc.req)
			if tc.want == "" {
				if err == nil {
					t.Errorf("%s: authenticated as %q, want failure", tc.name, role)
				}
			} else if err != nil || role != tc.want {
				t.Errorf("%s: %q, %v; want %q", tc.name, role, err, tc.want)
			}
		}
	}
}

func TestParseBasicHeader(t *testing.T) {
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		h, user, pass, wantErr string
	}{
		{h: "Basic " + enc("u:p"), user: "u", pass: "p"},
		{h: "BASIC " + enc("u:p"), user: "u", pass: "p"},
		{h: "Basic " + enc("u:p") + " ", user: "u", pass: "p"}, // trailing empty part dropped, as in Java
		{h: "Basic " + enc("u:p:"), user: "u", pass: "p"},
		{h: "Basic " + enc(":p"), user: "", pass: "p"},
		{h: "", wantErr: "has to be started"},
		{h: "   ", wantErr: "has to be started"},
		{h: "Bearer x", wantErr: "has to be started"},
		{h: "Basic", wantErr: "Base64 encoded token is not found"},
		{h: "Basic  " + enc("u:p"), wantErr: "Base64 encoded token is not found"},
		{h: "Basic a b", wantErr: "Base64 encoded token is not found"},
		{h: "Basic ***", wantErr: "Base64 decoding is failure"},
		{h: "Basic " + enc("up"), wantErr: "params are invalid"},
		{h: "Basic " + enc("u:p:w"), wantErr: "params are invalid"},
		{h: "Basic " + enc("u:"), wantErr: "params are invalid"},
	} {
		user, pass, err := parseBasicHeader(tc.h)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseBasicHeader(%q) = %q, %q, %v; want error %q", tc.h, user, pass, err, tc.wantErr)
			}
			continue
		}
		if err != nil || user != tc.user || pass != tc.pass {
			t.Errorf("parseBasicHeader(%q) = %q, %q, %v; want %q, %q", tc.h, user, pass, err, tc.user, tc.pass)
		}
	}
}

func TestBasicProviderStartupErrors(t *testing.T) {
	for _, tc := range []struct {
		name, conf, wantErr string
	}{
		{"missing", "", "No basic authentication config provided"},
		{"blank line", "data:,a:b%0A%0Ac:d", "line 2"},
		{"no colon", "data:,alice", "line 1"},
		{"not a file", "/no/such/htpasswd.txt", "Not supported config"},
		{"bad base64", "abc=def", "valid base64"},
	} {
		_, err := New(Settings{AuthenticationEnabled: true, AuthenticationProviders: []string{ProviderBasic},
			Properties: map[string]string{"basicAuthConf": tc.conf}})
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), ProviderBasic) {
			t.Errorf("%s: err = %v, want one naming %s and containing %q", tc.name, err, ProviderBasic, tc.wantErr)
		}
	}
}
