package daemon

import (
	"fmt"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/api"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/service"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/state"
)

// bkStateProvider is the state store provider whose storage we speak
// (stream storage at stateStorageServiceUrl).
const bkStateProvider = "org.apache.pulsar.functions.instance.state.BKStateStoreProviderImpl"

// stateOptions are the API options for function state: api.WithState over
// the config's stateStorageServiceUrl, none when it is unset (the state
// endpoints then answer 503, as Java's do). The returned close releases the
// client.
func (d *Daemon) stateOptions() ([]api.Option, func(), error) {
	u := d.cfg.StateStorageServiceUrl
	if u == "" {
		return nil, func() {}, nil
	}
	if p := d.cfg.StateStorageProviderImplementation; p != "" && p != bkStateProvider {
		d.log.Warn("stateStorageProviderImplementation is not supported by the worker's state endpoints; they answer 503",
			"stateStorageProviderImplementation", p)
		return nil, func() {}, nil
	}
	c, err := state.Dial(u, d.log.With("component", "state"))
	if err != nil {
		return nil, nil, fmt.Errorf("stateStorageServiceUrl: %w", err)
	}
	d.log.Info("function state in stream storage", "stateStorageServiceUrl", u)
	return []api.Option{api.WithState(service.StateStore{C: c})}, func() { _ = c.Close() }, nil
}
