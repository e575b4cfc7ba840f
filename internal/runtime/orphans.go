package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Plain child processes must not outlive their worker: a worker killed with
// SIGKILL used to leave its instances running under pid 1, and its successor
// started new copies beside them, both running until the orphans missed
// three health checks (issue 12). The kernel's parent-death signal ends them
// with the worker; pid records let the next worker end any that escaped.
//
// Instances in systemd scopes are another matter: they are meant to outlive
// the worker and be adopted (adopt.go); this file is for ProcessLauncher only.

// parentDeathSignal is what a plain instance process gets when its worker
// dies. SIGKILL: the worker is gone without stopping it, as if the instance
// crashed; a SIGTERM could be ignored or hang in shutdown, leaving the very
// orphan this prevents.
const parentDeathSignal = syscall.SIGKILL

// forkRequests feeds the fork thread (see onForkThread).
var forkRequests = sync.OnceValue(func() chan<- func() {
	ch := make(chan func())
	go func() {
		// Never unlocked, and the goroutine never returns: the thread lives
		// as long as the process.
		goruntime.LockOSThread()
		for f := range ch {
			f()
		}
	}()
	return ch
})

// onForkThread runs f on one OS thread that lives as long as the worker.
// The kernel sends the parent-death signal when the *thread* that forked the
// child exits, not the process (prctl(2) PR_SET_PDEATHSIG; go.dev/issue/27505),
// and Go threads can exit: the runtime ends a thread whose goroutine returns
// while locked to it. Forking only from this thread makes the signal mean
// "the worker died".
func onForkThread(f func()) {
	done := make(chan struct{})
	forkRequests() <- func() {
		defer close(done)
		f()
	}
	<-done
}

// pidRecord is what ProcessLauncher keeps about a running instance process
// under PidDir, enough to recognise it later without risk of killing a
// stranger that reuses its pid.
type pidRecord struct {
	PID    int      `json:"pid"`
	Worker int      `json:"worker"` // pid of the worker that started it
	Start  uint64   `json:"start"`  // start time in clock ticks since boot (/proc/<pid>/stat field 22)
	Argv   []string `json:"argv"`
}

const pidSuffix = ".pid"

// writePidRecord records a process just started as name; atomically, so a
// crash never leaves half a record.
func writePidRecord(dir, name string, pid int, argv []string) error {
	start, err := procStartTime(pid)
	if err != nil {
		return fmt.Errorf("record pid %d of %s: %w", pid, name, err)
	}
	b, err := json.Marshal(pidRecord{PID: pid, Worker: os.Getpid(), Start: start, Argv: argv})
	if err != nil {
		return fmt.Errorf("record pid %d of %s: %w", pid, name, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("record pid %d of %s: %w", pid, name, err)
	}
	tmp, err := os.CreateTemp(dir, ".pid-*")
	if err != nil {
		return fmt.Errorf("record pid %d of %s: %w", pid, name, err)
	}
	_, werr := tmp.Write(b)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), filepath.Join(dir, name+pidSuffix))
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("record pid %d of %s in %s: %w", pid, name, dir, werr)
	}
	return nil
}

// removePidRecord forgets the record of name if it is still pid's (a later
// process of the same instance may have replaced it).
func removePidRecord(dir, name string, pid int) {
	path := filepath.Join(dir, name+pidSuffix)
	if rec, err := readPidRecord(path); err == nil && rec.PID == pid {
		os.Remove(path)
	}
}

func readPidRecord(path string) (pidRecord, error) {
	var rec pidRecord
	b, err := os.ReadFile(path)
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("decode %s: %w", path, err)
	}
	if rec.PID <= 1 || len(rec.Argv) == 0 {
		return rec, fmt.Errorf("decode %s: incomplete record", path)
	}
	return rec, nil
}

// KillLeftovers kills the instance processes recorded under PidDir that a
// worker which died without stopping them left behind, and forgets every
// record; call it before starting instances. A recorded process is killed
// (with its process group) only if it still runs the recorded command line,
// started at the recorded time, and is no longer the child of the worker
// that recorded it: a live worker sharing the directory keeps its own. It
// waits up to a few seconds for them to go, so that their ports are free,
// and returns how many it killed.
func (l ProcessLauncher) KillLeftovers(log *slog.Logger) int {
	if l.PidDir == "" {
		return 0
	}
	entries, err := os.ReadDir(l.PidDir)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			log.Warn("read instance pid records", "dir", l.PidDir, "err", err)
		}
		return 0
	}
	var killed []int
	for _, e := range entries {
		path := filepath.Join(l.PidDir, e.Name())
		if strings.HasPrefix(e.Name(), ".pid-") { // a write interrupted by a crash
			os.Remove(path)
			continue
		}
		if e.IsDir() || !strings.HasSuffix(e.Name(), pidSuffix) {
			continue
		}
		rec, err := readPidRecord(path)
		if err != nil {
			log.Warn("ignoring unreadable instance pid record", "path", path, "err", err)
			os.Remove(path)
			continue
		}
		if reason := leftover(rec); reason != "" {
			log.Debug("recorded instance process not killed", "pid", rec.PID, "record", path, "reason", reason)
			if reason != workerRuns {
				os.Remove(path)
			}
			continue
		}
		log.Warn("killing instance process left behind by a previous worker", "pid", rec.PID,
			"previous_worker_pid", rec.Worker, "record", path)
		// The instance led its own process group: take whatever it spawned too.
		if err := syscall.Kill(-rec.PID, syscall.SIGKILL); err != nil {
			_ = syscall.Kill(rec.PID, syscall.SIGKILL)
		}
		killed = append(killed, rec.PID)
		os.Remove(path)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range killed {
		for running(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if running(pid) {
			log.Error("instance process left behind still there after SIGKILL", "pid", pid)
		}
	}
	return len(killed)
}

// workerRuns is why a recorded process is kept along with its record.
const workerRuns = "its worker still runs"

// leftover returns "" if rec's process is one to kill, else why not.
func leftover(rec pidRecord) string {
	start, err := procStartTime(rec.PID)
	if err != nil {
		return "gone"
	}
	if start != rec.Start {
		return "pid reused by another process"
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(rec.PID) + "/cmdline")
	if err != nil {
		return "gone"
	}
	args := strings.Split(string(bytes.TrimSuffix(cmdline, []byte{0})), "\x00")
	if !slices.Equal(args, rec.Argv) {
		return "runs another command line"
	}
	if ppid, err := procParent(rec.PID); err == nil && ppid == rec.Worker {
		return workerRuns
	}
	return ""
}

// procStat returns the fields of /proc/<pid>/stat after the command name
// (field 3 onwards), or an error for a process that is gone or a zombie.
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return nil, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f))
	}
	if f[0] == "Z" || f[0] == "X" {
		return nil, fmt.Errorf("process %d: %w", pid, os.ErrProcessDone)
	}
	return f, nil
}

// procStartTime is the process's start time in clock ticks since boot.
func procStartTime(pid int) (uint64, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(f[19], 10, 64) // field 22
}

// procParent is the process's parent pid.
func procParent(pid int) (int, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(f[1]) // field 4
}

// running tells whether pid is a live (not zombie) process.
func running(pid int) bool {
	_, err := procStat(pid)
	return err == nil
}
