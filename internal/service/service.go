// Package service implements the REST API's backends (api.FunctionsBackend,
// api.LifecycleBackend, api.ConnectorsBackend, api.WorkerOps,
// api.WorkerStats, api.StateBackend, the guard and the broker policies) over
// the worker's components: the metadata view, the package store, the
// runtime, the assignments, the brokers' admin API and the cluster. It
// adapts between them (error mapping, forwarding to the leader, trigger)
// and owns no goroutine; the daemon builds the components and hands them
// over as Parts, so the services are tested with fakes.
package service

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/packages"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/runtime"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/scheduler"
)

// Metadata is the metadata view and, on the leader, its writer
// (*metadata.Manager).
type Metadata interface {
	Get(tenant, namespace, name string) (*pb.FunctionMetaData, bool)
	List(tenant, namespace string) []*pb.FunctionMetaData
	Update(ctx context.Context, md *pb.FunctionMetaData, del bool) error
	AwaitLocal(ctx context.Context, md *pb.FunctionMetaData, del bool, within time.Duration) bool
}

// Packages is the package store (*packages.Store).
type Packages interface {
	Function(name string) (packages.Archive, error)
	Connectors() map[string]packages.Archive
	Functions() map[string]packages.Archive
	ReloadBuiltins() error
	Open(ctx context.Context, loc *pb.PackageLocationMetaData) (io.ReadCloser, error)
	Upload(ctx context.Context, md *pb.FunctionMetaData, r io.Reader, fileName string) (*pb.PackageLocationMetaData, error)
	Delete(ctx context.Context, loc *pb.PackageLocationMetaData) error
	UploadAt(ctx context.Context, path string, r io.Reader) error
	OpenAt(ctx context.Context, path string) (io.ReadCloser, error)
}

// Runtime is this worker's instances (*runtime.Manager).
type Runtime interface {
	Status(ctx context.Context, fqfn string, instanceID int) (*pb.FunctionStatus, error)
	Metrics(ctx context.Context, fqfn string, instanceID int) (*pb.MetricsData, error)
	Restart(fqfn string, instanceID int) error
	Instances() []runtime.InstanceInfo
}

// Assignments is the assignments view (*scheduler.Assignments).
type Assignments interface {
	Owner(key string) (string, bool)
}

// Scheduler is the leader's scheduler (*scheduler.Scheduler).
type Scheduler interface {
	RequestRebalance(ctx context.Context) error
	RequestDrain(ctx context.Context, worker string) error
	DrainStatusOf(worker string) scheduler.DrainStatus
}

// Cluster is this worker's place in the cluster.
type Cluster interface {
	// Leading reports whether this worker leads and holds the state topics'
	// producers (it may write the metadata itself).
	Leading() bool
	// Leader names the leader as the broker sees it.
	Leader(ctx context.Context) (cluster.WorkerInfo, error)
	// Members is the member list last read (nil before the first read).
	Members() []cluster.WorkerInfo
	// Scheduler is the scheduler while this worker leads, else nil.
	Scheduler() Scheduler
}

// ErrNotFound and ErrForbidden are the brokers' 404 and 401/403 answers, as
// an Admin reports them.
var (
	ErrNotFound  = errors.New("not found")
	ErrForbidden = errors.New("not authorized")
)

// Admin is what the services ask of the brokers' admin API (BrokerAdmin
// over pulsaradmin). Errors wrap ErrNotFound or ErrForbidden for those
// answers.
type Admin interface {
	TenantAdminRoles(ctx context.Context, tenant string) ([]string, error)
	Namespaces(ctx context.Context, tenant string) ([]string, error)
	NamespacePermissions(ctx context.Context, tenant, namespace string) (map[string][]string, error)
	// Subscriptions lists the subscriptions of topic; it is how a trigger
	// checks that the input topic exists.
	Subscriptions(ctx context.Context, topic string) ([]string, error)
}

// Settings are the config values the services read; they need a restart to
// change.
type Settings struct {
	// FunctionsCluster is pulsarFunctionsCluster.
	FunctionsCluster string
	// TLS tells whether the workers serve HTTPS (peers are called the same way).
	TLS bool
	// ForwardSourceMessageProperty is forwardSourceMessageProperty.
	ForwardSourceMessageProperty bool
}

// Connected are the parts that exist once the worker has connected to the
// brokers; the daemon hands them over with Parts.Connect before the worker
// reports itself initialized.
type Connected struct {
	Meta        Metadata
	Packages    Packages
	Assignments Assignments
	Admin       Admin
	// Client opens the trigger's producer and reader.
	Client pulsar.Client
	// HTTP calls other workers, authenticated like the admin client.
	HTTP *http.Client
}

// Parts are the worker's components, as the services see them.
type Parts struct {
	Self     cluster.WorkerInfo
	Settings Settings
	Log      *slog.Logger
	Runtime  Runtime
	Cluster  Cluster

	connected atomic.Pointer[Connected]
}

// Connect hands over the connected parts.
func (p *Parts) Connect(c Connected) { p.connected.Store(&c) }

// errNotConnected answers calls that arrive before the worker has connected;
// the API answers 503 before they can (it checks Initialized).
var errNotConnected = errors.New("the worker has not connected to the broker yet")

// conn returns the connected parts, or nil before Connect.
func (p *Parts) conn() *Connected { return p.connected.Load() }
