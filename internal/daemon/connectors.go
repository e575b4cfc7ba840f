package daemon

import (
	"context"
	"fmt"
	"net/http"
	"sort"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/api"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/packages"
)

// connectors is the daemon's side of the sources, sinks and built-ins
// endpoints: the built-in archives the package store scans.
type connectors struct{ d *Daemon }

var _ api.ConnectorsBackend = connectors{}

func (c connectors) Connectors() []api.BuiltinConnector {
	all := c.d.packages.Connectors()
	out := make([]api.BuiltinConnector, 0, len(all))
	for _, a := range all {
		out = append(out, api.BuiltinConnector{Path: a.Path, Definition: connectorDefinition(a.Definition)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Definition.Name < out[j].Definition.Name })
	return out
}

func connectorDefinition(d packages.Definition) api.ConnectorDefinition {
	return api.ConnectorDefinition{
		Name:              d.Name,
		Description:       d.Description,
		SourceClass:       d.SourceClass,
		SinkClass:         d.SinkClass,
		SourceConfigClass: d.SourceConfigClass,
		SinkConfigClass:   d.SinkConfigClass,
	}
}

// ReloadConnectors rescans both built-in directories: the store keeps them
// in one scan.
func (c connectors) ReloadConnectors() error {
	if err := c.d.packages.ReloadBuiltins(); err != nil {
		return fmt.Errorf("reload built-in connectors: %w", err)
	}
	return nil
}

func (c connectors) BuiltinFunctions() []api.FunctionDefinition {
	all := c.d.packages.Functions()
	out := make([]api.FunctionDefinition, 0, len(all))
	for _, a := range all {
		out = append(out, api.FunctionDefinition{Name: a.Definition.Name, Description: a.Definition.Description, FunctionClass: a.Definition.FunctionClass})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (c connectors) ReloadBuiltinFunctions() error {
	if err := c.d.packages.ReloadBuiltins(); err != nil {
		return fmt.Errorf("reload built-in functions: %w", err)
	}
	return nil
}

// AllowSourceOps adapts auth's namespace check for /admin/v3/sources.
func (g guard) AllowSourceOps(ctx context.Context, role, tenant, namespace string, r *http.Request) (bool, error) {
	return g.Authz.AllowSourceOps(ctx, role, r, tenant, namespace)
}

// AllowSinkOps adapts auth's namespace check for /admin/v3/sinks.
func (g guard) AllowSinkOps(ctx context.Context, role, tenant, namespace string, r *http.Request) (bool, error) {
	return g.Authz.AllowSinkOps(ctx, role, r, tenant, namespace)
}
