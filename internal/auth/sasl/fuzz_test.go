package sasl

import (
	"net/http"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/types"
)

// FuzzDecoders feeds arbitrary bytes to everything that reads client input:
// the GSS-API token, wrap token and role token decoders and the JAAS parser.
// None may panic; a role token that parses must print back to a token that
// parses to the same value.
func FuzzDecoders(f *testing.F) {
	f.Add([]byte("u=a/null@R&i=1&e=99"))
	f.Add([]byte{0x60, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01, 0x00})
	f.Add([]byte{0x05, 0x04, 0x00, 0xff, 0x00, 0x0c, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0})
	f.Add([]byte(`S { M required k="v"; };`))
	key := types.EncryptionKey{KeyType: 18, KeyValue: make([]byte, 32)}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := string(b)
		if tok, err := parseRoleToken(s); err == nil {
			again, err := parseRoleToken(tok.String())
			if err != nil || again != tok {
				t.Fatalf("%q parsed to %+v, which prints as %q and parses to %+v, %v", s, tok, tok.String(), again, err)
			}
		}
		_, _ = parseInitialContextToken(b)
		_, _ = unwrap(key, b)
		_, _ = parseJAAS(s)
		_, _ = parseKerberosName(s)
		_, _ = decodeBase64(s)
		sg := signer{secret: []byte("k")}
		_, _ = sg.verify(s)
	})
}

// FuzzAuthenticateHeaders sends arbitrary header values through the
// provider: any answer is fine, a panic is not.
func FuzzAuthenticateHeaders(f *testing.F) {
	f.Add("Init", "AAAA", "", "")
	f.Add("ServerCheckToken", "", "1", "u=a&i=1&e=-1&s=x")
	f.Add("ING", "YGA=", "9", "")
	f.Fuzz(func(t *testing.T, state, token, id, role string) {
		p := &Provider{
			acceptor: &acceptor{kt: keytab.New(), principal: serviceName, realm: testRealm,
				replay: &replayCache{seen: map[string]time.Time{}}, now: time.Now},
			signer: signer{secret: []byte("k")},
			now:    time.Now,
			states: newStateCache(10, time.Minute, time.Now),
		}
		r, _ := http.NewRequest(http.MethodGet, "http://w/", nil)
		for k, v := range map[string]string{HeaderState: state, HeaderToken: token, HeaderServerID: id, HeaderRoleToken: role} {
			if v != "" {
				r.Header[k] = []string{v}
			}
		}
		_, _ = p.Authenticate(r)
	})
}
