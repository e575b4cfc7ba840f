package service

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	admin "github.com/apache/pulsar-client-go/pulsaradmin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/api"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/auth"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/broker"
)

// BrokerAdmin is Admin over the brokers' admin API.
type BrokerAdmin struct{ Client admin.Client }

var _ Admin = BrokerAdmin{}

// statusErr keeps the broker's error text and lets errors.Is match its kind.
type statusErr struct {
	err  error
	kind error
}

func (e statusErr) Error() string        { return e.err.Error() }
func (e statusErr) Unwrap() []error      { return []error{e.err, e.kind} }
func (e statusErr) Is(target error) bool { return target == e.kind }

// classify marks the brokers' 404 and 401/403 answers.
func classify(err error) error {
	switch broker.StatusCode(err) {
	case http.StatusNotFound:
		return statusErr{err, ErrNotFound}
	case http.StatusUnauthorized, http.StatusForbidden:
		return statusErr{err, ErrForbidden}
	}
	return err
}

func (a BrokerAdmin) TenantAdminRoles(ctx context.Context, tenant string) ([]string, error) {
	td, err := a.Client.Tenants().GetWithContext(ctx, tenant)
	if err != nil {
		return nil, classify(err)
	}
	return td.AdminRoles, nil
}

func (a BrokerAdmin) Namespaces(ctx context.Context, tenant string) ([]string, error) {
	list, err := a.Client.Namespaces().GetNamespacesWithContext(ctx, tenant)
	return list, classify(err)
}

func (a BrokerAdmin) NamespacePermissions(ctx context.Context, tenant, namespace string) (map[string][]string, error) {
	ns, err := utils.GetNamespaceName(tenant + "/" + namespace)
	if err != nil {
		return nil, err
	}
	perms, err := a.Client.Namespaces().GetNamespacePermissionsWithContext(ctx, *ns)
	if err != nil {
		return nil, classify(err)
	}
	out := make(map[string][]string, len(perms))
	for role, actions := range perms {
		for _, a := range actions {
			out[role] = append(out[role], a.String())
		}
	}
	return out, nil
}

func (a BrokerAdmin) Subscriptions(ctx context.Context, topic string) ([]string, error) {
	tn, err := utils.GetTopicName(topic)
	if err != nil {
		return nil, fmt.Errorf("topic %q: %w", topic, err)
	}
	subs, err := a.Client.Subscriptions().ListWithContext(ctx, *tn)
	if err != nil {
		return nil, fmt.Errorf("subscriptions of %s: %w", tn, classify(err))
	}
	return subs, nil
}

// Policies gives auth the tenant admins and namespace permissions that
// PulsarAuthorizationProvider keeps on the brokers.
type Policies struct{ P *Parts }

var _ auth.Policies = Policies{}

func (p Policies) TenantAdminRoles(ctx context.Context, tenant string) ([]string, error) {
	c := p.P.conn()
	if c == nil {
		return nil, errNotConnected
	}
	roles, err := c.Admin.TenantAdminRoles(ctx, tenant)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("tenant %s: %w", tenant, auth.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get tenant %s: %w", tenant, err)
	}
	return roles, nil
}

func (p Policies) NamespacePermissions(ctx context.Context, tenant, namespace string) (map[string][]string, error) {
	c := p.P.conn()
	if c == nil {
		return nil, errNotConnected
	}
	perms, err := c.Admin.NamespacePermissions(ctx, tenant, namespace)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("namespace %s/%s: %w", tenant, namespace, auth.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get permissions of %s/%s: %w", tenant, namespace, err)
	}
	return perms, nil
}

// Guard is the REST API's authentication and authorization.
type Guard struct{ *auth.Authz }

// The API checks sources and sinks requests with their own actions when the
// guard has these.
var _ api.ConnectorsAuthorizer = Guard{}

// AllowFunctionOps adapts auth's namespace check to the API's signature.
func (g Guard) AllowFunctionOps(ctx context.Context, role, tenant, namespace string, r *http.Request) (bool, error) {
	return g.Authz.AllowFunctionOps(ctx, role, r, tenant, namespace)
}

// AllowSourceOps adapts auth's namespace check for /admin/v3/sources.
func (g Guard) AllowSourceOps(ctx context.Context, role, tenant, namespace string, r *http.Request) (bool, error) {
	return g.Authz.AllowSourceOps(ctx, role, r, tenant, namespace)
}

// AllowSinkOps adapts auth's namespace check for /admin/v3/sinks.
func (g Guard) AllowSinkOps(ctx context.Context, role, tenant, namespace string, r *http.Request) (bool, error) {
	return g.Authz.AllowSinkOps(ctx, role, r, tenant, namespace)
}
