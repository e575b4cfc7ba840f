package daemon

import (
	"fmt"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/auth"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/auth/sasl"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/config"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/service"
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

// newGuard builds the guard; tenant admins and namespace permissions are
// read from the brokers once the worker is connected.
func (d *Daemon) newGuard(c *config.Config) (service.Guard, error) {
	a, err := auth.New(authSettings(c), auth.WithPolicies(service.Policies{P: d.parts}))
	if err != nil {
		return service.Guard{}, fmt.Errorf("authentication/authorization settings: %w", err)
	}
	return service.Guard{Authz: a}, nil
}
