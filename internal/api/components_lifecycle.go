package api

// Start, stop and restart (F11–F16) for functions, sources and sinks, and the
// routing of base/{tenant}/{namespace}/{name}/{a}/{b}, which Go's ServeMux
// cannot express as separate patterns ({instanceId}/status and state/{key}
// are equally specific). Apache Pulsar 4.0.8 ComponentImpl /
// FunctionRuntimeManager / FunctionMetaDataUtils; spec/rest-api.md §3.10.
//
// Where we knowingly differ from 4.0.8:
//   - Restart of all instances calls each remote owner's per-instance restart
//     under the component's own base path (/admin/v3/sources/... for a
//     source); 4.0.8 always calls /admin/v3/functions/..., which a source or
//     sink does not pass.
//   - A remote restart that fails is answered with the owner's status and
//     reason (Java: 500 with the admin client's message).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/functionconfig"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// LifecycleBackend is what stats, trigger, restart, upload and download need
// beyond FunctionsBackend. The daemon implements it over the runtime, the
// broker client and the package store.
type LifecycleBackend interface {
	// LocalInstanceMetrics asks an instance this worker runs for its
	// metrics (gRPC GetMetrics). (nil, nil): the runtime does not know it or
	// it does not run; an error: the instance could not be asked.
	LocalInstanceMetrics(ctx context.Context, fqfn string, instanceID int) (*pb.MetricsData, error)
	// RestartLocalInstance restarts an instance this worker runs. An
	// instance the runtime does not run (unknown, or stopped in the
	// metadata) is not an error: there is nothing to restart.
	RestartLocalInstance(fqfn string, instanceID int) error
	// TopicReady tells whether the broker knows topic (Java: the admin
	// client's getSubscriptions succeeds).
	TopicReady(ctx context.Context, topic string) error
	// Trigger produces req.Payload to req.InputTopic and, when
	// req.OutputTopic is set, waits for the function's answer to that
	// message. Errors: ErrTriggerTimeout, ErrTriggerSchema (wrapped), others.
	Trigger(ctx context.Context, req TriggerRequest) ([]byte, error)
	// UploadPath stores r under path in the package store (F17).
	UploadPath(ctx context.Context, path string, r io.Reader) error
	// OpenPath streams what is stored under path (F18): what UploadPath
	// stored there, or an http(s)/file URL the package URL policy allows
	// (else an error wrapping ErrPackageURLNotAllowed).
	// ErrPackageNotFound when nothing is stored there.
	OpenPath(ctx context.Context, path string) (io.ReadCloser, error)
	// OpenPackage streams a component's package from the location its
	// metadata records (F19); errors as OpenPath. Unlike OpenPath it never
	// reads a location as an upload path.
	OpenPackage(ctx context.Context, location string) (io.ReadCloser, error)
}

// TriggerRequest is one F10 trigger.
type TriggerRequest struct {
	FQFN        string // tenant/namespace/name, for producer and reader names
	InputTopic  string // where the payload goes
	OutputTopic string // where the answer is looked for; "" for none
	Payload     []byte
}

// Errors a LifecycleBackend returns (wrapped) to choose the answer.
var (
	// ErrTriggerTimeout: no answer to a trigger in time (408).
	ErrTriggerTimeout = errors.New("Request Timed Out")
	// ErrTriggerSchema: the payload does not fit the input topic's schema (400).
	ErrTriggerSchema = errors.New("schema serialization failed")
	// ErrPackageNotFound: nothing is stored under a path.
	ErrPackageNotFound = errors.New("package not found")
	// ErrInvalidPackageName: with package management on, an upload path
	// that is no package name (type://tenant/namespace/name@version).
	ErrInvalidPackageName = errors.New("invalid package name")
)

// WithLifecycle serves stats, trigger, restart, upload and download from b.
func WithLifecycle(b LifecycleBackend) Option {
	return func(s *Server) { s.lifecycle = b }
}

// componentKind is what a handler needs to know about the kind of component
// its path serves.
type componentKind struct {
	base     string // mount point, e.g. /admin/v3/functions
	apiBase  string // canonical base for worker-to-worker calls
	ctype    pb.FunctionDetails_ComponentType
	typeWord string // "Function", "Source", "Sink" in messages
	// instanceStatus answers {instanceId}/status. The sources/sinks API
	// sets it for sourceComponent and sinkComponent (in an init func); nil is 404.
	instanceStatus func(s *Server, w http.ResponseWriter, r *http.Request) error
	// stats and state: functions only.
	functionOnly bool
}

var (
	functionKind = componentKind{
		base: "/admin/v3/functions", apiBase: "/admin/v3/functions",
		ctype: pb.FunctionDetails_FUNCTION, typeWord: "Function",
		instanceStatus: (*Server).functionInstanceStatus, functionOnly: true,
	}
	sourceComponent = componentKind{base: "/admin/v3/sources", apiBase: "/admin/v3/sources", ctype: pb.FunctionDetails_SOURCE, typeWord: "Source"}
	sinkComponent   = componentKind{base: "/admin/v3/sinks", apiBase: "/admin/v3/sinks", ctype: pb.FunctionDetails_SINK, typeWord: "Sink"}
)

// lifecycleKinds lists every mount of the lifecycle routes, with the
// deprecated singular aliases.
func lifecycleKinds() []componentKind {
	src, snk := sourceComponent, sinkComponent
	srcAlias, snkAlias := sourceComponent, sinkComponent
	srcAlias.base, snkAlias.base = "/admin/v3/source", "/admin/v3/sink"
	return []componentKind{functionKind, src, srcAlias, snk, snkAlias}
}

// lifecycleRoutes mounts F8–F19 (functions) and start/stop/restart for all
// kinds, and the combined {a}/{b} route.
func (s *Server) lifecycleRoutes() {
	for _, k := range lifecycleKinds() {
		item := k.base + "/{tenant}/{namespace}/{name}"
		for _, action := range []string{"restart", "stop", "start"} {
			s.mux.Handle("POST "+item+"/"+action, s.authenticated(s.fnHandler(func(w http.ResponseWriter, r *http.Request) error {
				return s.componentAction(w, r, k, action, nil)
			})))
		}
		s.mux.Handle("GET "+item+"/{a}/{b}", s.authenticated(s.fnHandler(func(w http.ResponseWriter, r *http.Request) error {
			return s.dispatchPair(w, r, k)
		})))
		s.mux.Handle("POST "+item+"/{a}/{b}", s.authenticated(s.fnHandler(func(w http.ResponseWriter, r *http.Request) error {
			return s.dispatchPair(w, r, k)
		})))
	}
	fn := functionKind.base
	item := fn + "/{tenant}/{namespace}/{name}"
	s.mux.Handle("GET "+item+"/stats", s.authenticated(s.fnHandler(s.functionStats)))
	s.mux.Handle("POST "+item+"/trigger", s.authenticated(s.fnHandler(s.triggerFunction)))
	s.mux.Handle("GET "+item+"/download", s.authenticated(s.fnHandler(s.downloadComponentPackage)))
	s.mux.Handle("POST "+fn+"/upload", s.authenticated(s.fnHandler(s.uploadByPath)))
	s.mux.Handle("GET "+fn+"/download", s.authenticated(s.fnHandler(s.downloadByPath)))
}

// dispatchPair routes base/{tenant}/{namespace}/{name}/{a}/{b}: state/{key}
// to the state endpoints, {instanceId}/<action> to the instance endpoints.
// Where both match, JAX-RS prefers the template with more literal
// characters: .../{instanceId}/status and .../{instanceId}/restart beat
// .../state/{key}; for the others "state" wins.
func (s *Server) dispatchPair(w http.ResponseWriter, r *http.Request, k componentKind) error {
	a, b := r.PathValue("a"), r.PathValue("b")
	get := r.Method == http.MethodGet
	instanceFirst := (get && b == "status") || (!get && b == "restart")
	if a == "state" && k.functionOnly && !instanceFirst {
		r.SetPathValue("key", b)
		if get {
			return s.queryState(w, r)
		}
		return s.putState(w, r)
	}
	r.SetPathValue("instanceId", a)
	switch {
	case get && b == "status":
		if k.instanceStatus != nil {
			return k.instanceStatus(s, w, r)
		}
	case get && b == "stats" && k.functionOnly:
		return s.functionInstanceStats(w, r)
	case !get && (b == "restart" || b == "stop" || b == "start"):
		return s.componentAction(w, r, k, b, &a)
	case !get && (b == "status" || b == "stats" && k.functionOnly):
		return fail(http.StatusMethodNotAllowed, "HTTP 405 Method Not Allowed")
	case get && (b == "restart" || b == "stop" || b == "start"):
		return fail(http.StatusMethodNotAllowed, "HTTP 405 Method Not Allowed")
	}
	return fail(http.StatusNotFound, "HTTP 404 Not Found")
}

// authorizeKind is the ns-authz check with the kind's action: functions,
// sources or sinks.
func (s *Server) authorizeKind(r *http.Request, k componentKind, tenant, namespace string) error {
	role, _ := r.Context().Value(roleKey{}).(string)
	var (
		ok  bool
		err error
	)
	switch a := s.guard.(type) {
	case ConnectorsAuthorizer:
		switch k.ctype {
		case pb.FunctionDetails_SOURCE:
			ok, err = a.AllowSourceOps(r.Context(), role, tenant, namespace, r)
		case pb.FunctionDetails_SINK:
			ok, err = a.AllowSinkOps(r.Context(), role, tenant, namespace, r)
		default:
			return s.authorizeFunctions(r, tenant, namespace)
		}
	default:
		return s.authorizeFunctions(r, tenant, namespace)
	}
	if err != nil {
		return fail(http.StatusInternalServerError, "%s", err.Error())
	}
	if !ok {
		return fail(http.StatusUnauthorized, msgNotAuthorized)
	}
	return nil
}

// kindChecks is Java's prologue of the lifecycle endpoints: 503, ns-authz,
// the path, then existence as this kind (404 "<Type> <name> doesn't exist").
func (s *Server) kindChecks(r *http.Request, k componentKind) (*pb.FunctionMetaData, error) {
	if err := s.checkInitialized(); err != nil {
		return nil, err
	}
	t, ns, name := r.PathValue("tenant"), r.PathValue("namespace"), r.PathValue("name")
	if err := s.authorizeKind(r, k, t, ns); err != nil {
		return nil, err
	}
	switch {
	case t == "":
		return nil, fail(http.StatusBadRequest, "Tenant is not provided")
	case ns == "":
		return nil, fail(http.StatusBadRequest, "Namespace is not provided")
	case name == "":
		return nil, fail(http.StatusBadRequest, "%s name is not provided", k.typeWord)
	}
	md, ok := s.functions.Function(t, ns, name)
	if !ok || functionconfig.CalculateSubjectType(md.GetFunctionDetails()) != k.ctype {
		return nil, fail(http.StatusNotFound, "%s %s doesn't exist", k.typeWord, name)
	}
	return md, nil
}

// componentAction is F11–F16: action is restart, stop or start; instance
// is nil for the whole component.
func (s *Server) componentAction(w http.ResponseWriter, r *http.Request, k componentKind, action string, instance *string) error {
	md, err := s.kindChecks(r, k)
	if err != nil {
		return err
	}
	var id int64 = -1
	if instance != nil {
		if id, err = parseInstanceID(*instance); err != nil {
			return err
		}
	}
	if action == "restart" {
		if instance == nil {
			return s.restartAll(w, r, k, md)
		}
		return s.restartInstance(w, r, md, int(id))
	}
	target := pb.FunctionState_STOPPED
	if action == "start" {
		target = pb.FunctionState_RUNNING
	}
	if !canChangeState(md, int(id), target) {
		return fail(http.StatusBadRequest, "Operation not permitted")
	}
	if err := s.functions.Submit(r.Context(), changeInstanceStates(md, int(id), target), false); err != nil {
		return submitError(err, false)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// canChangeState is FunctionMetaDataUtils.canChangeState: id < 0 means all
// instances; no recorded states means all run.
func canChangeState(md *pb.FunctionMetaData, id int, target pb.FunctionState) bool {
	if id >= int(md.GetFunctionDetails().GetParallelism()) {
		return false
	}
	states := md.GetInstanceStates()
	if len(states) == 0 {
		return target == pb.FunctionState_STOPPED
	}
	if id >= 0 {
		st, ok := states[int32(id)]
		return ok && st != target
	}
	for _, st := range states {
		if st != target {
			return true
		}
	}
	return false
}

// changeInstanceStates is FunctionMetaDataUtils.changeFunctionInstanceStatus:
// a copy one version newer, every instance's state recorded.
func changeInstanceStates(md *pb.FunctionMetaData, id int, target pb.FunctionState) *pb.FunctionMetaData {
	out := proto.Clone(md).(*pb.FunctionMetaData)
	out.Version = md.GetVersion() + 1
	n := int(md.GetFunctionDetails().GetParallelism())
	if len(out.InstanceStates) == 0 {
		out.InstanceStates = map[int32]pb.FunctionState{}
		for i := 0; i < n; i++ {
			out.InstanceStates[int32(i)] = pb.FunctionState_RUNNING
		}
	}
	if id < 0 {
		for i := 0; i < n; i++ {
			out.InstanceStates[int32(i)] = target
		}
	} else if id < n {
		out.InstanceStates[int32(id)] = target
	}
	return out
}

// restartInstance is F12: here when this worker runs the instance, 307 to
// its owner otherwise. An instance with no assignment (an id at or past the
// parallelism, -1, or not scheduled yet) is 400 "T/N/name/id doesn't exist",
// one assigned to a worker that is not a member 400 "... has not been
// assigned yet", as 4.0.8's FunctionRuntimeManager.restartFunctionInstance
// answers (ComponentImpl passes its WebApplicationException on).
func (s *Server) restartInstance(w http.ResponseWriter, r *http.Request, md *pb.FunctionMetaData, id int) error {
	fd := md.GetFunctionDetails()
	fqfn := fqfnOf(fd.GetTenant(), fd.GetNamespace(), fd.GetName())
	owner, ok := s.functions.InstanceOwner(fqfn, id)
	switch {
	case !ok && owner.WorkerID == "":
		return fail(http.StatusBadRequest, "%s/%d doesn't exist", fqfn, id)
	case !ok:
		return fail(http.StatusBadRequest, "%s/%d has not been assigned yet", fqfn, id)
	case owner.WorkerID == s.functions.Self().WorkerID:
		if err := s.restartLocal(fqfn, id); err != nil {
			return err
		}
	default:
		redirect(w, r, owner)
		return nil
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) restartLocal(fqfn string, id int) error {
	if s.lifecycle == nil {
		return fail(http.StatusInternalServerError, "restart is not available on this worker")
	}
	if err := s.lifecycle.RestartLocalInstance(fqfn, id); err != nil {
		return fail(http.StatusInternalServerError, "%s", err.Error())
	}
	return nil
}

// restartAll is F11: local instances here, remote ones through their
// owners' F12. No assigned instance at all is 400 "T/N/name has not been
// assigned yet", as 4.0.8's FunctionRuntimeManager.restartFunctionInstances.
func (s *Server) restartAll(w http.ResponseWriter, r *http.Request, k componentKind, md *pb.FunctionMetaData) error {
	fd := md.GetFunctionDetails()
	fqfn := fqfnOf(fd.GetTenant(), fd.GetNamespace(), fd.GetName())
	self := s.functions.Self().WorkerID
	assigned := false
	for i := 0; i < int(fd.GetParallelism()); i++ {
		if owner, ok := s.functions.InstanceOwner(fqfn, i); ok || owner.WorkerID != "" {
			assigned = true
			break
		}
	}
	if !assigned {
		return fail(http.StatusBadRequest, "%s has not been assigned yet", fqfn)
	}
	for i := 0; i < int(fd.GetParallelism()); i++ {
		owner, ok := s.functions.InstanceOwner(fqfn, i)
		switch {
		case !ok:
			continue
		case owner.WorkerID == self:
			if err := s.restartLocal(fqfn, i); err != nil {
				return err
			}
		default:
			path := instancePath(k.apiBase, fd, i, "restart")
			if _, err := s.workerCall(r.Context(), http.MethodPost, owner, path); err != nil {
				var se *StatusError
				if errors.As(err, &se) {
					return &apiError{se.Code, se.Reason}
				}
				return fail(http.StatusInternalServerError, "%s", err.Error())
			}
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// instancePath is base/tenant/namespace/name/id/suffix, escaped.
func instancePath(base string, fd *pb.FunctionDetails, id int, suffix string) string {
	return base + "/" + url.PathEscape(fd.GetTenant()) + "/" + url.PathEscape(fd.GetNamespace()) + "/" +
		url.PathEscape(fd.GetName()) + "/" + strconv.Itoa(id) + "/" + suffix
}

// remoteCallTimeout bounds one worker-to-worker call.
const remoteCallTimeout = 30 * time.Second

// workerCall makes a worker-to-worker request with the worker's own
// credentials and returns the body of a 2xx answer; other answers become a
// *StatusError with the peer's reason.
func (s *Server) workerCall(ctx context.Context, method string, to cluster.WorkerInfo, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, remoteCallTimeout)
	defer cancel()
	u := s.functions.WorkerURL(to) + path
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.functions.WorkerHTTPClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	if resp.StatusCode/100 != 2 {
		reason := strings.TrimSpace(string(body))
		if e := decodeReason(body); e != "" {
			reason = e
		}
		return nil, &StatusError{Code: resp.StatusCode, Reason: reason}
	}
	return body, nil
}

// decodeReason reads an ErrorData body; "" when body is not one.
func decodeReason(body []byte) string {
	var e struct {
		Reason string `json:"reason"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.Reason
}
