package daemon

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/run"
)

// stopper is what an ordered shutdown stops, one stage at a time; shutdown
// calls its methods in the order they are listed here. The daemon's
// implementation is workerStopper; tests record the calls.
type stopper interface {
	// announceStopping tells the world before anything goes away: STOPPING=1
	// to systemd, and /initialized (and the API's initialized check) answer
	// 503, so load balancers and pulsar-admin users stop sending work here.
	announceStopping()
	// leaveCluster closes the membership consumer so that another worker
	// leads and the scheduler moves this worker's instances at once.
	leaveCluster() error
	// drainHTTP lets in-flight requests finish (bounded by ctx), while the
	// runtime and the broker clients they may use still work.
	drainHTTP(ctx context.Context) error
	// stopRuntime stops (or, in scopes, detaches from) the instances.
	stopRuntime()
	// stopLoops waits for the worker's other loops (membership, leader,
	// watchdog, config watch) to return; its error is the worker's.
	stopLoops() error
	// closeClients closes the state topics' readers and producers and the
	// Pulsar clients, last, when nothing uses them any more.
	closeClients()
}

// shutdown runs the stages of stopping a worker in order, logging each one
// and its time. A stage that fails is logged and the next ones still run:
// a worker that could not leave the cluster must still stop its instances.
// It returns stopLoops' error.
func shutdown(s stopper, log *slog.Logger) error {
	began := time.Now()
	stage := func(name string, f func() error) error {
		log.Info("shutdown: "+name, "stage", name)
		start := time.Now()
		err := f()
		if err != nil {
			log.Warn("shutdown: "+name+" failed", "stage", name, "err", err, "took", time.Since(start).Round(time.Millisecond))
		} else {
			log.Debug("shutdown: "+name+" done", "stage", name, "took", time.Since(start).Round(time.Millisecond))
		}
		return err
	}
	_ = stage("announce stopping", func() error { s.announceStopping(); return nil })
	_ = stage("leave cluster", s.leaveCluster)
	_ = stage("drain HTTP", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		return s.drainHTTP(ctx)
	})
	_ = stage("stop runtime", func() error { s.stopRuntime(); return nil })
	err := stage("stop loops", s.stopLoops)
	_ = stage("close broker clients", func() error { s.closeClients(); return nil })
	log.Info("shutdown: done", "took", time.Since(began).Round(time.Millisecond))
	return err
}

// workerStopper is the Daemon's side of shutdown, with what Run started.
type workerStopper struct {
	d       *Daemon
	group   *run.Group
	servers []*http.Server
	// httpActors are the group's actors serving the servers.
	httpActors []string
	// leave leaves the cluster; nil: the membership's Leave (tests replace it).
	leave func() error
}

var _ stopper = workerStopper{}

func (w workerStopper) announceStopping() {
	w.d.initialized.Store(false)
	if err := w.d.notify.Stopping("stopping: leaving the cluster"); err != nil {
		w.d.log.Warn("notify stopping", "err", err)
	}
}

func (w workerStopper) leaveCluster() error {
	// A worker still joining stops that first, so it cannot become a member
	// after it left.
	if w.group != nil {
		w.group.Stop(actorJoin)
	}
	if w.leave != nil {
		return w.leave()
	}
	if m := w.d.membership.Load(); m != nil {
		return m.Leave()
	}
	return nil
}

func (w workerStopper) drainHTTP(ctx context.Context) error {
	var first error
	for _, s := range w.servers {
		if err := s.Shutdown(ctx); err != nil {
			_ = s.Close()
			if first == nil {
				first = err
			}
		}
	}
	w.group.Stop(w.httpActors...)
	return first
}

func (w workerStopper) stopRuntime() {
	_ = w.d.notify.Status("stopping: stopping instances")
	w.group.Stop(actorRuntime)
}

func (w workerStopper) stopLoops() error {
	w.group.StopAll()
	return w.group.Err()
}

func (w workerStopper) closeClients() {
	// Leave again, in case (Leave is idempotent).
	if m := w.d.membership.Load(); m != nil {
		_ = m.Leave()
	}
	if w.d.meta != nil {
		w.d.meta.Close()
	}
	if w.d.assignments != nil {
		w.d.assignments.Close()
	}
	if w.d.broker != nil {
		w.d.broker.Close()
	}
}
