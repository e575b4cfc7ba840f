package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/api"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/broker"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/metadata"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/packages"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/runtime"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/scheduler"
)

// functions is the daemon's side of /admin/v3/functions: the metadata view,
// the leader's writer (or forwarding to it), packages and instances.
type functions struct{ d *Daemon }

var _ api.FunctionsBackend = functions{}

func (f functions) Function(tenant, namespace, name string) (*pb.FunctionMetaData, bool) {
	return f.d.meta.Get(tenant, namespace, name)
}

func (f functions) ListFunctions(tenant, namespace string) []*pb.FunctionMetaData {
	return f.d.meta.List(tenant, namespace)
}

// Submit writes on the leader: here when this worker leads, else through the
// leader's internal endpoint. It then waits (briefly) until this worker's
// own view shows the change, so a client that reads back from the same
// worker sees what it wrote.
func (f functions) Submit(ctx context.Context, md *pb.FunctionMetaData, del bool) error {
	if f.d.leading.Load() {
		return f.SubmitOnLeader(ctx, md, del)
	}
	leader, err := f.d.Leader(ctx)
	if err != nil {
		return err
	}
	if leader.WorkerID == f.d.self.WorkerID {
		return &api.StatusError{Code: http.StatusServiceUnavailable, Reason: "Leader not yet ready. Please retry again"}
	}
	if err := f.forward(ctx, leader, md, del); err != nil {
		var se *api.StatusError
		if errors.As(err, &se) {
			return err
		}
		// No answer from the leader (a timeout, a dropped connection): the
		// change may have been written all the same. Look for it in this
		// worker's own view before calling it a failure.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if f.awaitLocal(actx, md, del) {
			f.d.log.Info("the leader did not answer, but the change is applied", "function", metadata.FQFNOf(md), "err", err)
			return nil
		}
		return err
	}
	f.awaitLocal(ctx, md, del)
	return nil
}

func (f functions) forward(ctx context.Context, leader cluster.WorkerInfo, md *pb.FunctionMetaData, del bool) error {
	raw, err := proto.Marshal(md)
	if err != nil {
		return fmt.Errorf("encode metadata of %s: %w", metadata.FQFNOf(md), err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, _ := mw.CreateFormFile("functionMetaData", "functionMetaData")
	_, _ = part.Write(raw)
	_ = mw.WriteField("delete", strconv.FormatBool(del))
	_ = mw.Close()
	d := md.GetFunctionDetails()
	url := f.WorkerURL(leader) + "/admin/v3/functions/leader/" + d.GetTenant() + "/" + d.GetNamespace() + "/" + d.GetName()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body.Bytes()))
	if err != nil {
		return fmt.Errorf("forward %s to the leader: %w", metadata.FQFNOf(md), err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := f.WorkerHTTPClient().Do(req)
	if err != nil {
		return fmt.Errorf("forward %s to the leader %s: %w", metadata.FQFNOf(md), leader.WorkerID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Reason string `json:"reason"`
	}
	if json.Unmarshal(b, &e) != nil || e.Reason == "" {
		e.Reason = strings.TrimSpace(string(b))
	}
	return &api.StatusError{Code: resp.StatusCode, Reason: e.Reason}
}

// awaitLocal waits (at most 5 s) until this worker's view shows the change
// and reports whether it does.
func (f functions) awaitLocal(ctx context.Context, md *pb.FunctionMetaData, del bool) bool {
	d := md.GetFunctionDetails()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		cur, ok := f.d.meta.Get(d.GetTenant(), d.GetNamespace(), d.GetName())
		if (del && !ok) || (!del && ok && cur.GetVersion() >= md.GetVersion()) || (del && ok && cur.GetVersion() > md.GetVersion()) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func (f functions) SubmitOnLeader(ctx context.Context, md *pb.FunctionMetaData, del bool) error {
	if !f.d.leading.Load() {
		return api.ErrNotLeader
	}
	err := f.d.meta.Update(ctx, md, del)
	switch {
	case errors.Is(err, metadata.ErrOutdated):
		return fmt.Errorf("%w: %v", api.ErrOutdated, err)
	case errors.Is(err, cluster.ErrNotLeader):
		return fmt.Errorf("%w: %v", api.ErrNotLeader, err)
	}
	return err
}

func (f functions) TenantExists(ctx context.Context, tenant string) (bool, error) {
	_, err := f.d.broker.Admin.Tenants().GetWithContext(ctx, tenant)
	switch code := broker.StatusCode(err); {
	case err == nil:
		return true, nil
	case code == http.StatusNotFound:
		return false, nil
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return false, fmt.Errorf("%w: %v", api.ErrUnauthorized, err)
	default:
		return false, fmt.Errorf("get tenant %s: %w", tenant, err)
	}
}

func (f functions) NamespaceExists(ctx context.Context, tenant, namespace string) (bool, error) {
	list, err := f.d.broker.Admin.Namespaces().GetNamespacesWithContext(ctx, tenant)
	if broker.StatusCode(err) == http.StatusNotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("list namespaces of %s: %w", tenant, err)
	}
	return slices.Contains(list, tenant+"/"+namespace) ||
		slices.Contains(list, tenant+"/"+f.d.cfg.PulsarFunctionsCluster+"/"+namespace), nil
}

func (f functions) ForwardSourceMessageProperty() bool { return f.d.cfg.ForwardSourceMessageProperty }

func (f functions) OpenPackage(ctx context.Context, pkgPath string) (io.ReadCloser, error) {
	if name, ok := strings.CutPrefix(pkgPath, "builtin://"); ok {
		a, err := f.d.packages.Function(name)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", api.ErrBuiltinNotFound, err)
		}
		return os.Open(a.Path)
	}
	// Open applies the package URL policy to http(s) and file URLs.
	r, err := f.d.packages.Open(ctx, &pb.PackageLocationMetaData{PackagePath: pkgPath})
	if err != nil {
		return nil, mapPackageError(err)
	}
	return r, nil
}

func (f functions) UploadPackage(ctx context.Context, md *pb.FunctionMetaData, r io.Reader, fileName string) (*pb.PackageLocationMetaData, error) {
	// An archive that could not be unpacked safely is refused before
	// anything is stored.
	if file, ok := r.(*os.File); ok {
		if st, err := file.Stat(); err == nil {
			if err := packages.CheckArchive(file, st.Size()); err != nil {
				return nil, mapPackageError(err)
			}
		}
	}
	loc, err := f.d.packages.Upload(ctx, md, r, fileName)
	if err != nil {
		return nil, mapPackageError(err)
	}
	return loc, nil
}

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

func (f functions) DeletePackage(ctx context.Context, loc *pb.PackageLocationMetaData) error {
	return f.d.packages.Delete(ctx, loc)
}

func (f functions) InstanceOwner(fqfn string, instanceID int) (cluster.WorkerInfo, bool) {
	owner, ok := f.d.assignments.Owner(scheduler.InstanceKey(fqfn, int32(instanceID)))
	if !ok {
		return cluster.WorkerInfo{}, false
	}
	if owner == f.d.self.WorkerID {
		return f.d.self, true
	}
	if ms := f.d.members.Load(); ms != nil {
		for _, m := range *ms {
			if m.WorkerID == owner {
				return m, true
			}
		}
	}
	return cluster.WorkerInfo{WorkerID: owner}, false
}

func (f functions) Self() cluster.WorkerInfo { return f.d.self }

// WorkerURL uses this worker's scheme for its peers: a cluster runs TLS on all
// its workers or on none.
func (f functions) WorkerURL(w cluster.WorkerInfo) string {
	scheme := "http"
	if f.d.cfg.TLSEnabled() {
		scheme = "https"
	}
	return scheme + "://" + w.WorkerHostname + ":" + strconv.Itoa(w.Port)
}

func (f functions) LocalInstanceStatus(ctx context.Context, fqfn string, instanceID int) (*pb.FunctionStatus, error) {
	st, err := f.d.runtime.Status(ctx, fqfn, instanceID)
	if errors.Is(err, runtime.ErrNotFound) {
		return nil, nil
	}
	return st, err
}

func (f functions) WorkerHTTPClient() *http.Client { return f.d.broker.HTTP }
