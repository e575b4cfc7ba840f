package systemd

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/runtime"
)

// DefaultSlice is the slice instance scopes are placed under.
const DefaultSlice = "pulsar-functions.slice"

// ScopeOptions configures the scope launcher.
type ScopeOptions struct {
	// Slice the scopes go under (default pulsar-functions.slice).
	Slice string
	// Self is the worker's own executable, re-executed as the small
	// "instance-exec" trampoline that joins the journal from inside the
	// scope before it execs the instance.
	Self string
	// TasksMax bounds the number of tasks of one instance (0: systemd's default).
	TasksMax uint64
	// MemoryPaddingPercent is added to the function's ram for MemoryMax: a
	// JVM needs room beyond its heap (-Xmx = ram).
	MemoryPaddingPercent int
}

// ScopeLauncher runs each instance in its own transient scope under the
// functions slice, created over D-Bus, so systemd enforces its CPU and memory
// limits, its output goes to the journal with fields naming the function, and
// it outlives the worker: a worker restart or upgrade does not stop it.
type ScopeLauncher struct {
	conn *sddbus.Conn
	opts ScopeOptions
}

// NewScopeLauncher connects to systemd on the system bus. It fails where
// there is no systemd, and the caller falls back to plain processes.
func NewScopeLauncher(ctx context.Context, o ScopeOptions) (*ScopeLauncher, error) {
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		return nil, fmt.Errorf("scope launcher: systemd is not running: %w", err)
	}
	conn, err := sddbus.NewSystemConnectionContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("scope launcher: connect to the system bus: %w", err)
	}
	if o.Slice == "" {
		o.Slice = DefaultSlice
	}
	if o.Self == "" {
		if o.Self, err = os.Executable(); err != nil {
			conn.Close()
			return nil, fmt.Errorf("scope launcher: find own executable: %w", err)
		}
	}
	return &ScopeLauncher{conn: conn, opts: o}, nil
}

// Close closes the bus connection; scopes keep running.
func (l *ScopeLauncher) Close() { l.conn.Close() }

// UnitName is the scope unit of an instance.
func UnitName(spec runtime.ProcessSpec) string {
	name := spec.Name
	if name == "" {
		name = "pulsar-fn-" + spec.Tenant + "-" + spec.Namespace + "-" + spec.Function + "-" + strconv.Itoa(spec.InstanceID)
	}
	return escapeUnit(name) + ".scope"
}

// escapeUnit keeps the characters unit names allow and \x-escapes the rest,
// like systemd-escape.
func escapeUnit(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == ':', c == '_', c == '-', c == '.' && i > 0:
			b.WriteByte(c)
		case c == '/':
			b.WriteByte('-')
		default:
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	return b.String()
}

// Start starts the trampoline (stopped at a pipe), moves it into a new scope,
// then lets it go: it connects its output to the journal from inside the scope
// (so journald attributes it to the scope) and runs the
// instance.
func (l *ScopeLauncher) Start(ctx context.Context, spec runtime.ProcessSpec) (runtime.Process, error) {
	if len(spec.Argv) == 0 {
		return nil, fmt.Errorf("start %s: empty command line", spec.Name)
	}
	unit := UnitName(spec)
	syncR, syncW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", unit, err)
	}
	defer syncW.Close()
	args := []string{"instance-exec", "--identifier", strings.TrimSuffix(unit, ".scope")}
	for _, f := range journalFields(spec) {
		args = append(args, "--field", f)
	}
	args = append(append(args, "--"), spec.Argv...)
	cmd := exec.Command(l.opts.Self, args...)
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Dir = spec.Dir
	cmd.ExtraFiles = []*os.File{syncR}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		syncR.Close()
		return nil, fmt.Errorf("start %s: %w", unit, err)
	}
	syncR.Close()
	pid := cmd.Process.Pid
	if err := l.startScope(ctx, unit, spec, pid); err != nil {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return nil, fmt.Errorf("start %s: %w", unit, err)
	}
	if _, err := syncW.Write([]byte{1}); err != nil {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return nil, fmt.Errorf("start %s: release the instance: %w", unit, err)
	}
	p := &scopeProcess{l: l, unit: unit, pid: pid, done: make(chan runtime.ExitInfo, 1)}
	go func() {
		err := cmd.Wait()
		p.finish(exitInfo(err))
	}()
	return p, nil
}

func (l *ScopeLauncher) startScope(ctx context.Context, unit string, spec runtime.ProcessSpec, pid int) error {
	fqfn := spec.Tenant + "/" + spec.Namespace + "/" + spec.Function
	props := []sddbus.Property{
		sddbus.PropDescription("Pulsar function instance " + fqfn + ":" + strconv.Itoa(spec.InstanceID)),
		sddbus.PropSlice(l.opts.Slice),
		sddbus.PropPids(uint32(pid)),
		// CollectMode stays "inactive": a scope that failed (an OOM kill)
		// is kept until finish has read its Result, then reset.
	}
	if spec.Resources.CPU > 0 {
		props = append(props, sddbus.Property{Name: "CPUQuotaPerSecUSec",
			Value: godbus.MakeVariant(uint64(math.Round(spec.Resources.CPU * 1e6)))})
	}
	if spec.Resources.RAMBytes > 0 {
		mem := uint64(spec.Resources.RAMBytes) * uint64(100+l.opts.MemoryPaddingPercent) / 100
		props = append(props, sddbus.Property{Name: "MemoryMax", Value: godbus.MakeVariant(mem)})
	}
	if l.opts.TasksMax > 0 {
		props = append(props, sddbus.Property{Name: "TasksMax", Value: godbus.MakeVariant(l.opts.TasksMax)})
	}
	// A failed scope of an earlier process of this instance that nobody
	// reset (its worker died first) would block the name.
	_ = l.conn.ResetFailedUnitContext(ctx, unit)
	done := make(chan string, 1)
	if _, err := l.conn.StartTransientUnitContext(ctx, unit, "fail", props, done); err != nil {
		return fmt.Errorf("create scope %s: %w", unit, err)
	}
	select {
	case res := <-done:
		if res != "done" {
			return fmt.Errorf("create scope %s: job %s", unit, res)
		}
	case <-ctx.Done():
		return fmt.Errorf("create scope %s: %w", unit, ctx.Err())
	}
	return nil
}

// Result is the scope's result property ("success", "oom-kill", ...), which
// tells a kernel OOM kill from other deaths.
func (l *ScopeLauncher) Result(ctx context.Context, unit string) string {
	p, err := l.conn.GetUnitTypePropertyContext(ctx, unit, "Scope", "Result")
	if err != nil {
		return ""
	}
	s, _ := p.Value.Value().(string)
	return s
}

type scopeProcess struct {
	l       *ScopeLauncher
	unit    string
	pid     int
	adopted bool // started by a previous worker: not our child
	done    chan runtime.ExitInfo
	once    sync.Once
}

func (p *scopeProcess) Pid() int                      { return p.pid }
func (p *scopeProcess) Wait() <-chan runtime.ExitInfo { return p.done }

// Signal signals every process of the scope.
func (p *scopeProcess) Signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("signal %s: unsupported signal %v", p.unit, sig)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.l.conn.KillUnitWithTarget(ctx, p.unit, sddbus.All, int32(s)); err != nil {
		return fmt.Errorf("signal %s with %v: %w", p.unit, s, err)
	}
	return nil
}

func (p *scopeProcess) finish(info runtime.ExitInfo) {
	p.once.Do(func() {
		// The kernel's OOM killer sends SIGKILL; only systemd knows why.
		switch result := p.l.settle(p.unit); {
		case result == "oom-kill":
			info.Cause = "killed by the kernel's OOM killer: the instance exceeded its MemoryMax (the function's ram)"
		case p.adopted:
			// Not our child: its exit status went to the previous worker.
			info.Cause = fmt.Sprintf("process ended; it was started by a previous worker, so its exit status is unknown (scope result %q)", result)
		}
		p.done <- info
		close(p.done)
	})
}

// settle waits (briefly) until systemd has seen the scope's processes end,
// returns its Result and resets it if it failed, so the unit goes away and
// its name can be used again.
func (l *ScopeLauncher) settle(unit string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		p, err := l.conn.GetUnitPropertyContext(ctx, unit, "ActiveState")
		state := ""
		if err == nil {
			state, _ = p.Value.Value().(string)
		}
		if err != nil || (state != "active" && state != "deactivating") {
			break
		}
		select {
		case <-ctx.Done():
			return ""
		case <-time.After(50 * time.Millisecond):
		}
	}
	result := l.Result(ctx, unit)
	_ = l.conn.ResetFailedUnitContext(ctx, unit)
	return result
}

// Adopt implements runtime.Adopter: the instance process pid that a
// previous worker started as name must still run, in its active scope.
func (l *ScopeLauncher) Adopt(ctx context.Context, name string, pid int) (runtime.Process, error) {
	unit := UnitName(runtime.ProcessSpec{Name: name})
	// The descriptor first, so the checks below are about this very process
	// and not one that reused its pid.
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, fmt.Errorf("adopt %s: pid %d: %w", unit, pid, err)
	}
	fail := func(err error) (runtime.Process, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("adopt %s: %w", unit, err)
	}
	prop, err := l.conn.GetUnitPropertyContext(ctx, unit, "ActiveState")
	if err != nil {
		return fail(err)
	}
	if state, _ := prop.Value.Value().(string); state != "active" {
		return fail(fmt.Errorf("scope is %s", state))
	}
	cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return fail(err)
	}
	if !strings.Contains(string(cg), "/"+unit+"\n") && !strings.HasSuffix(strings.TrimSpace(string(cg)), "/"+unit) {
		return fail(fmt.Errorf("pid %d is not in the scope (cgroup %s)", pid, strings.TrimSpace(string(cg))))
	}
	p := &scopeProcess{l: l, unit: unit, pid: pid, adopted: true, done: make(chan runtime.ExitInfo, 1)}
	go func() {
		defer unix.Close(fd)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			if _, err := unix.Poll(fds, -1); err == nil || !errors.Is(err, unix.EINTR) {
				break
			}
		}
		p.finish(runtime.ExitInfo{Code: -1})
	}()
	return p, nil
}

func exitInfo(err error) runtime.ExitInfo {
	info := runtime.ExitInfo{Code: 0}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			info.Code, info.Signal = -1, ws.Signal()
			return info
		}
		info.Code = ee.ExitCode()
		return info
	} else if err != nil {
		info.Code, info.Err = -1, err
	}
	return info
}

// journalFields name the instance on every line of its output in the
// journal: journalctl PULSAR_FUNCTION=tenant/ns/name.
func journalFields(spec runtime.ProcessSpec) []string {
	return []string{
		"PULSAR_FUNCTION=" + spec.Tenant + "/" + spec.Namespace + "/" + spec.Function,
		"PULSAR_TENANT=" + spec.Tenant,
		"PULSAR_NAMESPACE=" + spec.Namespace,
		"PULSAR_FUNCTION_NAME=" + spec.Function,
		"PULSAR_INSTANCE=" + strconv.Itoa(spec.InstanceID),
	}
}
