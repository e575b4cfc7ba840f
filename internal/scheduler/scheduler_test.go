package scheduler

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

func TestNextCheck(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		now      time.Time
		earliest time.Time
		timeout  time.Duration
		every    time.Duration
		want     time.Duration
	}{
		{name: "nothing waiting: the regular period", now: t0, timeout: 60 * time.Second, every: 30 * time.Second, want: 30 * time.Second},
		{name: "due before the next period: at the due time", now: t0.Add(5 * time.Second), earliest: t0,
			timeout: 10 * time.Second, every: 30 * time.Second, want: 5 * time.Second},
		{name: "just seen, timeout shorter than the period", now: t0, earliest: t0,
			timeout: 10 * time.Second, every: 30 * time.Second, want: 10 * time.Second},
		{name: "due after the next period: the regular period", now: t0, earliest: t0,
			timeout: 60 * time.Second, every: 30 * time.Second, want: 30 * time.Second},
		{name: "overdue: at once", now: t0.Add(time.Minute), earliest: t0,
			timeout: 10 * time.Second, every: 30 * time.Second, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextCheck(tt.now, tt.earliest, tt.timeout, tt.every); got != tt.want {
				t.Fatalf("nextCheck = %v, want %v", got, tt.want)
			}
		})
	}
}

type fakeFunctions []*pb.FunctionMetaData

func (f fakeFunctions) All() []*pb.FunctionMetaData { return f }

// failureFixture is a leader's scheduler over function f (parallelism 2)
// whose instance 0 is on the live worker w1 and instance 1 on w2, which is
// no longer a member; its clock is set by the test.
func failureFixture(t *testing.T, logs io.Writer) (*Scheduler, *time.Time) {
	t.Helper()
	md := &pb.FunctionMetaData{FunctionDetails: &pb.FunctionDetails{Tenant: "public", Namespace: "default", Name: "f", Parallelism: 2}}
	asg := &Assignments{log: slog.New(slog.NewTextHandler(io.Discard, nil)), changed: func() {}, byKey: map[string]*pb.Assignment{
		InstanceKey("public/default/f", 0): {WorkerId: "w1", Instance: &pb.Instance{FunctionMetaData: md, InstanceId: 0}},
		InstanceKey("public/default/f", 1): {WorkerId: "w2", Instance: &pb.Instance{FunctionMetaData: md, InstanceId: 1}},
	}}
	s := New(fakeFunctions{md}, fakeMembers{"w1"}, asg, Options{
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Timers: func() (time.Duration, time.Duration) { return 30 * time.Second, 10 * time.Second },
	})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	return s, &now
}

// An instance on a missing worker moves exactly rescheduleTimeoutMs after
// the new leader's first check saw it, and the timer says when that is.
func TestFailureCheckReschedulesAtTheDueTime(t *testing.T) {
	var logs bytes.Buffer
	s, now := failureFixture(t, &logs)
	ctx := context.Background()
	start := *now
	key := InstanceKey("public/default/f", 1)

	steps := []struct {
		at        time.Duration // since the first check
		first     bool
		wantRound bool
		wantOwner string // of instance 1; "" = forgotten
		wantNext  time.Duration
	}{
		{at: 0, first: true, wantOwner: "w2", wantNext: 10 * time.Second},
		{at: 4 * time.Second, wantOwner: "w2", wantNext: 6 * time.Second},
		{at: 10 * time.Second, wantRound: true, wantOwner: "", wantNext: 30 * time.Second},
	}
	for i, st := range steps {
		*now = start.Add(st.at)
		round, earliest := s.checkFailures(ctx, st.first)
		if round != st.wantRound {
			t.Fatalf("step %d: needRound %v, want %v", i, round, st.wantRound)
		}
		owner, _ := s.asg.Owner(key)
		if owner != st.wantOwner {
			t.Fatalf("step %d: instance 1 on %q, want %q", i, owner, st.wantOwner)
		}
		every, timeout := s.opts.Timers()
		if got := nextCheck(*now, earliest, timeout, every); got != st.wantNext {
			t.Fatalf("step %d: next check in %v, want %v", i, got, st.wantNext)
		}
	}
	if owner, _ := s.asg.Owner(InstanceKey("public/default/f", 0)); owner != "w1" {
		t.Fatalf("instance 0 on the live worker moved to %q", owner)
	}
	for _, want := range []string{
		`level=INFO msg="new leader: instances assigned to workers that are not members" instances=1 workers=[w2]`,
		`level=INFO msg="rescheduling instances of workers that left" instances=1 workers=[w2]`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

// Run's first failure check comes at once, not a failureCheckFreqMs later.
func TestRunChecksAtOnceOnTakeover(t *testing.T) {
	logs := &syncBuffer{}
	s, _ := failureFixture(t, logs)
	s.opts.Timers = func() (time.Duration, time.Duration) { return time.Hour, time.Hour }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "new leader: instances assigned to workers that are not members") {
		if time.Now().After(deadline) {
			t.Fatalf("no failure check within 10 s of Run's start (period 1 h); log:\n%s", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// syncBuffer is a log destination the test reads while Run writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
