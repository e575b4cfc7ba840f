package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrNotFound is what a Policies lookup wraps when the tenant or namespace
// does not exist.
var ErrNotFound = errors.New("not found")

// Policies reads the authorization data the Java worker takes from the
// configuration metadata store.
type Policies interface {
	// TenantAdminRoles returns TenantInfo.adminRoles; an error wrapping
	// ErrNotFound when the tenant does not exist.
	TenantAdminRoles(ctx context.Context, tenant string) ([]string, error)
	// NamespacePermissions returns auth_policies.namespace_auth (role ->
	// actions such as "functions", "sources", "sinks"); an error wrapping
	// ErrNotFound (or a nil map) when the namespace does not exist.
	NamespacePermissions(ctx context.Context, tenant, namespace string) (map[string][]string, error)
}

// maxCacheEntries triggers a sweep of expired entries, so a stream of
// distinct namespaces cannot grow the cache without bound.
const maxCacheEntries = 4096

// policyCache remembers lookups for ttl and lets concurrent requests for the
// same key share one lookup. Failures are not remembered; "not found" is.
type policyCache struct {
	src Policies
	ttl time.Duration
	now func() time.Time

	mu         sync.Mutex
	tenants    map[string]*cacheEntry[[]string]
	namespaces map[string]*cacheEntry[map[string][]string]
}

type cacheEntry[T any] struct {
	done    chan struct{}
	val     T
	found   bool
	err     error
	expires time.Time
}

func newPolicyCache(ttl time.Duration) *policyCache {
	return &policyCache{
		ttl:        ttl,
		now:        time.Now,
		tenants:    map[string]*cacheEntry[[]string]{},
		namespaces: map[string]*cacheEntry[map[string][]string]{},
	}
}

func (c *policyCache) tenantAdmins(ctx context.Context, tenant string, timeout time.Duration) ([]string, bool, error) {
	return lookup(ctx, c, c.tenants, tenant, timeout, func(ctx context.Context) ([]string, error) {
		return c.src.TenantAdminRoles(ctx, tenant)
	})
}

func (c *policyCache) namespacePermissions(ctx context.Context, tenant, namespace string, timeout time.Duration) (map[string][]string, bool, error) {
	return lookup(ctx, c, c.namespaces, tenant+"/"+namespace, timeout, func(ctx context.Context) (map[string][]string, error) {
		m, err := c.src.NamespacePermissions(ctx, tenant, namespace)
		if err == nil && m == nil {
			err = ErrNotFound
		}
		return m, err
	})
}

// lookup returns the cached value for key, or fetches it once for all
// concurrent callers. The fetch runs detached from any one caller's
// cancellation, bounded by timeout; each caller waits at most until its own
// ctx ends.
func lookup[T any](ctx context.Context, c *policyCache, m map[string]*cacheEntry[T], key string, timeout time.Duration, fetch func(context.Context) (T, error)) (T, bool, error) {
	var zero T
	if c.src == nil {
		return zero, false, errors.New("no source of tenant and namespace policies configured")
	}
	c.mu.Lock()
	e := m[key]
	if e != nil {
		select {
		case <-e.done:
			if e.err == nil && c.now().Before(e.expires) {
				c.mu.Unlock()
				return e.val, e.found, nil
			}
			e = nil // expired or failed: fetch again
		default: // in flight: share it
		}
	}
	if e == nil {
		e = &cacheEntry[T]{done: make(chan struct{})}
		if len(m) >= maxCacheEntries {
			sweep(c, m)
		}
		m[key] = e
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		go func() {
			defer cancel()
			v, err := fetch(fctx)
			found := true
			if errors.Is(err, ErrNotFound) {
				err, found = nil, false
			}
			if err == nil && !found {
				v = zero
			}
			if err != nil && fctx.Err() != nil {
				err = fmt.Errorf("authorization check timed out after %s: %w", timeout, err)
			}
			c.mu.Lock()
			e.val, e.found, e.err = v, found, err
			e.expires = c.now().Add(c.ttl)
			close(e.done)
			if err != nil || c.ttl <= 0 {
				if m[key] == e {
					delete(m, key)
				}
			}
			c.mu.Unlock()
		}()
	}
	c.mu.Unlock()
	select {
	case <-e.done:
		// e's fields are written before done is closed.
		return e.val, e.found, e.err
	case <-ctx.Done():
		return zero, false, fmt.Errorf("authorization check timed out: %w", ctx.Err())
	}
}

// sweep drops finished, expired entries; c.mu is held.
func sweep[T any](c *policyCache, m map[string]*cacheEntry[T]) {
	now := c.now()
	for k, e := range m {
		select {
		case <-e.done:
			if !now.Before(e.expires) {
				delete(m, k)
			}
		default:
		}
	}
}
