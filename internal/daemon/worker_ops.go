package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/api"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/scheduler"
)

// workerOps is the daemon's side of rebalance and drain: the scheduler this
// worker runs while it leads.
type workerOps struct{ d *Daemon }

var _ api.WorkerOps = workerOps{}

func (o workerOps) Self() cluster.WorkerInfo { return o.d.self }

func (o workerOps) scheduler() (*scheduler.Scheduler, error) {
	if s := o.d.sched.Load(); s != nil {
		return s, nil
	}
	return nil, api.ErrNotLeading
}

func (o workerOps) Rebalance(ctx context.Context) error {
	s, err := o.scheduler()
	if err != nil {
		return err
	}
	return schedulerError(s.RequestRebalance(ctx))
}

func (o workerOps) Drain(ctx context.Context, workerID string) error {
	s, err := o.scheduler()
	if err != nil {
		return err
	}
	return schedulerError(s.RequestDrain(ctx, workerID))
}

func (o workerOps) DrainStatus(_ context.Context, workerID string) (api.LongRunningProcessStatus, error) {
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
