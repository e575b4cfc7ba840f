package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Launcher starts instance processes. ProcessLauncher runs plain child
// processes; a systemd launcher can run them in transient scopes instead.
type Launcher interface {
	// Start starts the process described by spec. ctx bounds the start only;
	// the process outlives it and is ended through Process.Signal.
	Start(ctx context.Context, spec ProcessSpec) (Process, error)
}

// Process is a started instance process.
type Process interface {
	// Pid is the process id.
	Pid() int
	// Wait delivers one ExitInfo when the process has exited, then is closed.
	Wait() <-chan ExitInfo
	// Signal sends sig to the process (and whatever the launcher groups with it).
	Signal(sig os.Signal) error
}

// ProcessSpec describes one instance process.
type ProcessSpec struct {
	// Name is a unit-like name: pulsar-fn-<tenant>-<namespace>-<name>-<instanceId>, systemd-escaped.
	Name string
	// Tenant, Namespace, Function and InstanceID identify the instance (e.g. for journal fields).
	Tenant, Namespace, Function string
	InstanceID                  int
	// Argv is the command line; Argv[0] is looked up in PATH if it has no slash.
	Argv []string
	// Env holds KEY=VALUE pairs added to (or replacing those of) the worker's environment.
	Env []string
	// Dir is the working directory; blank means the worker's.
	Dir string
	// OutputFile receives the process's stdout and stderr (appended); blank discards them.
	OutputFile string
	// Resources are the function's requested resources (for launchers that enforce them).
	Resources Resources
}

// Resources are per-instance resource requests (FunctionDetails.resources).
type Resources struct {
	CPU       float64 // cores
	RAMBytes  int64
	DiskBytes int64
}

// ExitInfo says how a process ended.
type ExitInfo struct {
	// Code is the exit status, or -1 when the process was killed by a signal.
	Code int
	// Signal is the signal that killed the process, or 0.
	Signal syscall.Signal
	// Err is set when the exit status could not be learnt.
	Err error
	// Output is the last lines the process wrote to its output, if captured.
	Output string
	// Cause is why the process ended when the launcher knows better than
	// the exit status (e.g. the kernel's OOM killer sent the SIGKILL).
	Cause string
}

// String describes the exit, e.g. "exit code 1" or "killed by signal SIGKILL".
func (e ExitInfo) String() string {
	var s string
	switch {
	case e.Err != nil:
		s = "wait failed: " + e.Err.Error()
	case e.Signal != 0:
		s = "killed by signal " + signalName(e.Signal)
	default:
		s = fmt.Sprintf("exit code %d", e.Code)
	}
	switch {
	case e.Cause != "" && e.Err == nil && e.Signal == 0 && e.Code < 0:
		s = e.Cause // no status to add
	case e.Cause != "":
		s = e.Cause + " (" + s + ")"
	}
	if e.Output != "" {
		s += "; last output:\n" + e.Output
	}
	return s
}

func signalName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return fmt.Sprintf("%d", int(sig))
}

// ProcessLauncher starts instances as plain child processes, each in its own
// process group (so that stopping one reaches everything it spawned), with
// SIGKILL as parent-death signal: nothing would adopt them, and an orphan
// kept running beside the copy the next worker starts (see orphans.go).
type ProcessLauncher struct {
	// PidDir, when set, holds a record of each running process, so that
	// KillLeftovers in the next worker can end any that outlived this one.
	PidDir string
	// TailBytes is how much of the end of the output is attached to ExitInfo (default 2 KiB; negative: none).
	TailBytes int
	// TailLines bounds the number of lines attached (default 10).
	TailLines int
	// MaxOutputBytes is the size beyond which an output file is moved to
	// <file>.1 when the next process starts (default 10 MiB; negative: never).
	MaxOutputBytes int64
}

// Start implements Launcher.
func (l ProcessLauncher) Start(ctx context.Context, spec ProcessSpec) (Process, error) {
	if len(spec.Argv) == 0 {
		return nil, fmt.Errorf("start %s: empty command line", spec.Name)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	var out *os.File
	var offset int64
	if spec.OutputFile != "" {
		if err := os.MkdirAll(filepath.Dir(spec.OutputFile), 0o755); err != nil {
			return nil, fmt.Errorf("start %s: create output directory: %w", spec.Name, err)
		}
		rotate(spec.OutputFile, l.MaxOutputBytes)
		f, err := os.OpenFile(spec.OutputFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("start %s: open output file: %w", spec.Name, err)
		}
		defer f.Close() // the child keeps its own copy of the descriptor
		if st, err := f.Stat(); err == nil {
			offset = st.Size()
		}
		out = f
	}
	cmd := exec.Command(spec.Argv[0], spec.Argv[1:]...)
	cmd.Env = mergeEnv(os.Environ(), spec.Env)
	cmd.Dir = spec.Dir
	// Giving the child the file itself (not a pipe) means no copying goroutine
	// in the worker, and output keeps flowing if the worker goes away.
	if out != nil {
		cmd.Stdout, cmd.Stderr = out, out
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: parentDeathSignal}
	var err error
	onForkThread(func() { err = cmd.Start() })
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	p := &childProcess{cmd: cmd, pid: cmd.Process.Pid, done: make(chan ExitInfo, 1)}
	if l.PidDir != "" {
		if err := writePidRecord(l.PidDir, spec.Name, p.pid, cmd.Args); err != nil {
			// Unrecorded, it could outlive a crash of this worker unnoticed.
			_ = syscall.Kill(-p.pid, syscall.SIGKILL)
			_ = cmd.Wait()
			return nil, fmt.Errorf("start %s: %w", spec.Name, err)
		}
		p.pidDir, p.name = l.PidDir, spec.Name
	}
	tailBytes, tailLines := l.TailBytes, l.TailLines
	if tailBytes == 0 {
		tailBytes = 2048
	}
	if tailLines <= 0 {
		tailLines = 10
	}
	go p.wait(spec.OutputFile, offset, tailBytes, tailLines)
	return p, nil
}

type childProcess struct {
	cmd          *exec.Cmd
	pid          int
	done         chan ExitInfo
	pidDir, name string // its pid record, if any

	mu     sync.Mutex
	exited bool // guards against signalling a process group id the kernel may reuse
}

func (p *childProcess) Pid() int              { return p.pid }
func (p *childProcess) Wait() <-chan ExitInfo { return p.done }

// Signal sends sig to the whole process group.
func (p *childProcess) Signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("signal pid %d: unsupported signal %v", p.pid, sig)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited {
		return fmt.Errorf("signal pid %d: %w", p.pid, os.ErrProcessDone)
	}
	if err := syscall.Kill(-p.pid, s); err != nil {
		return fmt.Errorf("signal process group %d with %s: %w", p.pid, signalName(s), err)
	}
	return nil
}

func (p *childProcess) wait(outputFile string, offset int64, tailBytes, tailLines int) {
	err := p.cmd.Wait()
	p.mu.Lock()
	p.exited = true
	// Whatever the instance left behind in its group goes with it. The group id
	// stays reserved while any member lives, so this cannot hit a stranger.
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	p.mu.Unlock()
	if p.pidDir != "" {
		removePidRecord(p.pidDir, p.name, p.pid)
	}

	info := ExitInfo{Code: -1}
	var ee *exec.ExitError
	switch {
	case err == nil:
		info.Code = 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			info.Signal = ws.Signal()
		} else {
			info.Code = ee.ExitCode()
		}
	default:
		info.Err = err
	}
	if outputFile != "" && tailBytes > 0 {
		info.Output = tailOf(outputFile, offset, int64(tailBytes), tailLines)
	}
	p.done <- info
	close(p.done)
}

// rotate moves path to path.1 if it is larger than limit (default 10 MiB), so
// that a crash-looping instance cannot fill the disk with its output.
func rotate(path string, limit int64) {
	if limit == 0 {
		limit = 10 << 20
	}
	if st, err := os.Stat(path); limit > 0 && err == nil && st.Size() > limit {
		_ = os.Rename(path, path+".1") // best effort: appending to the big file is the fallback
	}
}

// tailOf returns up to maxLines last lines of what was written to path after offset.
func tailOf(path string, offset, maxBytes int64, maxLines int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() <= offset {
		return ""
	}
	start := max(offset, st.Size()-maxBytes)
	buf := make([]byte, st.Size()-start)
	if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
		return ""
	}
	if start > offset { // drop the partial first line
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	lines := strings.Split(strings.TrimRight(string(buf), "\n"), "\n")
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return strings.Join(lines, "\n")
}

// mergeEnv returns base with the KEY=VALUE pairs of extra added, replacing
// variables of the same name.
func mergeEnv(base, extra []string) []string {
	if len(extra) == 0 {
		return base
	}
	override := map[string]bool{}
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		override[k] = true
	}
	out := make([]string, 0, len(base)+len(extra))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if !override[k] {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}
