package scheduler

// Rebalance and drain on the leader (spec/cluster.md §7.8), as the Java
// worker's SchedulerManager does them: the REST call only checks and queues
// the operation; the scheduler's loop runs it under the same lock as the
// scheduling rounds. Drained workers stay out of every placement until they
// leave the membership.
//
// Where we knowingly differ from 4.0.8:
//   - "Another drain is in progress" (409) is answered while an accepted drain
//     has not finished; Java only guards its few synchronous checks.
//   - A drain that fails to publish reports ERROR with the error; Java's
//     record stays DrainInProgress.
//   - A drain is recorded NOT_RUN while queued, RUNNING while it runs.
//   - Heartbeat instances (pinned to their worker) are neither moved nor
//     counted by rebalance; Java may move one, and the next round moves it
//     back.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// Errors of RequestRebalance and RequestDrain; the REST API maps them to
// the Java worker's codes and messages.
var (
	ErrRebalanceInProgress = errors.New("rebalance already in progress")
	ErrTooFewWorkers       = errors.New("too few workers (need at least 2)")
	ErrDrainInProgress     = errors.New("another drain is in progress")
	ErrWorkerNotRemoved    = errors.New("worker was not yet removed after a prior drain")
	ErrUnknownWorker       = errors.New("worker is not among the current workers")
)

// DrainState is where a drain is, as LongRunningProcessStatus names it.
type DrainState string

// Drain states.
const (
	DrainNotRun  DrainState = "NOT_RUN" // accepted, waiting for the scheduler
	DrainRunning DrainState = "RUNNING" // moving the worker's instances
	DrainSuccess DrainState = "SUCCESS" // done; the worker stays excluded until it leaves
	DrainError   DrainState = "ERROR"   // failed, or no record of the worker
)

// DrainStatus is the state of the drain of one worker.
type DrainStatus struct {
	State     DrainState
	LastError string
}

// OpTimer receives how long a leader operation took: kind is "schedule",
// "rebalance" or "drain"; total is the whole operation, strategy the pure
// placement part (zero for drain, as in Java).
type OpTimer func(kind string, total, strategy time.Duration)

// drains holds the drain records of this leader: workerId to status.
type drains struct {
	mu      sync.Mutex
	records map[string]*DrainStatus
	busy    bool // a drain was accepted and has not finished
}

func (d *drains) excluded() map[string]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]bool, len(d.records))
	for w := range d.records {
		out[w] = true
	}
	return out
}

func (d *drains) set(worker string, st DrainStatus) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.records[worker] != nil {
		*d.records[worker] = st
	}
}

// available is the members minus the workers with a drain record, sorted.
func (s *Scheduler) available(ctx context.Context) ([]string, error) {
	members, err := s.members.Members(ctx)
	if err != nil {
		return nil, fmt.Errorf("read members: %w", err)
	}
	skip := s.drains.excluded()
	workers := make([]string, 0, len(members))
	for _, m := range members {
		if !skip[m.WorkerID] {
			workers = append(workers, m.WorkerID)
		}
	}
	slices.Sort(workers)
	return workers, nil
}

// queue hands op to the loop; false when the queue is full.
func (s *Scheduler) queue(op func(context.Context)) bool {
	select {
	case s.ops <- op:
		return true
	default:
		return false
	}
}

// RequestRebalance checks and queues a rebalance (Java's
// rebalanceIfNotInprogress): ErrRebalanceInProgress while one is queued or
// running, ErrTooFewWorkers with fewer than two available workers.
func (s *Scheduler) RequestRebalance(ctx context.Context) error {
	if !s.rebalancing.CompareAndSwap(false, true) {
		return ErrRebalanceInProgress
	}
	workers, err := s.available(ctx)
	if err != nil {
		s.rebalancing.Store(false)
		return err
	}
	if len(workers) <= 1 {
		s.rebalancing.Store(false)
		return ErrTooFewWorkers
	}
	if !s.queue(func(ctx context.Context) {
		defer s.rebalancing.Store(false)
		if err := s.rebalance(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("rebalance failed", "err", err)
		}
	}) {
		s.rebalancing.Store(false)
		return ErrRebalanceInProgress
	}
	return nil
}

// byWorker groups the assignments of the given workers, heartbeat
// instances left out.
func byWorker(current map[string]*pb.Assignment, workers []string) map[string][]string {
	out := make(map[string][]string, len(workers))
	for _, w := range workers {
		out[w] = nil
	}
	for key, asg := range current {
		if isHeartbeat(asg.GetInstance().GetFunctionMetaData()) {
			continue
		}
		if _, ok := out[asg.GetWorkerId()]; ok {
			out[asg.GetWorkerId()] = append(out[asg.GetWorkerId()], key)
		}
	}
	return out
}

// rebalance is Java's invokeRebalance: move instances from the busiest to
// the least busy available workers until they differ by at most one.
func (s *Scheduler) rebalance(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	workers, err := s.available(ctx)
	if err != nil {
		return err
	}
	current := s.asg.snapshot()
	t0 := time.Now()
	moves := Rebalance(byWorker(current, workers), workers)
	strategy := time.Since(t0)
	for _, key := range slices.Sorted(maps.Keys(moves)) {
		upd := &pb.Assignment{Instance: current[key].GetInstance(), WorkerId: moves[key]}
		if err := s.asg.write(ctx, key, upd); err != nil {
			return err
		}
	}
	s.log.Info("rebalanced", "moved", len(moves), "workers", workers, "took", time.Since(start).Round(time.Millisecond))
	s.timed("rebalance", time.Since(start), strategy)
	return nil
}

// RequestDrain checks and queues the drain of worker (Java's
// drainIfNotInProgress), in Java's order: ErrDrainInProgress,
// ErrTooFewWorkers (fewer than two available workers), ErrWorkerNotRemoved
// (a record of a prior drain remains), ErrUnknownWorker (not available).
func (s *Scheduler) RequestDrain(ctx context.Context, worker string) error {
	s.drains.mu.Lock()
	busy := s.drains.busy
	s.drains.mu.Unlock()
	if busy {
		return ErrDrainInProgress
	}
	workers, err := s.available(ctx)
	if err != nil {
		return err
	}
	s.drains.mu.Lock()
	defer s.drains.mu.Unlock()
	switch {
	case s.drains.busy:
		return ErrDrainInProgress
	case len(workers) <= 1:
		return ErrTooFewWorkers
	case s.drains.records[worker] != nil:
		return ErrWorkerNotRemoved
	case !slices.Contains(workers, worker):
		return ErrUnknownWorker
	}
	s.drains.records[worker] = &DrainStatus{State: DrainNotRun}
	s.drains.busy = true
	if !s.queue(func(ctx context.Context) { s.drain(ctx, worker) }) {
		delete(s.drains.records, worker)
		s.drains.busy = false
		return ErrDrainInProgress
	}
	return nil
}

// DrainStatusOf reports the drain of worker; without a record, an ERROR
// status saying so, as Java does.
func (s *Scheduler) DrainStatusOf(worker string) DrainStatus {
	s.drains.mu.Lock()
	defer s.drains.mu.Unlock()
	if st := s.drains.records[worker]; st != nil {
		return *st
	}
	return DrainStatus{State: DrainError, LastError: "Worker " + worker + " not found in drain records"}
}

// drain is Java's invokeDrain: place the drained worker's instances, and any
// unassigned ones, over the other available workers.
func (s *Scheduler) drain(ctx context.Context, worker string) {
	defer func() {
		s.drains.mu.Lock()
		s.drains.busy = false
		s.drains.mu.Unlock()
	}()
	s.drains.set(worker, DrainStatus{State: DrainRunning})
	moved, err := s.drainRound(ctx, worker)
	if err != nil {
		s.log.Warn("drain failed", "worker", worker, "err", err)
		s.drains.set(worker, DrainStatus{State: DrainError, LastError: err.Error()})
		return
	}
	s.log.Info("drained", "worker", worker, "moved", moved)
	s.drains.set(worker, DrainStatus{State: DrainSuccess})
}

func (s *Scheduler) drainRound(ctx context.Context, worker string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	workers, err := s.available(ctx) // the drained worker has a record: not in it
	if err != nil {
		return 0, err
	}
	want := s.instances()
	current := s.asg.snapshot()
	assigned := map[string][]string{}
	var unassigned []string
	for _, key := range slices.Sorted(maps.Keys(want)) {
		if isHeartbeat(want[key].GetFunctionMetaData()) {
			continue
		}
		asg, ok := current[key]
		if !ok {
			unassigned = append(unassigned, key)
			continue
		}
		assigned[asg.GetWorkerId()] = append(assigned[asg.GetWorkerId()], key)
	}
	moves := Drain(assigned, unassigned, worker, workers)
	for _, key := range slices.Sorted(maps.Keys(moves)) {
		if err := s.asg.write(ctx, key, &pb.Assignment{Instance: want[key], WorkerId: moves[key]}); err != nil {
			return 0, err
		}
	}
	s.timed("drain", time.Since(start), 0)
	return len(moves), nil
}

// pruneDrains forgets the records of drained workers that left the
// membership (Java's updateWorkerDrainMap), so they may join again.
func (s *Scheduler) pruneDrains(ctx context.Context) {
	members, err := s.members.Members(ctx)
	if err != nil {
		return
	}
	live := map[string]bool{}
	for _, m := range members {
		live[m.WorkerID] = true
	}
	s.drains.mu.Lock()
	defer s.drains.mu.Unlock()
	for w, st := range s.drains.records {
		if !live[w] && st.State != DrainNotRun && st.State != DrainRunning {
			s.log.Info("drained worker left the cluster; forgetting its drain record", "worker", w)
			delete(s.drains.records, w)
		}
	}
}

func (s *Scheduler) timed(kind string, total, strategy time.Duration) {
	if s.opts.Timer != nil {
		s.opts.Timer(kind, total, strategy)
	}
}
