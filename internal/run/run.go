// Package run owns a worker's long-running goroutines as named actors, in
// the manner of Prometheus's run.Group but with an ordered stop: every actor
// has a name, a run function and a way to stop it; the group logs when each
// starts and stops, reports the first one that fails, and stops them one at
// a time in the order its owner asks (the daemon's shutdown stages), so no
// goroutine of the worker runs without a name or an owner.
package run

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Group is a set of actors. Add them, Start the group, then Stop them; a
// Group is not reusable.
type Group struct {
	log    *slog.Logger
	actors []*actor

	failed   chan struct{} // closed when the first actor fails
	failOnce sync.Once
	err      error // the first failure, set before failed is closed
}

type actor struct {
	name string
	run  func(context.Context) error
	stop func() // nil: cancelling the actor's context stops it

	cancel  context.CancelFunc
	done    chan struct{} // closed when run has returned
	err     error         // run's result, set before done is closed
	stopped bool          // Stop was called (owned by Stop's caller)
}

// New returns an empty group that logs to log.
func New(log *slog.Logger) *Group {
	return &Group{log: log, failed: make(chan struct{})}
}

// Add registers an actor before Start. run runs until its context is
// cancelled or stop makes it return; it returns nil when stopped, or when it
// has nothing (more) to do, and an error when it failed, which makes Failed
// fire. stop may be nil: stopping the actor then cancels its context.
func (g *Group) Add(name string, run func(ctx context.Context) error, stop func()) {
	if slices.ContainsFunc(g.actors, func(a *actor) bool { return a.name == name }) {
		panic("run: two actors named " + name)
	}
	g.actors = append(g.actors, &actor{name: name, run: run, stop: stop, done: make(chan struct{})})
}

// Start starts every actor in its own goroutine, in the order they were
// added. Their contexts carry ctx's values but not its cancellation: actors
// stop when Stop says so, in the owner's order, not all at once.
func (g *Group) Start(ctx context.Context) {
	base := context.WithoutCancel(ctx)
	for _, a := range g.actors {
		actx, cancel := context.WithCancel(base)
		a.cancel = cancel
		g.log.Info("actor started", "actor", a.name)
		go func() {
			err := a.run(actx)
			a.err = err
			close(a.done)
			if err != nil {
				g.log.Debug("actor failed", "actor", a.name, "err", err)
				g.failOnce.Do(func() {
					g.err = fmt.Errorf("%s: %w", a.name, err)
					close(g.failed)
				})
			}
		}()
	}
}

// Failed is closed when an actor has returned an error.
func (g *Group) Failed() <-chan struct{} { return g.failed }

// Err is the first actor failure (named after the actor), or nil.
func (g *Group) Err() error {
	select {
	case <-g.failed:
		return g.err
	default:
		return nil
	}
}

// Stop stops the named actors one at a time, in the order given: it calls
// the actor's stop (or cancels its context), waits until run has returned,
// and logs the stop and how long it took. Stopping an actor twice, or one
// that has already returned, only logs. Names that are not actors panic
// (a wiring bug).
func (g *Group) Stop(names ...string) {
	for _, name := range names {
		i := slices.IndexFunc(g.actors, func(a *actor) bool { return a.name == name })
		if i < 0 {
			panic("run: no actor named " + name)
		}
		g.stop(g.actors[i])
	}
}

// StopAll stops the actors not stopped yet, the last added first.
func (g *Group) StopAll() {
	for i := len(g.actors) - 1; i >= 0; i-- {
		if !g.actors[i].stopped {
			g.stop(g.actors[i])
		}
	}
}

func (g *Group) stop(a *actor) {
	if a.stopped {
		return
	}
	a.stopped = true
	start := time.Now()
	if a.stop != nil {
		a.stop()
	}
	a.cancel()
	<-a.done
	if a.err != nil {
		g.log.Info("actor stopped", "actor", a.name, "took", time.Since(start).Round(time.Millisecond), "err", a.err)
	} else {
		g.log.Info("actor stopped", "actor", a.name, "took", time.Since(start).Round(time.Millisecond))
	}
}
