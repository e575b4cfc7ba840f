// Package daemon is the composition root: it builds the worker's components
// from a Config, starts them in order, and stops them as a group.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/api"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/auth"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/broker"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/config"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/metadata"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/packages"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/run"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/runtime"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/scheduler"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/service"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/systemd"
)

// shutdownTimeout bounds how long in-flight HTTP requests may take at stop.
const shutdownTimeout = 10 * time.Second

// Daemon is one running worker.
type Daemon struct {
	// cfg is the config the worker started with: components built from it
	// keep its values for keys that need a restart. current is the last
	// config loaded successfully (start or reload).
	cfg     *config.Config
	current atomic.Pointer[config.Config]
	path    string
	load    func(context.Context) (*config.Config, config.Problems, error) // reloads read the config with it
	watched []string                                                       // files whose edits trigger a reload
	// self is this worker as the cluster knows it, fixed at New.
	self    cluster.WorkerInfo
	level   *slog.LevelVar
	log     *slog.Logger
	metrics *workerMetrics

	reloadMu       sync.Mutex
	pendingRestart sync.Map // keys changed by reloads that need a restart

	initialized atomic.Bool
	membership  atomic.Pointer[cluster.Membership]
	broker      *broker.Broker
	meta        *metadata.Manager
	assignments *scheduler.Assignments
	packages    *packages.Store
	runtime     *runtime.Manager
	fetcher     *lateFetcher
	guard       service.Guard
	// parts are the components as the API's backends (service) see them.
	parts *service.Parts
	// leading is true while this worker holds the state topics' producers.
	leading atomic.Bool
	// sched is the scheduler while this worker leads (rebalance, drain).
	sched atomic.Pointer[scheduler.Scheduler]
	java  *javaMetrics
	// members is the last member list read, for lookups on hot paths.
	members atomic.Pointer[[]cluster.WorkerInfo]
	// fatal receives errors that must stop the worker (a state topic that
	// can no longer be followed), as the Java worker's ErrorNotifier.
	fatal chan error

	notify          *systemd.Notifier
	progress        *progress
	memberCount     atomic.Int64
	lastReloadError atomic.Pointer[string]
	// instanceCounts reports running and failed local instances, once the
	// runtime exists.
	instanceCounts func() (running, failed int)
	// refresh asks the membership loop to look again now (after a
	// leadership change).
	refresh chan struct{}
	// ready is closed once the worker has joined and caught up.
	ready chan struct{}
}

// Options are the process-level settings of a worker.
type Options struct {
	// ConfigPath is reloaded on SIGHUP and when the file changes; blank
	// disables reloading.
	ConfigPath string
	// Load, when set, is how reloads read the config instead of loading
	// ConfigPath alone (co-located mode: broker.conf and functions_worker.yml).
	Load func(context.Context) (*config.Config, config.Problems, error)
	// WatchPaths are the files whose edits trigger a reload; default ConfigPath.
	WatchPaths []string
	// Level is the logger's level, changed by reloads of logLevel.
	Level  *slog.LevelVar
	Logger *slog.Logger
}

// New prepares a worker from a validated config.
func New(cfg *config.Config, o Options) *Daemon {
	if o.Level == nil {
		o.Level = new(slog.LevelVar)
	}
	log := o.Logger
	d := &Daemon{cfg: cfg, path: o.ConfigPath, level: o.Level, log: log, fatal: make(chan error, 1), notify: systemd.NewNotifier(), progress: newProgress(),
		refresh: make(chan struct{}, 1), ready: make(chan struct{})}
	d.load, d.watched = o.Load, o.WatchPaths
	if d.load == nil {
		d.load = func(ctx context.Context) (*config.Config, config.Problems, error) {
			return config.LoadContext(ctx, d.path)
		}
	}
	if len(d.watched) == 0 && d.path != "" {
		d.watched = []string{d.path}
	}
	d.current.Store(cfg)
	localHost := ""
	if strings.TrimSpace(cfg.WorkerHostname) == "" {
		localHost = canonicalHostname(context.Background())
	}
	d.self = cluster.WorkerInfo{
		WorkerID:       cfg.EffectiveWorkerId(localHost),
		WorkerHostname: cfg.EffectiveHostname(localHost),
		Port:           cfg.AdvertisedPort(),
	}
	d.parts = &service.Parts{
		Self: d.self,
		Settings: service.Settings{
			FunctionsCluster:             cfg.PulsarFunctionsCluster,
			TLS:                          cfg.TLSEnabled(),
			ForwardSourceMessageProperty: cfg.ForwardSourceMessageProperty,
		},
		Log:     log,
		Cluster: clusterView{d},
	}
	d.metrics = newWorkerMetrics(cfg.PulsarFunctionsCluster, d)
	d.java = newJavaMetrics(d, d.metrics.registry)
	return d
}

// Run serves the API, connects to the brokers, joins the cluster and keeps
// working until ctx ends or a component fails; then it stops in order (see
// shutdown): it says it is stopping, leaves the cluster (so another worker
// leads at once), drains HTTP, stops the runtime and closes the broker
// clients. It returns nil when ctx ended it.
func (d *Daemon) Run(ctx context.Context) error {
	listeners, err := d.listen()
	if err != nil {
		return err
	}
	g0, err := d.newGuard(d.cfg)
	if err != nil {
		closeAll(listeners)
		return err
	}
	d.guard = g0
	stateOpts, closeState, err := d.stateOptions()
	if err != nil {
		closeAll(listeners)
		return err
	}
	defer closeState()
	opts := append([]api.Option{api.WithFunctions(service.Functions{P: d.parts}), api.WithWorkerOps(service.WorkerOps{P: d.parts}),
		api.WithWorkerStats(service.NewWorkerStats(d.parts)), api.WithConnectors(service.Connectors{P: d.parts}), api.WithLifecycle(service.Lifecycle{P: d.parts}),
		api.WithMaxParallelism(d.cfg.MaxParallelism), api.WithMaxPackageBytes(d.cfg.MaxPackageSizeBytes)}, stateOpts...)
	handler := api.New(d, g0, d.metricsGatherer(), d.log.With("component", "api"), opts...)

	d.prepareRuntime(ctx)

	// Every goroutine of the worker is a named actor of this group; the
	// shutdown stages stop them in order. The loops wait until the worker
	// has joined (started) before they begin.
	g := run.New(d.log.With("component", "lifecycle"))
	started := make(chan struct{})
	afterStart := func(f func(context.Context) error) func(context.Context) error {
		return func(ctx context.Context) error {
			select {
			case <-started:
				return f(ctx)
			case <-ctx.Done():
				return nil
			}
		}
	}
	// First, so that an early SIGHUP reloads instead of killing the worker.
	g.Add("config watch", d.watchConfig, nil)
	var servers []*http.Server
	var httpActors []string
	for _, l := range listeners {
		srv := newHTTPServer(handler, d.log)
		servers = append(servers, srv)
		name := "http " + l.Addr().String()
		httpActors = append(httpActors, name)
		// Stopped by the drain stage (Shutdown); the actor only waits.
		g.Add(name, func(context.Context) error {
			d.log.Info("serving REST API", "addr", l.Addr().String(), "tls", l.tls)
			var err error
			if l.tls != nil {
				srv.TLSConfig = l.tls
				err = srv.ServeTLS(l, "", "")
			} else {
				err = srv.Serve(l)
			}
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return fmt.Errorf("serve %s: %w", l.Addr(), err)
		}, func() {})
	}
	g.Add(actorJoin, func(ctx context.Context) error {
		if err := d.start(ctx); err != nil {
			if ctx.Err() != nil {
				return nil // stopped while joining
			}
			return err
		}
		// READY=1 only now: the API serves, the worker is a member, and its
		// views of the metadata and assignments are complete.
		if err := d.notify.Ready(d.statusLine()); err != nil {
			d.log.Warn("notify ready", "err", err)
		}
		close(started)
		close(d.ready)
		return nil
	}, nil)
	g.Add(actorRuntime, afterStart(d.runtime.Run), nil)
	g.Add("instance feed", afterStart(d.feedInstances), nil)
	g.Add("membership", afterStart(d.watchMembership), nil)
	g.Add("watchdog", afterStart(d.watchdog), nil)
	g.Add("leadership", afterStart(d.lead), nil)
	g.Add("fatal errors", func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return nil
		case err := <-d.fatal:
			return err
		}
	}, nil)
	g.Start(ctx)

	// Work stops when ctx ends (SIGTERM) or an actor fails.
	select {
	case <-ctx.Done():
	case <-g.Failed():
	}
	err = shutdown(workerStopper{d: d, group: g, servers: servers, httpActors: httpActors}, d.log)
	if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
		d.log.Info("worker stopped")
		return nil
	}
	return err
}

// Actors the shutdown stages stop by name.
const (
	actorJoin    = "join"
	actorRuntime = "runtime"
)

// start connects, bootstraps the functions namespace and joins the cluster,
// in the Java worker's order.
func (d *Daemon) start(ctx context.Context) error {
	started := time.Now()
	_ = d.notify.Status("connecting to the broker at " + d.cfg.PulsarWebServiceUrl)
	b, err := broker.Connect(ctx, d.brokerOptions())
	if err != nil {
		return err
	}
	d.broker = b
	if err := b.EnsureFunctionsNamespace(ctx, broker.NamespaceSpec{
		Namespace:         d.cfg.PulsarFunctionsNamespace,
		Cluster:           d.cfg.PulsarFunctionsCluster,
		SuperUserRoles:    d.cfg.SuperUserRoles,
		AddMissingCluster: d.cfg.AddFunctionsClusterToNamespace,
	}); err != nil {
		return err
	}
	if err := b.EnsureTopics(ctx, d.cfg.AssignmentTopic(), d.cfg.CoordinationTopic(), d.cfg.MetadataTopic()); err != nil {
		return err
	}
	if err := b.EnsureSubscription(ctx, d.cfg.CoordinationTopic(), cluster.Subscription); err != nil {
		return err
	}
	m, err := cluster.Join(ctx, b.Client, b, d.cfg.CoordinationTopic(), d.self,
		d.metrics.skipCounter(d.cfg.CoordinationTopic()), d.log.With("component", "cluster"))
	if err != nil {
		return err
	}
	d.membership.Store(m)

	// Read the state topics to their end before serving: the worker is a
	// member already (so its instances are not moved meanwhile), but it
	// answers 503 until its view is complete.
	d.meta = metadata.New(b.Client, metadata.Options{
		Topic: d.cfg.MetadataTopic(), WorkerID: d.self.WorkerID,
		Compacted: d.cfg.UseCompactedMetadataTopic, Logger: d.log.With("component", "metadata"),
		Skipped: d.metrics.skipCounter(d.cfg.MetadataTopic()),
	})
	if err := d.meta.Load(ctx); err != nil {
		return err
	}
	d.assignments = scheduler.NewAssignments(b.Client, d.cfg.AssignmentTopic(), d.self.WorkerID,
		d.metrics.skipCounter(d.cfg.AssignmentTopic()), d.log.With("component", "assignments"))
	if err := d.assignments.Load(ctx); err != nil {
		return err
	}
	if err := d.startInstances(ctx); err != nil {
		return err
	}
	d.parts.Connect(service.Connected{
		Meta: d.meta, Packages: d.packages, Assignments: d.assignments,
		Admin: service.BrokerAdmin{Client: b.Admin}, Client: b.Client, HTTP: b.HTTP,
	})
	// Even a leader follows until it holds the exclusive producers (lead).
	d.meta.Follow(d.fail)
	d.assignments.Follow(d.fail)
	d.initialized.Store(true)
	d.metrics.startupTime.Set(time.Since(started).Seconds())
	d.java.startUp.Observe(ms(time.Since(started)))
	d.log.Info("worker initialized", "worker", d.self.String(), "took", time.Since(started).Round(time.Millisecond))
	return nil
}

// fail reports an error that must stop the worker.
func (d *Daemon) fail(err error) {
	select {
	case d.fatal <- err:
	default:
	}
}

// watchMembership logs members joining and leaving and keeps the gauges
// current; it is also the loop that notices leadership changes.
func (d *Daemon) watchMembership(ctx context.Context) error {
	m := d.membership.Load()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	d.progress.register("membership", time.Minute)
	defer d.progress.unregister("membership")
	stall := d.debugStall(ctx, "membership")
	var last []string
	for {
		d.progress.beat("membership")
		stall()
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		d.refreshMembership(rctx, m, &last)
		cancel()
		_ = d.notify.Status(d.statusLine())
		select {
		case <-ctx.Done():
			return nil
		case <-d.refresh:
		case <-tick.C:
		}
	}
}

func (d *Daemon) refreshMembership(ctx context.Context, m *cluster.Membership, last *[]string) {
	if err := m.Reconcile(ctx); err != nil && ctx.Err() == nil {
		d.log.Warn("read cluster leader", "err", err)
	}
	members, err := m.Members(ctx)
	if err == nil {
		ids := make([]string, len(members))
		for i, w := range members {
			ids[i] = w.WorkerID
		}
		if !slices.Equal(ids, *last) {
			d.log.Info("cluster members", "members", ids, "leader", m.IsLeader())
			*last = ids
		}
		d.log.Debug("membership refreshed", "members", len(members), "leader", m.IsLeader())
		d.members.Store(&members)
		d.metrics.members.Set(float64(len(members)))
		d.memberCount.Store(int64(len(members)))
	} else if ctx.Err() == nil {
		d.log.Warn("read cluster members", "err", err)
	}
}

func (d *Daemon) brokerOptions() broker.Options {
	auth := broker.ClientAuth{}
	if d.cfg.BrokerClientAuthEnabled() {
		// Validated at start (ValidateBrokerAuth); a failure here is a bug.
		plugin, params := d.cfg.BrokerClientAuth()
		auth, _ = broker.ParseClientAuth(plugin, params)
	}
	return broker.Options{
		ServiceURL:    d.cfg.PulsarServiceUrl,
		WebServiceURL: d.cfg.PulsarWebServiceUrl,
		Auth:          auth,
		TLS: broker.TLSOptions{
			TrustCertsFile: d.cfg.BrokerClientTrustCertsFilePath(),
			AllowInsecure:  d.cfg.TlsAllowInsecureConnection,
			VerifyHostname: d.cfg.TlsEnableHostnameVerification,
		},
		MaxAttempts: d.cfg.InitialBrokerReconnectMaxRetries,
		// The broker names its own lines component=broker and the client
		// library's component=pulsar-client.
		Logger: d.log,
		OnWaiting: func(attempt int, err error) {
			// Waiting for the broker is progress: keep systemd from timing
			// the start out while we do.
			_ = d.notify.ExtendTimeout(30 * time.Second)
			_ = d.notify.Status(fmt.Sprintf("waiting for the broker at %s (attempt %d): %v", d.cfg.PulsarWebServiceUrl, attempt, err))
		},
	}
}

// Validate checks what the config package cannot: the client
// authentication plugin and the authentication providers, so an unsupported
// one stops the worker at start (and check-config) with a clear message.
func Validate(cfg *config.Config) error {
	if err := validateBrokerAuth(cfg); err != nil {
		return err
	}
	if _, err := auth.New(authSettings(cfg), auth.WithPolicies(service.Policies{P: &service.Parts{}})); err != nil {
		return fmt.Errorf("authenticationProviders/authorization: %w", err)
	}
	return nil
}

func validateBrokerAuth(cfg *config.Config) error {
	if !cfg.BrokerClientAuthEnabled() {
		return nil
	}
	plugin, params := cfg.BrokerClientAuth()
	if _, err := broker.ParseClientAuth(plugin, params); err != nil {
		return fmt.Errorf("brokerClientAuthenticationPlugin: %w", err)
	}
	return nil
}

// The api.Worker implementation.

// Initialized reports whether the worker has joined and caught up.
func (d *Daemon) Initialized() bool { return d.initialized.Load() }

// IsLeader reports whether this worker leads the cluster and has taken
// over: it holds the state topics' producers (Java: LeaderService.isLeader
// turns true only after the takeover). Until then leader/ready answers 503
// and the leader endpoint "Leader not yet ready", instead of a write failing
// with "Not the leader".
func (d *Daemon) IsLeader() bool {
	m := d.membership.Load()
	return m != nil && m.IsLeader() && d.leading.Load()
}

// Members lists the cluster's workers as the broker sees them.
func (d *Daemon) Members(ctx context.Context) ([]cluster.WorkerInfo, error) {
	m := d.membership.Load()
	if m == nil {
		return nil, errors.New("worker has not joined the cluster")
	}
	return m.Members(ctx)
}

// Leader names the cluster's leader as the broker sees it.
func (d *Daemon) Leader(ctx context.Context) (cluster.WorkerInfo, error) {
	m := d.membership.Load()
	if m == nil {
		return cluster.WorkerInfo{}, cluster.ErrLeaderUnknown
	}
	return m.Leader(ctx)
}

// Assignments maps workers to their instances.
func (d *Daemon) Assignments(context.Context) (map[string][]string, error) {
	if d.assignments == nil {
		return map[string][]string{}, nil
	}
	return d.assignments.ByWorker(), nil
}

// clusterView is the daemon's membership and leadership as the services
// see them.
type clusterView struct{ d *Daemon }

var _ service.Cluster = clusterView{}

func (c clusterView) Leading() bool { return c.d.leading.Load() }

func (c clusterView) Leader(ctx context.Context) (cluster.WorkerInfo, error) { return c.d.Leader(ctx) }

func (c clusterView) Members() []cluster.WorkerInfo {
	if ms := c.d.members.Load(); ms != nil {
		return *ms
	}
	return nil
}

func (c clusterView) Scheduler() service.Scheduler {
	if s := c.d.sched.Load(); s != nil {
		return s
	}
	return nil
}
