package runtime

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

func TestNeedsStart(t *testing.T) {
	inst := func(id int32, states map[int32]pb.FunctionState) *pb.Instance {
		return &pb.Instance{InstanceId: id, FunctionMetaData: &pb.FunctionMetaData{InstanceStates: states}}
	}
	R, S := pb.FunctionState_RUNNING, pb.FunctionState_STOPPED
	for _, tc := range []struct {
		name string
		inst *pb.Instance
		want bool
	}{
		{"no states", inst(0, nil), true},
		{"running", inst(1, map[int32]pb.FunctionState{0: S, 1: R}), true},
		{"stopped", inst(1, map[int32]pb.FunctionState{0: R, 1: S}), false},
		{"missing means running", inst(2, map[int32]pb.FunctionState{0: S, 1: S}), true},
		{"external, one running", inst(-1, map[int32]pb.FunctionState{0: S, 1: R}), true},
		{"external, all stopped", inst(-1, map[int32]pb.FunctionState{0: S, 1: S}), false},
		{"nil metadata", &pb.Instance{}, true},
	} {
		if got := NeedsStart(tc.inst); got != tc.want {
			t.Errorf("%s: NeedsStart = %v, want %v", tc.name, got, tc.want)
		}
	}
}

type testEnv struct {
	m      *Manager
	launch *fakeLauncher
	fetch  *countingFetcher
	cancel context.CancelFunc
}

func testOptions(t *testing.T) Options {
	return Options{
		PulsarHome:          t.TempDir(),
		LogDir:              t.TempDir(),
		DownloadDir:         t.TempDir(),
		PulsarServiceURL:    "pulsar://127.0.0.1:1",
		ClusterName:         "test",
		HealthCheckInterval: 200 * time.Millisecond,
		StopGracePeriod:     300 * time.Millisecond,
		BackoffInitial:      50 * time.Millisecond,
		BackoffMax:          400 * time.Millisecond,
		BackoffReset:        10 * time.Second,
		Logger:              testLogger(t),
	}
}

func startManager(t *testing.T, o Options, l Launcher, f Fetcher) (*Manager, func()) {
	t.Helper()
	m := NewManager(o, f, l)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return m, stop
}

func newEnv(t *testing.T, l *fakeLauncher) *testEnv {
	o := testOptions(t)
	f := &countingFetcher{dir: o.DownloadDir}
	m, stop := startManager(t, o, l, f)
	return &testEnv{m: m, launch: l, fetch: f, cancel: stop}
}

func (e *testEnv) info(t *testing.T, key string) (InstanceInfo, bool) {
	t.Helper()
	for _, i := range e.m.Instances() {
		if InstanceKey(i.FQFN, i.InstanceID) == key {
			return i, true
		}
	}
	return InstanceInfo{}, false
}

func (e *testEnv) waitState(t *testing.T, key string, s State) InstanceInfo {
	t.Helper()
	var last InstanceInfo
	eventually(t, 10*time.Second, key+" "+string(s), func() bool {
		var ok bool
		last, ok = e.info(t, key)
		return ok && last.State == s
	})
	return last
}

// startsOf returns the fake processes started under the unit name of key.
func startsOf(l *fakeLauncher, name string) []*fakeProc {
	var out []*fakeProc
	for _, p := range l.starts() {
		if p.spec.Name == name {
			out = append(out, p)
		}
	}
	return out
}

func TestReconcile(t *testing.T) {
	l := &fakeLauncher{serve: true}
	e := newEnv(t, l)
	ctx := context.Background()
	a0 := assignment("public", "default", "a", 0, pb.FunctionDetails_JAVA, 1)
	a1 := assignment("public", "default", "a", 1, pb.FunctionDetails_JAVA, 1)
	b0 := assignment("t2", "ns2", "b", 0, pb.FunctionDetails_JAVA, 1)
	e.m.Apply([]*pb.Assignment{a0, a1, b0})
	for _, k := range []string{"public/default/a:0", "public/default/a:1", "t2/ns2/b:0"} {
		e.waitState(t, k, StateRunning)
	}
	if n := len(l.starts()); n != 3 {
		t.Fatalf("%d starts, want 3", n)
	}

	st, err := e.m.Status(ctx, "public/default/a", 1)
	if err != nil {
		t.Fatal(err)
	}
	if !st.GetRunning() || st.GetNumRestarts() != 0 || st.GetInstanceId() != "1" || st.GetNumReceived() != 7 {
		t.Errorf("status = %v; want running, the instance's counters, our numRestarts and instanceId", st)
	}
	md, err := e.m.Metrics(ctx, "public/default/a", 0)
	if err != nil || md.GetReceivedTotal() != 7 {
		t.Errorf("metrics = %v, %v", md, err)
	}
	if _, err := e.m.Status(ctx, "public/default/nope", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("status of an unknown instance: %v, want ErrNotFound", err)
	}

	// Same a0/a1 content in new messages (maps rebuilt, so serialised bytes may
	// differ), b0 with a new metadata version: only b0 restarts.
	a0copy, a1copy := reencode(t, a0), reencode(t, a1)
	b0v2 := proto.Clone(b0).(*pb.Assignment)
	b0v2.Instance.FunctionMetaData.Version = 2
	oldB := startsOf(l, "pulsar-fn-t2-ns2-b-0")[0]
	e.m.Apply([]*pb.Assignment{b0v2, a1copy, a0copy})
	eventually(t, 10*time.Second, "b0 restarted", func() bool { return len(startsOf(l, "pulsar-fn-t2-ns2-b-0")) == 2 })
	if !oldB.exited() {
		t.Error("the new b0 started before the old one was stopped")
	}
	if sig := <-oldB.signals; sig != syscall.SIGTERM {
		t.Errorf("old b0 got %v, want SIGTERM", sig)
	}
	e.waitState(t, "t2/ns2/b:0", StateRunning)
	if n := len(l.starts()); n != 4 {
		t.Errorf("%d starts, want 4 (a0 and a1 unchanged)", n)
	}

	// Stop instance 1 of a through instanceStates: the metadata of a changes,
	// so a0 restarts with it and a1 stays stopped.
	stopped := func(a *pb.Assignment) *pb.Assignment {
		c := proto.Clone(a).(*pb.Assignment)
		c.Instance.FunctionMetaData.Version = 2
		c.Instance.FunctionMetaData.InstanceStates = map[int32]pb.FunctionState{0: pb.FunctionState_RUNNING, 1: pb.FunctionState_STOPPED}
		return c
	}
	a1proc := startsOf(l, "pulsar-fn-public-default-a-1")[0]
	e.m.Apply([]*pb.Assignment{stopped(a0), stopped(a1), b0v2})
	eventually(t, 10*time.Second, "a1 stopped", a1proc.exited)
	info := e.waitState(t, "public/default/a:1", StateStopped)
	if info.PID != 0 {
		t.Errorf("stopped instance has pid %d", info.PID)
	}
	e.waitState(t, "public/default/a:0", StateRunning)
	if n := len(startsOf(l, "pulsar-fn-public-default-a-1")); n != 1 {
		t.Errorf("a1 started %d times, want 1", n)
	}
	st, err = e.m.Status(ctx, "public/default/a", 1)
	if err != nil || st.GetRunning() || st.GetInstanceId() != "1" {
		t.Errorf("status of a stopped instance = %v, %v", st, err)
	}
	if err := e.m.Restart("public/default/a", 1); !errors.Is(err, ErrNotRunning) {
		t.Errorf("restart of a stopped instance: %v", err)
	}
	if _, err := os.Stat(e.fetch.dir + "/public/default/a/1"); !os.IsNotExist(err) {
		t.Errorf("download dir of the stopped a1 still there: %v", err)
	}

	// Nothing assigned: everything stops, download directories go.
	e.m.Apply(nil)
	eventually(t, 10*time.Second, "all stopped", func() bool {
		for _, p := range l.starts() {
			if !p.exited() {
				return false
			}
		}
		return len(e.m.Instances()) == 0
	})
	eventually(t, 5*time.Second, "download dirs removed", func() bool {
		for _, d := range []string{"/public/default/a/0", "/t2/ns2/b/0"} {
			if _, err := os.Stat(e.fetch.dir + d); !os.IsNotExist(err) {
				return false
			}
		}
		return true
	})
}

func reencode(t *testing.T, a *pb.Assignment) *pb.Assignment {
	t.Helper()
	b, err := proto.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	c := &pb.Assignment{}
	if err := proto.Unmarshal(b, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCrashRestartsWithBackoff(t *testing.T) {
	l := &fakeLauncher{serve: true}
	e := newEnv(t, l)
	const key, name = "public/default/c:0", "pulsar-fn-public-default-c-0"
	e.m.Apply([]*pb.Assignment{assignment("public", "default", "c", 0, pb.FunctionDetails_JAVA, 1)})
	e.waitState(t, key, StateRunning)

	var exitedAt []time.Time
	var startedAt []time.Time
	for i := 1; i <= 3; i++ {
		procs := startsOf(l, name)
		p := procs[len(procs)-1]
		exitedAt = append(exitedAt, time.Now())
		p.exit(ExitInfo{Code: -1, Signal: syscall.SIGKILL, Output: "java.lang.OutOfMemoryError"})
		eventually(t, 10*time.Second, "restart", func() bool { return len(startsOf(l, name)) == i+1 })
		startedAt = append(startedAt, time.Now())
		if i == 1 {
			// Backoff of 50 ms is too short to observe the state reliably; the
			// counters and the reason stay after the restart.
			info, _ := e.info(t, key)
			if info.Restarts != 1 || !strings.Contains(info.LastError, "killed by signal SIGKILL") || !strings.Contains(info.LastError, "OutOfMemoryError") {
				t.Errorf("after a crash: %+v", info)
			}
		}
	}
	// 50, 100, 200 ms: the third wait must be clearly longer than the first.
	first, third := startedAt[0].Sub(exitedAt[0]), startedAt[2].Sub(exitedAt[2])
	if third < 150*time.Millisecond || third < first {
		t.Errorf("restart delays %v then %v, want exponential backoff", first, third)
	}
	procs := startsOf(l, name)
	if p0, p3 := argAfter(procs[0].spec.Argv, "--port"), argAfter(procs[3].spec.Argv, "--port"); p0 != p3 {
		t.Errorf("port changed across restarts: %d -> %d", p0, p3)
	}
	if procs[0].spec.Argv[indexOf(procs[0].spec.Argv, "--function_id")+1] != procs[3].spec.Argv[indexOf(procs[3].spec.Argv, "--function_id")+1] {
		t.Error("function id changed across restarts")
	}
	e.waitState(t, key, StateRunning)
	st, err := e.m.Status(context.Background(), "public/default/c", 0)
	if err != nil || !st.GetRunning() || st.GetNumRestarts() != 3 {
		t.Errorf("status after restarts = %v, %v", st, err)
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func TestBackoffStatus(t *testing.T) {
	l := &fakeLauncher{serve: true}
	o := testOptions(t)
	o.BackoffInitial, o.BackoffMax = 5*time.Second, 5*time.Second
	f := &countingFetcher{dir: o.DownloadDir}
	m, _ := startManager(t, o, l, f)
	e := &testEnv{m: m, launch: l, fetch: f}
	const key = "public/default/d:0"
	m.Apply([]*pb.Assignment{assignment("public", "default", "d", 0, pb.FunctionDetails_JAVA, 1)})
	e.waitState(t, key, StateRunning)
	l.starts()[0].exit(ExitInfo{Code: 3})
	info := e.waitState(t, key, StateBackoff)
	if info.Restarts != 1 || !strings.Contains(info.LastError, "exit code 3") || info.PID != 0 {
		t.Errorf("in backoff: %+v", info)
	}
	st, err := m.Status(context.Background(), "public/default/d", 0)
	if err != nil || st.GetRunning() || st.GetNumRestarts() != 1 || !strings.Contains(st.GetFailureException(), "exit code 3") {
		t.Errorf("status in backoff = %v, %v", st, err)
	}
	if _, err := m.Metrics(context.Background(), "public/default/d", 0); !errors.Is(err, ErrNotRunning) {
		t.Errorf("metrics in backoff: %v", err)
	}
	// Restart cuts the backoff short.
	if err := m.Restart("public/default/d", 0); err != nil {
		t.Fatal(err)
	}
	e.waitState(t, key, StateRunning)
}

func TestStopEscalatesToSIGKILL(t *testing.T) {
	l := &fakeLauncher{serve: true, ignoreTERM: true}
	e := newEnv(t, l)
	e.m.Apply([]*pb.Assignment{assignment("public", "default", "k", 0, pb.FunctionDetails_JAVA, 1)})
	e.waitState(t, "public/default/k:0", StateRunning)
	p := l.starts()[0]
	begin := time.Now()
	e.m.Apply(nil)
	eventually(t, 10*time.Second, "killed", p.exited)
	if took := time.Since(begin); took < 300*time.Millisecond {
		t.Errorf("killed after %v, before the grace period", took)
	}
	if a, b := <-p.signals, <-p.signals; a != syscall.SIGTERM || b != syscall.SIGKILL {
		t.Errorf("signals %v, %v; want SIGTERM then SIGKILL", a, b)
	}
}

func TestStartFailuresRetry(t *testing.T) {
	l := &fakeLauncher{serve: true, failN: 1}
	o := testOptions(t)
	f := &countingFetcher{dir: o.DownloadDir}
	f.failN.Store(2)
	m, _ := startManager(t, o, l, f)
	e := &testEnv{m: m, launch: l, fetch: f}
	m.Apply([]*pb.Assignment{assignment("public", "default", "f", 0, pb.FunctionDetails_JAVA, 1)})
	info := e.waitState(t, "public/default/f:0", StateRunning)
	if info.Restarts != 3 || f.calls.Load() != 4 {
		t.Errorf("restarts %d, fetches %d; want 3 failures before the start", info.Restarts, f.calls.Load())
	}
}

func TestPermanentFailure(t *testing.T) {
	l := &fakeLauncher{}
	e := newEnv(t, l)
	a := assignment("public", "default", "p", 0, pb.FunctionDetails_Runtime(2), 1)
	e.m.Apply([]*pb.Assignment{a})
	info := e.waitState(t, "public/default/p:0", StateFailed)
	if !strings.Contains(info.LastError, "unsupported runtime") {
		t.Errorf("last error %q", info.LastError)
	}
	time.Sleep(200 * time.Millisecond) // no retries
	if n := len(l.starts()); n != 0 {
		t.Errorf("%d starts of an unstartable instance", n)
	}
	st, err := e.m.Status(context.Background(), "public/default/p", 0)
	if err != nil || st.GetRunning() || !strings.Contains(st.GetFailureException(), "unsupported runtime") {
		t.Errorf("status = %v, %v", st, err)
	}
}

func TestRestartRequest(t *testing.T) {
	l := &fakeLauncher{serve: true}
	e := newEnv(t, l)
	const key = "public/default/r:0"
	e.m.Apply([]*pb.Assignment{assignment("public", "default", "r", 0, pb.FunctionDetails_JAVA, 1)})
	e.waitState(t, key, StateRunning)
	if err := e.m.Restart("public/default/r", 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "second start", func() bool { return len(l.starts()) == 2 })
	if !l.starts()[0].exited() {
		t.Error("first process not stopped")
	}
	info := e.waitState(t, key, StateRunning)
	if info.Restarts != 0 {
		t.Errorf("a requested restart counted as a crash: %+v", info)
	}
	if err := e.m.Restart("public/default/none", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("restart unknown: %v", err)
	}
}

func TestRunStopsEverything(t *testing.T) {
	l := &fakeLauncher{serve: true}
	o := testOptions(t)
	f := &countingFetcher{dir: o.DownloadDir}
	m, stop := startManager(t, o, l, f)
	e := &testEnv{m: m, launch: l, fetch: f}
	var as []*pb.Assignment
	for i := range 3 {
		as = append(as, assignment("public", "default", "s", int32(i), pb.FunctionDetails_JAVA, 1))
	}
	m.Apply(as)
	for i := range 3 {
		e.waitState(t, InstanceKey("public/default/s", i), StateRunning)
	}
	stop()
	for _, p := range l.starts() {
		if !p.exited() {
			t.Errorf("%s still running after Run returned", p.spec.Name)
		}
	}
}

func TestApplyBeforeRunAndCoalescing(t *testing.T) {
	l := &fakeLauncher{}
	o := testOptions(t)
	f := &countingFetcher{dir: o.DownloadDir}
	m := NewManager(o, f, l)
	for i := range 100 { // must not block without Run
		m.Apply([]*pb.Assignment{assignment("public", "default", "x", int32(i%3), pb.FunctionDetails_JAVA, 1)})
	}
	m.Apply([]*pb.Assignment{assignment("public", "default", "y", 0, pb.FunctionDetails_JAVA, 1)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	eventually(t, 5*time.Second, "y started", func() bool { return len(l.starts()) == 1 })
	if got := l.starts()[0].spec.Name; got != "pulsar-fn-public-default-y-0" {
		t.Errorf("started %s, want only the last applied set", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
