package scheduler

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// Heartbeat functions live in this tenant and namespace and are pinned to the
// worker whose id is the function's name.
const (
	heartbeatTenant    = "pulsar-function"
	heartbeatNamespace = "heartbeat"
)

// Functions is the metadata the scheduler places.
type Functions interface {
	All() []*pb.FunctionMetaData
}

// Members lists the live workers.
type Members interface {
	Members(ctx context.Context) ([]cluster.WorkerInfo, error)
}

// Options configures the leader's scheduler.
type Options struct {
	// Timers returns how often the leader looks for instances of dead workers
	// (failureCheckFreqMs) and how long an instance may stay on a dead worker
	// or unassigned before it is moved (rescheduleTimeoutMs). It is read at
	// every check, so reloads apply at once.
	Timers func() (failureCheck, rescheduleTimeout time.Duration)
	Logger *slog.Logger
	// Timer, when set, receives the duration of every round, rebalance
	// and drain (the worker's Prometheus summaries).
	Timer OpTimer
}

// Scheduler is the leader's loop that keeps the assignments topic in line
// with the metadata and the members.
type Scheduler struct {
	opts    Options
	fns     Functions
	members Members
	asg     *Assignments
	log     *slog.Logger
	trigger chan struct{}

	mu        sync.Mutex // one round or failure check at a time
	firstSeen map[string]time.Time

	now func() time.Time // the clock of the failure check; tests set it

	ops         chan func(context.Context) // rebalances and drains, run by the loop
	rebalancing atomic.Bool
	drains      drains
}

// New prepares a scheduler over the given views.
func New(fns Functions, members Members, asg *Assignments, o Options) *Scheduler {
	return &Scheduler{opts: o, fns: fns, members: members, asg: asg, log: o.Logger,
		trigger: make(chan struct{}, 1), firstSeen: map[string]time.Time{}, now: time.Now,
		ops: make(chan func(context.Context), 8), drains: drains{records: map[string]*DrainStatus{}}}
}

// Trigger asks for a scheduling round; requests made while one is pending
// collapse into it.
func (s *Scheduler) Trigger() {
	select {
	case s.trigger <- struct{}{}:
	default:
	}
}

// Run schedules on every trigger and checks for failed workers, until ctx
// ends. Only the leader runs it. A new leader checks at once (the previous
// leader's clock is lost with it, so waiting a whole period first would only
// delay moving the instances of a worker that died with it); afterwards a
// check comes every failureCheckFreqMs, or sooner when an instance on a
// missing worker falls due, so instances move rescheduleTimeoutMs after the
// leader first saw them missing rather than up to a period later.
func (s *Scheduler) Run(ctx context.Context) error {
	s.Trigger()
	check := time.NewTimer(0)
	defer check.Stop()
	first := true
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.trigger:
			if err := s.Schedule(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("scheduling round failed; retrying", "err", err)
				time.AfterFunc(time.Second, s.Trigger)
			}
		case op := <-s.ops:
			op(ctx)
		case <-check.C:
			s.pruneDrains(ctx)
			needRound, earliest := s.checkFailures(ctx, first)
			first = false
			if needRound {
				s.Trigger()
			}
			every, timeout := s.opts.Timers()
			check.Reset(nextCheck(s.now(), earliest, timeout, every))
		}
	}
}

// nextCheck is the wait until the next failure check: the regular period
// every, or less when the earliest instance still waiting (first seen
// missing at earliest; zero: none) falls due after timeout. Never negative.
func nextCheck(now, earliest time.Time, timeout, every time.Duration) time.Duration {
	if earliest.IsZero() {
		return every
	}
	return max(min(earliest.Add(timeout).Sub(now), every), 0)
}

func isHeartbeat(md *pb.FunctionMetaData) bool {
	d := md.GetFunctionDetails()
	return d.GetTenant() == heartbeatTenant && d.GetNamespace() == heartbeatNamespace
}

// instances computes every instance the metadata asks for, by key.
func (s *Scheduler) instances() map[string]*pb.Instance {
	out := map[string]*pb.Instance{}
	for _, md := range s.fns.All() {
		d := md.GetFunctionDetails()
		fqfn := d.GetTenant() + "/" + d.GetNamespace() + "/" + d.GetName()
		n := max(d.GetParallelism(), 1)
		for i := range n {
			out[InstanceKey(fqfn, i)] = &pb.Instance{FunctionMetaData: md, InstanceId: i}
		}
	}
	return out
}

// Schedule runs one round as the Java worker's invokeScheduler does:
// tombstones for instances that no longer exist, updates for instances whose
// function changed, and round-robin placement of unassigned instances over the
// live workers. Instances on dead workers stay until the failure check.
func (s *Scheduler) Schedule(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	// Drained workers get nothing new (Java's getCurrentAvailableWorkers).
	workers, err := s.available(ctx)
	if err != nil {
		return err
	}
	want := s.instances()
	current := s.asg.snapshot()

	written := 0
	for _, key := range slices.Sorted(maps.Keys(current)) {
		asg := current[key]
		inst, ok := want[key]
		if !ok {
			if err := s.asg.write(ctx, key, nil); err != nil {
				return err
			}
			delete(current, key)
			written++
			continue
		}
		if !proto.Equal(asg.GetInstance(), inst) {
			upd := &pb.Assignment{Instance: inst, WorkerId: asg.GetWorkerId()}
			if err := s.asg.write(ctx, key, upd); err != nil {
				return err
			}
			current[key] = upd
			written++
		}
	}

	load := map[string]int{}
	for _, asg := range current {
		if slices.Contains(workers, asg.GetWorkerId()) {
			load[asg.GetWorkerId()]++
		}
	}
	var unassigned []string
	for _, key := range slices.Sorted(maps.Keys(want)) {
		inst := want[key]
		if isHeartbeat(inst.GetFunctionMetaData()) {
			pinned := inst.GetFunctionMetaData().GetFunctionDetails().GetName()
			if asg, ok := current[key]; !ok || asg.GetWorkerId() != pinned {
				if err := s.asg.write(ctx, key, &pb.Assignment{Instance: inst, WorkerId: pinned}); err != nil {
					return err
				}
				written++
			}
			continue
		}
		if _, ok := current[key]; !ok {
			unassigned = append(unassigned, key)
		}
	}
	t0 := time.Now()
	placed := Place(unassigned, load, workers)
	strategy := time.Since(t0)
	for _, key := range unassigned {
		w, ok := placed[key]
		if !ok {
			continue // no live worker: the failure check and the next round retry
		}
		if err := s.asg.write(ctx, key, &pb.Assignment{Instance: want[key], WorkerId: w}); err != nil {
			return err
		}
		written++
	}
	if written > 0 {
		s.log.Info("scheduled", "assignments_written", written, "instances", len(want), "workers", workers)
	}
	s.timed("schedule", time.Since(start), strategy)
	return nil
}

// checkFailures is the Java worker's checkFailures: remember since when each
// instance is unassigned or on a worker that left, and once it has been so
// for RescheduleTimeout forget its assignment so the next round moves it. It
// reports whether a round is needed, and when the earliest instance still
// waiting was first seen (zero: none), for the next check's timer. first says
// this is the new leader's first check, which logs what it inherited.
func (s *Scheduler) checkFailures(ctx context.Context, first bool) (needRound bool, earliest time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	members, err := s.members.Members(ctx)
	if err != nil {
		s.log.Warn("failure check: read members", "err", err)
		return false, time.Time{}
	}
	live := map[string]bool{}
	for _, m := range members {
		live[m.WorkerID] = true
	}
	want := s.instances()
	current := s.asg.snapshot()
	now := s.now()
	seen := map[string]bool{}
	missing := map[string]int{} // instances by missing worker
	for key, inst := range want {
		asg, ok := current[key]
		if ok && (live[asg.GetWorkerId()] || isHeartbeat(inst.GetFunctionMetaData())) {
			continue
		}
		if ok {
			missing[asg.GetWorkerId()]++
		}
		seen[key] = true
		if _, ok := s.firstSeen[key]; !ok {
			s.firstSeen[key] = now
		}
	}
	for key := range s.firstSeen {
		if !seen[key] {
			delete(s.firstSeen, key)
		}
	}
	_, timeout := s.opts.Timers()
	if first && len(missing) > 0 {
		s.log.Info("new leader: instances assigned to workers that are not members",
			"instances", sum(missing), "workers", slices.Sorted(maps.Keys(missing)), "reschedule_in", timeout)
	}
	moved := map[string]int{}
	for key, since := range s.firstSeen {
		if now.Sub(since) < timeout {
			if earliest.IsZero() || since.Before(earliest) {
				earliest = since
			}
			continue
		}
		if asg, ok := current[key]; ok {
			s.log.Info("rescheduling instance of a worker that left", "instance", key, "worker", asg.GetWorkerId(),
				"since", since.Format(time.RFC3339))
			s.asg.forget(key)
			moved[asg.GetWorkerId()]++
		}
		delete(s.firstSeen, key)
		needRound = true
	}
	if len(moved) > 0 {
		s.log.Info("rescheduling instances of workers that left", "instances", sum(moved),
			"workers", slices.Sorted(maps.Keys(moved)), "after", timeout)
	}
	return needRound, earliest
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
