package daemon

import (
	"context"
	"errors"
	"sync"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/config"
)

// Handle is a worker running inside this process, as etcd's embed runs a
// server: Start it, wait for Ready (or Done), Close it. Tests use it to run
// the whole worker (listeners, reload, status, shutdown) in the test binary,
// under -race; the command runs the same Daemon with Run.
type Handle struct {
	d      *Daemon
	cancel context.CancelFunc
	done   chan struct{}
	err    error // Run's result, set before done is closed

	closeOnce sync.Once
}

// Start runs a worker for cfg (validated, as Validate and the config
// package check it) in the background, as `run` does: it serves, connects,
// joins and stays until Close or a failure.
func Start(cfg *config.Config, o Options) *Handle {
	d := New(cfg, o)
	ctx, cancel := context.WithCancel(context.Background())
	h := &Handle{d: d, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		h.err = d.Run(ctx)
	}()
	return h
}

// Ready is closed once the worker has joined the cluster and caught up with
// its state (when systemd would get READY=1).
func (h *Handle) Ready() <-chan struct{} { return h.d.ready }

// Done is closed when the worker has stopped, by Close or by itself.
func (h *Handle) Done() <-chan struct{} { return h.done }

// Err is why the worker stopped by itself (nil after Close); valid once
// Done is closed.
func (h *Handle) Err() error {
	select {
	case <-h.done:
		return h.err
	default:
		return errors.New("the worker is still running")
	}
}

// Self is the worker as the cluster knows it.
func (h *Handle) Self() cluster.WorkerInfo { return h.d.self }

// Close stops the worker as SIGTERM does (the ordered shutdown) and waits
// until it has; it returns the worker's error, if it failed.
func (h *Handle) Close() error {
	h.closeOnce.Do(h.cancel)
	<-h.done
	return h.err
}
