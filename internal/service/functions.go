package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/api"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/metadata"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/packages"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/runtime"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/scheduler"
)

// awaitWithin bounds how long a write waits to show in this worker's view.
const awaitWithin = 5 * time.Second

// Functions is /admin/v3/functions' backend: the metadata view, the
// leader's writer (or forwarding to it), packages and instances.
type Functions struct{ P *Parts }

var _ api.FunctionsBackend = Functions{}

func (f Functions) Function(tenant, namespace, name string) (*pb.FunctionMetaData, bool) {
	c := f.P.conn()
	if c == nil {
		return nil, false
	}
	return c.Meta.Get(tenant, namespace, name)
}

func (f Functions) ListFunctions(tenant, namespace string) []*pb.FunctionMetaData {
	c := f.P.conn()
	if c == nil {
		return nil
	}
	return c.Meta.List(tenant, namespace)
}

// Submit writes on the leader: here when this worker leads, else through the
// leader's internal endpoint. It then waits (briefly) until this worker's
// own view shows the change, so a client that reads back from the same
// worker sees what it wrote.
func (f Functions) Submit(ctx context.Context, md *pb.FunctionMetaData, del bool) error {
	c := f.P.conn()
	if c == nil {
		return errNotConnected
	}
	if f.P.Cluster.Leading() {
		return f.SubmitOnLeader(ctx, md, del)
	}
	leader, err := f.P.Cluster.Leader(ctx)
	if err != nil {
		return err
	}
	if leader.WorkerID == f.P.Self.WorkerID {
		return &api.StatusError{Code: http.StatusServiceUnavailable, Reason: "Leader not yet ready. Please retry again"}
	}
	if err := cluster.ForwardToLeader(ctx, c.HTTP, f.WorkerURL(leader), leader.WorkerID, md, del); err != nil {
		var answer *cluster.LeaderAnswer
		if errors.As(err, &answer) {
			return &api.StatusError{Code: answer.Code, Reason: answer.Reason}
		}
		// No answer from the leader (a timeout, a dropped connection): the
		// change may have been written all the same. Look for it in this
		// worker's own view before calling it a failure.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), awaitWithin)
		defer cancel()
		if c.Meta.AwaitLocal(actx, md, del, awaitWithin) {
			f.P.Log.Info("the leader did not answer, but the change is applied", "function", metadata.FQFNOf(md), "err", err)
			return nil
		}
		return err
	}
	c.Meta.AwaitLocal(ctx, md, del, awaitWithin)
	return nil
}

func (f Functions) SubmitOnLeader(ctx context.Context, md *pb.FunctionMetaData, del bool) error {
	c := f.P.conn()
	if c == nil || !f.P.Cluster.Leading() {
		return api.ErrNotLeader
	}
	err := c.Meta.Update(ctx, md, del)
	switch {
	case errors.Is(err, metadata.ErrOutdated):
		return fmt.Errorf("%w: %v", api.ErrOutdated, err)
	case errors.Is(err, cluster.ErrNotLeader):
		return fmt.Errorf("%w: %v", api.ErrNotLeader, err)
	}
	return err
}

func (f Functions) TenantExists(ctx context.Context, tenant string) (bool, error) {
	c := f.P.conn()
	if c == nil {
		return false, errNotConnected
	}
	_, err := c.Admin.TenantAdminRoles(ctx, tenant)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	case errors.Is(err, ErrForbidden):
		return false, fmt.Errorf("%w: %v", api.ErrUnauthorized, err)
	default:
		return false, fmt.Errorf("get tenant %s: %w", tenant, err)
	}
}

func (f Functions) NamespaceExists(ctx context.Context, tenant, namespace string) (bool, error) {
	c := f.P.conn()
	if c == nil {
		return false, errNotConnected
	}
	list, err := c.Admin.Namespaces(ctx, tenant)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("list namespaces of %s: %w", tenant, err)
	}
	return slices.Contains(list, tenant+"/"+namespace) ||
		slices.Contains(list, tenant+"/"+f.P.Settings.FunctionsCluster+"/"+namespace), nil
}

func (f Functions) ForwardSourceMessageProperty() bool {
	return f.P.Settings.ForwardSourceMessageProperty
}

func (f Functions) OpenPackage(ctx context.Context, pkgPath string) (io.ReadCloser, error) {
	c := f.P.conn()
	if c == nil {
		return nil, errNotConnected
	}
	if name, ok := strings.CutPrefix(pkgPath, "builtin://"); ok {
		a, err := c.Packages.Function(name)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", api.ErrBuiltinNotFound, err)
		}
		return os.Open(a.Path)
	}
	// Open applies the package URL policy to http(s) and file URLs.
	r, err := c.Packages.Open(ctx, &pb.PackageLocationMetaData{PackagePath: pkgPath})
	if err != nil {
		return nil, mapPackageError(err)
	}
	return r, nil
}

func (f Functions) UploadPackage(ctx context.Context, md *pb.FunctionMetaData, r io.Reader, fileName string) (*pb.PackageLocationMetaData, error) {
	c := f.P.conn()
	if c == nil {
		return nil, errNotConnected
	}
	// An archive that could not be unpacked safely is refused before
	// anything is stored.
	if file, ok := r.(*os.File); ok {
		if st, err := file.Stat(); err == nil {
			if err := packages.CheckArchive(file, st.Size()); err != nil {
				return nil, mapPackageError(err)
			}
		}
	}
	loc, err := c.Packages.Upload(ctx, md, r, fileName)
	if err != nil {
		return nil, mapPackageError(err)
	}
	return loc, nil
}

// mapPackageError maps the package store's refusals to the API's.
func mapPackageError(err error) error {
	switch {
	case errors.Is(err, packages.ErrTooLarge):
		return fmt.Errorf("%w: %v", api.ErrPackageTooLarge, err)
	case errors.Is(err, packages.ErrUnsafeArchive), errors.Is(err, packages.ErrCorrupt), errors.Is(err, packages.ErrInvalidPath):
		return fmt.Errorf("%w: %v", api.ErrBadPackage, err)
	case errors.Is(err, packages.ErrInvalidPackageName):
		return fmt.Errorf("%w: %v", api.ErrInvalidPackageName, err)
	case errors.Is(err, packages.ErrURLNotAllowed):
		return fmt.Errorf("%w: %v", api.ErrPackageURLNotAllowed, err)
	}
	return err
}

func (f Functions) DeletePackage(ctx context.Context, loc *pb.PackageLocationMetaData) error {
	c := f.P.conn()
	if c == nil {
		return errNotConnected
	}
	return c.Packages.Delete(ctx, loc)
}

func (f Functions) InstanceOwner(fqfn string, instanceID int) (cluster.WorkerInfo, bool) {
	c := f.P.conn()
	if c == nil {
		return cluster.WorkerInfo{}, false
	}
	owner, ok := c.Assignments.Owner(scheduler.InstanceKey(fqfn, int32(instanceID)))
	if !ok {
		return cluster.WorkerInfo{}, false
	}
	if owner == f.P.Self.WorkerID {
		return f.P.Self, true
	}
	for _, m := range f.P.Cluster.Members() {
		if m.WorkerID == owner {
			return m, true
		}
	}
	return cluster.WorkerInfo{WorkerID: owner}, false
}

func (f Functions) Self() cluster.WorkerInfo { return f.P.Self }

// WorkerURL uses this worker's scheme for its peers: a cluster runs TLS on all
// its workers or on none.
func (f Functions) WorkerURL(w cluster.WorkerInfo) string {
	scheme := "http"
	if f.P.Settings.TLS {
		scheme = "https"
	}
	return scheme + "://" + w.WorkerHostname + ":" + strconv.Itoa(w.Port)
}

func (f Functions) LocalInstanceStatus(ctx context.Context, fqfn string, instanceID int) (*pb.FunctionStatus, error) {
	st, err := f.P.Runtime.Status(ctx, fqfn, instanceID)
	if errors.Is(err, runtime.ErrNotFound) {
		return nil, nil
	}
	return st, err
}

func (f Functions) WorkerHTTPClient() *http.Client {
	if c := f.P.conn(); c != nil {
		return c.HTTP
	}
	return http.DefaultClient
}
