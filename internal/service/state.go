package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/api"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/state"
)

// StateStore serves the function state endpoints from stream storage
// (api.WithState).
type StateStore struct{ C *state.Client }

func (s StateStore) GetState(ctx context.Context, tenant, namespace, function, key string) (api.StateValue, error) {
	v, err := s.C.Get(ctx, tenant, namespace, function, key)
	if errors.Is(err, state.ErrKeyNotFound) {
		return api.StateValue{}, fmt.Errorf("%w: %w", api.ErrStateKeyNotFound, err)
	}
	if err != nil {
		return api.StateValue{}, err
	}
	return api.StateValue{Value: v.Bytes, Version: v.Version, IsNumber: v.IsNumber}, nil
}

func (s StateStore) PutState(ctx context.Context, tenant, namespace, function, key string, value []byte) error {
	return s.C.Put(ctx, tenant, namespace, function, key, value)
}

func (s StateStore) DeleteState(ctx context.Context, tenant, namespace, function string) error {
	err := s.C.DeleteTable(ctx, tenant, namespace, function)
	if errors.Is(err, state.ErrTableNotFound) {
		return nil // the function never used state
	}
	return err
}
