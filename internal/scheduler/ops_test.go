package scheduler

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"testing"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
)

func TestDrain(t *testing.T) {
	tests := []struct {
		name       string
		assigned   map[string][]string
		unassigned []string
		drained    string
		workers    []string
		want       map[string]string
	}{
		{name: "the drained worker's instances go round robin over the others",
			assigned: map[string][]string{"w1": {"a:0", "a:3"}, "w2": {"a:1", "a:4"}, "w3": {"a:2", "a:5"}},
			drained:  "w2", workers: []string{"w1", "w2", "w3"},
			want: map[string]string{"a:1": "w1", "a:4": "w3"}},
		{name: "the least loaded other worker first",
			assigned: map[string][]string{"w1": {"a:0", "a:1", "a:2"}, "w2": {"b:0"}, "w3": {"c:0", "c:1"}},
			drained:  "w2", workers: []string{"w1", "w2", "w3"},
			want: map[string]string{"b:0": "w3"}},
		{name: "unassigned instances are placed too",
			assigned: map[string][]string{"w1": {"a:0"}, "w2": {"a:1"}}, unassigned: []string{"a:2"},
			drained: "w1", workers: []string{"w1", "w2", "w3"},
			want: map[string]string{"a:0": "w3", "a:2": "w2"}},
		{name: "instances of a dead worker stay where they are",
			assigned: map[string][]string{"dead": {"d:0"}, "w1": {"a:0"}, "w2": nil},
			drained:  "w1", workers: []string{"w1", "w2"},
			want: map[string]string{"a:0": "w2"}},
		{name: "nothing to move", assigned: map[string][]string{"w1": {"a:0"}},
			drained: "w2", workers: []string{"w1", "w2"}, want: map[string]string{}},
		{name: "no other worker: nothing placed", assigned: map[string][]string{"w1": {"a:0"}},
			drained: "w1", workers: []string{"w1"}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Drain(tt.assigned, tt.unassigned, tt.drained, tt.workers); !maps.Equal(got, tt.want) {
				t.Fatalf("Drain = %v, want %v", got, tt.want)
			}
		})
	}
}

type fakeMembers []string

func (f fakeMembers) Members(context.Context) ([]cluster.WorkerInfo, error) {
	out := make([]cluster.WorkerInfo, len(f))
	for i, id := range f {
		out[i] = cluster.WorkerInfo{WorkerID: id}
	}
	return out, nil
}

func newTestScheduler(members ...string) *Scheduler {
	return New(nil, fakeMembers(members), nil, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// The checks a REST call gets answered by, in Java's order; the operations
// themselves are only queued here.
func TestRequestDrainChecks(t *testing.T) {
	tests := []struct {
		name    string
		members []string
		records map[string]DrainState
		busy    bool
		worker  string
		want    error
	}{
		{name: "accepted", members: []string{"w1", "w2"}, worker: "w2"},
		{name: "another drain in progress", members: []string{"w1", "w2", "w3"}, busy: true, worker: "w2", want: ErrDrainInProgress},
		{name: "too few workers", members: []string{"w1"}, worker: "w1", want: ErrTooFewWorkers},
		{name: "drained workers do not count as available", members: []string{"w1", "w2", "w3"},
			records: map[string]DrainState{"w3": DrainSuccess}, worker: "w3", want: ErrWorkerNotRemoved},
		{name: "too few before not removed", members: []string{"w1", "w2"},
			records: map[string]DrainState{"w2": DrainSuccess}, worker: "w2", want: ErrTooFewWorkers},
		{name: "unknown worker", members: []string{"w1", "w2"}, worker: "nope", want: ErrUnknownWorker},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestScheduler(tt.members...)
			for w, st := range tt.records {
				s.drains.records[w] = &DrainStatus{State: st}
			}
			s.drains.busy = tt.busy
			err := s.RequestDrain(context.Background(), tt.worker)
			if !errors.Is(err, tt.want) {
				t.Fatalf("RequestDrain(%s) = %v, want %v", tt.worker, err, tt.want)
			}
			if tt.want == nil {
				if got := s.DrainStatusOf(tt.worker); got.State != DrainNotRun {
					t.Fatalf("status after the request = %+v, want NOT_RUN", got)
				}
				if len(s.ops) != 1 {
					t.Fatalf("%d operations queued, want 1", len(s.ops))
				}
				if err := s.RequestDrain(context.Background(), "w1"); !errors.Is(err, ErrDrainInProgress) {
					t.Fatalf("second drain while the first is queued = %v, want ErrDrainInProgress", err)
				}
			}
		})
	}
}

func TestRequestRebalanceChecks(t *testing.T) {
	s := newTestScheduler("w1")
	if err := s.RequestRebalance(context.Background()); !errors.Is(err, ErrTooFewWorkers) {
		t.Fatalf("one worker: %v, want ErrTooFewWorkers", err)
	}
	s = newTestScheduler("w1", "w2")
	if err := s.RequestRebalance(context.Background()); err != nil {
		t.Fatalf("two workers: %v", err)
	}
	if err := s.RequestRebalance(context.Background()); !errors.Is(err, ErrRebalanceInProgress) {
		t.Fatalf("while queued: %v, want ErrRebalanceInProgress", err)
	}
}

func TestDrainStatusWithoutRecord(t *testing.T) {
	got := newTestScheduler("w1").DrainStatusOf("w9")
	want := DrainStatus{State: DrainError, LastError: "Worker w9 not found in drain records"}
	if got != want {
		t.Fatalf("DrainStatusOf = %+v, want %+v", got, want)
	}
}

func TestPruneDrainsForgetsWorkersThatLeft(t *testing.T) {
	s := newTestScheduler("w1", "w2")
	s.drains.records["w2"] = &DrainStatus{State: DrainSuccess}
	s.drains.records["gone"] = &DrainStatus{State: DrainSuccess}
	s.drains.records["gone-queued"] = &DrainStatus{State: DrainNotRun}
	s.pruneDrains(context.Background())
	got := map[string]bool{}
	for w := range s.drains.records {
		got[w] = true
	}
	if want := map[string]bool{"w2": true, "gone-queued": true}; !maps.Equal(got, want) {
		t.Fatalf("records after prune = %v, want %v", got, want)
	}
}
