package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/packages"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/runtime"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/systemd"
)

// defaultPulsarHome is where the Pulsar distribution (its instance runtimes)
// is looked for when PULSAR_HOME is not set.
const defaultPulsarHome = "/opt/pulsar"

// pulsarHome is the Pulsar distribution the Java and Python instances come
// from: $PULSAR_HOME, as bin/pulsar sets it for the Java worker.
func pulsarHome() string {
	if h := os.Getenv("PULSAR_HOME"); h != "" {
		return h
	}
	return defaultPulsarHome
}

// instanceStateDir is where, with scopes, the worker records the instances
// it runs for the next worker to adopt: under the unit's RuntimeDirectory=
// (kept across restarts by RuntimeDirectoryPreserve=yes). Outside the unit
// there is none, and instances stop with the worker.
func instanceStateDir() string {
	if dir, _, _ := strings.Cut(os.Getenv("RUNTIME_DIRECTORY"), ":"); dir != "" {
		return filepath.Join(dir, "instances")
	}
	return ""
}

// plainPidDir is where plain instance processes are recorded, for the next
// worker to kill those a crashed one left behind: beside the packages'
// cache in downloadDirectory, which is this worker's own and outlives it.
func plainPidDir(downloadDir string) string {
	if downloadDir == "" {
		downloadDir = "download/pulsar_functions" // the shipped yml's value, as packages resolves it
	}
	if abs, err := filepath.Abs(downloadDir); err == nil {
		downloadDir = abs
	}
	return filepath.Join(downloadDir, ".instance-pids")
}

// launcher picks how instances run: in transient systemd scopes when systemd
// and its bus are there, else as plain child processes.
func (d *Daemon) launcher(ctx context.Context) (l runtime.Launcher, stateDir string) {
	scopes, err := systemd.NewScopeLauncher(ctx, systemd.ScopeOptions{})
	if err != nil {
		pl := runtime.ProcessLauncher{PidDir: plainPidDir(d.cfg.DownloadDirectory)}
		d.log.Info("running instances as plain processes", "reason", err, "pid_records", pl.PidDir)
		if n := pl.KillLeftovers(d.log.With("component", "runtime")); n > 0 {
			d.log.Warn("killed instance processes a previous worker left behind", "count", n)
		}
		return pl, ""
	}
	stateDir = instanceStateDir()
	d.log.Info("running instances in transient systemd scopes", "slice", systemd.DefaultSlice,
		"records", stateDir, "outlive_worker", stateDir != "")
	return scopes, stateDir
}

// prepareRuntime builds the runtime before the worker connects anywhere, and
// adopts the instances a previous worker left running in their scopes, so
// that their health checks resume within a second of the restart however
// long the broker takes. Packages are fetched once the store exists.
func (d *Daemon) prepareRuntime(ctx context.Context) {
	opts := runtime.OptionsFromConfig(d.cfg, pulsarHome())
	opts.Logger = d.log
	l, stateDir := d.launcher(ctx)
	opts.StateDir = stateDir
	d.fetcher = &lateFetcher{}
	d.runtime = runtime.NewManager(opts, d.fetcher, l)
	d.parts.Runtime = d.runtime
	if n := d.runtime.Adopt(ctx); n > 0 {
		d.log.Info("adopted instances left running by the previous worker", "count", n)
	}
}

// startInstances builds the package store and keeps the runtime fed with
// this worker's assignments.
func (d *Daemon) startInstances(ctx context.Context) error {
	store, err := packages.New(packages.OptionsFromConfig(d.cfg), d.broker, d.log.With("component", "packages"))
	if err != nil {
		return err
	}
	d.packages = store
	d.fetcher.store.Store(store)
	d.assignments.OnChange(d.applyAssignments)
	d.applyAssignments()
	d.instanceCounts = func() (running, failed int) {
		for _, in := range d.runtime.Instances() {
			switch in.State {
			case runtime.StateRunning:
				running++
			case runtime.StateBackoff, runtime.StateFailed:
				failed++
			}
		}
		return running, failed
	}
	return nil
}

// applyAssignments gives the runtime what this worker should run now.
func (d *Daemon) applyAssignments() {
	d.runtime.Apply(d.wanted(d.assignments.ForWorker(d.self.WorkerID)))
}

// feedInstances applies the assignments again every 10 s: the metadata also
// decides what runs (see wanted), and its changes do not call OnChange.
func (d *Daemon) feedInstances(ctx context.Context) error {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			d.applyAssignments()
		}
	}
}

// wanted drops assignments of functions the metadata no longer has, or of
// instance ids beyond the function's parallelism. A Java leader's tombstones
// have an empty payload and no properties, which pulsar-client-go readers
// discard as corrupt, so this worker cannot rely on seeing them.
func (d *Daemon) wanted(assigned []*pb.Assignment) []*pb.Assignment {
	out := assigned[:0:0]
	for _, a := range assigned {
		det := a.GetInstance().GetFunctionMetaData().GetFunctionDetails()
		md, ok := d.meta.Get(det.GetTenant(), det.GetNamespace(), det.GetName())
		if !ok || a.GetInstance().GetInstanceId() >= max(md.GetFunctionDetails().GetParallelism(), 1) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// lateFetcher is the package store, once the worker has connected and
// built it; the runtime exists (and adopts instances) before that.
type lateFetcher struct {
	store atomic.Pointer[packages.Store]
}

var errStoreNotReady = errors.New("package store not ready: the worker has not connected to the broker yet")

func (f *lateFetcher) Fetch(ctx context.Context, inst *pb.Instance) (string, error) {
	if s := f.store.Load(); s != nil {
		return s.Fetch(ctx, inst)
	}
	return "", errStoreNotReady
}

func (f *lateFetcher) FetchTransform(ctx context.Context, inst *pb.Instance) (string, error) {
	if s := f.store.Load(); s != nil {
		return s.FetchTransform(ctx, inst)
	}
	return "", errStoreNotReady
}

func (f *lateFetcher) Cleanup(inst *pb.Instance) error {
	if s := f.store.Load(); s != nil {
		return s.Cleanup(inst)
	}
	return errStoreNotReady
}
