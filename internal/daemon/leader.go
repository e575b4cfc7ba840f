package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/scheduler"
)

// lead follows this worker's leadership: on becoming leader it takes both
// state topics' exclusive producers and runs the scheduler; on losing it, it
// stops scheduling and follows the topics again. Transitions are handled one
// at a time, in this goroutine only.
func (d *Daemon) lead(ctx context.Context) error {
	m := d.membership.Load()
	var stopSched context.CancelFunc
	var schedDone chan struct{}
	leading := false
	d.progress.register("leadership", time.Minute)
	defer d.progress.unregister("leadership")
	defer func() {
		if stopSched != nil {
			stopSched()
			<-schedDone
		}
	}()
	// changed is true when the membership loop should look again at once:
	// after a transition, or when the broker named another leader.
	changed := false
	for {
		d.progress.beat("leadership")
		switch want := m.IsLeader(); {
		case want && !leading:
			sched, err := d.becomeLeader(ctx)
			if errors.Is(err, cluster.ErrNotLeader) || ctx.Err() != nil {
				d.log.Info("leadership moved on before this worker took over", "err", err)
				break
			}
			if err != nil {
				return fmt.Errorf("become leader: %w", err)
			}
			sctx, cancel := context.WithCancel(ctx)
			stopSched, schedDone = cancel, make(chan struct{})
			go func() { defer close(schedDone); _ = sched.Run(sctx) }()
			d.sched.Store(sched)
			leading = true
			d.leading.Store(true)
			d.log.Info("this worker leads the cluster", "worker", d.self.WorkerID)
			changed = true
		case !want && leading:
			d.leading.Store(false)
			d.sched.Store(nil)
			stopSched()
			<-schedDone
			stopSched = nil
			if err := d.assignments.Unlead(d.fail); err != nil {
				return fmt.Errorf("give up leadership: %w", err)
			}
			if err := d.meta.Unlead(d.fail); err != nil {
				return fmt.Errorf("give up leadership: %w", err)
			}
			leading = false
			d.log.Info("this worker no longer leads the cluster")
			changed = true
		}
		if changed {
			// Not on every round: the membership loop has its own ticker, and
			// a poke per round doubled its reads and STATUS= messages.
			select {
			case d.refresh <- struct{}{}:
			default:
			}
			changed = false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-m.LeaderChanges():
			changed = true
		case <-time.After(5 * time.Second):
		}
	}
}

// becomeLeader is the Java worker's becameActive: exclusive producers on the
// assignments and metadata topics first, then the remaining messages, so no
// other writer can append while this worker catches up.
func (d *Daemon) becomeLeader(ctx context.Context) (*scheduler.Scheduler, error) {
	m := d.membership.Load()
	stillLeader := func(ctx context.Context) bool {
		l, err := m.Leader(ctx)
		return err == nil && l.WorkerID == d.self.WorkerID
	}
	if err := d.assignments.Lead(ctx, stillLeader); err != nil {
		return nil, err
	}
	if err := d.meta.Lead(ctx, stillLeader); err != nil {
		_ = d.assignments.Unlead(d.fail)
		return nil, err
	}
	sched := scheduler.New(d.meta, m, d.assignments, scheduler.Options{
		Timers: func() (time.Duration, time.Duration) {
			c := d.current.Load()
			return time.Duration(c.FailureCheckFreqMs) * time.Millisecond, time.Duration(c.RescheduleTimeoutMs) * time.Millisecond
		},
		Logger: d.log.With("component", "scheduler"),
		Timer:  d.java.observe,
	})
	d.meta.OnChange(sched.Trigger)
	return sched, nil
}
