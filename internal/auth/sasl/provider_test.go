package sasl

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// The tests play the client side of the exchange themselves: a service
// ticket made with the service's keytab (what a KDC would issue), the AP-REQ
// Java's Krb5Context sends (subkey, sequence number, GSS checksum without
// mutual authentication), and the final wrapped answer with the authzid.
const testRealm = "PFW.TEST"

var serviceName = types.PrincipalName{NameType: 3, NameString: []string{"broker", "localhost"}}

type fixture struct {
	dir      string
	kt       *keytab.Keytab
	settings Settings
	now      time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	kt := keytab.New()
	if err := kt.AddEntry("broker/localhost", testRealm, "service password", time.Now(), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	b, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ktPath := write("service.keytab", string(b))
	f := &fixture{dir: dir, kt: kt, now: time.Now()}
	f.settings = Settings{
		AllowedIDs:       ".*pulsar.*",
		SectionName:      "PulsarFunction",
		SignerSecretPath: "file://" + write("secret", "role token secret"),
		JAASFile: write("jaas.conf", `PulsarFunction {
  com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true storeKey=true
  keyTab="`+ktPath+`" principal="broker/localhost@PFW.TEST";
};`),
		Krb5Conf: write("krb5.conf", "[libdefaults]\n default_realm = PFW.TEST\n"),
		Now:      func() time.Time { return f.now },
	}
	return f
}

func (f *fixture) provider(t *testing.T) *Provider {
	t.Helper()
	p, err := New(f.settings)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// client is one Kerberos client's side of an exchange.
type client struct {
	principal string
	subkey    types.EncryptionKey
}

// initialToken is the GSS-API InitialContextToken of an AP-REQ for sname,
// with the GSS checksum's flags.
func (f *fixture) initialToken(t *testing.T, c *client, sname types.PrincipalName, gssFlags uint32) []byte {
	t.Helper()
	cname := types.PrincipalName{NameType: 1, NameString: []string{c.principal}}
	now := time.Now().UTC()
	tkt, sessionKey, err := messages.NewTicket(cname, testRealm, sname, testRealm, types.NewKrbFlags(), f.kt,
		etypeID.AES256_CTS_HMAC_SHA1_96, 1, now, now, now.Add(time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	auth, err := types.NewAuthenticator(testRealm, cname)
	if err != nil {
		t.Fatal(err)
	}
	et, _ := crypto.GetEtype(sessionKey.KeyType)
	if err := auth.GenerateSeqNumberAndSubKey(sessionKey.KeyType, et.GetKeyByteSize()); err != nil {
		t.Fatal(err)
	}
	ck := make([]byte, 24)
	binary.LittleEndian.PutUint32(ck, 16)
	binary.LittleEndian.PutUint32(ck[20:], gssFlags)
	auth.Cksum = types.Checksum{CksumType: gssChecksumType, Checksum: ck}
	c.subkey = auth.SubKey
	req, err := messages.NewAPReq(tkt, sessionKey, auth)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	body := append(append(append([]byte{}, krb5OID...), 0x01, 0x00), raw...)
	var tok []byte
	if n := len(body); n < 128 {
		tok = []byte{0x60, byte(n)}
	} else {
		tok = []byte{0x60, 0x82, byte(n >> 8), byte(n)}
	}
	return append(tok, body...)
}

// final checks the server's security layer offer and answers it.
func (c *client) final(t *testing.T, challenge []byte, authzID string) []byte {
	t.Helper()
	var wt gssapi.WrapToken
	if err := wt.Unmarshal(challenge, true); err != nil {
		t.Fatalf("server token: %v", err)
	}
	if ok, err := wt.Verify(c.subkey, keyusage.GSSAPI_ACCEPTOR_SEAL); !ok {
		t.Fatalf("server token checksum: %v", err)
	}
	if want := []byte{1, 1, 0, 0}; string(wt.Payload) != string(want) {
		t.Fatalf("offer = %x, want %x (no security layer, 64 KiB)", wt.Payload, want)
	}
	out, err := gssapi.NewInitiatorWrapToken(append([]byte{1, 0, 0, 0}, authzID...), c.subkey)
	if err != nil {
		t.Fatal(err)
	}
	b, err := out.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func request(h map[string]string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/admin/v3/functions/public/default", nil)
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return r
}

func answer(t *testing.T, err error, status int, state string) *Answer {
	t.Helper()
	var a *Answer
	if !errors.As(err, &a) {
		t.Fatalf("err = %v, want an Answer %d %s", err, status, state)
	}
	if a.Status != status || a.Header.Get(HeaderState) != state || a.Header.Get(HeaderType) != TypeKerberos {
		t.Fatalf("answer = %d %v, want %d State %s", a.Status, a.Header, status, state)
	}
	return a
}

// exchange runs Init and the final step; it returns the final step's result.
func (f *fixture) exchange(t *testing.T, p *Provider, c *client, authzID string) error {
	t.Helper()
	_, err := p.Authenticate(request(map[string]string{HeaderType: TypeKerberos, HeaderState: StateInit,
		HeaderToken: base64.StdEncoding.EncodeToString(f.initialToken(t, c, serviceName, 0x30))}))
	a := answer(t, err, http.StatusUnauthorized, StateNegotiate)
	challenge, decErr := base64.StdEncoding.DecodeString(a.Header.Get(HeaderToken))
	if decErr != nil {
		t.Fatal(decErr)
	}
	_, err = p.Authenticate(request(map[string]string{HeaderType: TypeKerberos, HeaderState: StateNegotiate,
		HeaderServerID: a.Header.Get(HeaderServerID),
		HeaderToken:    base64.StdEncoding.EncodeToString(c.final(t, challenge, authzID))}))
	return err
}

func TestExchange(t *testing.T) {
	f := newFixture(t)
	p := f.provider(t)
	c := &client{principal: "pulsar-client"}
	err := f.exchange(t, p, c, "pulsar-client@"+testRealm)
	done := answer(t, err, http.StatusOK, StateComplete)
	roleToken := done.Header.Get(HeaderRoleToken)
	id := done.Header.Get(HeaderServerID)
	if roleToken == "" || id == "" {
		t.Fatalf("complete answer without role token or server id: %v", done.Header)
	}
	text, _ := p.signer.verify(roleToken)
	if want := "u=pulsar-client@PFW.TEST&i=" + id + "&e="; !strings.HasPrefix(text, want) {
		t.Fatalf("role token %q, want it to start with %q", text, want)
	}

	// The client checks its token, then sends real requests with it.
	_, err = p.Authenticate(request(map[string]string{HeaderRoleToken: roleToken, HeaderState: StateCheckToken, HeaderServerID: id}))
	if a := answer(t, err, http.StatusOK, StateComplete); a.Header.Get(HeaderServerID) != id {
		t.Fatalf("check answer's server id = %q, want %q", a.Header.Get(HeaderServerID), id)
	}
	role, err := p.Authenticate(request(map[string]string{HeaderRoleToken: roleToken, HeaderState: StateComplete}))
	if err != nil || role != "pulsar-client@PFW.TEST" {
		t.Fatalf("role = %q, %v", role, err)
	}
	// State values are compared ignoring case, as Java's equalsIgnoreCase.
	if role, err := p.Authenticate(request(map[string]string{HeaderRoleToken: roleToken, HeaderState: "done"})); err != nil || role == "" {
		t.Fatalf("State done: role = %q, %v", role, err)
	}

	// A role token an hour old has expired: the client starts again.
	f.now = f.now.Add(roleTokenLifetime + time.Second)
	_, err = p.Authenticate(request(map[string]string{HeaderRoleToken: roleToken, HeaderState: StateComplete}))
	if a := answer(t, err, http.StatusUnauthorized, StateExpired); a.Message != "Role token expired" {
		t.Fatalf("expired message = %q", a.Message)
	}
}

func TestExchangeRefusals(t *testing.T) {
	f := newFixture(t)
	p := f.provider(t)
	tests := []struct {
		name, principal, authzID, want string
	}{
		{"outside saslJaasClientAllowedIds", "outsider", "outsider@" + testRealm, "not allowed"},
		{"authzid differs from the principal", "pulsar-client", "pulsar-admin@" + testRealm, "different from authorization id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.exchange(t, p, &client{principal: tt.principal}, tt.authzID)
			var a *Answer
			if err == nil || errors.As(err, &a) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a plain error containing %q", err, tt.want)
			}
		})
	}
}

func TestAuthenticateBadRequests(t *testing.T) {
	f := newFixture(t)
	p := f.provider(t)
	c := &client{principal: "pulsar-client"}
	signed := p.signer.sign(roleToken{Role: "r", Session: "1", Expires: -1}.String())
	other := strings.Replace(signed, "u=r", "u=admin", 1)
	otherService := types.PrincipalName{NameType: 3, NameString: []string{"proxy", "localhost"}}
	if err := f.kt.AddEntry("proxy/localhost", testRealm, "other", time.Now(), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		headers map[string]string
		want    string
	}{
		{"nothing", nil, "Header token should exist"},
		{"token not base64", map[string]string{HeaderState: StateInit, HeaderToken: "!!"}, "SASL-Token"},
		{"token not GSS-API", map[string]string{HeaderState: StateInit, HeaderToken: "AAAA"}, "not a GSS-API initial context token"},
		{"ticket for another service", map[string]string{HeaderState: StateInit,
			HeaderToken: base64.StdEncoding.EncodeToString(f.initialToken(t, c, otherService, 0))}, "not for this worker's principal"},
		{"mutual authentication", map[string]string{HeaderState: StateInit,
			HeaderToken: base64.StdEncoding.EncodeToString(f.initialToken(t, c, serviceName, gssMutualFlag))}, "mutual authentication"},
		{"role token forged", map[string]string{HeaderRoleToken: other, HeaderState: StateComplete}, "invalid signature"},
		{"role token without State", map[string]string{HeaderRoleToken: signed}, "without a State"},
		{"role token with State Init", map[string]string{HeaderRoleToken: signed, HeaderState: StateInit}, `State "Init"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			role, err := p.Authenticate(request(tt.headers))
			var a *Answer
			if err == nil || errors.As(err, &a) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Authenticate = %q, %v; want a plain error containing %q", role, err, tt.want)
			}
		})
	}
}

func TestNewRefusesBadSettings(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		change func(*Settings)
		want   string
	}{
		{"no signer secret", func(s *Settings) { s.SignerSecretPath = "" }, "saslJaasServerRoleTokenSignerSecretPath is empty"},
		{"bad allowed ids", func(s *Settings) { s.AllowedIDs = "(" }, "saslJaasClientAllowedIds"},
		{"no JAAS file", func(s *Settings) { s.JAASFile = "" }, "saslJaasConfigFile"},
		{"unknown section", func(s *Settings) { s.SectionName = "Other" }, `no section "Other"`},
		{"principal not in keytab", func(s *Settings) {
			s.JAASFile = filepath.Join(f.dir, "jaas2.conf")
			body := `PulsarFunction { com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true keyTab="` +
				filepath.Join(f.dir, "service.keytab") + `" principal="broker/elsewhere@PFW.TEST"; };`
			if err := os.WriteFile(s.JAASFile, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "has no key for broker/elsewhere@PFW.TEST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := f.settings
			tt.change(&s)
			if _, err := New(s); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestStateCacheExpiryAndBound(t *testing.T) {
	now := time.Unix(0, 0)
	c := newStateCache(2, time.Second, func() time.Time { return now })
	a := c.add()
	now = now.Add(100 * time.Millisecond)
	b := c.add()
	if c.get(a.id) != a || c.get(b.id) != b {
		t.Fatal("fresh states not found")
	}
	now = now.Add(400 * time.Millisecond)
	d := c.add() // over the bound: the oldest (a) goes
	if c.get(a.id) != nil || c.get(b.id) != b || c.get(d.id) != d {
		t.Fatal("the oldest state was not evicted")
	}
	now = now.Add(700 * time.Millisecond) // b is 1.1 s old, d 0.7 s
	if c.get(b.id) != nil || c.get(d.id) != d {
		t.Fatal("expiry after creation not applied")
	}
}
