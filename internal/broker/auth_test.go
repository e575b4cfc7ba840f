package broker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseClientAuth(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	cert, key := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	for _, f := range []string{tokenFile, cert, key} {
		if err := os.WriteFile(f, []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PFW_TEST_TOKEN", "env-jwt")

	tests := []struct {
		name, plugin, params string
		want                 ClientAuth
		wantErr              string
	}{
		{name: "none", plugin: "", want: ClientAuth{}},
		{name: "disabled class", plugin: "org.apache.pulsar.client.impl.auth.AuthenticationDisabled", want: ClientAuth{}},
		{name: "token inline", plugin: pluginToken, params: "token:abc.def", want: ClientAuth{Kind: AuthToken, Token: "abc.def"}},
		{name: "token file url", plugin: pluginToken, params: "file://" + tokenFile, want: ClientAuth{Kind: AuthToken, TokenFile: tokenFile}},
		{name: "token json", plugin: "token", params: `{"token":"j"}`, want: ClientAuth{Kind: AuthToken, Token: "j"}},
		{name: "token raw string", plugin: pluginToken, params: "rawjwt", want: ClientAuth{Kind: AuthToken, Token: "rawjwt"}},
		{name: "token env", plugin: pluginToken, params: "env:PFW_TEST_TOKEN", want: ClientAuth{Kind: AuthToken, Token: "env-jwt"}},
		{name: "token missing file", plugin: pluginToken, params: "file:///nonexistent/token", wantErr: "token file"},
		{name: "token empty", plugin: pluginToken, params: "", wantErr: "parameters are empty"},
		{name: "tls java form", plugin: pluginTLS, params: "tlsCertFile:" + cert + ",tlsKeyFile:" + key,
			want: ClientAuth{Kind: AuthTLS, CertFile: cert, KeyFile: key}},
		{name: "tls json", plugin: "tls", params: `{"tlsCertFile":"` + cert + `","tlsKeyFile":"` + key + `"}`,
			want: ClientAuth{Kind: AuthTLS, CertFile: cert, KeyFile: key}},
		{name: "tls missing key", plugin: pluginTLS, params: "tlsCertFile:" + cert, wantErr: "need tlsCertFile and tlsKeyFile"},
		{name: "basic", plugin: pluginBasic, params: `{"userId":"u","password":"p"}`, want: ClientAuth{Kind: AuthBasic, User: "u", Password: "p"}},
		{name: "oauth2", plugin: pluginOAuth2, params: `{"type":"client_credentials","issuerUrl":"https://i","privateKey":"file:///k.json","audience":"a"}`,
			want: ClientAuth{Kind: AuthOAuth2, IssuerURL: "https://i", PrivateKey: "file:///k.json", Audience: "a"}},
		{name: "sasl unsupported", plugin: "org.apache.pulsar.client.impl.auth.AuthenticationSasl",
			params: `{"saslJaasClientSectionName":"PulsarClient","serverType":"broker"}`, wantErr: "pulsar-client-go v0.19.0 has no SASL/Kerberos authentication"},
		{name: "sasl short name unsupported", plugin: "sasl", params: "{}", wantErr: "(Kerberos) is not supported for the worker's own connections"},
		{name: "unknown class", plugin: "com.example.MyAuth", wantErr: `"com.example.MyAuth" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseClientAuth(tt.plugin, tt.params)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPulsarParamsAreJSON(t *testing.T) {
	name, params := ClientAuth{Kind: AuthToken, Token: "t"}.pulsarParams()
	if name != "token" || params != `{"token":"t"}` {
		t.Fatalf("got %s %s", name, params)
	}
	name, params = ClientAuth{Kind: AuthBasic, User: "u", Password: "p"}.pulsarParams()
	if name != "basic" || params != `{"password":"p","username":"u"}` {
		t.Fatalf("got %s %s", name, params)
	}
}

func FuzzParseClientAuth(f *testing.F) {
	for _, s := range []string{"token:x", "file:///x", `{"token":1}`, "tlsCertFile:a,tlsKeyFile:b", "k", ",:,", "{"} {
		f.Add(pluginToken, s)
		f.Add(pluginTLS, s)
		f.Add(pluginBasic, s)
		f.Add(pluginOAuth2, s)
	}
	f.Fuzz(func(t *testing.T, plugin, params string) {
		_, _ = ParseClientAuth(plugin, params)
	})
}
