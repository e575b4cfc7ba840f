package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/instmetrics"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/runtime"
)

// buildGoFixture builds test/gofunction, the Go function binary the
// worker runs as a Go instance.
func buildGoFixture(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gofunction")
	cmd := exec.Command("go", "build", "-o", bin, "../../test/gofunction")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build test/gofunction: %v\n%s", err, out)
	}
	return bin
}

// execFetcher hands out one executable for every instance.
type execFetcher string

func (f execFetcher) Fetch(context.Context, *pb.Instance) (string, error) { return string(f), nil }

// metricsTargets is what the daemon scrapes for GET /metrics.
func metricsTargets(m *runtime.Manager) []instmetrics.Target {
	var out []instmetrics.Target
	for _, in := range m.Instances() {
		if in.PID == 0 || in.MetricsPort == 0 {
			continue
		}
		tg := instmetrics.Target{Name: in.FQFN, URL: "http://127.0.0.1:" + strconv.Itoa(in.MetricsPort) + "/"}
		if in.Unresponsive != "" {
			tg.Err = errors.New(in.Unresponsive)
		}
		out = append(out, tg)
	}
	return out
}

// TestIntegrationFrozenGoInstance stops a real Go instance with SIGSTOP: the
// worker kills it after three failed health checks and starts it again,
// and status, metrics and the /metrics scrape stay fast meanwhile (issue 12).
func TestIntegrationFrozenGoInstance(t *testing.T) {
	env := requireEnv(t, "PULSAR_SERVICE_URL")
	bin := buildGoFixture(t)
	suffix := fmt.Sprintf("%d-%04x", time.Now().Unix(), rand.IntN(1<<16))
	name := "frozen-go-" + suffix
	d := exclamation(name, "persistent://public/default/rt-frozen-in-"+suffix, "persistent://public/default/rt-frozen-out-"+suffix, pb.FunctionDetails_GO)
	opts := runtime.Options{
		LogDir:              t.TempDir(),
		PulsarServiceURL:    env["PULSAR_SERVICE_URL"],
		ClusterName:         "standalone",
		HealthCheckInterval: time.Second,
		Logger:              slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	m := runtime.NewManager(opts, execFetcher(bin), runtime.ProcessLauncher{})
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- m.Run(ctx) }()
	var frozen int
	t.Cleanup(func() {
		cancel()
		<-runDone
		if frozen != 0 && alive(frozen) {
			t.Errorf("frozen pid %d left behind; killing it", frozen)
			syscall.Kill(frozen, syscall.SIGKILL)
		}
	})
	fqfn := "public/default/" + name
	m.Apply([]*pb.Assignment{assign(d)})
	waitFor(t, 60*time.Second, "Go instance running", func() bool {
		i, _ := infoOf(m, fqfn)
		return i.State == runtime.StateRunning
	})
	before, _ := infoOf(m, fqfn)
	frozen = before.PID
	g := &instmetrics.Gatherer{Own: prometheus.NewRegistry(), Targets: func() []instmetrics.Target { return metricsTargets(m) }}
	measure := func() (status, metrics, scrape time.Duration, st *pb.FunctionStatus) {
		t0 := time.Now()
		st, err := m.Status(context.Background(), fqfn, 0)
		if err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		m.Metrics(context.Background(), fqfn, 0)
		t2 := time.Now()
		if _, err := g.Gather(); err != nil {
			t.Fatal(err)
		}
		return t1.Sub(t0), t2.Sub(t1), time.Since(t2), st
	}
	s, mt, sc, _ := measure()
	t.Logf("healthy: status %v, metrics %v, /metrics scrape %v", s, mt, sc)

	if err := syscall.Kill(frozen, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	var worst [3]time.Duration
	var calls, fast int
	var why string
	waitFor(t, 60*time.Second, "frozen instance replaced", func() bool {
		s, mt, sc, st := measure()
		calls++
		worst = [3]time.Duration{max(worst[0], s), max(worst[1], mt), max(worst[2], sc)}
		if strings.Contains(st.GetFailureException(), "not responding") {
			why = st.GetFailureException()
			if s+mt+sc < 100*time.Millisecond {
				fast++
			}
		}
		i, _ := infoOf(m, fqfn)
		return i.PID != frozen && i.State == runtime.StateRunning
	})
	after, _ := infoOf(m, fqfn)
	t.Logf("SIGSTOP'd pid %d replaced by pid %d %v later; restarts %d; last error: %s",
		frozen, after.PID, time.Since(stopped).Round(time.Millisecond), after.Restarts, after.LastError)
	t.Logf("meanwhile, %d rounds: worst status %v, metrics %v, /metrics scrape %v; %d rounds under 100 ms once known not to respond",
		calls, worst[0].Round(time.Millisecond), worst[1].Round(time.Millisecond), worst[2].Round(time.Millisecond), fast)
	t.Logf("status while frozen: %s", why)
	if alive(frozen) {
		t.Errorf("frozen pid %d still there", frozen)
	}
	if after.Restarts != 1 || !strings.Contains(after.LastError, "stopped answering health checks") {
		t.Errorf("after replacement: %+v", after)
	}
	if why == "" || fast == 0 {
		t.Errorf("status never answered at once that the instance does not respond (%q, %d fast rounds)", why, fast)
	}
	for i, w := range worst {
		if w > runtime.QueryTimeout+500*time.Millisecond {
			t.Errorf("call %d took up to %v", i, w)
		}
	}
	s, mt, sc, _ = measure()
	t.Logf("after restart: status %v, metrics %v, /metrics scrape %v", s, mt, sc)
}
