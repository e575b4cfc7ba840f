package sasl

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseJAAS(t *testing.T) {
	src := `/* the broker's and the worker's sections */
PulsarFunction {
   com.sun.security.auth.module.Krb5LoginModule required
   useKeyTab=true
   storeKey=true
   keyTab="/etc/security/keytabs/pulsar.keytab" // a comment
   principal="broker/localhost@PFW.TEST";
};
// a client section
PulsarClient {
   com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true keyTab='/k "x"' principal=client;
   other.Module optional;
};
PulsarFunction { ignored.Module required; };
`
	got, err := parseJAAS(src)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]jaasEntry{
		"PulsarFunction": {{Class: "com.sun.security.auth.module.Krb5LoginModule", Flag: "required", Options: map[string]string{
			"useKeyTab": "true", "storeKey": "true", "keyTab": "/etc/security/keytabs/pulsar.keytab", "principal": "broker/localhost@PFW.TEST"}}},
		"PulsarClient": {
			{Class: "com.sun.security.auth.module.Krb5LoginModule", Flag: "required", Options: map[string]string{
				"useKeyTab": "true", "keyTab": `/k "x"`, "principal": "client"}},
			{Class: "other.Module", Flag: "optional", Options: map[string]string{}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseJAAS =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseJAASErrors(t *testing.T) {
	for _, tt := range []struct{ name, src, want string }{
		{"no brace", "A B;", `expected "{"`},
		{"no closing brace", "A { M required;", `missing "}"`},
		{"no semicolon after section", "A { M required; }", `expected ";"`},
		{"no flag", "A { M ; };", "no control flag"},
		{"option without value", "A { M required k= ; };", "has no value"},
		{"option without equals", "A { M required k v; };", `expected "="`},
		{"unterminated quote", `A { M required k="v; };`, "unterminated quoted value"},
		{"unterminated comment", "A { /* }", "unterminated comment"},
		{"entry never ends", "A { M required k=v", `missing ";"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseJAAS(tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLoadServiceLogin(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", `S { com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true keyTab="/k" principal="p/h@R"; };`)
	for _, tt := range []struct {
		name, path, section, want string
	}{
		{"good", good, "S", ""},
		{"no file setting", "", "S", "set saslJaasConfigFile"},
		{"missing file", filepath.Join(dir, "nope"), "S", "no such file"},
		{"missing section", good, "T", `no section "T"`},
		{"no keytab use", write("nokt", `S { com.sun.security.auth.module.Krb5LoginModule required principal="p"; };`), "S", "useKeyTab=true"},
		{"no keytab", write("nokt2", `S { com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true principal="p"; };`), "S", "has no keyTab"},
		{"any principal", write("star", `S { com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true keyTab="/k" principal="*"; };`), "S", "explicit principal"},
		{"not Kerberos", write("other", `S { org.example.Login required; };`), "S", "no Krb5LoginModule"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := loadServiceLogin(tt.path, tt.section)
			if tt.want == "" {
				if err != nil || l != (serviceLogin{Keytab: "/k", Principal: "p/h@R"}) {
					t.Fatalf("login = %+v, %v", l, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestDefaultRealm(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "krb5.conf")
	body := "[realms]\n default_realm = WRONG\n# default_realm = COMMENT\n[libdefaults]\n\tdns_lookup_kdc = false\n\tdefault_realm = PFW.TEST\n"
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := defaultRealm(p); err != nil || got != "PFW.TEST" {
		t.Fatalf("defaultRealm = %q, %v", got, err)
	}
	if got, err := defaultRealm(filepath.Join(dir, "missing")); err != nil || got != "" {
		t.Fatalf("defaultRealm of a missing file = %q, %v", got, err)
	}
}
