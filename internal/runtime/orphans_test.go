package runtime

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// fakeWorkerMain is the test binary acting as a worker with plain
// processes: a Manager runs one instance (the fake instance script), and
// one more process is started from a goroutine locked to its OS thread
// which then returns, so that the Go runtime ends that thread. It prints
// "READY <manager instance pid> <second pid>" once the thread is gone,
// then runs until killed.
func fakeWorkerMain(dir, script string) int {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	l := ProcessLauncher{PidDir: filepath.Join(dir, "pids")}
	m := NewManager(Options{
		PulsarHome: dir, LogDir: dir, DownloadDir: dir, PulsarServiceURL: "pulsar://127.0.0.1:1",
		HealthCheckInterval: 10 * time.Second, Logger: log,
	}, FetcherFunc(func(context.Context, *pb.Instance) (string, error) { return script, nil }), l)
	go m.Run(context.Background())
	m.Apply([]*pb.Assignment{assignment("t", "ns", "f", 0, pb.FunctionDetails_GO, 1)})
	var first int
	for deadline := time.Now().Add(20 * time.Second); first == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			fmt.Println("instance not running")
			return 1
		}
		if list := m.Instances(); len(list) == 1 && list[0].State == StateRunning {
			first = list[0].PID
		}
	}

	type started struct{ pid, tid int }
	res := make(chan started, 1)
	go func() {
		goruntime.LockOSThread() // never unlocked: the thread ends with this goroutine
		p, err := l.Start(context.Background(), ProcessSpec{Name: "second", Argv: []string{"sleep", "600"}})
		if err != nil {
			fmt.Println("start:", err)
			os.Exit(1)
		}
		res <- started{p.Pid(), unix.Gettid()}
	}()
	second := <-res
	task := fmt.Sprintf("/proc/self/task/%d", second.tid)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(task); err != nil {
			break
		}
		if time.Now().After(deadline) {
			fmt.Println("thread did not exit")
			return 1
		}
	}
	fmt.Println("READY", first, second.pid)
	select {}
}

// TestPlainInstancesDieWithTheirWorker kills a worker (the test binary as
// fakeWorkerMain) with SIGKILL: its plain instance processes must go with
// it, including one started from a thread that ended long before (the
// parent-death signal fires when the forking thread ends) (issue 12 item 2).
func TestPlainInstancesDieWithTheirWorker(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), "PFW_FAKE_WORKER="+dir, "PFW_FAKE_WORKER_INSTANCE="+fakeInstanceScript(t))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pids []int
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		for _, pid := range pids {
			if procAlive(pid) {
				t.Errorf("pid %d outlived its worker; killing it", pid)
				syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("fake worker: %v", err)
	}
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "READY" {
		t.Fatalf("fake worker said %q", line)
	}
	for _, s := range f[1:] {
		pid, _ := strconv.Atoi(s)
		pids = append(pids, pid)
	}
	// The second process's forking thread has ended; were the signal tied to
	// it, the process would be dying already. A short look, as nothing is
	// there to wait for.
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		for _, pid := range pids {
			if !procAlive(pid) {
				t.Fatalf("pid %d died while its worker runs", pid)
			}
		}
	}
	if n := countFiles(t, filepath.Join(dir, "pids")); n != 2 {
		t.Errorf("%d pid records, want 2", n)
	}

	killed := time.Now()
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for procAlive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("pid %d still running %v after its worker was killed", pid, time.Since(killed).Round(time.Millisecond))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Logf("both instance processes gone %v after kill -9 of their worker", time.Since(killed).Round(time.Millisecond))
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// TestKillLeftovers: only recorded processes still running the recorded
// command line since the recorded time, whose worker is gone, are killed.
func TestKillLeftovers(t *testing.T) {
	spawn := func(t *testing.T) *exec.Cmd {
		c := exec.Command("sleep", "600")
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			c.Wait()
		})
		return c
	}
	// A worker that is gone: a finished process's pid.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	deadWorker := gone.Process.Pid
	for _, tc := range []struct {
		name       string
		edit       func(*pidRecord)
		killed     bool
		keepRecord bool
	}{
		{"orphan", func(r *pidRecord) { r.Worker = deadWorker }, true, false},
		{"another command line", func(r *pidRecord) { r.Worker, r.Argv = deadWorker, []string{"sleep", "601"} }, false, false},
		{"pid reused", func(r *pidRecord) { r.Worker, r.Start = deadWorker, r.Start-1 }, false, false},
		{"its worker runs", func(r *pidRecord) {}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			c := spawn(t)
			if err := writePidRecord(dir, "inst", c.Process.Pid, c.Args); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "inst"+pidSuffix)
			rec, err := readPidRecord(path)
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(&rec)
			b := fmt.Appendf(nil, `{"pid":%d,"worker":%d,"start":%d,"argv":["%s"]}`, rec.PID, rec.Worker, rec.Start, strings.Join(rec.Argv, `","`))
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			n := ProcessLauncher{PidDir: dir}.KillLeftovers(slog.New(slog.NewTextHandler(io.Discard, nil)))
			if got := !procAlive(c.Process.Pid); got != tc.killed || (n == 1) != tc.killed {
				t.Errorf("killed = %v (count %d), want %v", got, n, tc.killed)
			}
			if _, err := os.Stat(path); (err == nil) != tc.keepRecord {
				t.Errorf("record kept = %v, want %v", err == nil, tc.keepRecord)
			}
		})
	}
	t.Run("gone", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "x"+pidSuffix), fmt.Appendf(nil, `{"pid":%d,"worker":%d,"start":1,"argv":["true"]}`, deadWorker, deadWorker), 0o600); err != nil {
			t.Fatal(err)
		}
		if n := (ProcessLauncher{PidDir: dir}).KillLeftovers(slog.New(slog.NewTextHandler(io.Discard, nil))); n != 0 || countFiles(t, dir) != 0 {
			t.Errorf("killed %d, %d records left", n, countFiles(t, dir))
		}
	})
}
