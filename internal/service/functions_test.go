package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/api"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/metadata"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/packages"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/runtime"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/scheduler"
)

// leaderAt is a WorkerInfo for a test server playing the leader.
func leaderAt(t *testing.T, srv *httptest.Server) cluster.WorkerInfo {
	t.Helper()
	host, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return cluster.WorkerInfo{WorkerID: "leader", WorkerHostname: host, Port: p}
}

// TestSubmit: where a write goes (this worker when it leads, else the
// leader), what the caller is told, and that it waits to see its own write.
func TestSubmit(t *testing.T) {
	md := fnMeta("f", 1)
	answer := func(code int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(code)
			_, _ = io.WriteString(w, body)
		}
	}
	tests := []struct {
		name         string
		leading      bool
		leaderIsSelf bool
		leader       http.Handler // nil: the leader does not answer
		applied      bool         // the write shows in this worker's view
		updateErr    error
		wantErr      func(error) bool
		wantUpdates  int
		wantAwaited  int
	}{
		{name: "leading: written here", leading: true, wantUpdates: 1},
		{name: "leading: outdated", leading: true, updateErr: metadata.ErrOutdated, wantUpdates: 1,
			wantErr: func(err error) bool { return errors.Is(err, api.ErrOutdated) }},
		{name: "leading: lost the producer", leading: true, updateErr: cluster.ErrNotLeader, wantUpdates: 1,
			wantErr: func(err error) bool { return errors.Is(err, api.ErrNotLeader) }},
		{name: "leader not yet ready", leaderIsSelf: true, wantErr: func(err error) bool {
			var se *api.StatusError
			return errors.As(err, &se) && se.Code == http.StatusServiceUnavailable
		}},
		{name: "forwarded, then seen", leader: answer(200, ""), applied: true, wantAwaited: 1},
		{name: "the leader refuses", leader: answer(400, `{"reason":"Function f already exists"}`), wantErr: func(err error) bool {
			var se *api.StatusError
			return errors.As(err, &se) && se.Code == 400 && se.Reason == "Function f already exists"
		}},
		{name: "no answer, but applied", applied: true, wantAwaited: 1},
		{name: "no answer, not applied", wantAwaited: 1, wantErr: func(err error) bool { return err != nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &fakeCluster{leading: tt.leading}
			switch {
			case tt.leaderIsSelf:
				c.leader = self
			case tt.leader != nil:
				srv := httptest.NewServer(tt.leader)
				t.Cleanup(srv.Close)
				c.leader = leaderAt(t, srv)
			case !tt.leading:
				srv := httptest.NewServer(http.NotFoundHandler())
				c.leader = leaderAt(t, srv)
				srv.Close() // nobody answers there
			}
			meta := &fakeMeta{updateErr: tt.updateErr, applyOnAwait: tt.applied}
			p := newParts(c)
			p.Connect(Connected{Meta: meta, HTTP: http.DefaultClient})
			err := Functions{P: p}.Submit(context.Background(), md, false)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("Submit = %v, want nil", err)
			case tt.wantErr != nil && !tt.wantErr(err):
				t.Fatalf("Submit = %v, not the error wanted", err)
			}
			if len(meta.updates) != tt.wantUpdates || meta.awaited != tt.wantAwaited {
				t.Errorf("updates %v, waits %d; want %d updates, %d waits", meta.updates, meta.awaited, tt.wantUpdates, tt.wantAwaited)
			}
		})
	}
}

// TestTenantAndNamespaceExist: the brokers' 404 is "no", their 401/403 is
// the API's unauthorized, and a namespace may be listed with its cluster.
func TestTenantAndNamespaceExist(t *testing.T) {
	admin := fakeAdmin{
		tenants:    map[string][]string{"acme": {"admin"}},
		namespaces: map[string][]string{"acme": {"acme/new", "acme/standalone/old"}},
	}
	f := Functions{P: connected(Connected{Admin: admin})}
	ctx := context.Background()
	for _, tc := range []struct {
		tenant, ns string
		tenantOK   bool
		nsOK       bool
	}{
		{"acme", "new", true, true},
		{"acme", "old", true, true},
		{"acme", "other", true, false},
		{"nobody", "new", false, false},
	} {
		if ok, err := f.TenantExists(ctx, tc.tenant); ok != tc.tenantOK || err != nil {
			t.Errorf("TenantExists(%s) = %v, %v; want %v", tc.tenant, ok, err, tc.tenantOK)
		}
		if ok, err := f.NamespaceExists(ctx, tc.tenant, tc.ns); ok != tc.nsOK || err != nil {
			t.Errorf("NamespaceExists(%s/%s) = %v, %v; want %v", tc.tenant, tc.ns, ok, err, tc.nsOK)
		}
	}
	refused := Functions{P: connected(Connected{Admin: fakeAdmin{err: statusErr{errors.New("401 Unauthorized"), ErrForbidden}}})}
	if _, err := refused.TenantExists(ctx, "acme"); !errors.Is(err, api.ErrUnauthorized) {
		t.Errorf("TenantExists refused by the broker = %v, want api.ErrUnauthorized", err)
	}
}

// TestInstanceOwner: the owner of an instance, with its address when it is
// this worker or a known member.
func TestInstanceOwner(t *testing.T) {
	other := cluster.WorkerInfo{WorkerID: "w2", WorkerHostname: "h2", Port: 6750}
	p := newParts(&fakeCluster{members: []cluster.WorkerInfo{self, other}})
	p.Connect(Connected{Assignments: fakeAssignments{
		scheduler.InstanceKey("public/default/f", 0): "w1",
		scheduler.InstanceKey("public/default/f", 1): "w2",
		scheduler.InstanceKey("public/default/f", 2): "gone",
	}})
	f := Functions{P: p}
	for _, tc := range []struct {
		id     int
		want   cluster.WorkerInfo
		wantOK bool
	}{
		{0, self, true},
		{1, other, true},
		{2, cluster.WorkerInfo{WorkerID: "gone"}, false},
		{3, cluster.WorkerInfo{}, false},
	} {
		if got, ok := f.InstanceOwner("public/default/f", tc.id); got != tc.want || ok != tc.wantOK {
			t.Errorf("InstanceOwner(%d) = %v, %v; want %v, %v", tc.id, got, ok, tc.want, tc.wantOK)
		}
	}
}

// TestBeforeConnect: a call that arrives before the worker has connected is
// refused, not a nil dereference.
func TestBeforeConnect(t *testing.T) {
	p := newParts(&fakeCluster{})
	ctx := context.Background()
	f := Functions{P: p}
	if _, ok := f.Function("public", "default", "f"); ok {
		t.Error("Function found before connecting")
	}
	if err := f.Submit(ctx, fnMeta("f", 1), false); !errors.Is(err, errNotConnected) {
		t.Errorf("Submit = %v, want errNotConnected", err)
	}
	if _, err := f.TenantExists(ctx, "acme"); !errors.Is(err, errNotConnected) {
		t.Errorf("TenantExists = %v, want errNotConnected", err)
	}
	if _, err := (Lifecycle{P: p}).Trigger(ctx, api.TriggerRequest{}); !errors.Is(err, errNotConnected) {
		t.Errorf("Trigger = %v, want errNotConnected", err)
	}
	if _, err := (Policies{P: p}).TenantAdminRoles(ctx, "acme"); !errors.Is(err, errNotConnected) {
		t.Errorf("TenantAdminRoles = %v, want errNotConnected", err)
	}
	if got := (Connectors{P: p}).Connectors(); got != nil {
		t.Errorf("Connectors = %v, want none", got)
	}
}

// TestWorkerOps: only the leader schedules; the scheduler's refusals become
// the API's.
func TestWorkerOps(t *testing.T) {
	ctx := context.Background()
	if err := (WorkerOps{P: newParts(&fakeCluster{})}).Rebalance(ctx); !errors.Is(err, api.ErrNotLeading) {
		t.Errorf("Rebalance on a follower = %v, want ErrNotLeading", err)
	}
	for _, m := range []struct{ from, to error }{
		{scheduler.ErrRebalanceInProgress, api.ErrRebalanceInProgress},
		{scheduler.ErrTooFewWorkers, api.ErrTooFewWorkers},
		{scheduler.ErrDrainInProgress, api.ErrDrainInProgress},
		{scheduler.ErrWorkerNotRemoved, api.ErrWorkerNotRemoved},
		{scheduler.ErrUnknownWorker, api.ErrUnknownWorker},
	} {
		ops := WorkerOps{P: newParts(&fakeCluster{sched: fakeScheduler{err: fmt.Errorf("x: %w", m.from)}})}
		if err := ops.Drain(ctx, "w2"); !errors.Is(err, m.to) {
			t.Errorf("Drain refused with %v = %v, want %v", m.from, err, m.to)
		}
	}
	st, err := WorkerOps{P: newParts(&fakeCluster{sched: fakeScheduler{}})}.DrainStatus(ctx, "w2")
	if err != nil || st.Status != "DRAINING" {
		t.Errorf("DrainStatus = %v, %v", st, err)
	}
}

// TestRestartElsewhere: restarting an instance this worker does not run is
// not an error (the API asks every worker).
func TestRestartElsewhere(t *testing.T) {
	for _, err := range []error{runtime.ErrNotFound, runtime.ErrNotRunning} {
		p := newParts(&fakeCluster{})
		p.Runtime = fakeRuntime{err: err}
		if got := (Lifecycle{P: p}).RestartLocalInstance("public/default/f", 0); got != nil {
			t.Errorf("restart with %v = %v, want nil", err, got)
		}
		if md, got := (Lifecycle{P: p}).LocalInstanceMetrics(context.Background(), "public/default/f", 0); md != nil || got != nil {
			t.Errorf("metrics with %v = %v, %v; want none", err, md, got)
		}
	}
}

// TestConnectorsSorted: built-in connectors are listed by name.
func TestConnectorsSorted(t *testing.T) {
	p := connected(Connected{Packages: fakePackages{connectors: map[string]packages.Archive{
		"b": {Path: "/c/b.nar", Definition: packages.Definition{Name: "b", SinkClass: "B"}},
		"a": {Path: "/c/a.nar", Definition: packages.Definition{Name: "a", SourceClass: "A"}},
	}}})
	var names []string
	for _, c := range (Connectors{P: p}).Connectors() {
		names = append(names, c.Definition.Name)
	}
	if !slices.Equal(names, []string{"a", "b"}) {
		t.Errorf("connectors %v, want [a b]", names)
	}
}

// TestMapPackageError: the store's refusals become the API's answers.
func TestMapPackageError(t *testing.T) {
	for _, m := range []struct{ from, to error }{
		{packages.ErrTooLarge, api.ErrPackageTooLarge},
		{packages.ErrUnsafeArchive, api.ErrBadPackage},
		{packages.ErrCorrupt, api.ErrBadPackage},
		{packages.ErrInvalidPath, api.ErrBadPackage},
		{packages.ErrInvalidPackageName, api.ErrInvalidPackageName},
		{packages.ErrURLNotAllowed, api.ErrPackageURLNotAllowed},
	} {
		if err := mapPackageError(fmt.Errorf("upload: %w", m.from)); !errors.Is(err, m.to) {
			t.Errorf("mapPackageError(%v) = %v, want %v", m.from, err, m.to)
		}
	}
}
