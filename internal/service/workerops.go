package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/api"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/scheduler"
)

// WorkerOps is the backend of rebalance and drain: the scheduler this
// worker runs while it leads.
type WorkerOps struct{ P *Parts }

var _ api.WorkerOps = WorkerOps{}

func (o WorkerOps) Self() cluster.WorkerInfo { return o.P.Self }

func (o WorkerOps) scheduler() (Scheduler, error) {
	if s := o.P.Cluster.Scheduler(); s != nil {
		return s, nil
	}
	return nil, api.ErrNotLeading
}

func (o WorkerOps) Rebalance(ctx context.Context) error {
	s, err := o.scheduler()
	if err != nil {
		return err
	}
	return schedulerError(s.RequestRebalance(ctx))
}

func (o WorkerOps) Drain(ctx context.Context, workerID string) error {
	s, err := o.scheduler()
	if err != nil {
		return err
	}
	return schedulerError(s.RequestDrain(ctx, workerID))
}

func (o WorkerOps) DrainStatus(_ context.Context, workerID string) (api.LongRunningProcessStatus, error) {
	s, err := o.scheduler()
	if err != nil {
		return api.LongRunningProcessStatus{}, err
	}
	st := s.DrainStatusOf(workerID)
	return api.LongRunningProcessStatus{Status: string(st.State), LastError: st.LastError}, nil
}

// schedulerError maps the scheduler's refusals to the API's.
func schedulerError(err error) error {
	for _, m := range []struct{ from, to error }{
		{scheduler.ErrRebalanceInProgress, api.ErrRebalanceInProgress},
		{scheduler.ErrTooFewWorkers, api.ErrTooFewWorkers},
		{scheduler.ErrDrainInProgress, api.ErrDrainInProgress},
		{scheduler.ErrWorkerNotRemoved, api.ErrWorkerNotRemoved},
		{scheduler.ErrUnknownWorker, api.ErrUnknownWorker},
	} {
		if errors.Is(err, m.from) {
			return fmt.Errorf("%w: %v", m.to, err)
		}
	}
	return err
}
