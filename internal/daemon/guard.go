package daemon

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/auth"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/auth/sasl"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/broker"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/config"
)

// authSettings picks the security keys out of the config.
func authSettings(c *config.Config) auth.Settings {
	return auth.Settings{
		AuthenticationEnabled:       c.AuthenticationEnabled,
		AuthenticationProviders:     c.AuthenticationProviders,
		AuthorizationEnabled:        c.AuthorizationEnabled,
		AuthorizationProvider:       c.AuthorizationProvider,
		SuperUserRoles:              c.SuperUserRoles,
		ProxyRoles:                  c.ProxyRoles,
		AuthenticateMetricsEndpoint: c.AuthenticateMetricsEndpoint,
		Properties:                  c.Properties,
		AuthorizationTimeout:        time.Duration(c.MetadataStoreOperationTimeoutSeconds) * time.Second,
		SASL: sasl.Settings{
			AllowedIDs:       c.SaslJaasClientAllowedIds,
			SectionName:      c.SaslJaasServerSectionName,
			SignerSecretPath: c.SaslJaasServerRoleTokenSignerSecretPath,
			JAASFile:         c.SaslJaasConfigFile,
			Krb5Conf:         c.SaslKrb5ConfigFile,
		},
	}
}

// guard is the REST API's authentication and authorization.
type guard struct{ *auth.Authz }

// AllowFunctionOps adapts auth's namespace check to the API's signature.
func (g guard) AllowFunctionOps(ctx context.Context, role, tenant, namespace string, r *http.Request) (bool, error) {
	return g.Authz.AllowFunctionOps(ctx, role, r, tenant, namespace)
}

// newGuard builds the guard; tenant admins and namespace permissions are
// read from the brokers once the worker is connected.
func (d *Daemon) newGuard(c *config.Config) (guard, error) {
	a, err := auth.New(authSettings(c), auth.WithPolicies(brokerPolicies{d}))
	if err != nil {
		return guard{}, fmt.Errorf("authentication/authorization settings: %w", err)
	}
	return guard{a}, nil
}

// brokerPolicies reads tenant admins and namespace permissions from the
// brokers' admin API, where PulsarAuthorizationProvider keeps them.
type brokerPolicies struct{ d *Daemon }

func (p brokerPolicies) TenantAdminRoles(ctx context.Context, tenant string) ([]string, error) {
	if p.d.broker == nil {
		return nil, fmt.Errorf("not connected to the broker yet")
	}
	td, err := p.d.broker.Admin.Tenants().GetWithContext(ctx, tenant)
	if broker.StatusCode(err) == http.StatusNotFound {
		return nil, fmt.Errorf("tenant %s: %w", tenant, auth.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get tenant %s: %w", tenant, err)
	}
	return td.AdminRoles, nil
}

func (p brokerPolicies) NamespacePermissions(ctx context.Context, tenant, namespace string) (map[string][]string, error) {
	if p.d.broker == nil {
		return nil, fmt.Errorf("not connected to the broker yet")
	}
	ns, err := utils.GetNamespaceName(tenant + "/" + namespace)
	if err != nil {
		return nil, err
	}
	perms, err := p.d.broker.Admin.Namespaces().GetNamespacePermissionsWithContext(ctx, *ns)
	if broker.StatusCode(err) == http.StatusNotFound {
		return nil, fmt.Errorf("namespace %s/%s: %w", tenant, namespace, auth.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get permissions of %s/%s: %w", tenant, namespace, err)
	}
	out := make(map[string][]string, len(perms))
	for role, actions := range perms {
		for _, a := range actions {
			out[role] = append(out[role], a.String())
		}
	}
	return out, nil
}
