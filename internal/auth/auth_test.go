package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

type fakePolicies struct {
	mu      sync.Mutex
	admins  map[string][]string            // tenant -> admin roles; missing = not found
	perms   map[string]map[string][]string // "t/ns" -> role -> actions; missing = not found
	err     error
	delay   time.Duration
	block   chan struct{} // when set, lookups wait for it to close
	tCalls  atomic.Int32
	nsCalls atomic.Int32
}

func (f *fakePolicies) TenantAdminRoles(ctx context.Context, tenant string) ([]string, error) {
	f.tCalls.Add(1)
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	a, ok := f.admins[tenant]
	if !ok {
		return nil, fmt.Errorf("tenant %s: %w", tenant, ErrNotFound)
	}
	return a, nil
}

func (f *fakePolicies) NamespacePermissions(ctx context.Context, tenant, ns string) (map[string][]string, error) {
	f.nsCalls.Add(1)
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return f.perms[tenant+"/"+ns], nil // nil map = not found
}

func (f *fakePolicies) wait(ctx context.Context) error {
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func newFakePolicies() *fakePolicies {
	return &fakePolicies{
		admins: map[string][]string{
			"acme":  {"acme-admin", "proxy2"},
			"empty": nil,
		},
		perms: map[string]map[string][]string{
			"acme/fn":    {"dev": {"functions"}, "src": {"sources"}, "snk": {"sinks", "produce"}, "enduser": {"functions"}},
			"empty/ns":   {"dev": {"functions"}},
			"acme/other": {},
		},
	}
}

func reqWithOriginal(orig string) *http.Request {
	r := httptest.NewRequest("GET", "/admin/v3/functions/acme/fn", nil)
	if orig != "" {
		r.Header.Set(HeaderOriginalPrincipal, orig)
	}
	return r
}

func authzSettings() Settings {
	return Settings{
		AuthorizationEnabled: true,
		SuperUserRoles:       []string{"super", "proxy"},
		ProxyRoles:           []string{"proxy", "proxy2", "proxy3"},
	}
}

func TestIsSuperUser(t *testing.T) {
	a, err := New(authzSettings(), WithPolicies(newFakePolicies()))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		role, orig string
		want       bool
	}{
		{"super", "", true},
		{"dev", "", false},
		{"", "", false},
		{"SUPER", "", false},                  // case matters
		{"super", "super", true},              // a role may repeat its own name
		{"super", "dev", false},               // 4.0.x: a non-proxy role naming someone else is refused
		{"super", " ", true},                  // a blank original principal is ignored
		{"super", websocketPrincipal, true},   // the WebSocket placeholder is accepted
		{"dev", "dev", false},                 // own name, but not super
		{"proxy", "super", true},              // proxy and original both super
		{"proxy", "dev", false},               // original not super
		{"proxy", "", false},                  // a proxy must name a principal
		{"proxy", "  ", false},                // blank counts as missing
		{"proxy", "proxy2", false},            // the original may not be a proxy role
		{"proxy", "proxy", false},             //
		{"proxy2", "super", false},            // the proxy itself is not super
		{"proxy", websocketPrincipal, true},   // only the proxy role is checked
		{"proxy3", websocketPrincipal, false}, // ... and it must be super
	} {
		got, err := a.IsSuperUser(context.Background(), tc.role, reqWithOriginal(tc.orig))
		if err != nil || got != tc.want {
			t.Errorf("IsSuperUser(%q, orig %q) = %v, %v; want %v", tc.role, tc.orig, got, err, tc.want)
		}
	}
	off, err := New(Settings{SuperUserRoles: []string{"super"}})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := off.IsSuperUser(context.Background(), "", nil); !ok || err != nil {
		t.Errorf("authorization off: %v, %v; want true", ok, err)
	}
}

func TestAllowNamespaceOps(t *testing.T) {
	pol := newFakePolicies()
	a, err := New(authzSettings(), WithPolicies(pol))
	if err != nil {
		t.Fatal(err)
	}
	const tenantMissing = "Tenant does not exist"
	for _, tc := range []struct {
		name       string
		role, orig string
		action     Action
		tenant, ns string
		want       bool
		wantErr    string
	}{
		{name: "super-user", role: "super", action: ActionFunctions, tenant: "acme", ns: "fn", want: true},
		{name: "super-user, tenant missing", role: "super", action: ActionFunctions, tenant: "nope", ns: "x", want: true},
		{name: "tenant admin", role: "acme-admin", action: ActionSinks, tenant: "acme", ns: "whatever", want: true},
		{name: "functions grant", role: "dev", action: ActionFunctions, tenant: "acme", ns: "fn", want: true},
		{name: "functions grant is not sources", role: "dev", action: ActionSources, tenant: "acme", ns: "fn", want: false},
		{name: "sources grant", role: "src", action: ActionSources, tenant: "acme", ns: "fn", want: true},
		{name: "sinks grant", role: "snk", action: ActionSinks, tenant: "acme", ns: "fn", want: true},
		{name: "sinks grant is not functions", role: "snk", action: ActionFunctions, tenant: "acme", ns: "fn", want: false},
		{name: "no grant", role: "stranger", action: ActionFunctions, tenant: "acme", ns: "fn", want: false},
		{name: "namespace missing", role: "dev", action: ActionFunctions, tenant: "acme", ns: "gone", want: false},
		{name: "tenant without admins", role: "dev", action: ActionFunctions, tenant: "empty", ns: "ns", want: true},
		{name: "tenant missing", role: "dev", action: ActionFunctions, tenant: "nope", ns: "fn", wantErr: tenantMissing},
		{name: "no role", role: "", action: ActionFunctions, tenant: "acme", ns: "fn", want: false},
		{name: "non-proxy with other principal", role: "dev", orig: "enduser", action: ActionFunctions, tenant: "acme", ns: "fn", want: false},
		{name: "non-proxy repeating itself", role: "dev", orig: "dev", action: ActionFunctions, tenant: "acme", ns: "fn", want: true},
		{name: "proxy and user both allowed", role: "proxy2", orig: "enduser", action: ActionFunctions, tenant: "acme", ns: "fn", want: true},
		{name: "proxy allowed, user not", role: "proxy2", orig: "stranger", action: ActionFunctions, tenant: "acme", ns: "fn", want: false},
		{name: "user allowed, proxy not", role: "proxy3", orig: "enduser", action: ActionFunctions, tenant: "acme", ns: "fn", want: false},
		{name: "proxy without principal", role: "proxy2", action: ActionFunctions, tenant: "acme", ns: "fn", want: false},
		{name: "proxy naming a proxy", role: "proxy2", orig: "proxy", action: ActionFunctions, tenant: "acme", ns: "fn", want: false},
		{name: "super proxy for a user", role: "proxy", orig: "dev", action: ActionFunctions, tenant: "acme", ns: "fn", want: true},
		{name: "proxy pair, tenant missing", role: "proxy", orig: "dev", action: ActionFunctions, tenant: "nope", ns: "fn", wantErr: tenantMissing},
		{name: "websocket placeholder checks the proxy only", role: "proxy2", orig: websocketPrincipal, action: ActionFunctions, tenant: "acme", ns: "fn", want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := a.AllowNamespaceOps(context.Background(), tc.role, reqWithOriginal(tc.orig), tc.action, tc.tenant, tc.ns)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("= %v, %v; want error %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("= %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	// The kind-specific helpers pick the kind's action.
	ctx, r := context.Background(), reqWithOriginal("")
	if ok, _ := a.AllowFunctionOps(ctx, "dev", r, "acme", "fn"); !ok {
		t.Error("AllowFunctionOps(dev) = false")
	}
	if ok, _ := a.AllowSourceOps(ctx, "src", r, "acme", "fn"); !ok {
		t.Error("AllowSourceOps(src) = false")
	}
	if ok, _ := a.AllowSinkOps(ctx, "snk", r, "acme", "fn"); !ok {
		t.Error("AllowSinkOps(snk) = false")
	}
	if ok, _ := a.AllowSinkOps(ctx, "dev", r, "acme", "fn"); ok {
		t.Error("AllowSinkOps(dev) = true")
	}
	off, err := New(Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := off.AllowFunctionOps(ctx, "", nil, "any", "ns"); !ok || err != nil {
		t.Errorf("authorization off: %v, %v", ok, err)
	}
}

func TestPolicyCache(t *testing.T) {
	pol := newFakePolicies()
	a, err := New(authzSettings(), WithPolicies(pol))
	if err != nil {
		t.Fatal(err)
	}
	a.cache.ttl = time.Minute // the worker runs with 0 (defaultCacheTTL); the mechanism is kept and tested
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	a.cache.now = func() time.Time { return time.Unix(0, now.Load()) }
	ctx, r := context.Background(), reqWithOriginal("")
	allow := func(role string) (bool, error) { return a.AllowFunctionOps(ctx, role, r, "acme", "fn") }

	for i := 0; i < 5; i++ {
		if ok, err := allow("dev"); !ok || err != nil {
			t.Fatalf("allow(dev) = %v, %v", ok, err)
		}
	}
	if got := pol.tCalls.Load() + pol.nsCalls.Load(); got != 2 {
		t.Errorf("5 checks made %d lookups, want 2 (cached)", got)
	}

	// Revocation shows up once the entry expires.
	pol.mu.Lock()
	pol.perms["acme/fn"] = map[string][]string{}
	pol.mu.Unlock()
	if ok, _ := allow("dev"); !ok {
		t.Error("cached grant lost before expiry")
	}
	now.Add(int64(2 * time.Minute))
	if ok, _ := allow("dev"); ok {
		t.Error("revoked grant still honoured after expiry")
	}

	// Failures are reported (500) and not cached.
	now.Add(int64(2 * time.Minute))
	pol.mu.Lock()
	pol.err = errors.New("broker unavailable")
	pol.mu.Unlock()
	if _, err := allow("dev"); err == nil || !strings.Contains(err.Error(), "broker unavailable") {
		t.Errorf("lookup failure: err = %v", err)
	}
	pol.mu.Lock()
	pol.err = nil
	pol.mu.Unlock()
	if ok, err := allow("acme-admin"); !ok || err != nil {
		t.Errorf("after recovery: %v, %v", ok, err)
	}

	// "Tenant missing" is cached like an answer, and still an error.
	before := pol.tCalls.Load()
	for i := 0; i < 3; i++ {
		if _, err := a.AllowFunctionOps(ctx, "dev", r, "nope", "fn"); err == nil {
			t.Fatal("missing tenant: no error")
		}
	}
	if got := pol.tCalls.Load() - before; got != 1 {
		t.Errorf("missing tenant looked up %d times, want 1", got)
	}
}

func TestPolicyCacheSharesInFlightLookups(t *testing.T) {
	pol := newFakePolicies()
	pol.block = make(chan struct{})
	a, err := New(authzSettings(), WithPolicies(pol))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make(chan bool, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := a.AllowFunctionOps(context.Background(), "dev", reqWithOriginal(""), "acme", "fn")
			results <- ok && err == nil
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(pol.block)
	wg.Wait()
	close(results)
	for ok := range results {
		if !ok {
			t.Fatal("a concurrent check failed")
		}
	}
	if got := pol.tCalls.Load(); got != 1 {
		t.Errorf("20 concurrent checks made %d tenant lookups, want 1", got)
	}
}

func TestAuthorizationTimeout(t *testing.T) {
	pol := newFakePolicies()
	pol.block = make(chan struct{})
	defer close(pol.block)
	s := authzSettings()
	s.AuthorizationTimeout = 50 * time.Millisecond
	a, err := New(s, WithPolicies(pol))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = a.AllowFunctionOps(context.Background(), "dev", reqWithOriginal(""), "acme", "fn")
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s", d)
	}
}

func TestAuthorizationNeedsPolicies(t *testing.T) {
	if _, err := New(authzSettings()); err == nil {
		t.Error("authorization without Policies accepted")
	}
	s := authzSettings()
	s.AuthorizationProvider = "org.apache.pulsar.broker.authorization.MultiRolesTokenAuthorizationProvider"
	if _, err := New(s, WithPolicies(newFakePolicies())); err == nil || !strings.Contains(err.Error(), "MultiRolesTokenAuthorizationProvider") {
		t.Errorf("custom authorization provider: err = %v", err)
	}
	s.AuthorizationProvider = DefaultAuthorizationProvider
	if _, err := New(s, WithPolicies(newFakePolicies())); err != nil {
		t.Error(err)
	}
}

func TestAuthenticateProviderSelection(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	conf := "data:;base64," + base64.StdEncoding.EncodeToString([]byte(htpasswd))
	a, err := New(Settings{
		AuthenticationEnabled:   true,
		AuthenticationProviders: []string{ProviderToken, "", ProviderBasic, ProviderTLS},
		Properties:              map[string]string{"tokenSecretKey": base64.StdEncoding.EncodeToString(secret), "basicAuthConf": conf},
	})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "tok-user"})
	client := newTestCA(t).issue(t, pkix.RDNSequence{rdn(oidCN, "cert-user")}, x509.ExtKeyUsageClientAuth)
	with := func(r *http.Request, h ...string) *http.Request {
		for i := 0; i < len(h); i += 2 {
			r.Header.Set(h[i], h[i+1])
		}
		return r
	}
	for _, tc := range []struct {
		name    string
		req     *http.Request
		want    string
		wantErr string
	}{
		{"try all: token", bearer(tok), "tok-user", ""},
		{"try all: basic", basicReq("alice", "password"), "alice", ""},
		{"try all: nothing", httptest.NewRequest("GET", "/", nil), "", "Authentication required"},
		{"try all: tls before token, as in Java", func() *http.Request {
			r := bearer(tok)
			r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{client.Leaf}}
			return r
		}(), "cert-user", ""},
		{"method token with a certificate too", func() *http.Request {
			r := with(bearer(tok), HeaderAuthMethodName, "token")
			r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{client.Leaf}}
			return r
		}(), "tok-user", ""},
		{"method token", with(bearer(tok), HeaderAuthMethodName, "token"), "tok-user", ""},
		{"method basic with a token", with(bearer(tok), HeaderAuthMethodName, "basic"), "", "has to be started"},
		{"method tls without certificate", with(bearer(tok), HeaderAuthMethodName, "tls"), "", "TLS certificate"},
		{"unknown method", with(bearer(tok), HeaderAuthMethodName, "oauth"), "", "Unsupported authentication method: [oauth]."},
		{"empty method name", with(bearer(tok), HeaderAuthMethodName, ""), "", "Unsupported authentication method: []."},
		{"SASL without method name", with(bearer(tok), "SASL-Type", "kerberos"), "", "[sasl]"},
	} {
		role, err := a.Authenticate(tc.req)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: %q, %v; want error %q", tc.name, role, err, tc.wantErr)
			}
			continue
		}
		if err != nil || role != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, role, err, tc.want)
		}
	}
}

func TestAuthenticateEdgeSettings(t *testing.T) {
	// Authentication off: no role, no error, providers not even built.
	off, err := New(Settings{AuthenticationProviders: []string{"org.example.Broken"}, AuthenticateMetricsEndpoint: true})
	if err != nil {
		t.Fatal(err)
	}
	if role, err := off.Authenticate(bearer("x")); role != "" || err != nil {
		t.Errorf("authentication off: %q, %v", role, err)
	}
	if off.AuthenticateMetrics() {
		t.Error("AuthenticateMetrics with authentication off")
	}

	// Authentication on, no providers: passes, unless a method is named.
	none, err := New(Settings{AuthenticationEnabled: true, AuthenticateMetricsEndpoint: true})
	if err != nil {
		t.Fatal(err)
	}
	if role, err := none.Authenticate(bearer("x")); role != "" || err != nil {
		t.Errorf("no providers: %q, %v", role, err)
	}
	r := bearer("x")
	r.Header.Set(HeaderAuthMethodName, "token")
	if _, err := none.Authenticate(r); err == nil {
		t.Error("no providers, method named: accepted")
	}
	if !none.AuthenticateMetrics() {
		t.Error("AuthenticateMetrics = false")
	}

	// Unknown classes are startup errors naming the class.
	for _, class := range []string{
		"org.apache.pulsar.broker.authentication.AuthenticationProviderSasl",
		"org.apache.pulsar.broker.authentication.oidc.AuthenticationProviderOpenID",
	} {
		_, err := New(Settings{AuthenticationEnabled: true, AuthenticationProviders: []string{class}})
		if err == nil || !strings.Contains(err.Error(), class) {
			t.Errorf("%s: err = %v", class, err)
		}
	}
}

func TestUpdate(t *testing.T) {
	pol := newFakePolicies()
	secret := []byte("0123456789abcdef0123456789abcdef")
	good := Settings{
		AuthenticationEnabled:       true,
		AuthenticationProviders:     []string{ProviderToken},
		AuthorizationEnabled:        true,
		SuperUserRoles:              []string{"super"},
		AuthenticateMetricsEndpoint: true,
		Properties:                  map[string]string{"tokenSecretKey": base64.StdEncoding.EncodeToString(secret)},
	}
	a, err := New(good, WithPolicies(pol))
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "super"})
	ctx := context.Background()
	check := func(wantRole string, wantSuper, wantMetrics bool) {
		t.Helper()
		role, err := a.Authenticate(bearer(tok))
		if err != nil || role != wantRole {
			t.Errorf("Authenticate = %q, %v; want %q", role, err, wantRole)
		}
		if ok, _ := a.IsSuperUser(ctx, "super", nil); ok != wantSuper {
			t.Errorf("IsSuperUser(super) = %v, want %v", ok, wantSuper)
		}
		if a.AuthenticateMetrics() != wantMetrics {
			t.Errorf("AuthenticateMetrics = %v, want %v", !wantMetrics, wantMetrics)
		}
	}
	check("super", true, true)

	// A change that fails (bad key) is refused as a whole: the super-user
	// and metrics changes in the same Settings do not apply either.
	bad := good
	bad.SuperUserRoles = nil
	bad.AuthenticateMetricsEndpoint = false
	bad.Properties = map[string]string{"tokenSecretKey": "data:;base64,c2hvcnQ="}
	if err := a.Update(bad); err == nil {
		t.Fatal("Update with a short secret accepted")
	}
	check("super", true, true)

	// A good change applies as a whole.
	next := good
	next.Properties = map[string]string{"tokenSecretKey": base64.StdEncoding.EncodeToString(secret)}
	next.SuperUserRoles = []string{"other"}
	next.AuthenticateMetricsEndpoint = false
	if err := a.Update(next); err != nil {
		t.Fatal(err)
	}
	check("super", false, false)

	// Caller's maps and slices are copied, not aliased.
	next.Properties["tokenSecretKey"] = "garbage"
	next.SuperUserRoles[0] = "super"
	check("super", false, false)

	// Concurrent readers during updates see one generation or the other.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := a.Authenticate(bearer(tok)); err != nil {
					t.Errorf("Authenticate during Update: %v", err)
					return
				}
				a.IsSuperUser(ctx, "super", nil)
				a.AuthenticateMetrics()
			}
		}()
	}
	for i := 0; i < 50; i++ {
		s := good
		if i%2 == 0 {
			s = bad
		}
		_ = a.Update(s)
	}
	close(stop)
	wg.Wait()
}

func TestPolicyCacheSweepsExpiredEntries(t *testing.T) {
	pol := newFakePolicies()
	a, err := New(authzSettings(), WithPolicies(pol))
	if err != nil {
		t.Fatal(err)
	}
	a.cache.ttl = time.Minute // the worker runs with 0 (defaultCacheTTL); the mechanism is kept and tested
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	a.cache.now = func() time.Time { return time.Unix(0, now.Load()) }
	ctx, r := context.Background(), reqWithOriginal("")
	for i := 0; i < maxCacheEntries; i++ {
		if _, err := a.AllowFunctionOps(ctx, "dev", r, "acme", fmt.Sprintf("ns%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	now.Add(int64(2 * time.Minute))
	if _, err := a.AllowFunctionOps(ctx, "dev", r, "acme", "fresh"); err != nil {
		t.Fatal(err)
	}
	a.cache.mu.Lock()
	n := len(a.cache.namespaces)
	a.cache.mu.Unlock()
	if n != 1 {
		t.Errorf("%d namespace entries after the sweep, want 1", n)
	}
	if !a.AuthorizationEnabled() {
		t.Error("AuthorizationEnabled = false")
	}
}

// TestRevocationTakesEffectAtOnce: with the default settings a revoked
// namespace permission (or tenant admin role) is refused on the very next
// request, as in the Java worker, not after a cache expires.
func TestRevocationTakesEffectAtOnce(t *testing.T) {
	pol := newFakePolicies()
	a, err := New(authzSettings(), WithPolicies(pol))
	if err != nil {
		t.Fatal(err)
	}
	ctx, r := context.Background(), reqWithOriginal("")
	if ok, err := a.AllowFunctionOps(ctx, "dev", r, "acme", "fn"); !ok || err != nil {
		t.Fatalf("AllowFunctionOps(dev) before revocation = %v, %v", ok, err)
	}
	pol.mu.Lock()
	pol.perms["acme/fn"] = map[string][]string{}
	pol.mu.Unlock()
	if ok, err := a.AllowFunctionOps(ctx, "dev", r, "acme", "fn"); ok || err != nil {
		t.Errorf("AllowFunctionOps(dev) right after revocation = %v, %v; want false", ok, err)
	}

	if ok, err := a.AllowFunctionOps(ctx, "acme-admin", r, "acme", "other"); !ok || err != nil {
		t.Fatalf("AllowFunctionOps(tenant admin) before removal = %v, %v", ok, err)
	}
	pol.mu.Lock()
	pol.admins["acme"] = []string{"proxy2"}
	pol.mu.Unlock()
	if ok, err := a.AllowFunctionOps(ctx, "acme-admin", r, "acme", "other"); ok || err != nil {
		t.Errorf("AllowFunctionOps(former tenant admin) right after removal = %v, %v; want false", ok, err)
	}
}
