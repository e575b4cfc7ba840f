// Package sasl is the server side of AuthenticationProviderSasl, Pulsar's
// Kerberos (SASL GSSAPI) authentication, over HTTP: the multi-request
// exchange of SASL-Type / State / SASL-Token / SASL-Server-ID headers that
// ends with a signed role token (SaslAuthRoleToken) the client sends with
// its real requests. Kerberos tickets are checked with the service keytab
// named in the worker's JAAS section; the worker never contacts the KDC.
package sasl

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The HTTP headers and values of the exchange (SaslConstants).
const (
	HeaderType      = "SASL-Type"
	TypeKerberos    = "Kerberos"
	HeaderState     = "State"
	HeaderToken     = "SASL-Token"
	HeaderServerID  = "SASL-Server-ID"
	HeaderRoleToken = "SaslAuthRoleToken"

	StateInit       = "Init"
	StateNegotiate  = "ING"
	StateComplete   = "Done"
	StateCheckToken = "ServerCheckToken"
	StateExpired    = "SaslAuthRoleTokenExpired"
)

// Java's ServiceConfiguration defaults for the handshake states, which the
// functions worker cannot change (WorkerConfig has no such keys).
const (
	defaultMaxInflight    = 50000
	defaultInflightExpiry = 30 * time.Second
)

// Settings are the worker's SASL keys.
type Settings struct {
	// AllowedIDs is saslJaasClientAllowedIds.
	AllowedIDs string
	// SectionName is saslJaasServerSectionName.
	SectionName string
	// SignerSecretPath is saslJaasServerRoleTokenSignerSecretPath.
	SignerSecretPath string
	// JAASFile is saslJaasConfigFile (ours): Java's java.security.auth.login.config.
	JAASFile string
	// Krb5Conf is saslKrb5ConfigFile (ours): the krb5.conf whose default_realm
	// completes a JAAS principal without realm; "" means $KRB5_CONFIG, else
	// /etc/krb5.conf.
	Krb5Conf string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Answer ends a request during the exchange without running its handler:
// a challenge (401 with the next SASL-Token), "complete" (200 with the role
// token), the answer to a role-token check (200), or an expired role token
// (401). It is returned as the error of Authenticate.
type Answer struct {
	Status int
	Header http.Header
	// Message is the body of a 401, as Java's sendError message.
	Message string
}

func (a *Answer) Error() string {
	return fmt.Sprintf("SASL exchange answered %d %s (%s %s)", a.Status, a.Message, HeaderState, a.Header.Get(HeaderState))
}

// WriteAnswer writes the answer.
func (a *Answer) WriteAnswer(w http.ResponseWriter) {
	for k, vs := range a.Header {
		w.Header()[k] = vs
	}
	if a.Status == http.StatusOK {
		w.WriteHeader(http.StatusOK)
		return
	}
	http.Error(w, a.Message, a.Status)
}

// Provider is the sasl authentication provider.
type Provider struct {
	acceptor *acceptor
	signer   signer
	now      func() time.Time
	states   *stateCache
}

// New reads the JAAS section, the keytab and the signer secret.
func New(s Settings) (*Provider, error) {
	now := s.Now
	if now == nil {
		now = time.Now
	}
	allowed, err := compileAllowedIDs(s.AllowedIDs)
	if err != nil {
		return nil, err
	}
	secret, err := readSecret("saslJaasServerRoleTokenSignerSecretPath", s.SignerSecretPath)
	if err != nil {
		return nil, err
	}
	sg, err := newSigner(secret)
	if err != nil {
		return nil, err
	}
	krb5 := s.Krb5Conf
	if krb5 == "" {
		krb5 = "/etc/krb5.conf"
		if env, _, _ := strings.Cut(os.Getenv("KRB5_CONFIG"), ":"); env != "" {
			krb5 = env
		}
	}
	realm, err := defaultRealm(krb5)
	if err != nil {
		return nil, err
	}
	login, err := loadServiceLogin(s.JAASFile, s.SectionName)
	if err != nil {
		return nil, err
	}
	acc, err := newAcceptor(login, realm, allowed, now)
	if err != nil {
		return nil, fmt.Errorf("JAAS section %s: %w", s.SectionName, err)
	}
	return &Provider{acceptor: acc, signer: sg, now: now,
		states: newStateCache(defaultMaxInflight, defaultInflightExpiry, now)}, nil
}

// Method is the provider's auth method name.
func (p *Provider) Method() string { return "sasl" }

// Authenticate is AuthenticationProviderSasl.authenticateHttpRequest: the
// role for a request carrying a valid role token with State Done; an
// *Answer for the exchange's own steps; any other error means 401.
func (p *Provider) Authenticate(r *http.Request) (string, error) {
	if tok, ok := first(r, HeaderRoleToken); ok {
		return p.withRoleToken(r, tok)
	}
	id, hasID := first(r, HeaderServerID)
	stateHdr, hasState := first(r, HeaderState)
	var sess *session
	if hasID {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil {
			sess = p.states.get(n)
		}
	}
	if sess != nil && !hasState {
		return "", errors.New("SASL request without a State header")
	}
	tok, ok := first(r, HeaderToken)
	if !ok {
		return "", errors.New("Header token should exist if no role token.")
	}
	in, err := decodeBase64(tok)
	if err != nil {
		return "", fmt.Errorf("%s: %w", HeaderToken, err)
	}
	// Java creates the state before it looks at the token; creating it only
	// for a request that carries one keeps requests of other methods (tried
	// against every provider) from filling the cache.
	if sess == nil || strings.EqualFold(stateHdr, StateInit) {
		sess = p.states.add()
	}
	sess.mu.Lock()
	out, err := p.acceptor.step(&sess.gss, in, remoteIP(r))
	complete, role := sess.gss.complete, sess.gss.role
	sess.mu.Unlock()
	if err != nil {
		return "", fmt.Errorf("SASL GSSAPI: %w", err)
	}
	sid := strconv.FormatInt(sess.id, 10)
	h := http.Header{}
	h.Set(HeaderType, TypeKerberos)
	h.Set(HeaderServerID, sid)
	if complete {
		p.states.remove(sess.id)
		t := roleToken{Role: role, Session: sid, Expires: p.now().Add(roleTokenLifetime).UnixMilli()}
		h.Set(HeaderRoleToken, p.signer.sign(t.String()))
		h.Set(HeaderState, StateComplete)
		return "", &Answer{Status: http.StatusOK, Header: h}
	}
	h.Set(HeaderState, StateNegotiate)
	h.Set(HeaderToken, base64.StdEncoding.EncodeToString(out))
	return "", &Answer{Status: http.StatusUnauthorized, Header: h, Message: "SASL Authentication not complete."}
}

func (p *Provider) withRoleToken(r *http.Request, signed string) (string, error) {
	text, err := p.signer.verify(signed)
	if err != nil {
		return "", fmt.Errorf("%s: %w", HeaderRoleToken, err)
	}
	t, err := parseRoleToken(text)
	if err != nil || t.expired(p.now()) {
		h := http.Header{}
		h.Set(HeaderType, TypeKerberos)
		h.Set(HeaderState, StateExpired)
		return "", &Answer{Status: http.StatusUnauthorized, Header: h, Message: "Role token expired"}
	}
	state, ok := first(r, HeaderState)
	switch {
	case !ok:
		return "", errors.New("role token without a State header")
	case strings.EqualFold(state, StateComplete):
		return t.Role, nil
	case strings.EqualFold(state, StateCheckToken):
		h := http.Header{}
		h.Set(HeaderType, TypeKerberos)
		h.Set(HeaderState, StateComplete)
		if id, ok := first(r, HeaderServerID); ok {
			h.Set(HeaderServerID, id)
		}
		return "", &Answer{Status: http.StatusOK, Header: h}
	default:
		return "", fmt.Errorf("role token with State %q", state)
	}
}

// decodeBase64 is java.util.Base64.getDecoder().decode: the standard
// alphabet, padding optional, nothing else.
func decodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("illegal base64 character")
	}
	if strings.HasSuffix(s, "=") {
		return base64.StdEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

func first(r *http.Request, name string) (string, bool) {
	vs := r.Header.Values(name)
	if len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

func remoteIP(r *http.Request) net.IP {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return net.ParseIP(host)
}

// session is one in-flight exchange.
type session struct {
	id      int64
	created time.Time
	mu      sync.Mutex
	gss     gssSession
}

// stateCache holds in-flight exchanges for expiry after creation, at most
// max of them (the oldest go first), as the Java provider's Caffeine cache.
type stateCache struct {
	mu     sync.Mutex
	next   int64
	max    int
	expiry time.Duration
	now    func() time.Time
	m      map[int64]*session
}

func newStateCache(max int, expiry time.Duration, now func() time.Time) *stateCache {
	return &stateCache{max: max, expiry: expiry, now: now, m: map[int64]*session{}, next: now().UnixNano() & 0x7fffffff}
}

func (c *stateCache) add() *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.m) >= c.max {
		var oldest *session
		for id, s := range c.m {
			if now.Sub(s.created) > c.expiry {
				delete(c.m, id)
			} else if oldest == nil || s.created.Before(oldest.created) {
				oldest = s
			}
		}
		if len(c.m) >= c.max && oldest != nil {
			delete(c.m, oldest.id)
		}
	}
	c.next++
	s := &session{id: c.next, created: now}
	c.m[s.id] = s
	return s
}

func (c *stateCache) get(id int64) *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[id]
	if !ok {
		return nil
	}
	if c.now().Sub(s.created) > c.expiry {
		delete(c.m, id)
		return nil
	}
	return s
}

func (c *stateCache) remove(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}
