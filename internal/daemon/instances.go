package daemon

import (
	"context"
	"os"
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

// launcher picks how instances run: in transient systemd scopes when systemd
// and its bus are there, else as plain child processes.
func (d *Daemon) launcher(ctx context.Context) runtime.Launcher {
	scopes, err := systemd.NewScopeLauncher(ctx, systemd.ScopeOptions{})
	if err != nil {
		d.log.Info("running instances as plain processes", "reason", err)
		return runtime.ProcessLauncher{}
	}
	d.log.Info("running instances in transient systemd scopes", "slice", systemd.DefaultSlice)
	return scopes
}

// startInstances builds the package store and the runtime, and keeps the
// runtime fed with this worker's assignments.
func (d *Daemon) startInstances(ctx context.Context) error {
	store, err := packages.New(packages.OptionsFromConfig(d.cfg), d.broker, d.log.With("component", "packages"))
	if err != nil {
		return err
	}
	d.packages = store
	opts := runtime.OptionsFromConfig(d.cfg, pulsarHome())
	opts.Logger = d.log
	d.runtime = runtime.NewManager(opts, store, d.launcher(ctx))
	self := d.self().WorkerID
	apply := func() { d.runtime.Apply(d.wanted(d.assignments.ForWorker(self))) }
	d.assignments.OnChange(apply)
	apply()
	// The metadata also decides what runs (see wanted); follow its changes.
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				apply()
			}
		}
	}()
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
