package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// fixtureBinary builds this package once per test run (`go build`, as a
// worker test would) and returns the executable.
func fixtureBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "gofunction-test-")
		if buildErr != nil {
			return
		}
		// go test puts its own GOROOT/bin first in PATH.
		goCmd, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("find the go command: %w", err)
			return
		}
		buildBin = filepath.Join(buildDir, "gofunction")
		out, err := exec.Command(goCmd, "build", "-o", buildBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fixtureProc is one running fixture process.
type fixtureProc struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

// startFixture runs the fixture binary with args, stdout+stderr captured
// (and logged when the test fails, or with -v). It is killed at cleanup if still alive.
func startFixture(t *testing.T, args ...string) *fixtureProc {
	t.Helper()
	p := &fixtureProc{cmd: exec.Command(fixtureBinary(t), args...), out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() || testing.Verbose() {
			t.Logf("fixture output:\n%s", p.out.String())
		}
	})
	return p
}

func (p *fixtureProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *fixtureProc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// exitCode waits for the process and returns its exit code; being killed by
// a signal fails the test.
func (p *fixtureProc) exitCode(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("fixture still running after %v", timeout)
	}
	ws := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		t.Fatalf("fixture killed by signal %v", ws.Signal())
	}
	return ws.ExitStatus()
}

func controlClient(t *testing.T, port int) pb.InstanceControlClient {
	t.Helper()
	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", port), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pb.NewInstanceControlClient(conn)
}

func call[T any](t *testing.T, f func(context.Context, *emptypb.Empty, ...grpc.CallOption) (T, error)) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // the worker's GRPC_TIMEOUT_SECS
	defer cancel()
	v, err := f(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitServing polls GetFunctionStatus until the fixture answers (it serves
// gRPC only after its producer and consumers exist, as the SDK does).
func waitServing(t *testing.T, p *fixtureProc, cl pb.InstanceControlClient, timeout time.Duration) *pb.FunctionStatus {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := cl.GetFunctionStatus(ctx, &emptypb.Empty{})
		cancel()
		if err == nil {
			return st
		}
		if p.exited() {
			t.Fatalf("fixture exited before serving gRPC: %v", p.cmd.ProcessState)
		}
		if time.Now().After(deadline) {
			t.Fatalf("fixture not serving gRPC after %v: %v", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// testDetails is FunctionDetails as the worker stores them for
// `functions create --go ... --inputs ... --output ...` with defaults.
func testDetails(tenant, namespace, name string, inputs []string, output, userConfig string) *pb.FunctionDetails {
	specs := map[string]*pb.ConsumerSpec{}
	for _, in := range inputs {
		specs[in] = &pb.ConsumerSpec{}
	}
	return &pb.FunctionDetails{
		Tenant: tenant, Namespace: namespace, Name: name,
		//lint:ignore SA1019 autoAck is deprecated in Pulsar's Function.proto, yet Java's worker and instances still read and write it
		UserConfig: userConfig, AutoAck: true, Parallelism: 1, Runtime: pb.FunctionDetails_GO,
		Source:        &pb.SourceSpec{SubscriptionType: pb.SubscriptionType_SHARED, InputSpecs: specs, CleanupSubscription: true},
		Sink:          &pb.SinkSpec{Topic: output, ForwardSourceMessageProperty: true},
		Resources:     &pb.Resources{Cpu: 1, Ram: 1 << 30, Disk: 10 << 30},
		ComponentType: pb.FunctionDetails_FUNCTION,
	}
}

// testLaunch picks free ports and returns the launch parameters for a
// worker-like conf.
func testLaunch(t *testing.T, serviceURL string, instanceID int) javaLaunch {
	t.Helper()
	return javaLaunch{
		InstanceID: instanceID,
		FuncID:     "11111111-2222-4333-8444-555555555555", FuncVersion: "66666666-7777-4888-9999-000000000000",
		Port: harness.FreePort(t), MetricsPort: harness.FreePort(t),
		Cluster: "standalone", PulsarServiceURL: serviceURL,
	}
}

// withKeys sets top-level keys of a conf JSON (for what the Java worker
// never sends, e.g. expectedHealthCheckInterval).
func withKeys(t *testing.T, conf string, kv map[string]any) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(conf), &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range kv {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
