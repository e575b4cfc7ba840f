package run

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
)

// recorder collects what actors did, in order.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(e string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// until is an actor that runs until its context ends.
func until(r *recorder, name string) func(context.Context) error {
	return func(ctx context.Context) error {
		<-ctx.Done()
		r.add(name + " returned")
		return nil
	}
}

// The owner decides the order: each actor is stopped and has returned
// before the next one is asked; StopAll takes the rest, last added first;
// start and stop of every actor are logged with its name.
func TestStopOrder(t *testing.T) {
	var logs bytes.Buffer
	r := &recorder{}
	g := New(slog.New(slog.NewTextHandler(&logs, nil)))
	stopped := make(chan struct{})
	g.Add("http", func(context.Context) error {
		<-stopped // returns when its stop function says so, not on cancel
		r.add("http returned")
		return nil
	}, func() { r.add("http stop"); close(stopped) })
	g.Add("runtime", until(r, "runtime"), nil)
	g.Add("membership", until(r, "membership"), nil)
	g.Add("watchdog", until(r, "watchdog"), nil)
	ctx, cancel := context.WithCancel(context.Background())
	g.Start(ctx)
	cancel() // the parent's end does not stop the actors
	g.Stop("http", "runtime")
	g.Stop("runtime") // again: nothing happens
	g.StopAll()
	want := []string{"http stop", "http returned", "runtime returned", "watchdog returned", "membership returned"}
	if got := r.get(); !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	for _, name := range []string{"http", "runtime", "membership", "watchdog"} {
		for _, what := range []string{"actor started", "actor stopped"} {
			if !strings.Contains(logs.String(), `msg="`+what+`" actor=`+name) {
				t.Errorf("log lacks %q for %s:\n%s", what, name, logs.String())
			}
		}
	}
	if g.Err() != nil {
		t.Errorf("Err = %v, want nil", g.Err())
	}
}

// An actor that fails makes Failed fire, with its name in Err; one that
// returns nil early (nothing to do) does not.
func TestFailure(t *testing.T) {
	g := New(slog.New(slog.DiscardHandler))
	boom := errors.New("lost the producer")
	fail := make(chan struct{})
	g.Add("watchdog", func(context.Context) error { return nil }, nil)
	g.Add("leadership", func(ctx context.Context) error {
		select {
		case <-fail:
			return boom
		case <-ctx.Done():
			return nil
		}
	}, nil)
	g.Add("membership", func(ctx context.Context) error { <-ctx.Done(); return nil }, nil)
	g.Start(context.Background())
	select {
	case <-g.Failed():
		t.Fatal("Failed fired before any actor failed")
	default:
	}
	close(fail)
	<-g.Failed()
	if err := g.Err(); !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "leadership: ") {
		t.Errorf("Err = %v, want the leadership actor's failure", err)
	}
	g.StopAll()
}

func TestDuplicateName(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("two actors with one name were accepted")
		}
	}()
	g := New(slog.New(slog.DiscardHandler))
	g.Add("http", func(context.Context) error { return nil }, nil)
	g.Add("http", func(context.Context) error { return nil }, nil)
}
