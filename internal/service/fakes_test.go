package service

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/metadata"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/packages"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/runtime"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/scheduler"
)

// Fakes of the worker's components, recording what the services ask.

type fakeMeta struct {
	mu      sync.Mutex
	fns     map[string]*pb.FunctionMetaData
	updates []string
	// updateErr is what Update returns; applyOnAwait makes the view show a
	// forwarded write when AwaitLocal is called (as the metadata topic would).
	updateErr    error
	applyOnAwait bool
	awaited      int
}

func (m *fakeMeta) Get(tenant, namespace, name string) (*pb.FunctionMetaData, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	md, ok := m.fns[metadata.FQFN(tenant, namespace, name)]
	return md, ok
}

func (m *fakeMeta) List(tenant, namespace string) []*pb.FunctionMetaData {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*pb.FunctionMetaData
	for k, md := range m.fns {
		if strings.HasPrefix(k, tenant+"/"+namespace+"/") {
			out = append(out, md)
		}
	}
	return out
}

func (m *fakeMeta) Update(_ context.Context, md *pb.FunctionMetaData, del bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.updates = append(m.updates, metadata.FQFNOf(md))
	return m.updateErr
}

func (m *fakeMeta) AwaitLocal(_ context.Context, md *pb.FunctionMetaData, del bool, _ time.Duration) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.awaited++
	if m.applyOnAwait {
		if m.fns == nil {
			m.fns = map[string]*pb.FunctionMetaData{}
		}
		m.fns[metadata.FQFNOf(md)] = md
		return true
	}
	return false
}

type fakeCluster struct {
	leading bool
	leader  cluster.WorkerInfo
	members []cluster.WorkerInfo
	sched   Scheduler
}

func (c *fakeCluster) Leading() bool { return c.leading }
func (c *fakeCluster) Leader(context.Context) (cluster.WorkerInfo, error) {
	if c.leader.WorkerID == "" {
		return cluster.WorkerInfo{}, cluster.ErrLeaderUnknown
	}
	return c.leader, nil
}
func (c *fakeCluster) Members() []cluster.WorkerInfo { return c.members }
func (c *fakeCluster) Scheduler() Scheduler          { return c.sched }

type fakeAdmin struct {
	tenants    map[string][]string
	namespaces map[string][]string
	err        error
}

func (a fakeAdmin) TenantAdminRoles(_ context.Context, tenant string) ([]string, error) {
	if a.err != nil {
		return nil, a.err
	}
	roles, ok := a.tenants[tenant]
	if !ok {
		return nil, statusErr{io.EOF, ErrNotFound}
	}
	return roles, nil
}

func (a fakeAdmin) Namespaces(_ context.Context, tenant string) ([]string, error) {
	if a.err != nil {
		return nil, a.err
	}
	ns, ok := a.namespaces[tenant]
	if !ok {
		return nil, statusErr{io.EOF, ErrNotFound}
	}
	return ns, nil
}

func (a fakeAdmin) NamespacePermissions(context.Context, string, string) (map[string][]string, error) {
	return nil, a.err
}

func (a fakeAdmin) Subscriptions(context.Context, string) ([]string, error) { return nil, a.err }

type fakeAssignments map[string]string

func (a fakeAssignments) Owner(key string) (string, bool) { w, ok := a[key]; return w, ok }

type fakeRuntime struct{ err error }

func (r fakeRuntime) Status(context.Context, string, int) (*pb.FunctionStatus, error) {
	return &pb.FunctionStatus{Running: true}, r.err
}
func (r fakeRuntime) Metrics(context.Context, string, int) (*pb.MetricsData, error) {
	return &pb.MetricsData{}, r.err
}
func (r fakeRuntime) Restart(string, int) error         { return r.err }
func (r fakeRuntime) Instances() []runtime.InstanceInfo { return nil }

type fakePackages struct {
	Packages   // only the methods below are used by the tests
	connectors map[string]packages.Archive
}

func (p fakePackages) Connectors() map[string]packages.Archive { return p.connectors }

type fakeScheduler struct{ err error }

func (s fakeScheduler) RequestRebalance(context.Context) error { return s.err }
func (s fakeScheduler) RequestDrain(context.Context, string) error {
	return s.err
}
func (s fakeScheduler) DrainStatusOf(string) scheduler.DrainStatus {
	return scheduler.DrainStatus{State: "DRAINING"}
}

var self = cluster.WorkerInfo{WorkerID: "w1", WorkerHostname: "h1", Port: 6750}

// newParts are Parts of worker w1 in the given cluster, not yet connected.
func newParts(c *fakeCluster) *Parts {
	return &Parts{Self: self, Settings: Settings{FunctionsCluster: "standalone"},
		Log: slog.New(slog.DiscardHandler), Runtime: fakeRuntime{}, Cluster: c}
}

// connected are Parts (of a worker that does not lead) connected with c.
func connected(c Connected) *Parts {
	p := newParts(&fakeCluster{})
	p.Connect(c)
	return p
}

func fnMeta(name string, version uint64) *pb.FunctionMetaData {
	return &pb.FunctionMetaData{Version: version, FunctionDetails: &pb.FunctionDetails{Tenant: "public", Namespace: "default", Name: name}}
}
