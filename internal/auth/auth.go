// Package auth authenticates REST callers and authorizes them the way the
// Java Functions Worker (Pulsar 4.0.x) does: the same provider classes and
// settings, the same X-Pulsar-Auth-Method-Name selection, the same super-user,
// tenant-admin and namespace-permission rules, and the same proxy /
// X-Original-Principal pairing rules.
package auth

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/auth/sasl"
)

// Header names the Java worker reads.
const (
	// HeaderAuthMethodName selects one authentication provider by method name.
	HeaderAuthMethodName = "X-Pulsar-Auth-Method-Name"
	// HeaderOriginalPrincipal carries the end user's role when a Pulsar proxy calls.
	HeaderOriginalPrincipal = "X-Original-Principal"
	// headerSASLType makes Java pick the sasl provider when no method name is sent.
	headerSASLType = sasl.HeaderType
)

// websocketPrincipal is the original principal Pulsar's WebSocket service
// sends; AuthorizationService accepts it from any role and then checks only
// the authenticated role.
const websocketPrincipal = "__websocket_dummy_original_principle"

// DefaultAuthorizationProvider is the only authorizationProvider class we implement.
const DefaultAuthorizationProvider = "org.apache.pulsar.broker.authorization.PulsarAuthorizationProvider"

// defaultAuthorizationTimeout is metadataStoreOperationTimeoutSeconds' default.
const defaultAuthorizationTimeout = 30 * time.Second

// defaultCacheTTL is how long tenant admin roles and namespace permissions are
// reused before they are read from the broker again: not at all, so that a
// revoked permission stops working at once (with 3 s, issue 12 saw a revoked
// "functions" permission keep working that long). The Java worker reads them
// from a metadata-store cache that ZooKeeper watches invalidate; we have no
// such notification through the admin API. An uncached check costs 1.4-4 ms
// against a local standalone on a busy machine
// (TestIntegrationAuthorizationCost in internal/service), small beside what
// the checked requests do; concurrent requests for one namespace still share
// a single lookup.
const defaultCacheTTL = 0

// Settings are the functions_worker.yml values this package needs.
type Settings struct {
	// AuthenticationEnabled is authenticationEnabled.
	AuthenticationEnabled bool
	// AuthenticationProviders is authenticationProviders (Java class names).
	AuthenticationProviders []string
	// AuthorizationEnabled is authorizationEnabled.
	AuthorizationEnabled bool
	// AuthorizationProvider is authorizationProvider; "" means the default.
	AuthorizationProvider string
	// SuperUserRoles is superUserRoles.
	SuperUserRoles []string
	// ProxyRoles is proxyRoles.
	ProxyRoles []string
	// AuthenticateMetricsEndpoint is authenticateMetricsEndpoint.
	AuthenticateMetricsEndpoint bool
	// Properties is the properties map (token and basic provider settings).
	Properties map[string]string
	// SASL are the sasl provider's settings (saslJaas* keys).
	SASL sasl.Settings
	// AuthorizationTimeout bounds one authorization check
	// (metadataStoreOperationTimeoutSeconds); 0 means 30s.
	AuthorizationTimeout time.Duration
}

// Action is a namespace permission (AuthAction) granted to a role.
type Action string

// The namespace actions the worker checks.
const (
	// ActionFunctions guards /admin/v3/functions.
	ActionFunctions Action = "functions"
	// ActionSources guards /admin/v3/sources.
	ActionSources Action = "sources"
	// ActionSinks guards /admin/v3/sinks.
	ActionSinks Action = "sinks"
	// ActionPackages guards package-management URLs (newer workers).
	ActionPackages Action = "packages"
)

// Authz authenticates requests and answers authorization questions. It is
// safe for concurrent use; Update swaps its settings atomically.
type Authz struct {
	state    atomic.Pointer[state]
	updateMu sync.Mutex
	policies Policies
	cache    *policyCache
}

// Option configures an Authz beyond its Settings.
type Option func(*Authz)

// WithPolicies sets where tenant admin roles and namespace permissions come
// from; required when authorization is enabled.
func WithPolicies(p Policies) Option {
	return func(a *Authz) { a.policies = p }
}

// state is one immutable generation of settings and providers.
type state struct {
	authn, authz, metrics bool
	// methods maps an auth method name to its providers, config order;
	// order lists the method names in Java's "try all" order.
	methods    map[string][]provider
	order      []string
	superUsers map[string]bool
	proxyRoles map[string]bool
	timeout    time.Duration
}

// New validates cfg and builds the providers it names.
func New(cfg Settings, opts ...Option) (*Authz, error) {
	a := &Authz{cache: newPolicyCache(defaultCacheTTL)}
	for _, o := range opts {
		o(a)
	}
	a.cache.src = a.policies
	st, err := a.build(cfg)
	if err != nil {
		return nil, err
	}
	a.state.Store(st)
	return a, nil
}

// Update validates cfg, rebuilds the providers and swaps everything in at
// once; on error the previous settings stay in force untouched.
func (a *Authz) Update(cfg Settings) error {
	a.updateMu.Lock()
	defer a.updateMu.Unlock()
	st, err := a.build(cfg)
	if err != nil {
		return err
	}
	a.state.Store(st)
	return nil
}

func (a *Authz) build(cfg Settings) (*state, error) {
	st := &state{
		authn:      cfg.AuthenticationEnabled,
		authz:      cfg.AuthorizationEnabled,
		metrics:    cfg.AuthenticationEnabled && cfg.AuthenticateMetricsEndpoint,
		methods:    map[string][]provider{},
		superUsers: setOf(cfg.SuperUserRoles),
		proxyRoles: setOf(cfg.ProxyRoles),
		timeout:    cfg.AuthorizationTimeout,
	}
	if st.timeout <= 0 {
		st.timeout = defaultAuthorizationTimeout
	}
	if cfg.AuthorizationEnabled {
		if p := strings.TrimSpace(cfg.AuthorizationProvider); p != "" && p != DefaultAuthorizationProvider {
			return nil, fmt.Errorf("authorizationProvider: class %s is not supported (only %s)", p, DefaultAuthorizationProvider)
		}
		if a.policies == nil {
			return nil, errors.New("authorizationEnabled: no source of tenant and namespace policies configured")
		}
	}
	// Like AuthenticationService, providers are only loaded when
	// authentication is on.
	if !cfg.AuthenticationEnabled {
		return st, nil
	}
	props := maps.Clone(cfg.Properties)
	if props == nil {
		props = map[string]string{}
	}
	var errs []error
	for _, class := range cfg.AuthenticationProviders {
		class = strings.TrimSpace(class)
		if class == "" {
			continue
		}
		p, err := newProvider(class, props, cfg.SASL)
		if err != nil {
			errs = append(errs, fmt.Errorf("authenticationProviders: %s: %w", class, err))
			continue
		}
		m := p.method()
		if _, ok := st.methods[m]; !ok {
			st.order = append(st.order, m)
		}
		st.methods[m] = append(st.methods[m], p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortStableFunc(st.order, func(x, y string) int { return javaTryOrder[x] - javaTryOrder[y] })
	return st, nil
}

// javaTryOrder is the order Java's AuthenticationService tries providers
// when no method is named: its HashMap's iteration order, which for these
// names is fixed (buckets 2, 10, 12 and 15 of 16) whatever the config order.
var javaTryOrder = map[string]int{"sasl": -1, "tls": 0, "basic": 1, "token": 2}

func setOf(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// Authenticate returns the caller's role, "" when authentication is off (or
// a provider accepted credentials that name no role). An error means 401.
func (a *Authz) Authenticate(r *http.Request) (string, error) {
	st := a.state.Load()
	if !st.authn {
		return "", nil
	}
	if r == nil {
		return "", errors.New("no request to authenticate")
	}
	method, named := firstHeader(r, HeaderAuthMethodName)
	if !named && strings.EqualFold(r.Header.Get(headerSASLType), "Kerberos") {
		// Java's SASL client sends no method name.
		method, named = "sasl", true
	}
	if named {
		ps, ok := st.methods[method]
		if !ok {
			return "", fmt.Errorf("Unsupported authentication method: [%s].", method)
		}
		return authenticateList(ps, r)
	}
	if len(st.order) == 0 {
		// Authentication on but nothing configured: Java lets it through.
		return "", nil
	}
	var errs []error
	for _, m := range st.order {
		role, err := authenticateList(st.methods[m], r)
		if err == nil || isAnswer(err) {
			// Java returns whatever the first provider that did not throw
			// decided, including a SASL step's answer.
			return role, err
		}
		errs = append(errs, fmt.Errorf("%s: %w", m, err))
	}
	return "", fmt.Errorf("Authentication required: %w", errors.Join(errs...))
}

// authenticateList is AuthenticationProviderList: the first provider that
// accepts wins, else the last error.
func authenticateList(ps []provider, r *http.Request) (string, error) {
	var err error
	for _, p := range ps {
		var role string
		if role, err = p.authenticate(r); err == nil || isAnswer(err) {
			return role, err
		}
	}
	return "", err
}

func isAnswer(err error) bool {
	var a *Answer
	return errors.As(err, &a)
}

// AuthenticateMetrics tells whether /metrics, /version and /initialized
// require authentication.
func (a *Authz) AuthenticateMetrics() bool {
	return a.state.Load().metrics
}

// AuthorizationEnabled reports the live authorizationEnabled value.
func (a *Authz) AuthorizationEnabled() bool {
	return a.state.Load().authz
}

// OriginalPrincipal returns the X-Original-Principal header ("" when absent).
func OriginalPrincipal(r *http.Request) string {
	v, _ := firstHeader(r, HeaderOriginalPrincipal)
	return v
}

// IsSuperUser is WorkerImpl's super-user check: always true when
// authorization is off; otherwise the role (and, for a proxy role, the
// original principal too) must be in superUserRoles.
func (a *Authz) IsSuperUser(ctx context.Context, role string, r *http.Request) (bool, error) {
	st := a.state.Load()
	if !st.authz {
		return true, nil
	}
	if role == "" {
		return false, nil
	}
	orig := OriginalPrincipal(r)
	if !st.validOriginalPrincipal(role, orig) {
		return false, nil
	}
	if st.proxyRoles[role] && orig != websocketPrincipal {
		return st.superUsers[role] && st.superUsers[orig], nil
	}
	return st.superUsers[role], nil
}

// validOriginalPrincipal is AuthorizationService.isValidOriginalPrincipal
// (4.0.x, admin API flavour): a proxy role must name a non-blank original
// principal that is not itself a proxy role; any other role may only repeat
// its own name (or the WebSocket placeholder).
func (st *state) validOriginalPrincipal(role, orig string) bool {
	if st.proxyRoles[role] {
		return !isBlank(orig) && !st.proxyRoles[orig]
	}
	return isBlank(orig) || orig == role || orig == websocketPrincipal
}

// AllowFunctionOps is the ns-authz check of /admin/v3/functions.
func (a *Authz) AllowFunctionOps(ctx context.Context, role string, r *http.Request, tenant, namespace string) (bool, error) {
	return a.AllowNamespaceOps(ctx, role, r, ActionFunctions, tenant, namespace)
}

// AllowSourceOps is the ns-authz check of /admin/v3/sources.
func (a *Authz) AllowSourceOps(ctx context.Context, role string, r *http.Request, tenant, namespace string) (bool, error) {
	return a.AllowNamespaceOps(ctx, role, r, ActionSources, tenant, namespace)
}

// AllowSinkOps is the ns-authz check of /admin/v3/sinks.
func (a *Authz) AllowSinkOps(ctx context.Context, role string, r *http.Request, tenant, namespace string) (bool, error) {
	return a.AllowNamespaceOps(ctx, role, r, ActionSinks, tenant, namespace)
}

// AllowNamespaceOps is ComponentImpl.isAuthorizedRole: true when
// authorization is off; otherwise the role (and, for a proxy role, the
// original principal too) must be a super-user, an admin of the tenant, or
// hold action on the namespace. false means 401; an error (lookup failure,
// tenant missing, timeout) means 500 with err.Error() as the reason.
func (a *Authz) AllowNamespaceOps(ctx context.Context, role string, r *http.Request, action Action, tenant, namespace string) (bool, error) {
	st := a.state.Load()
	if !st.authz {
		return true, nil
	}
	if role == "" {
		return false, nil
	}
	orig := OriginalPrincipal(r)
	if !st.validOriginalPrincipal(role, orig) {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, st.timeout)
	defer cancel()
	if st.proxyRoles[role] && orig != websocketPrincipal {
		// Java combines both futures: either failing fails the check,
		// even when the other answered false.
		ok1, err1 := a.allowRole(ctx, st, role, action, tenant, namespace)
		ok2, err2 := a.allowRole(ctx, st, orig, action, tenant, namespace)
		if err1 != nil {
			return false, err1
		}
		if err2 != nil {
			return false, err2
		}
		return ok1 && ok2, nil
	}
	return a.allowRole(ctx, st, role, action, tenant, namespace)
}

// allowRole is AuthorizationService.allow*OpsAsync for one role:
// super-user, else tenant admin (a missing tenant is an error), else the
// namespace's namespace_auth grants (a missing namespace grants nothing).
func (a *Authz) allowRole(ctx context.Context, st *state, role string, action Action, tenant, namespace string) (bool, error) {
	if st.superUsers[role] {
		return true, nil
	}
	admins, found, err := a.cache.tenantAdmins(ctx, tenant, st.timeout)
	if err != nil {
		return false, err
	}
	if !found {
		return false, errTenantMissing
	}
	if slices.Contains(admins, role) {
		return true, nil
	}
	perms, _, err := a.cache.namespacePermissions(ctx, tenant, namespace, st.timeout)
	if err != nil {
		return false, err
	}
	return slices.Contains(perms[role], string(action)), nil
}

// errTenantMissing reads like the Java worker's 500 reason for an
// authorization check on a tenant that does not exist.
var errTenantMissing = errors.New("org.apache.pulsar.common.util.RestException: Tenant does not exist")

// firstHeader returns the first value of a header and whether it was sent
// at all (an empty value counts, as in the servlet API).
func firstHeader(r *http.Request, name string) (string, bool) {
	if r == nil {
		return "", false
	}
	vs := r.Header.Values(name)
	if len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// isBlank is commons-lang StringUtils.isBlank.
func isBlank(s string) bool {
	return strings.TrimSpace(s) == ""
}
