package service

import (
	"fmt"
	"sort"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/api"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/packages"
)

// Connectors is the backend of the sources, sinks and built-ins endpoints:
// the built-in archives the package store scans.
type Connectors struct{ P *Parts }

var _ api.ConnectorsBackend = Connectors{}

func (c Connectors) Connectors() []api.BuiltinConnector {
	conn := c.P.conn()
	if conn == nil {
		return nil
	}
	all := conn.Packages.Connectors()
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
func (c Connectors) ReloadConnectors() error {
	conn := c.P.conn()
	if conn == nil {
		return errNotConnected
	}
	if err := conn.Packages.ReloadBuiltins(); err != nil {
		return fmt.Errorf("reload built-in connectors: %w", err)
	}
	return nil
}

func (c Connectors) BuiltinFunctions() []api.FunctionDefinition {
	conn := c.P.conn()
	if conn == nil {
		return nil
	}
	all := conn.Packages.Functions()
	out := make([]api.FunctionDefinition, 0, len(all))
	for _, a := range all {
		out = append(out, api.FunctionDefinition{Name: a.Definition.Name, Description: a.Definition.Description, FunctionClass: a.Definition.FunctionClass})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (c Connectors) ReloadBuiltinFunctions() error {
	conn := c.P.conn()
	if conn == nil {
		return errNotConnected
	}
	if err := conn.Packages.ReloadBuiltins(); err != nil {
		return fmt.Errorf("reload built-in functions: %w", err)
	}
	return nil
}
