package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/api"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/state"
)

// bkStateProvider is the state store provider whose storage we speak
// (stream storage at stateStorageServiceUrl).
const bkStateProvider = "org.apache.pulsar.functions.instance.state.BKStateStoreProviderImpl"

// stateStore serves the function state endpoints from stream storage.
type stateStore struct{ c *state.Client }

func (s stateStore) GetState(ctx context.Context, tenant, namespace, function, key string) (api.StateValue, error) {
	v, err := s.c.Get(ctx, tenant, namespace, function, key)
	if errors.Is(err, state.ErrKeyNotFound) {
		return api.StateValue{}, fmt.Errorf("%w: %w", api.ErrStateKeyNotFound, err)
	}
	if err != nil {
		return api.StateValue{}, err
	}
	return api.StateValue{Value: v.Bytes, Version: v.Version, IsNumber: v.IsNumber}, nil
}

func (s stateStore) PutState(ctx context.Context, tenant, namespace, function, key string, value []byte) error {
	return s.c.Put(ctx, tenant, namespace, function, key, value)
}

func (s stateStore) DeleteState(ctx context.Context, tenant, namespace, function string) error {
	err := s.c.DeleteTable(ctx, tenant, namespace, function)
	if errors.Is(err, state.ErrTableNotFound) {
		return nil // the function never used state
	}
	return err
}

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
	return []api.Option{api.WithState(stateStore{c})}, func() { _ = c.Close() }, nil
}
