package runtime

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// TestFirstHealthCheckWhenPortOpens starts instances whose InstanceControl
// server listens only after a delay, as a JVM's does, and expects the first
// health check within a moment of it listening: gRPC's default reconnect
// backoff (1 s, x1.6, up to 120 s) used to put it seconds later, past the
// instance's own patience of three health-check intervals (issue 10).
func TestFirstHealthCheckWhenPortOpens(t *testing.T) {
	const maxLag = 400 * time.Millisecond
	for _, delay := range []time.Duration{1800 * time.Millisecond, 4 * time.Second} {
		t.Run(delay.String(), func(t *testing.T) {
			l := &fakeLauncher{serve: true, serveAfter: delay}
			o := testOptions(t)
			o.HealthCheckInterval = 10 * time.Second // probes as in production
			m, stop := startManager(t, o, l, &countingFetcher{dir: t.TempDir()})
			defer stop()
			m.Apply([]*pb.Assignment{assignment("t", "ns", "f", 0, pb.FunctionDetails_JAVA, 1)})
			eventually(t, delay+10*time.Second, "instance running", func() bool {
				list := m.Instances()
				return len(list) == 1 && list[0].State == StateRunning
			})
			p := l.starts()[0]
			lag := time.Duration(p.ctl.firstCheck.Load() - p.listening.Load())
			t.Logf("listening %v after start; first health check %v after that", delay, lag.Round(time.Millisecond))
			if lag > maxLag {
				t.Errorf("first health check came %v after the port opened, want at most %v", lag.Round(time.Millisecond), maxLag)
			}
		})
	}
}

// TestHungInstanceIsReplaced hangs a running instance's InstanceControl
// server (as SIGSTOP does to a real one): it is killed with SIGKILL at once
// (a stopped process does not act on SIGTERM) after three failed health
// checks and started again; status and metrics calls meanwhile return
// within their deadline, and at once saying why once the failed health
// checks have shown the instance hangs (issue 12).
func TestHungInstanceIsReplaced(t *testing.T) {
	const queryTimeout = 2 * time.Second // QueryTimeout
	l := &fakeLauncher{serve: true}
	o := testOptions(t)
	o.HealthCheckInterval = time.Second // a window wide enough to sample
	m, stop := startManager(t, o, l, &countingFetcher{dir: t.TempDir()})
	defer stop()
	m.Apply([]*pb.Assignment{assignment("t", "ns", "f", 0, pb.FunctionDetails_JAVA, 1)})
	running := func() bool {
		list := m.Instances()
		return len(list) == 1 && list[0].State == StateRunning
	}
	eventually(t, 5*time.Second, "instance running", running)
	first := l.starts()[0]
	first.ctl.hung.Store(true)
	hungAt := time.Now()

	var slowest, slowestKnown time.Duration
	var why string
	eventually(t, 15*time.Second, "hung instance replaced", func() bool {
		t0 := time.Now()
		st, err := m.Status(context.Background(), "t/ns/f", 0)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = m.Metrics(context.Background(), "t/ns/f", 0)
		took := time.Since(t0)
		slowest = max(slowest, took)
		if took > 2*queryTimeout+500*time.Millisecond {
			t.Fatalf("status+metrics of a hung instance took %v", took)
		}
		if strings.Contains(st.GetFailureException(), "not responding") {
			why = st.GetFailureException()
			slowestKnown = max(slowestKnown, took)
		}
		return len(l.starts()) == 2 && running()
	})
	t.Logf("replaced %v after it hung; status+metrics meanwhile: slowest %v, slowest once known to hang %v",
		time.Since(hungAt).Round(time.Millisecond), slowest.Round(time.Millisecond), slowestKnown.Round(time.Microsecond))
	if why == "" {
		t.Error("status of the hung instance never said it was not responding")
	} else {
		t.Logf("status while hung: %s", why)
	}
	if slowestKnown > 100*time.Millisecond {
		t.Errorf("status+metrics of an instance known to hang took %v", slowestKnown)
	}
	var sigs []os.Signal
	for len(first.signals) > 0 {
		sigs = append(sigs, <-first.signals)
	}
	if len(sigs) != 1 || sigs[0] != syscall.SIGKILL {
		t.Errorf("hung process got signals %v, want [SIGKILL]", sigs)
	}
	info := m.Instances()[0]
	if info.Restarts != 1 || !strings.Contains(info.LastError, "stopped answering health checks") {
		t.Errorf("after replacement: restarts %d, last error %q", info.Restarts, info.LastError)
	}
}
