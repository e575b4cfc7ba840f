package runtime

import (
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
