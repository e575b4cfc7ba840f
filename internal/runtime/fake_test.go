package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// fakeControl is an InstanceControl server standing in for an instance.
type fakeControl struct {
	pb.UnimplementedInstanceControlServer
	healthChecks atomic.Int64
	received     int64
	firstCheck   atomic.Int64 // UnixNano of the first health check
	hung         atomic.Bool  // answer nothing, as a process stopped with SIGSTOP
}

// hang blocks while the fake is hung, until the caller gives up.
func (f *fakeControl) hang(ctx context.Context) error {
	if !f.hung.Load() {
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

func (f *fakeControl) HealthCheck(ctx context.Context, _ *emptypb.Empty) (*pb.HealthCheckResult, error) {
	if err := f.hang(ctx); err != nil {
		return nil, err
	}
	f.healthChecks.Add(1)
	f.firstCheck.CompareAndSwap(0, time.Now().UnixNano())
	return &pb.HealthCheckResult{Success: true}, nil
}

func (f *fakeControl) GetFunctionStatus(ctx context.Context, _ *emptypb.Empty) (*pb.FunctionStatus, error) {
	if err := f.hang(ctx); err != nil {
		return nil, err
	}
	return &pb.FunctionStatus{Running: true, NumReceived: f.received, InstanceId: "bogus", NumRestarts: 99}, nil
}

func (f *fakeControl) GetMetrics(ctx context.Context, _ *emptypb.Empty) (*pb.MetricsData, error) {
	if err := f.hang(ctx); err != nil {
		return nil, err
	}
	return &pb.MetricsData{ReceivedTotal: f.received, UserMetrics: map[string]float64{"m": 1}}, nil
}

// serveControl serves a fakeControl on 127.0.0.1:port until stop is called.
func serveControl(port int, ctl *fakeControl) (stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return nil, err
	}
	s := grpc.NewServer()
	pb.RegisterInstanceControlServer(s, ctl)
	go s.Serve(l)
	return s.Stop, nil
}

// fakeLauncher records starts and runs fake processes in-process.
type fakeLauncher struct {
	mu      sync.Mutex
	started []*fakeProc
	// ignoreTERM makes processes ignore SIGTERM (to test the SIGKILL path).
	ignoreTERM bool
	// serve makes processes answer InstanceControl on their --port / "port".
	serve bool
	// serveAfter delays serving, as a JVM takes seconds before it listens.
	serveAfter time.Duration
	failN      int // fail this many starts first
}

type fakeProc struct {
	spec    ProcessSpec
	pid     int
	done    chan ExitInfo
	once    sync.Once
	stopSrv func()
	ignTERM bool
	signals chan os.Signal
	gone    atomic.Bool

	ctl       *fakeControl
	listening atomic.Int64 // UnixNano when its InstanceControl server started listening
	mu        sync.Mutex   // guards stopSrv when serving starts late
}

var fakePids atomic.Int64

func (l *fakeLauncher) Start(ctx context.Context, spec ProcessSpec) (Process, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failN > 0 {
		l.failN--
		return nil, errors.New("fake start failure")
	}
	p := &fakeProc{spec: spec, pid: int(100000 + fakePids.Add(1)), done: make(chan ExitInfo, 1), ignTERM: l.ignoreTERM, signals: make(chan os.Signal, 10)}
	if l.serve {
		port := argAfter(spec.Argv, "--port")
		p.ctl = &fakeControl{received: 7}
		serve := func() error {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.gone.Load() {
				return nil
			}
			stop, err := serveControl(port, p.ctl)
			if err != nil {
				return fmt.Errorf("fake instance: %w", err)
			}
			p.listening.Store(time.Now().UnixNano())
			p.stopSrv = stop
			return nil
		}
		if l.serveAfter > 0 {
			time.AfterFunc(l.serveAfter, func() { _ = serve() })
		} else if err := serve(); err != nil {
			return nil, err
		}
	}
	l.started = append(l.started, p)
	return p, nil
}

func (l *fakeLauncher) starts() []*fakeProc {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*fakeProc(nil), l.started...)
}

func argAfter(argv []string, flag string) int {
	for i, a := range argv {
		if a == flag && i+1 < len(argv) {
			n, _ := strconv.Atoi(argv[i+1])
			return n
		}
	}
	return 0
}

func (p *fakeProc) Pid() int              { return p.pid }
func (p *fakeProc) Wait() <-chan ExitInfo { return p.done }

func (p *fakeProc) Signal(sig os.Signal) error {
	select {
	case p.signals <- sig:
	default:
	}
	switch {
	case sig == syscall.SIGKILL:
		p.exit(ExitInfo{Code: -1, Signal: syscall.SIGKILL})
	case sig == syscall.SIGTERM && !p.ignTERM:
		p.exit(ExitInfo{Code: 0})
	}
	return nil
}

// exit ends the fake process once.
func (p *fakeProc) exit(info ExitInfo) {
	p.once.Do(func() {
		p.mu.Lock()
		p.gone.Store(true)
		if p.stopSrv != nil {
			p.stopSrv()
		}
		p.mu.Unlock()
		p.done <- info
		close(p.done)
	})
}

func (p *fakeProc) exited() bool { return p.gone.Load() }

// countingFetcher returns a file under dir/<tenant>/<ns>/<name>/<id>/ like the
// real fetcher, creating it, and counts calls.
type countingFetcher struct {
	dir   string
	calls atomic.Int64
	failN atomic.Int64
}

func (f *countingFetcher) Fetch(ctx context.Context, inst *pb.Instance) (string, error) {
	f.calls.Add(1)
	if f.failN.Load() > 0 {
		f.failN.Add(-1)
		return "", errors.New("fake fetch failure")
	}
	d := inst.GetFunctionMetaData().GetFunctionDetails()
	dir := fmt.Sprintf("%s/%s/%s/%s/%d", f.dir, d.GetTenant(), d.GetNamespace(), d.GetName(), inst.GetInstanceId())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := dir + "/pkg"
	return p, os.WriteFile(p, []byte("x"), 0o755)
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// eventually polls cond every 10 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func assignment(tenant, ns, name string, id int32, rt pb.FunctionDetails_Runtime, version uint64) *pb.Assignment {
	return &pb.Assignment{
		WorkerId: "w1",
		Instance: &pb.Instance{
			InstanceId: id,
			FunctionMetaData: &pb.FunctionMetaData{
				Version: version,
				FunctionDetails: &pb.FunctionDetails{
					Tenant: tenant, Namespace: ns, Name: name, Runtime: rt, Parallelism: 2,
					//lint:ignore SA1019 autoAck is deprecated in Pulsar's Function.proto, yet Java's worker and instances still read and write it
					ClassName: "org.example.F", AutoAck: true,
					Source: &pb.SourceSpec{InputSpecs: map[string]*pb.ConsumerSpec{
						"persistent://public/default/a": {}, "persistent://public/default/b": {SchemaType: "string"},
					}},
					Sink: &pb.SinkSpec{Topic: "persistent://public/default/out"},
				},
				PackageLocation: &pb.PackageLocationMetaData{PackagePath: "public/default/" + name + "/pkg"},
			},
		},
	}
}

// FetcherFunc adapts a function to Fetcher.
type FetcherFunc func(ctx context.Context, inst *pb.Instance) (string, error)

func (f FetcherFunc) Fetch(ctx context.Context, inst *pb.Instance) (string, error) {
	return f(ctx, inst)
}
