package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/config"
)

// reloader applies the live part of a new config, Prometheus-style: each one
// owns some keys and swaps in their new values. Reloaders run only after the
// whole file validated, and must not fail half-way.
type reloader struct {
	name string
	// keys are the config keys (top-level or dotted) this reloader applies.
	keys  []string
	apply func(next *config.Config) error
}

// reloaders lists what the running worker can change in place. A key the
// config package classes as live but no reloader owns is reported as needing a
// restart: the worker never claims to have applied what it did not.
func (d *Daemon) reloaders() []reloader {
	return []reloader{
		// First: the only one that can refuse the new values, before anything
		// else is applied.
		{name: "authorization", keys: []string{"superUserRoles", "proxyRoles", "authorizationEnabled", "authenticateMetricsEndpoint"},
			apply: func(next *config.Config) error { return d.guard.Update(authSettings(next)) }},
		{name: "log level", keys: []string{"logLevel"}, apply: func(next *config.Config) error {
			d.level.Set(next.SlogLevel())
			return nil
		}},
		// The scheduler reads d.current at every failure check.
		{name: "leader failure check", keys: []string{"failureCheckFreqMs", "rescheduleTimeoutMs"},
			apply: func(*config.Config) error { return nil }},
	}
}

// reloadMetrics are the outcome of config reloads, named as Prometheus names
// its own.
type reloadMetrics struct {
	success   prometheus.Gauge
	timestamp prometheus.Gauge
}

func newReloadMetrics(reg prometheus.Registerer) reloadMetrics {
	m := reloadMetrics{
		success: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pulsar_functions_worker_config_last_reload_successful",
			Help: "1 if the last config reload succeeded (or none happened yet), 0 if it failed and the old config is in use.",
		}),
		timestamp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pulsar_functions_worker_config_last_reload_success_timestamp_seconds",
			Help: "When the config was last loaded successfully (start or reload).",
		}),
	}
	reg.MustRegister(m.success, m.timestamp)
	m.success.Set(1)
	m.timestamp.SetToCurrentTime()
	return m
}

// Reload re-reads the config file: validate, diff, apply the live keys,
// report the ones that need a restart. A file with errors is never applied:
// the old config stays, every problem is logged with file, line and key,
// STATUS= says the reload failed and the success metric is 0 until a good
// reload.
func (d *Daemon) Reload(ctx context.Context) {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	_ = d.notify.Reloading("reloading " + d.path)
	defer func() { _ = d.notify.Ready(d.statusLine()) }()

	fail := func(msg string) {
		d.metrics.reload.success.Set(0)
		d.lastReloadError.Store(&msg)
		d.log.Error("config reload failed; keeping the running config", "file", d.path, "reason", msg)
	}
	next, problems, err := d.load(ctx)
	if errors.Is(err, context.Canceled) {
		// A newer change (or shutdown) superseded this reload: not a failure of
		// the file, and the reload that follows reports on the newest one.
		d.log.Info("config reload cancelled; keeping the running config", "file", d.path, "reason", err)
		return
	}
	if err != nil {
		fail(err.Error())
		return
	}
	for _, p := range problems {
		if p.Severity == config.Error {
			d.log.Error("config problem", "file", p.File, "line", p.Line, "key", p.Key, "problem", p.Message)
		} else {
			d.log.Warn("config problem", "file", p.File, "line", p.Line, "key", p.Key, "problem", p.Message)
		}
	}
	if errs := problems.Errors(); len(errs) > 0 {
		fail(fmt.Sprintf("%d error(s), first: %s", len(errs), errs[0]))
		return
	}
	if err := Validate(next); err != nil {
		fail(err.Error())
		return
	}

	cur := d.current.Load()
	changes := config.Diff(cur, next)
	owned := map[string]bool{}
	for _, r := range d.reloaders() {
		for _, k := range r.keys {
			owned[k] = true
		}
	}
	var live, restart []config.Change
	for _, c := range changes {
		if c.Live && ownedBy(owned, c.Key) {
			live = append(live, c)
		} else {
			restart = append(restart, c)
		}
	}
	for _, r := range d.reloaders() {
		if !slices.ContainsFunc(live, func(c config.Change) bool {
			return slices.ContainsFunc(r.keys, func(k string) bool { return keyUnder(c.Key, k) })
		}) {
			continue
		}
		if err := r.apply(next); err != nil {
			// Validated input should never get here; say so loudly.
			fail(fmt.Sprintf("apply %s: %v", r.name, err))
			return
		}
	}
	for _, c := range live {
		d.log.Info("config change applied", "change", c)
	}
	for _, c := range restart {
		d.log.Warn("config change needs a worker restart to take effect", "change", c)
		d.pendingRestart.Store(c.Key, true)
	}
	d.current.Store(next)
	d.lastReloadError.Store(nil)
	d.metrics.reload.success.Set(1)
	d.metrics.reload.timestamp.SetToCurrentTime()
	d.log.Info("config reloaded", "file", d.path, "applied", len(live), "need_restart", len(restart))
}

func keyUnder(key, root string) bool { return key == root || strings.HasPrefix(key, root+".") }

func ownedBy(owned map[string]bool, key string) bool {
	for k := range owned {
		if keyUnder(key, k) {
			return true
		}
	}
	return false
}

// watchConfig reloads on SIGHUP and on edits of the config file; a newer edit
// cancels a reload still decoding, and so does shutdown.
func (d *Daemon) watchConfig(ctx context.Context) error {
	reload := func(ctx context.Context) {
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		d.Reload(rctx)
	}
	// One watcher a file (co-located mode: broker.conf and functions_worker.yml);
	// Reload serialises their reloads, each of which reads both files.
	g, gctx := errgroup.WithContext(ctx)
	for _, path := range d.watched {
		g.Go(func() error { return config.Watch(gctx, path, reload, d.log.With("component", "config")) })
	}
	return g.Wait()
}
