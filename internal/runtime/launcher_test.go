package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// With PFW_FAKE_INSTANCE=1 the test binary acts as an instance process: it
// reads its gRPC port from -instance-conf (Go style) or --port (Java/Python
// style), serves InstanceControl there and exits 0 on SIGTERM. With
// PFW_FAKE_WORKER=<dir> it acts as a worker (see fakeWorkerMain).
func TestMain(m *testing.M) {
	if os.Getenv("PFW_FAKE_INSTANCE") == "1" {
		os.Exit(fakeInstanceMain(os.Args[1:]))
	}
	if dir := os.Getenv("PFW_FAKE_WORKER"); dir != "" {
		os.Exit(fakeWorkerMain(dir, os.Getenv("PFW_FAKE_WORKER_INSTANCE")))
	}
	os.Exit(m.Run())
}

func fakeInstanceMain(args []string) int {
	port := 0
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "-instance-conf":
			var c goInstanceConfig
			if err := json.Unmarshal([]byte(args[i+1]), &c); err != nil {
				fmt.Fprintln(os.Stderr, "bad -instance-conf:", err)
				return 2
			}
			port = c.Port
		case "--port":
			port, _ = strconv.Atoi(args[i+1])
		}
	}
	fmt.Println("fake instance starting on port", port)
	fmt.Fprintln(os.Stderr, "fake instance stderr line")
	if code := os.Getenv("PFW_FAKE_EXIT"); code != "" {
		n, _ := strconv.Atoi(code)
		return n
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	s := grpc.NewServer()
	pb.RegisterInstanceControlServer(s, &fakeControl{received: 1})
	go s.Serve(l)
	<-term
	fmt.Println("fake instance got SIGTERM")
	s.Stop()
	return 0
}

// fakeInstanceScript writes an executable that runs the test binary as a fake
// instance with the given extra environment.
func fakeInstanceScript(t *testing.T, env ...string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "fake-instance")
	script := "#!/bin/sh\nexec env PFW_FAKE_INSTANCE=1 " + strings.Join(env, " ") + " " + self + ` "$@"` + "\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func procAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses; Z is a zombie (dead).
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func TestProcessLauncherExitAndOutput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sub", "fn-0.out")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, []byte("from an earlier run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := ProcessLauncher{TailLines: 3}.Start(context.Background(), ProcessSpec{
		Name:       "t",
		Argv:       []string{"sh", "-c", `echo "$GREETING"; for i in 1 2 3 4; do echo line$i; done; echo oops >&2; exit 3`},
		Env:        []string{"GREETING=hello"},
		OutputFile: out,
	})
	if err != nil {
		t.Fatal(err)
	}
	exit := <-p.Wait()
	if exit.Code != 3 || exit.Signal != 0 || exit.Output != "line3\nline4\noops" {
		t.Errorf("exit = %+v", exit)
	}
	if _, ok := <-p.Wait(); ok {
		t.Error("Wait delivered twice")
	}
	if got := exit.String(); !strings.HasPrefix(got, "exit code 3; last output:\nline3") {
		t.Errorf("String() = %q", got)
	}
	b, _ := os.ReadFile(out)
	if string(b) != "from an earlier run\nhello\nline1\nline2\nline3\nline4\noops\n" {
		t.Errorf("output file:\n%s", b)
	}
}

func TestProcessLauncherRotatesOutput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "fn-0.out")
	l := ProcessLauncher{MaxOutputBytes: 10}
	for i := range 3 {
		p, err := l.Start(context.Background(), ProcessSpec{Name: "t", Argv: []string{"echo", "run-" + strconv.Itoa(i) + "-0123456789"}, OutputFile: out})
		if err != nil {
			t.Fatal(err)
		}
		<-p.Wait()
	}
	cur, _ := os.ReadFile(out)
	old, _ := os.ReadFile(out + ".1")
	if string(cur) != "run-2-0123456789\n" || string(old) != "run-1-0123456789\n" {
		t.Errorf("current %q, rotated %q", cur, old)
	}
}

func TestProcessLauncherSignalsTheGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	p, err := ProcessLauncher{}.Start(context.Background(), ProcessSpec{
		Name: "t",
		Argv: []string{"sh", "-c", `sleep 300 & echo $! > ` + pidFile + `; wait`},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Signal(syscall.SIGKILL) })
	var child int
	eventually(t, 5*time.Second, "child pid", func() bool {
		b, err := os.ReadFile(pidFile)
		child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && child > 0
	})
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exit := <-p.Wait()
	if exit.Signal != syscall.SIGTERM || exit.String() != "killed by signal SIGTERM" {
		t.Errorf("exit = %+v (%s)", exit, exit)
	}
	eventually(t, 5*time.Second, "grandchild gone", func() bool { return !procAlive(child) })
	if err := p.Signal(syscall.SIGTERM); err == nil {
		t.Error("signalling an exited process succeeded")
	}
}

// An instance that exits leaving children behind in its group takes them along.
func TestProcessLauncherKillsLeftovers(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	p, err := ProcessLauncher{}.Start(context.Background(), ProcessSpec{
		Name: "t",
		Argv: []string{"sh", "-c", `sleep 300 & echo $! > ` + pidFile},
	})
	if err != nil {
		t.Fatal(err)
	}
	if exit := <-p.Wait(); exit.Code != 0 {
		t.Errorf("exit = %+v", exit)
	}
	b, _ := os.ReadFile(pidFile)
	child, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if child == 0 {
		t.Fatal("no child pid")
	}
	eventually(t, 5*time.Second, "leftover child killed", func() bool { return !procAlive(child) })
}

func TestProcessLauncherStartErrors(t *testing.T) {
	if _, err := (ProcessLauncher{}).Start(context.Background(), ProcessSpec{Name: "t", Argv: []string{"/nonexistent/binary"}}); err == nil || !strings.Contains(err.Error(), "start t") {
		t.Errorf("err = %v", err)
	}
	if _, err := (ProcessLauncher{}).Start(context.Background(), ProcessSpec{Name: "t"}); err == nil {
		t.Error("empty argv accepted")
	}
}

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"A=1", "PYTHONPATH=/x", "B=2"}, []string{"PYTHONPATH=/x:/deps"})
	if strings.Join(got, " ") != "A=1 B=2 PYTHONPATH=/x:/deps" {
		t.Errorf("mergeEnv = %q", got)
	}
}

// The manager with real processes: the test binary stands in for a Go instance.
func TestManagerWithRealProcesses(t *testing.T) {
	o := testOptions(t)
	script := fakeInstanceScript(t)
	f := &countingFetcher{dir: o.DownloadDir}
	fetch := FetcherFunc(func(ctx context.Context, inst *pb.Instance) (string, error) {
		if _, err := f.Fetch(ctx, inst); err != nil { // creates the download directory
			return "", err
		}
		return script, nil
	})
	m, stop := startManager(t, o, ProcessLauncher{}, fetch)
	e := &testEnv{m: m, fetch: f}
	const key = "public/default/g:0"
	m.Apply([]*pb.Assignment{assignment("public", "default", "g", 0, pb.FunctionDetails_GO, 1)})
	info := e.waitState(t, key, StateRunning)
	pid := info.PID
	if !procAlive(pid) {
		t.Fatalf("pid %d not alive", pid)
	}
	st, err := m.Status(context.Background(), "public/default/g", 0)
	if err != nil || !st.GetRunning() {
		t.Fatalf("status = %v, %v", st, err)
	}

	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "restarted", func() bool {
		i, _ := e.info(t, key)
		return i.PID != 0 && i.PID != pid && i.State == StateRunning
	})
	info, _ = e.info(t, key)
	if info.Restarts != 1 || !strings.Contains(info.LastError, "killed by signal SIGKILL") || !strings.Contains(info.LastError, "fake instance stderr line") {
		t.Errorf("after kill -9: %+v", info)
	}
	if procAlive(pid) {
		t.Errorf("old pid %d still alive", pid)
	}
	out := filepath.Join(o.LogDir, "functions", "public", "default", "g", "g-0.out")
	b, err := os.ReadFile(out)
	if err != nil || strings.Count(string(b), "fake instance starting") != 2 {
		t.Errorf("output file %s: %q, %v", out, b, err)
	}

	pid = info.PID
	m.Apply(nil)
	eventually(t, 10*time.Second, "stopped", func() bool { return len(m.Instances()) == 0 && !procAlive(pid) })
	eventually(t, 5*time.Second, "download dir removed", func() bool {
		_, err := os.Stat(filepath.Join(o.DownloadDir, "public", "default", "g", "0"))
		return os.IsNotExist(err)
	})
	b, _ = os.ReadFile(out)
	if !strings.Contains(string(b), "fake instance got SIGTERM") {
		t.Errorf("instance was not stopped with SIGTERM:\n%s", b)
	}
	stop()
}

// An instance that keeps failing at once is restarted with growing delays.
func TestManagerCrashLoopBacksOff(t *testing.T) {
	o := testOptions(t)
	o.BackoffInitial, o.BackoffMax = 100*time.Millisecond, 400*time.Millisecond
	script := fakeInstanceScript(t, "PFW_FAKE_EXIT=7")
	m, _ := startManager(t, o, ProcessLauncher{}, FetcherFunc(func(context.Context, *pb.Instance) (string, error) { return script, nil }))
	start := time.Now()
	m.Apply([]*pb.Assignment{assignment("public", "default", "loop", 0, pb.FunctionDetails_GO, 1)})
	// Four restarts have at least three waits of 0.1, 0.2 and 0.4 s between
	// them; without the backoff they would come as fast as the fake instance
	// exits. Load only makes it slower, so the lower bound holds anywhere.
	var info InstanceInfo
	deadline := time.Now().Add(time.Minute)
	for info.Restarts < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d restarts after a minute", info.Restarts)
		}
		time.Sleep(20 * time.Millisecond)
		if list := m.Instances(); len(list) > 0 {
			info = list[0]
		}
	}
	if elapsed := time.Since(start); elapsed < 700*time.Millisecond {
		t.Errorf("4 restarts in %s, want the backoff's 0.7 s at least", elapsed)
	}
	if !strings.Contains(info.LastError, "exit code 7") {
		t.Errorf("last error %q", info.LastError)
	}
}

func TestExitInfoString(t *testing.T) {
	oom := "killed by the kernel's OOM killer"
	for _, tc := range []struct {
		info ExitInfo
		want string
	}{
		{ExitInfo{Code: 3}, "exit code 3"},
		{ExitInfo{Code: -1, Signal: syscall.SIGKILL}, "killed by signal SIGKILL"},
		{ExitInfo{Code: -1, Err: errors.New("boom")}, "wait failed: boom"},
		{ExitInfo{Code: -1, Signal: syscall.SIGKILL, Cause: oom}, oom + " (killed by signal SIGKILL)"},
		{ExitInfo{Code: -1, Cause: "ended, status unknown"}, "ended, status unknown"},
		{ExitInfo{Code: 1, Output: "x"}, "exit code 1; last output:\nx"},
	} {
		if got := tc.info.String(); got != tc.want {
			t.Errorf("%+v: String() = %q, want %q", tc.info, got, tc.want)
		}
	}
}
