package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// RPCTimeout bounds a health check of an instance (Java GRPC_TIMEOUT_SECS).
const RPCTimeout = 5 * time.Second

// QueryTimeout bounds a Status or Metrics call to one instance: an instance
// that hangs (e.g. stopped with SIGSTOP) made every status and /metrics
// request on its worker take 5-10 s (issue 12). A healthy instance answers
// on loopback in milliseconds.
const QueryTimeout = 2 * time.Second

// maxHealthFailures is how many consecutive failed health checks make the
// worker kill and restart a running instance. It is the instance's own rule
// (Java and Python instances stop themselves after 3 intervals without a
// check), applied from outside for an instance too stuck to apply it.
const maxHealthFailures = 3

// killWait bounds the wait for a process to disappear after SIGKILL.
const killWait = 30 * time.Second

// portPoll is how often a starting instance's gRPC port is tried until it
// accepts a connection: a TCP connect on loopback costs microseconds, and
// the first health check should follow the port opening at once (issue 10).
const portPoll = 50 * time.Millisecond

// reconnectMaxDelay caps gRPC's reconnect backoff to an instance. The
// default (1 s growing 1.6x up to 120 s) put the first health check of a
// slow-starting JVM 6-19 s after its server was up, past the instance's own
// patience of three health-check intervals.
const reconnectMaxDelay = time.Second

// dialInstance returns a gRPC client for the instance on 127.0.0.1:port; it
// connects lazily and reconnects with a short, capped backoff.
func dialInstance(port int) (*grpc.ClientConn, error) {
	return grpc.NewClient("127.0.0.1:"+strconv.Itoa(port),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay:  100 * time.Millisecond,
				Multiplier: 1.6,
				Jitter:     0.2,
				MaxDelay:   reconnectMaxDelay,
			},
			MinConnectTimeout: RPCTimeout,
		}))
}

// Errors returned by Status, Metrics and Restart (wrapped).
var (
	// ErrNotFound means the instance is not assigned to this worker.
	ErrNotFound = errors.New("instance not assigned to this worker")
	// ErrNotRunning means the instance has no live process right now.
	ErrNotRunning = errors.New("instance not running")
)

// Fetcher makes an instance's package available locally.
type Fetcher interface {
	// Fetch returns the local package file, ready to run (executable for Go).
	Fetch(ctx context.Context, inst *pb.Instance) (path string, err error)
}

// TransformFetcher is implemented by Fetchers that can also fetch the
// transform function package of a sink (FunctionMetaData.transformFunctionPackageLocation).
type TransformFetcher interface {
	// FetchTransform returns the local transform function package file.
	FetchTransform(ctx context.Context, inst *pb.Instance) (path string, err error)
}

// State is where an instance is in its lifecycle.
type State string

// Instance states.
const (
	StateStarting State = "starting" // fetching, launching, or waiting for its first health check
	StateRunning  State = "running"  // answered a health check
	StateBackoff  State = "backoff"  // waiting to restart after a crash or failed start
	StateFailed   State = "failed"   // cannot be started as configured; waits for a change or Restart
	StateStopping State = "stopping" // being stopped (removed or replaced)
	StateStopped  State = "stopped"  // assigned but not to be run (instanceStates says STOPPED), or stopped
)

// InstanceInfo is a snapshot of one instance for status lines and metrics.
type InstanceInfo struct {
	FQFN        string // tenant/namespace/name
	InstanceID  int
	PID         int // 0 when no process runs
	State       State
	Since       time.Time // when State was entered
	Restarts    int64     // restarts after crashes and failed starts
	LastError   string    // the last exit reason or start failure
	GRPCPort    int
	MetricsPort int // Prometheus endpoint of the instance (0 before the first start)
	// Unresponsive says why, while the running process fails its health
	// checks; asking it anything would only wait for a deadline.
	Unresponsive string
}

// Manager runs the instances assigned to this worker.
type Manager struct {
	opts    Options
	fetch   Fetcher
	launch  Launcher
	adopter Adopter // non-nil when processes outlive the worker (see Adopter)
	log     *slog.Logger
	backoff Backoff

	// Replaced in tests.
	newUUID  func() string
	freePort func() (int, error)

	wake chan struct{}

	mu        sync.Mutex
	desired   []*pb.Assignment
	applied   bool                 // Apply was called: desired is this worker's real set
	instances map[string]*instance // assigned to us (or adopted, until the first Apply), by InstanceKey
	draining  map[string]*instance // stopping after removal or replacement, by key
	running   bool
	wg        sync.WaitGroup // supervisor goroutines
}

// NewManager returns a Manager; nothing starts before Run.
func NewManager(opts Options, fetch Fetcher, launch Launcher) *Manager {
	opts = opts.withDefaults()
	var adopter Adopter
	if a, ok := launch.(Adopter); ok && opts.StateDir != "" {
		adopter = a
	}
	return &Manager{
		opts:      opts,
		adopter:   adopter,
		fetch:     fetch,
		launch:    launch,
		log:       opts.Logger.With("component", "runtime"),
		backoff:   Backoff{Initial: opts.BackoffInitial, Max: opts.BackoffMax, Reset: opts.BackoffReset},
		newUUID:   newUUID,
		freePort:  freePort,
		wake:      make(chan struct{}, 1),
		instances: map[string]*instance{},
		draining:  map[string]*instance{},
	}
}

// instance is one assigned instance; a supervisor goroutine runs it unless it
// is not to be started.
type instance struct {
	key  string
	fqfn string
	id   int32
	inst *pb.Instance // as assigned; never modified

	// Set before the supervisor starts; read-only afterwards.
	cancel  context.CancelFunc
	done    chan struct{} // closed when the supervisor has stopped everything
	restart chan struct{} // Restart requests (capacity 1)
	detach  atomic.Bool   // the worker stops: leave the process running for the next one

	mu          sync.Mutex
	state       State
	since       time.Time
	pid         int
	restarts    int64
	lastErr     string
	client      pb.InstanceControlClient // non-nil while a process is up
	unhealthy   string                   // why health checks of the process fail; blank while they pass
	grpcPort    int
	metricsPort int
	funcID      string // UUIDs kept for the instance's lifetime, like its ports
	funcVersion string
	transformID string // a sink's transform function: its own UUID, as Java's
}

func (in *instance) setState(s State) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.state != s {
		in.state, in.since = s, time.Now()
	}
}

func (in *instance) info() InstanceInfo {
	in.mu.Lock()
	defer in.mu.Unlock()
	return InstanceInfo{
		FQFN: in.fqfn, InstanceID: int(in.id), PID: in.pid, State: in.state, Since: in.since,
		Restarts: in.restarts, LastError: in.lastErr, GRPCPort: in.grpcPort, MetricsPort: in.metricsPort,
		Unresponsive: in.unhealthy,
	}
}

// Apply sets the full desired set of assignments for this worker (already
// filtered by workerId). It does not block: Run converges asynchronously.
// The messages are kept and must not be modified afterwards.
func (m *Manager) Apply(assigned []*pb.Assignment) {
	m.mu.Lock()
	m.desired = append([]*pb.Assignment(nil), assigned...)
	m.applied = true
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default: // a reconcile is already pending and will see this set
	}
}

// Run reconciles and supervises until ctx ends, then stops every instance
// (SIGTERM, grace period, SIGKILL) and returns nil. With an Adopter it
// leaves them running instead, recorded for the next worker.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.running {
		m.mu.Unlock()
		return errors.New("runtime manager: Run called twice")
	}
	m.running = true
	m.mu.Unlock()

	// Supervisors outlive ctx's cancellation long enough to stop their processes.
	base := context.WithoutCancel(ctx)
	prune := time.NewTicker(time.Minute)
	defer prune.Stop()
	m.reconcile(base)
	for {
		select {
		case <-ctx.Done():
			m.shutdown()
			return nil
		case <-m.wake:
			m.reconcile(base)
		case <-prune.C:
			m.mu.Lock()
			m.pruneDraining()
			m.mu.Unlock()
		}
	}
}

// reconcile converges the running instances to the last applied set.
func (m *Manager) reconcile(base context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.applied {
		return // nothing is known yet; adopted instances wait for the real set
	}
	desired := map[string]*pb.Instance{}
	for _, a := range m.desired {
		inst := a.GetInstance()
		d := inst.GetFunctionMetaData().GetFunctionDetails()
		if d == nil {
			m.log.Warn("ignoring assignment without function details", "assignment", a)
			continue
		}
		desired[instanceKey(inst)] = inst
	}
	for key, in := range m.instances {
		if want, ok := desired[key]; ok && proto.Equal(want, in.inst) {
			continue
		}
		m.retire(in)
	}
	m.pruneDraining()
	for _, key := range sortedKeys(desired) {
		if _, ok := m.instances[key]; ok {
			continue
		}
		inst := desired[key]
		in := &instance{
			key:   key,
			fqfn:  fqfn(inst.GetFunctionMetaData().GetFunctionDetails()),
			id:    inst.GetInstanceId(),
			inst:  inst,
			state: StateStopped,
			since: time.Now(),
		}
		m.instances[key] = in
		if !NeedsStart(inst) {
			m.log.Info("instance assigned but stopped", "instance", key)
			continue
		}
		var prev <-chan struct{}
		if old := m.draining[key]; old != nil {
			prev = old.done // the old process must be gone and its directory deleted first
		}
		ctx, cancel := context.WithCancel(base)
		in.cancel, in.done, in.restart = cancel, make(chan struct{}), make(chan struct{}, 1)
		in.state = StateStarting
		m.wg.Add(1)
		go m.supervise(ctx, in, prev, nil)
	}
}

// retire stops in (asynchronously) and forgets it as assigned. Caller holds m.mu.
func (m *Manager) retire(in *instance) {
	delete(m.instances, in.key)
	if in.cancel == nil {
		return // never started
	}
	m.log.Info("stopping instance", "instance", in.key)
	in.setState(StateStopping)
	in.cancel()
	m.draining[in.key] = in // a later one for the same key waited for earlier ones
}

// pruneDraining forgets stopped instances. Caller holds m.mu.
func (m *Manager) pruneDraining() {
	for key, in := range m.draining {
		select {
		case <-in.done:
			delete(m.draining, key)
		default:
		}
	}
}

func (m *Manager) shutdown() {
	m.mu.Lock()
	for _, in := range m.instances {
		if m.persists() {
			in.detach.Store(true)
		}
		m.retire(in)
	}
	m.mu.Unlock()
	m.wg.Wait()
	m.mu.Lock()
	m.pruneDraining()
	m.mu.Unlock()
}

// NeedsStart reports whether an assigned instance is to run (Java
// FunctionRuntimeManager.shouldStartInstance): yes without instanceStates,
// else as its instanceStates entry says (missing means RUNNING); an
// externally managed instance (id < 0) runs if any instance is RUNNING.
func NeedsStart(inst *pb.Instance) bool {
	states := inst.GetFunctionMetaData().GetInstanceStates()
	if len(states) == 0 {
		return true
	}
	if inst.GetInstanceId() < 0 {
		for _, s := range states {
			if s == pb.FunctionState_RUNNING {
				return true
			}
		}
		return false
	}
	s, ok := states[inst.GetInstanceId()]
	return !ok || s == pb.FunctionState_RUNNING
}

func (m *Manager) lookup(fqfn string, instanceID int) *instance {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.instances[InstanceKey(fqfn, instanceID)]
}

// Status returns the instance's live status over gRPC, overlaid with the
// restart count, instance id and (when it is not running) the last exit
// reason, as the Java worker's RuntimeSpawner does. An instance that fails
// its health checks is not asked (it would only time out): its status says
// why it is not running. The call waits at most QueryTimeout.
func (m *Manager) Status(ctx context.Context, fqfn string, instanceID int) (*pb.FunctionStatus, error) {
	key := InstanceKey(fqfn, instanceID)
	in := m.lookup(fqfn, instanceID)
	if in == nil {
		return nil, fmt.Errorf("status of %s: %w", key, ErrNotFound)
	}
	in.mu.Lock()
	client, restarts, lastErr, state, unhealthy := in.client, in.restarts, in.lastErr, in.state, in.unhealthy
	in.mu.Unlock()
	st := &pb.FunctionStatus{}
	switch {
	case client != nil && unhealthy != "":
		lastErr = "instance not responding: " + unhealthy
	case client != nil:
		cctx, cancel := context.WithTimeout(ctx, QueryTimeout)
		live, err := client.GetFunctionStatus(cctx, &emptypb.Empty{})
		cancel()
		if err == nil {
			st = live
		} else {
			lastErr = fmt.Sprintf("instance %s: status not answered: %v", state, err)
		}
	case lastErr == "" && state != StateRunning && state != StateStopped:
		// A stopped instance has no error, as on the Java worker.
		lastErr = "instance " + string(state)
	}
	st.NumRestarts = restarts
	st.InstanceId = strconv.Itoa(instanceID)
	if !st.GetRunning() && lastErr != "" {
		st.FailureException = lastErr
	}
	return st, nil
}

// Metrics returns the instance's metrics over gRPC (GetMetrics), waiting at
// most QueryTimeout; an instance failing its health checks is not asked.
func (m *Manager) Metrics(ctx context.Context, fqfn string, instanceID int) (*pb.MetricsData, error) {
	key := InstanceKey(fqfn, instanceID)
	in := m.lookup(fqfn, instanceID)
	if in == nil {
		return nil, fmt.Errorf("metrics of %s: %w", key, ErrNotFound)
	}
	in.mu.Lock()
	client, unhealthy := in.client, in.unhealthy
	in.mu.Unlock()
	if client == nil {
		return nil, fmt.Errorf("metrics of %s: %w", key, ErrNotRunning)
	}
	if unhealthy != "" {
		return nil, fmt.Errorf("metrics of %s: %w: not responding: %s", key, ErrNotRunning, unhealthy)
	}
	cctx, cancel := context.WithTimeout(ctx, QueryTimeout)
	defer cancel()
	md, err := client.GetMetrics(cctx, &emptypb.Empty{})
	if err != nil {
		return nil, fmt.Errorf("metrics of %s: %w", key, err)
	}
	return md, nil
}

// Restart stops the instance's process and starts it again at once (also out
// of backoff or a failed state).
func (m *Manager) Restart(fqfn string, instanceID int) error {
	key := InstanceKey(fqfn, instanceID)
	in := m.lookup(fqfn, instanceID)
	if in == nil {
		return fmt.Errorf("restart %s: %w", key, ErrNotFound)
	}
	if in.restart == nil {
		return fmt.Errorf("restart %s: instance is stopped in its function's metadata: %w", key, ErrNotRunning)
	}
	select {
	case in.restart <- struct{}{}:
	default: // one is pending already
	}
	return nil
}

// Instances returns a snapshot of the assigned instances, sorted by key.
func (m *Manager) Instances() []InstanceInfo {
	m.mu.Lock()
	keys := sortedKeys(m.instances)
	list := make([]*instance, len(keys))
	for i, k := range keys {
		list[i] = m.instances[k]
	}
	m.mu.Unlock()
	out := make([]InstanceInfo, len(list))
	for i, in := range list {
		out[i] = in.info()
	}
	return out
}

// permanentError marks start failures that retrying cannot fix.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// supervise runs one instance until ctx ends: start (or take over adopted,
// a process a previous worker started), watch, restart with backoff, and
// finally stop and clean up, unless the instance is detached.
func (m *Manager) supervise(ctx context.Context, in *instance, prev <-chan struct{}, adopted Process) {
	log := m.log.With("instance", in.key)
	defer m.wg.Done()
	defer close(in.done)
	if prev != nil {
		// Whatever happens, do not report done before the predecessor is.
		defer func() { <-prev }()
		select {
		case <-prev:
		case <-ctx.Done():
			in.setState(StateStopped)
			return
		}
	}
	defer func() {
		if !in.detach.Load() {
			m.cleanup(in, log)
		}
	}()

	failures := 0
	for ctx.Err() == nil {
		in.setState(StateStarting)
		var (
			proc Process
			conn *grpc.ClientConn
			err  error
		)
		started := time.Now()
		if adopted != nil {
			proc, adopted = adopted, nil
			conn, err = m.resume(in, proc)
			if err != nil { // cannot be reached: replace it
				log.Warn("cannot resume adopted instance, restarting it", "err", err)
				m.stop(proc, log)
				m.removeRecord(m.procName(in), log)
				continue
			}
		} else {
			proc, conn, err = m.start(ctx, in, log)
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			in.mu.Lock()
			in.lastErr = err.Error()
			in.mu.Unlock()
			var perm permanentError
			if errors.As(err, &perm) {
				log.Error("instance cannot start", "err", err)
				in.setState(StateFailed)
				if !m.wait(ctx, in, -1) {
					break
				}
				failures = 0
				continue
			}
			failures = m.backoff.Next(failures, 0)
			delay := m.backoff.Delay(failures)
			in.mu.Lock()
			in.restarts++
			in.mu.Unlock()
			log.Warn("instance start failed", "err", err, "retry_in", delay)
			in.setState(StateBackoff)
			if !m.wait(ctx, in, delay) {
				break
			}
			continue
		}

		exit, exited := m.watch(ctx, in, proc, conn, log)
		conn.Close()
		in.mu.Lock()
		in.pid, in.client, in.unhealthy = 0, nil, ""
		in.mu.Unlock()
		if in.detach.Load() && !exited {
			log.Info("leaving instance running for the next worker", "pid", proc.Pid())
			return
		}
		m.removeRecord(m.procName(in), log)
		if !exited { // stop or restart requested
			if ctx.Err() != nil {
				break
			}
			log.Info("instance restarted on request")
			failures = 0
			continue
		}
		uptime := time.Since(started)
		failures = m.backoff.Next(failures, uptime)
		delay := m.backoff.Delay(failures)
		reason := "instance process ended: " + exit.String()
		in.mu.Lock()
		in.restarts++
		in.lastErr = reason
		in.mu.Unlock()
		log.Warn("instance process ended", "pid", proc.Pid(), "exit", exit.String(), "uptime", uptime.Round(time.Millisecond), "restart_in", delay)
		in.setState(StateBackoff)
		if !m.wait(ctx, in, delay) {
			break
		}
	}
	in.setState(StateStopped)
}

// wait sleeps for d (forever if d < 0) and reports true when it is time to
// start again (the sleep ended or a restart was requested), false when ctx ended.
func (m *Manager) wait(ctx context.Context, in *instance, d time.Duration) bool {
	var timeout <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-in.restart:
		return true
	case <-timeout:
		return true
	}
}

// start fetches the package, builds the command line and launches the process.
func (m *Manager) start(ctx context.Context, in *instance, log *slog.Logger) (Process, *grpc.ClientConn, error) {
	inst := in.inst
	d := inst.GetFunctionMetaData().GetFunctionDetails()
	pkg, err := m.fetch.Fetch(ctx, inst)
	if err != nil {
		return nil, nil, fmt.Errorf("fetch package of %s: %w", in.key, err)
	}
	p := launchParams{details: d, instanceID: in.id, packagePath: pkg}
	if tp := inst.GetFunctionMetaData().GetTransformFunctionPackageLocation().GetPackagePath(); tp != "" {
		tf, ok := m.fetch.(TransformFetcher)
		if !ok {
			return nil, nil, permanentError{fmt.Errorf("start %s: transform function packages are not supported by this worker's package fetcher", in.key)}
		}
		if p.transformPath, err = tf.FetchTransform(ctx, inst); err != nil {
			return nil, nil, fmt.Errorf("fetch transform function package of %s: %w", in.key, err)
		}
	}
	if err := m.assignPorts(in, log); err != nil {
		return nil, nil, fmt.Errorf("start %s: %w", in.key, err)
	}
	in.mu.Lock()
	p.functionID, p.functionVersion = in.funcID, in.funcVersion
	p.grpcPort, p.metricsPort = in.grpcPort, in.metricsPort
	if p.transformPath != "" {
		p.transformID = in.transformID
	}
	in.mu.Unlock()
	cmd, err := buildCommand(&m.opts, p)
	if err != nil {
		return nil, nil, permanentError{fmt.Errorf("build command line of %s: %w", in.key, err)}
	}
	// Java creates the log directory before spawning, to avoid races between instances.
	logDir := functionLogDir(m.opts.instanceLogDir(), d)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("start %s: create log directory: %w", in.key, err)
	}
	res := d.GetResources()
	spec := ProcessSpec{
		Name:       unitName(d, in.id),
		Tenant:     d.GetTenant(),
		Namespace:  d.GetNamespace(),
		Function:   d.GetName(),
		InstanceID: int(in.id),
		Argv:       cmd.argv,
		Env:        cmd.env,
		Dir:        m.instanceDir(),
		OutputFile: filepath.Join(logDir, d.GetName()+"-"+strconv.Itoa(int(in.id))+".out"),
		Resources:  Resources{CPU: res.GetCpu(), RAMBytes: res.GetRam(), DiskBytes: res.GetDisk()},
	}
	conn, err := dialInstance(p.grpcPort)
	if err != nil {
		return nil, nil, permanentError{fmt.Errorf("start %s: gRPC client: %w", in.key, err)}
	}
	proc, err := m.launch.Start(ctx, spec)
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("start instance %s: %w", in.key, err)
	}
	log.Info("instance process started", "pid", proc.Pid(), "grpc_port", p.grpcPort, "metrics_port", p.metricsPort,
		"output", spec.OutputFile)
	in.mu.Lock()
	in.pid, in.client = proc.Pid(), pb.NewInstanceControlClient(conn)
	in.mu.Unlock()
	if m.persists() {
		if err := m.writeRecord(in, spec.Name, time.Now()); err != nil {
			// It runs, but the next worker will not find it: it would start
			// a second copy beside this one. Better to have none.
			m.stop(proc, log)
			conn.Close()
			in.mu.Lock()
			in.pid, in.client = 0, nil
			in.mu.Unlock()
			return nil, nil, fmt.Errorf("start instance %s: %w", in.key, err)
		}
	}
	return proc, conn, nil
}

// assignPorts picks the instance's ports and UUIDs on the first start; later
// starts reuse them (as the Java worker does), unless a port was taken meanwhile.
func (m *Manager) assignPorts(in *instance, log *slog.Logger) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.funcID == "" {
		in.funcID, in.funcVersion = m.newUUID(), m.newUUID()
	}
	if in.transformID == "" {
		in.transformID = m.newUUID()
	}
	for _, port := range []*int{&in.grpcPort, &in.metricsPort} {
		if *port != 0 && portFree(*port) {
			continue
		}
		old := *port
		for range 10 {
			p, err := m.freePort()
			if err != nil {
				return err
			}
			if p != in.grpcPort && p != in.metricsPort {
				*port = p
				break
			}
		}
		if *port == old {
			return errors.New("no free port found")
		}
		if old != 0 {
			log.Warn("instance port taken by another process, using a new one", "old", old, "new", *port)
		}
	}
	return nil
}

// watch health-checks the running process until it exits or is killed for
// failing maxHealthFailures health checks in a row (exited = true), or ctx
// ends or a restart is requested, in which case it stops the process.
func (m *Manager) watch(ctx context.Context, in *instance, proc Process, conn *grpc.ClientConn, log *slog.Logger) (exit ExitInfo, exited bool) {
	hctx, stopHealth := context.WithCancel(ctx)
	sick := make(chan string, 1)
	var hwg sync.WaitGroup
	hwg.Add(1)
	go func() {
		defer hwg.Done()
		m.healthLoop(hctx, in, conn, sick, log)
	}()
	defer func() {
		stopHealth()
		hwg.Wait()
	}()
	select {
	case exit = <-proc.Wait():
		return exit, true
	case why := <-sick:
		return m.kill(proc, why, log), true
	case <-ctx.Done():
		if in.detach.Load() {
			return ExitInfo{}, false
		}
	case <-in.restart:
	}
	m.stop(proc, log)
	return ExitInfo{}, false
}

// kill ends a process that stopped answering health checks. SIGKILL at once:
// a stopped (SIGSTOP) or wedged process would not act on SIGTERM.
func (m *Manager) kill(proc Process, why string, log *slog.Logger) ExitInfo {
	log.Warn("instance does not answer health checks, killing it", "pid", proc.Pid(), "reason", why)
	if err := proc.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		log.Error("SIGKILL failed", "pid", proc.Pid(), "err", err)
	}
	t := time.NewTimer(killWait)
	defer t.Stop()
	var exit ExitInfo
	select {
	case exit = <-proc.Wait():
	case <-t.C:
		log.Error("instance process still there after SIGKILL", "pid", proc.Pid())
		exit = ExitInfo{Code: -1, Err: errors.New("process still there after SIGKILL")}
	}
	exit.Cause = "killed after it stopped answering health checks: " + why
	return exit
}

// healthLoop sends HealthCheck RPCs. Until the first success, which marks
// the instance running, it tries the instance's gRPC port every portPoll and
// sends a health check the moment the port accepts, so a starting instance
// is checked well inside its self-kill window however long it took to
// listen; then it checks every HealthCheckInterval, which keeps Java and
// Python instances from killing themselves after 3 intervals. After
// maxHealthFailures failures in a row it sends why on sick and returns.
func (m *Manager) healthLoop(ctx context.Context, in *instance, conn *grpc.ClientConn, sick chan<- string, log *slog.Logger) {
	client := pb.NewInstanceControlClient(conn)
	begin := time.Now() // the process was started (or adopted) just before
	interval := m.opts.HealthCheckInterval
	// A check that takes longer than the interval is as good as failed.
	timeout := RPCTimeout
	if interval > 0 && interval < timeout {
		timeout = interval
	}
	in.mu.Lock()
	port := in.grpcPort
	in.mu.Unlock()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	healthy, listening := false, false
	t := time.NewTimer(0)
	defer t.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !listening {
			if !portOpen(ctx, addr) {
				t.Reset(portPoll)
				continue
			}
			listening = true
			log.Debug("instance gRPC port accepts connections", "after_start", time.Since(begin).Round(time.Millisecond))
			// The shared channel may be waiting out a reconnect backoff; a channel of
			// the loop's own, made now, has never failed and connects at once.
			// (Not conn.ResetConnectBackoff: in grpc-go 1.85 it reads the channel's
			// connections without its lock, a data race the race detector reports.)
			if own, err := dialInstance(port); err == nil {
				defer func() { _ = own.Close() }()
				client = pb.NewInstanceControlClient(own)
			}
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		// Until it has answered once, wait for the connection rather than
		// fail at once while the channel is still connecting.
		res, err := client.HealthCheck(cctx, &emptypb.Empty{}, grpc.WaitForReady(!healthy))
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err == nil && res.GetSuccess():
			if failures > 0 {
				log.Info("instance answers health checks again", "after_failures", failures)
			}
			failures = 0
			in.mu.Lock()
			in.unhealthy = ""
			in.mu.Unlock()
			if !healthy {
				healthy = true
				in.setState(StateRunning)
				log.Info("instance is healthy", "after_start", time.Since(begin).Round(time.Millisecond))
			}
		case healthy:
			failures++
			if err == nil {
				err = errors.New("health check answered unsuccessful")
			}
			why := fmt.Sprintf("%d consecutive health checks failed, the last at %s: %v",
				failures, time.Now().UTC().Format(time.RFC3339), err)
			in.mu.Lock()
			in.unhealthy = why
			in.mu.Unlock()
			log.Warn("instance health check failed", "err", err, "consecutive", failures)
			if failures >= maxHealthFailures {
				sick <- why
				return
			}
		}
		next := startRetry
		if healthy {
			if interval <= 0 {
				return
			}
			next = interval
		}
		t.Reset(next)
	}
}

// startRetry is the wait between health checks of a starting instance whose
// port accepts connections but which has not answered one successfully yet.
const startRetry = 250 * time.Millisecond

// portOpen tells whether something accepts TCP connections on addr.
func portOpen(ctx context.Context, addr string) bool {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// stop ends a process: SIGTERM, StopGracePeriod, then SIGKILL.
func (m *Manager) stop(proc Process, log *slog.Logger) {
	if err := proc.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		log.Warn("SIGTERM failed", "pid", proc.Pid(), "err", err)
	}
	grace := time.NewTimer(m.opts.StopGracePeriod)
	defer grace.Stop()
	select {
	case exit := <-proc.Wait():
		exit.Output = "" // the last lines are for crashes; this one was asked to stop
		log.Info("instance process stopped", "pid", proc.Pid(), "exit", exit.String())
		return
	case <-grace.C:
	}
	log.Warn("instance process did not exit within the grace period, killing it", "pid", proc.Pid(), "grace", m.opts.StopGracePeriod)
	if err := proc.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		log.Error("SIGKILL failed", "pid", proc.Pid(), "err", err)
	}
	kill := time.NewTimer(killWait)
	defer kill.Stop()
	select {
	case <-proc.Wait():
	case <-kill.C:
		log.Error("instance process still there after SIGKILL", "pid", proc.Pid())
	}
}

// Cleaner is implemented by fetchers that keep local copies to release when
// an instance stops.
type Cleaner interface {
	Cleanup(inst *pb.Instance) error
}

// cleanup deletes <downloadDirectory>/<tenant>/<namespace>/<name>/<instanceId>,
// as the Java worker does when it stops an instance.
func (m *Manager) cleanup(in *instance, log *slog.Logger) {
	if m.opts.DownloadDir == "" {
		return
	}
	d := in.inst.GetFunctionMetaData().GetFunctionDetails()
	dir := filepath.Join(m.opts.DownloadDir, d.GetTenant(), d.GetNamespace(), d.GetName(), strconv.Itoa(int(in.id)))
	if rel, err := filepath.Rel(m.opts.DownloadDir, dir); err != nil || rel == "." || !filepath.IsLocal(rel) {
		log.Error("not deleting download directory outside downloadDirectory", "dir", dir)
		return
	}
	if c, ok := m.fetch.(Cleaner); ok {
		// The fetcher also drops cached packages no instance uses any more.
		if err := c.Cleanup(in.inst); err != nil {
			log.Warn("clean up package", "err", err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		log.Warn("delete download directory", "dir", dir, "err", err)
		return
	}
	// The function's, namespace's and tenant's directories go too once
	// empty, so a deleted function leaves nothing behind. os.Remove fails
	// on a directory another instance still uses, which is what we want.
	for p := filepath.Dir(dir); p != filepath.Clean(m.opts.DownloadDir) && strings.HasPrefix(p, m.opts.DownloadDir); p = filepath.Dir(p) {
		if os.Remove(p) != nil {
			break
		}
	}
}

// instanceDir is the instances' working directory: the Pulsar distribution,
// as for the Java worker's instances, when it is there (an appliance that
// runs only Go functions may have none); else the worker's own.
func (m *Manager) instanceDir() string {
	if st, err := os.Stat(m.opts.PulsarHome); err == nil && st.IsDir() {
		return m.opts.PulsarHome
	}
	return ""
}
