package api

// /admin/v3/functions: register (F1), update (F2), delete (F3), get (F4),
// list (F5), status (F6/F7) and the internal leader endpoint (F25), with the
// Java worker's order of checks, status codes and messages (Apache Pulsar
// 4.0.8 FunctionsImpl / ComponentImpl; spec/rest-api.md §3).
//
// Where we knowingly differ from 4.0.8:
//   - A functionConfig part is read as JSON whatever its Content-Type; Java
//     only binds an application/json part and answers "Function config is
//     not provided" for a text/plain one.
//   - JSON Jackson cannot bind gives 400 {"reason":"Bad Request"}; Java's
//     body there is Jetty's HTML error page with the same status.
//   - F6 lists instances 0..parallelism-1; an unassigned one shows "Function
//     has not been scheduled" (Java lists only assigned instances), and an
//     owner that cannot be reached marks only its instance not running (Java
//     fails the whole request with 500).
//   - Updating a function whose package is an http(s)/file URL without a
//     new URL re-reads that URL; 4.0.8 fails there (URI.create(null)).
//   - A leader request without a functionMetaData part is "Corrupt Function
//     MetaData"; 4.0.8 applies an empty FunctionMetaData.
//   - Package storage limits are the backend's: ErrPackageTooLarge is 413.
//     Java/Jetty set no limit on multipart uploads.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/functionconfig"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/jackson"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// FunctionsBackend is what the functions API needs from the worker. The
// daemon implements it over the metadata view, the leader, the broker, the
// package store and the runtime.
type FunctionsBackend interface {
	// Function returns tenant/namespace/name from this worker's metadata
	// view, whatever its kind (function, source or sink). The caller does
	// not modify it.
	Function(tenant, namespace, name string) (*pb.FunctionMetaData, bool)
	// ListFunctions returns every component of tenant/namespace, of all
	// kinds.
	ListFunctions(tenant, namespace string) []*pb.FunctionMetaData
	// Submit writes md (version already set) through the leader: directly
	// when this worker leads, else with F25 on the leader. delete asks for
	// a deregistration. Errors: ErrOutdated; a *StatusError to pass the
	// leader's own answer on; anything else is answered with 500.
	Submit(ctx context.Context, md *pb.FunctionMetaData, delete bool) error
	// SubmitOnLeader is F25's action on the leader: write md to the
	// metadata topic. ErrOutdated is answered with 400, anything else
	// (ErrNotLeader included) with 500.
	SubmitOnLeader(ctx context.Context, md *pb.FunctionMetaData, delete bool) error
	// TenantExists asks the broker (Java: brokerAdmin.tenants().getTenantInfo).
	// An error wrapping ErrUnauthorized (broker 401/403) is answered with
	// 401, other errors with 500.
	TenantExists(ctx context.Context, tenant string) (bool, error)
	// NamespaceExists tells whether the tenant's namespaces include
	// tenant/namespace or the legacy tenant/<pulsarFunctionsCluster>/namespace.
	NamespaceExists(ctx context.Context, tenant, namespace string) (bool, error)
	// ForwardSourceMessageProperty is the worker's forwardSourceMessageProperty
	// setting (default true): the default of the config field of that name.
	ForwardSourceMessageProperty() bool
	// OpenPackage streams a package so that it can be validated before
	// anything is stored. pkgPath is one of: a URL from the request's url
	// part (only http..., file..., function://, sink://, source:// reach
	// here), "builtin://<name>" for a built-in function (from the jar
	// field), or an existing metadata packagePath (update). http(s) and file
	// URLs must pass the worker's package URL policy, else an error wrapping
	// ErrPackageURLNotAllowed; an unknown built-in gives ErrBuiltinNotFound.
	// An *os.File is used in place instead of being copied.
	OpenPackage(ctx context.Context, pkgPath string) (io.ReadCloser, error)
	// UploadPackage stores an uploaded package for md (tenant, namespace,
	// name, version and createTime are set) and returns its location.
	// Errors may wrap ErrPackageTooLarge (413) or ErrBadPackage (400).
	UploadPackage(ctx context.Context, md *pb.FunctionMetaData, r io.Reader, fileName string) (*pb.PackageLocationMetaData, error)
	// DeletePackage removes a package UploadPackage stored, once its
	// function is gone or its metadata could not be written. Failures are
	// only logged.
	DeletePackage(ctx context.Context, loc *pb.PackageLocationMetaData) error
	// InstanceOwner names the worker assigned instance instanceID of fqfn
	// (tenant/namespace/name); false when it is not assigned or its worker
	// is not a current member. In the latter case the WorkerInfo still
	// carries the assigned WorkerID, so restart can answer as Java does
	// ("has not been assigned yet" rather than "doesn't exist").
	InstanceOwner(fqfn string, instanceID int) (cluster.WorkerInfo, bool)
	// Self is this worker.
	Self() cluster.WorkerInfo
	// WorkerURL is the base URL (scheme://host:port, no trailing slash) at
	// which this worker calls worker w.
	WorkerURL(w cluster.WorkerInfo) string
	// LocalInstanceStatus asks an instance this worker runs. (nil, nil) means
	// the runtime does not know the instance; (nil, err) that it could not
	// start (err is its startup error); a status with running=false and
	// failureException set is how an unreachable instance is reported.
	LocalInstanceStatus(ctx context.Context, fqfn string, instanceID int) (*pb.FunctionStatus, error)
	// WorkerHTTPClient is the authenticated client for worker-to-worker
	// calls (the worker's brokerClientAuthentication credentials and TLS).
	WorkerHTTPClient() *http.Client
}

// Errors a FunctionsBackend returns (wrapped) to choose the answer.
var (
	// ErrOutdated: the leader refused a metadata change whose version is not
	// newer than the one it has (Java: "... out of date. Please try again.").
	ErrOutdated = errors.New("function metadata is out of date")
	// ErrNotLeader: SubmitOnLeader found this worker no longer leads.
	ErrNotLeader = errors.New("Not the leader")
	// ErrUnauthorized: the broker refused the worker's tenant lookup.
	ErrUnauthorized = errors.New("not authorized by the broker")
	// ErrPackageTooLarge: the package exceeds the storage limit (413).
	ErrPackageTooLarge = errors.New("package too large")
	// ErrBadPackage: the package cannot be stored as it is, e.g. an archive
	// with entries outside its root (400).
	ErrBadPackage = errors.New("bad package")
	// ErrPackageURLNotAllowed: the URL fails the worker's package URL policy.
	ErrPackageURLNotAllowed = errors.New("package URL not allowed")
	// ErrBuiltinNotFound: no built-in function of that name.
	ErrBuiltinNotFound = errors.New("built-in function not found")
)

// StatusError is another worker's HTTP answer (e.g. the leader's reply to
// F25), passed on to the client unchanged, as Java passes on a
// PulsarAdminException's status and message.
type StatusError struct {
	Code   int
	Reason string
}

func (e *StatusError) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Reason) }

// FunctionsAuthorizer is the namespace check for the functions API
// (spec/rest-api.md §10.4): super-user, tenant admin, or the "functions"
// action granted on the namespace. A Guard implements it when authorization
// is on; without it only super-users may use the API then.
type FunctionsAuthorizer interface {
	AllowFunctionOps(ctx context.Context, role, tenant, namespace string, r *http.Request) (bool, error)
}

// WithFunctions serves /admin/v3/functions from b.
func WithFunctions(b FunctionsBackend) Option {
	return func(s *Server) { s.functions = b }
}

// Java's messages.
const (
	msgConfigMissing  = "Function config is not provided"
	msgURLNotValid    = "Function Package url is not valid.supported url (http/https/file)"
	msgLeaderNotReady = "Leader not yet ready. Please retry again"
	msgCorruptMeta    = "Corrupt Function MetaData"
	msgNoChange       = "Update contains no change"
	msgOutdatedUpdate = "Update request ignored because it is out of date. Please try again."
	msgOutdatedDelete = "Delete request ignored because it is out of date. Please try again."
	functionType      = "Function"
	maxTextPart       = 16 << 20
)

func (s *Server) functionRoutes() {
	const base = "/admin/v3/functions"
	s.mux.Handle("POST "+base+"/{tenant}/{namespace}/{name}", s.authenticated(s.fnHandler(s.registerFunction)))
	s.mux.Handle("PUT "+base+"/{tenant}/{namespace}/{name}", s.authenticated(s.fnHandler(s.updateFunction)))
	s.mux.Handle("DELETE "+base+"/{tenant}/{namespace}/{name}", s.authenticated(s.fnHandler(s.deleteFunction)))
	s.mux.Handle("GET "+base+"/{tenant}/{namespace}/{name}", s.authenticated(s.fnHandler(s.getFunction)))
	s.mux.Handle("GET "+base+"/{tenant}/{namespace}", s.authenticated(s.fnHandler(s.listFunctions)))
	s.mux.Handle("GET "+base+"/{tenant}/{namespace}/{name}/status", s.authenticated(s.fnHandler(s.functionStatus)))
	s.mux.Handle("PUT "+base+"/leader/{tenant}/{namespace}/{name}", s.authenticated(s.fnHandler(s.functionLeaderUpdate)))
}

// apiError is an answer other than success: status and reason.
type apiError struct {
	code   int
	reason string
}

func (e *apiError) Error() string { return e.reason }

func fail(code int, format string, args ...any) *apiError {
	return &apiError{code, fmt.Sprintf(format, args...)}
}

func badRequest(err error) *apiError { return &apiError{http.StatusBadRequest, err.Error()} }

// fnHandler runs h and answers its error.
func (s *Server) fnHandler(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{http.StatusInternalServerError, err.Error()}
		}
		if ae.code >= 500 {
			s.log.Warn("functions request failed", "method", r.Method, "path", r.URL.Path, "status", ae.code, "err", ae.reason)
		} else {
			s.log.Debug("functions request refused", "method", r.Method, "path", r.URL.Path, "status", ae.code, "reason", ae.reason)
		}
		writeError(w, ae.code, ae.reason)
	}
}

func writeFunctionJSON(w http.ResponseWriter, v any) error {
	b, err := jackson.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return nil
}

// redirect answers 307 to the same request on another worker: Java keeps
// the scheme, path and query and replaces host and port.
func redirect(w http.ResponseWriter, r *http.Request, to cluster.WorkerInfo) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	w.Header().Set("Location", fmt.Sprintf("%s://%s:%d%s", scheme, to.WorkerHostname, to.Port, r.URL.RequestURI()))
	w.WriteHeader(http.StatusTemporaryRedirect)
}

// --- common checks ----------------------------------------------------------

func (s *Server) checkInitialized() error {
	if !s.worker.Initialized() {
		return fail(http.StatusServiceUnavailable, msgNotInitialized)
	}
	return nil
}

// authorizeFunctions is Java's throwRestExceptionIfUnauthorizedForNamespace.
func (s *Server) authorizeFunctions(r *http.Request, tenant, namespace string) error {
	role, _ := r.Context().Value(roleKey{}).(string)
	var ok bool
	var err error
	if a, is := s.guard.(FunctionsAuthorizer); is {
		ok, err = a.AllowFunctionOps(r.Context(), role, tenant, namespace, r)
	} else {
		ok, err = s.guard.IsSuperUser(r.Context(), role, r)
	}
	if err != nil {
		return fail(http.StatusInternalServerError, "%s", err.Error())
	}
	if !ok {
		return fail(http.StatusUnauthorized, msgNotAuthorized)
	}
	return nil
}

// pathParams returns tenant, namespace and name with Java's messages for
// missing ones (which Go's router cannot produce, but a proxy might).
func pathParams(r *http.Request, withName bool) (t, ns, name string, err error) {
	t, ns, name = r.PathValue("tenant"), r.PathValue("namespace"), r.PathValue("name")
	switch {
	case t == "":
		return "", "", "", fail(http.StatusBadRequest, "Tenant is not provided")
	case ns == "":
		return "", "", "", fail(http.StatusBadRequest, "Namespace is not provided")
	case withName && name == "":
		return "", "", "", fail(http.StatusBadRequest, "%s name is not provided", functionType)
	}
	return t, ns, name, nil
}

// existingFunction finds a function; missing or of another kind is 404
// (400 for update).
func (s *Server) existingFunction(t, ns, name string, missingCode int) (*pb.FunctionMetaData, error) {
	md, ok := s.functions.Function(t, ns, name)
	if !ok {
		return nil, fail(missingCode, "%s %s doesn't exist", functionType, name)
	}
	if functionconfig.CalculateSubjectType(md.GetFunctionDetails()) != pb.FunctionDetails_FUNCTION {
		return nil, fail(http.StatusNotFound, "%s %s doesn't exist", functionType, name)
	}
	return md, nil
}

func submitError(err error, deleting bool) error {
	var se *StatusError
	switch {
	case errors.As(err, &se):
		return &apiError{se.Code, se.Reason}
	case errors.Is(err, ErrOutdated) && deleting:
		return fail(http.StatusBadRequest, msgOutdatedDelete)
	case errors.Is(err, ErrOutdated):
		return fail(http.StatusBadRequest, msgOutdatedUpdate)
	}
	return fail(http.StatusInternalServerError, "%s", err.Error())
}

func fqfnOf(t, ns, name string) string { return t + "/" + ns + "/" + name }

// --- multipart ----------------------------------------------------------------

// functionForm holds the parts of a register/update/leader request. The
// data part is spooled to a temporary file, as Java does, so the package
// can be validated before anything is stored.
type functionForm struct {
	config        []byte
	url           string
	updateOptions []byte
	hasData       bool
	data          *os.File
	dataName      string
	metaData      []byte
	hasMetaData   bool
	delete        string
	parts         map[string][]byte // every text part, by name (sourceConfig, sinkConfig)
}

func (f *functionForm) close() {
	if f.data != nil {
		f.data.Close()
		os.Remove(f.data.Name())
	}
}

// readFunctionForm reads the form, spooling the data part up to limit bytes
// (<= 0: no limit) and refusing a larger one with 413 while it streams in, so
// a huge upload never fills the disk. Callers authorize first: nothing of the
// body is read for a caller who may not use the namespace.
func readFunctionForm(r *http.Request, limit int64) (*functionForm, error) {
	mr, err := r.MultipartReader()
	if errors.Is(err, http.ErrNotMultipart) {
		return nil, fail(http.StatusUnsupportedMediaType, "Unsupported Media Type")
	}
	if err != nil {
		return nil, fail(http.StatusBadRequest, "Bad Request")
	}
	f := &functionForm{parts: map[string][]byte{}}
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			f.close()
			return nil, fail(http.StatusBadRequest, "Bad Request")
		}
		name := part.FormName()
		if seen[name] { // Jersey binds the first part of a name
			part.Close()
			continue
		}
		seen[name] = true
		if name == "data" {
			tmp, err := os.CreateTemp("", "pfw-function-*")
			if err != nil {
				f.close()
				return nil, err
			}
			f.data, f.hasData, f.dataName = tmp, true, part.FileName()
			if err := spoolPart(tmp, part, limit); err != nil {
				f.close()
				return nil, err
			}
			continue
		}
		var text []byte
		switch name {
		case "functionConfig", "url", "updateOptions", "functionMetaData", "delete", "sourceConfig", "sinkConfig":
			text, err = io.ReadAll(io.LimitReader(part, maxTextPart+1))
			if err != nil || len(text) > maxTextPart {
				f.close()
				return nil, fail(http.StatusBadRequest, "Bad Request")
			}
			f.parts[name] = text
		}
		switch name {
		case "functionConfig":
			f.config = text
		case "url":
			f.url = string(text)
		case "updateOptions":
			f.updateOptions = text
		case "functionMetaData":
			f.metaData, f.hasMetaData = text, true
		case "delete":
			f.delete = string(text)
		}
		part.Close()
	}
}

// readConfigForm reads a register/update form and binds its config and
// update options, as Jersey does before the Java handler runs.
func readConfigForm(r *http.Request, limit int64) (*functionForm, *functionconfig.Function, error) {
	form, err := readFunctionForm(r, limit)
	if err != nil {
		return nil, nil, err
	}
	fc, err := functionconfig.ParseFunction(form.config)
	if err == nil && len(strings.TrimSpace(string(form.updateOptions))) > 0 {
		var opts struct{}
		_, err = jackson.Decode(form.updateOptions, &jackson.Schema{Props: map[string]jackson.Prop{"updateAuthData": {Kind: jackson.KindBool}}}, &opts)
	}
	if err != nil {
		form.close()
		return nil, nil, fail(http.StatusBadRequest, "Bad Request")
	}
	return form, fc, nil
}

// --- packages -----------------------------------------------------------------

// localPackage is a package readable as a file for the Java checks.
type localPackage struct {
	path    string
	release func()
}

func (p *localPackage) close() {
	if p != nil && p.release != nil {
		p.release()
	}
}

// openUserPackage opens the package a request's url part names. Only URL
// forms go to the backend (Java refuses the rest the same way): a bare
// storage path would let a caller pick up another function's stored
// package.
func (s *Server) openUserPackage(ctx context.Context, pkgURL string, needBytes bool) (*localPackage, error) {
	if !functionconfig.PackageURLSupported(pkgURL) {
		return nil, invalid(msgURLNotValid)
	}
	return s.openPackage(ctx, pkgURL, needBytes)
}

// openPackage fetches pkgPath through the backend into a local file, with
// Java's messages for failures. Only Java functions need the bytes; for
// the others the package is opened (the URL checked) and closed.
func (s *Server) openPackage(ctx context.Context, pkgPath string, needBytes bool) (*localPackage, error) {
	rc, err := s.functions.OpenPackage(ctx, pkgPath)
	if err != nil {
		switch {
		case errors.Is(err, ErrPackageURLNotAllowed):
			return nil, invalid(msgURLNotValid)
		case errors.Is(err, ErrBuiltinNotFound):
			return nil, invalid("No Function %s found", strings.TrimPrefix(pkgPath, "builtin://"))
		case functionconfig.HasPackageTypePrefix(pkgPath) || !functionconfig.PackageURLSupported(pkgPath):
			return nil, invalid("%s", err.Error())
		}
		return nil, invalid("Encountered error \"%s\" when getting %s package from %s", err.Error(), functionType, pkgPath)
	}
	if !needBytes {
		rc.Close()
		return nil, nil
	}
	if f, ok := rc.(*os.File); ok {
		return &localPackage{path: f.Name(), release: func() { f.Close() }}, nil
	}
	defer rc.Close()
	tmp, err := os.CreateTemp("", "pfw-package-*")
	if err != nil {
		return nil, err
	}
	release := func() { tmp.Close(); os.Remove(tmp.Name()) }
	if _, err := io.Copy(tmp, rc); err != nil {
		release()
		return nil, invalid("Encountered error \"%s\" when getting %s package from %s", err.Error(), functionType, pkgPath)
	}
	return &localPackage{path: tmp.Name(), release: release}, nil
}

// validateFunction is FunctionsImpl.validateUpdateRequestParams: the path
// overrides tenant, namespace and name, missing values are inferred, and
// the config is checked and converted. pkg is the package when one is
// known; Java functions need it for their class checks.
func (s *Server) validateFunction(ctx context.Context, t, ns, name string, fc *functionconfig.Function, pkg *localPackage) (*pb.FunctionDetails, error) {
	fc.Tenant, fc.Namespace, fc.Name = ptr(t), ptr(ns), ptr(name)
	fc.InferMissingArguments(s.functions.ForwardSourceMessageProperty())
	java := str(fc.Runtime) == "JAVA"
	if !isEmpty(fc.Jar) && strings.HasPrefix(*fc.Jar, "builtin") {
		builtin, err := s.openPackage(ctx, "builtin://"+strings.TrimPrefix(*fc.Jar, "builtin://"), java)
		if err != nil {
			return nil, err
		}
		defer builtin.close()
		if builtin != nil {
			pkg = builtin
		}
	}
	var pkgPath string
	if pkg != nil {
		pkgPath = pkg.path
	}
	fd, unknown, err := functionconfig.CheckAndConvert(fc, pkgPath)
	if err != nil {
		return nil, err
	}
	if err := s.checkParallelism("Function", fd); err != nil {
		return nil, err
	}
	if unknown != "" {
		s.log.Warn("function class hierarchy leaves its package; stored without input/output type names",
			"function", fqfnOf(t, ns, name), "class", fd.GetClassName(), "unknown", unknown)
	}
	return fd, nil
}

func isBuiltinPath(p string) bool { return strings.HasPrefix(p, "builtin") }

func isURLPath(p string) bool { return strings.HasPrefix(p, "http") || strings.HasPrefix(p, "file") }

// uploadPackage stores the uploaded data part for md.
func (s *Server) uploadPackage(ctx context.Context, md *pb.FunctionMetaData, form *functionForm) (*pb.PackageLocationMetaData, error) {
	if _, err := form.data.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	loc, err := s.functions.UploadPackage(ctx, md, form.data, form.dataName)
	switch {
	case err == nil:
		return loc, nil
	case errors.Is(err, ErrPackageTooLarge):
		return nil, fail(http.StatusRequestEntityTooLarge, "%s", err.Error())
	case errors.Is(err, ErrBadPackage):
		return nil, fail(http.StatusBadRequest, "%s", err.Error())
	case errors.Is(err, ErrInvalidPackageName):
		// A name with '@', with package management on: 4.0.8's
		// PackageName.get throws (through a Guava cache) and the worker
		// answers 500 with the wrapped exception's text.
		fd := md.GetFunctionDetails()
		ct := fd.GetComponentType()
		if ct == pb.FunctionDetails_UNKNOWN {
			ct = pb.FunctionDetails_FUNCTION
		}
		return nil, fail(http.StatusInternalServerError, "java.lang.IllegalArgumentException: Invalid package name '%s://%s/%s/%s@%d'",
			ct, fd.GetTenant(), fd.GetNamespace(), fd.GetName(), md.GetVersion())
	}
	return nil, fail(http.StatusInternalServerError, "%s", err.Error())
}

// discardPackage removes a package stored for a change that did not happen.
func (s *Server) discardPackage(loc *pb.PackageLocationMetaData) {
	if loc == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.functions.DeletePackage(ctx, loc); err != nil {
		s.log.Warn("could not remove package", "path", loc.GetPackagePath(), "err", err)
	}
}

// --- F1 register --------------------------------------------------------------

// configRequest reads what register and update share: initialisation, the
// path and the caller's right to the namespace, then the multipart form and
// the config's presence. On success the caller closes the form.
//
// Java's Jersey reads (and spools) the whole form before the handler checks
// anything; we authorize first so that a caller without the right never
// gets a byte written to disk. The one visible difference: such a caller
// gets 401 where Java would complain about a broken form (400/415).
func (s *Server) configRequest(r *http.Request) (form *functionForm, fc *functionconfig.Function, t, ns, name string, err error) {
	if err = s.checkInitialized(); err != nil {
		return
	}
	if t, ns, name, err = pathParams(r, true); err != nil {
		return
	}
	if err = s.authorizeFunctions(r, t, ns); err != nil {
		return
	}
	form, fc, err = readConfigForm(r, s.maxPackageBytes)
	if err != nil {
		return nil, nil, "", "", "", err
	}
	if fc == nil {
		form.close()
		return nil, nil, "", "", "", fail(http.StatusBadRequest, msgConfigMissing)
	}
	return
}

func (s *Server) registerFunction(w http.ResponseWriter, r *http.Request) error {
	form, fc, t, ns, name, err := s.configRequest(r)
	if err != nil {
		return err
	}
	defer form.close()
	ctx := r.Context()
	if err := s.checkNamespace(ctx, t, ns); err != nil {
		return err
	}
	if _, ok := s.functions.Function(t, ns, name); ok {
		return fail(http.StatusBadRequest, "%s %s already exists", functionType, name)
	}

	urlGiven := strings.TrimSpace(form.url) != ""
	fd, err := func() (*pb.FunctionDetails, error) {
		var pkg *localPackage
		if urlGiven {
			var err error
			if pkg, err = s.openUserPackage(ctx, form.url, javaConfig(fc)); err != nil {
				return nil, err
			}
			defer pkg.close()
		} else if form.hasData {
			pkg = &localPackage{path: form.data.Name()}
		}
		fd, err := s.validateFunction(ctx, t, ns, name, fc, pkg)
		if err != nil {
			return nil, err
		}
		if !urlGiven && fd.GetBuiltin() == "" && !form.hasData {
			return nil, invalid(functionconfig.MsgPackageMissing)
		}
		return fd, nil
	}()
	if err != nil {
		return badRequest(err)
	}

	md := &pb.FunctionMetaData{
		FunctionDetails: fd,
		CreateTime:      uint64(time.Now().UnixMilli()),
		Version:         0,
	}
	var uploaded *pb.PackageLocationMetaData
	switch {
	case fd.GetBuiltin() != "":
		md.PackageLocation = &pb.PackageLocationMetaData{PackagePath: "builtin://" + fd.GetBuiltin()}
	case urlGiven:
		md.PackageLocation = &pb.PackageLocationMetaData{PackagePath: form.url}
	default:
		if uploaded, err = s.uploadPackage(ctx, md, form); err != nil {
			return err
		}
		md.PackageLocation = uploaded
	}
	if err := s.functions.Submit(ctx, md, false); err != nil {
		s.discardPackage(uploaded)
		return submitError(err, false)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// javaConfig guesses, before inference, whether the config is a Java one
// (jar wins over py and go, as in inferMissingArguments): only those need
// the package bytes.
func javaConfig(fc *functionconfig.Function) bool {
	switch {
	case fc.Jar != nil:
		return true
	case fc.Py != nil, fc.Go != nil:
		return false
	}
	return str(fc.Runtime) == "JAVA"
}

// checkNamespace is the tenant and namespace check of register.
func (s *Server) checkNamespace(ctx context.Context, t, ns string) error {
	ok, err := s.functions.TenantExists(ctx, t)
	if errors.Is(err, ErrUnauthorized) {
		return fail(http.StatusUnauthorized, msgNotAuthorized)
	}
	if err != nil {
		return fail(http.StatusInternalServerError, "%s", err.Error())
	}
	if !ok {
		return fail(http.StatusBadRequest, "Tenant does not exist")
	}
	ok, err = s.functions.NamespaceExists(ctx, t, ns)
	if errors.Is(err, ErrUnauthorized) {
		return fail(http.StatusUnauthorized, msgNotAuthorized)
	}
	if err != nil {
		return fail(http.StatusInternalServerError, "%s", err.Error())
	}
	if !ok {
		return fail(http.StatusBadRequest, "Namespace does not exist")
	}
	return nil
}

// --- F2 update ----------------------------------------------------------------

func (s *Server) updateFunction(w http.ResponseWriter, r *http.Request) error {
	form, fc, t, ns, name, err := s.configRequest(r)
	if err != nil {
		return err
	}
	defer form.close()
	existing, err := s.existingFunction(t, ns, name, http.StatusBadRequest)
	if err != nil {
		return err
	}
	existingConfig, err := functionconfig.FromDetails(existing.GetFunctionDetails())
	if err != nil {
		return err
	}
	fc.Tenant, fc.Namespace, fc.Name = ptr(t), ptr(ns), ptr(name)
	merged, err := functionconfig.ValidateUpdate(existingConfig, fc)
	if err != nil {
		return badRequest(err)
	}
	urlGiven := strings.TrimSpace(form.url) != ""
	if reflect.DeepEqual(existingConfig, merged) && !urlGiven && !form.hasData {
		return fail(http.StatusBadRequest, msgNoChange)
	}

	ctx := r.Context()
	existingPath := existing.GetPackageLocation().GetPackagePath()
	fd, err := func() (*pb.FunctionDetails, error) {
		java := str(merged.Runtime) == "JAVA" || !isEmpty(merged.Jar)
		var pkg *localPackage
		var err error
		switch {
		case urlGiven:
			pkg, err = s.openUserPackage(ctx, form.url, java)
		case isURLPath(existingPath) || functionconfig.HasPackageTypePrefix(existingPath):
			if java {
				pkg, err = s.openPackage(ctx, existingPath, true)
			}
		case form.hasData:
			pkg = &localPackage{path: form.data.Name()}
		case !isBuiltinPath(existingPath) && java:
			pkg, err = s.openPackage(ctx, existingPath, true)
		}
		if err != nil {
			return nil, err
		}
		defer pkg.close()
		fd, err := s.validateFunction(ctx, t, ns, name, merged, pkg)
		if err != nil {
			return nil, err
		}
		if isBuiltinPath(existingPath) && fd.GetBuiltin() == "" && !form.hasData {
			return nil, invalid(functionconfig.MsgPackageMissing)
		}
		return fd, nil
	}()
	if err != nil {
		return badRequest(err)
	}

	md := proto.Clone(existing).(*pb.FunctionMetaData)
	md.FunctionDetails = fd
	md.Version = existing.GetVersion() + 1
	var uploaded *pb.PackageLocationMetaData
	if urlGiven || form.hasData {
		// Java's getFunctionPackageLocation for worker-managed runtimes.
		switch {
		case fd.GetBuiltin() != "":
			md.PackageLocation = &pb.PackageLocationMetaData{PackagePath: "builtin://" + fd.GetBuiltin()}
		case urlGiven:
			md.PackageLocation = &pb.PackageLocationMetaData{PackagePath: form.url}
		case isURLPath(existingPath):
			md.PackageLocation = &pb.PackageLocationMetaData{PackagePath: existingPath}
		default:
			if uploaded, err = s.uploadPackage(ctx, md, form); err != nil {
				return err
			}
			md.PackageLocation = uploaded
		}
	}
	// Like Java, the package an update replaces stays stored: instances of
	// the previous version may still need to download it.
	if err := s.functions.Submit(ctx, md, false); err != nil {
		s.discardPackage(uploaded)
		return submitError(err, false)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// dropPackage removes a stored package no metadata refers to any more; Java
// leaves http(s), file and builtin packages alone.
func (s *Server) dropPackage(ctx context.Context, loc *pb.PackageLocationMetaData) {
	p := loc.GetPackagePath()
	if p == "" || isURLPath(p) || isBuiltinPath(p) {
		return
	}
	if err := s.functions.DeletePackage(ctx, loc); err != nil {
		s.log.Warn("could not remove package", "path", p, "err", err)
	}
}

// --- F3 delete ----------------------------------------------------------------

func (s *Server) deleteFunction(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkInitialized(); err != nil {
		return err
	}
	t, ns, name, err := pathParams(r, true)
	if err != nil {
		return err
	}
	if err := s.authorizeFunctions(r, t, ns); err != nil {
		return err
	}
	existing, err := s.existingFunction(t, ns, name, http.StatusNotFound)
	if err != nil {
		return err
	}
	md := proto.Clone(existing).(*pb.FunctionMetaData)
	md.Version = existing.GetVersion() + 1
	if err := s.functions.Submit(r.Context(), md, true); err != nil {
		return submitError(err, true)
	}
	s.dropPackage(r.Context(), existing.GetPackageLocation())
	s.dropState(t, ns, name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- F4 get, F5 list ------------------------------------------------------------

func (s *Server) getFunction(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkInitialized(); err != nil {
		return err
	}
	t, ns, name, err := pathParams(r, true)
	if err != nil {
		return err
	}
	if err := s.authorizeFunctions(r, t, ns); err != nil {
		return err
	}
	md, err := s.existingFunction(t, ns, name, http.StatusNotFound)
	if err != nil {
		return err
	}
	fc, err := functionconfig.FromDetails(md.GetFunctionDetails())
	if err != nil {
		return err
	}
	return writeFunctionJSON(w, fc.ForResponse())
}

func (s *Server) listFunctions(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkInitialized(); err != nil {
		return err
	}
	t, ns, _, err := pathParams(r, false)
	if err != nil {
		return err
	}
	if err := s.authorizeFunctions(r, t, ns); err != nil {
		return err
	}
	names := []string{}
	for _, md := range s.functions.ListFunctions(t, ns) {
		if functionconfig.CalculateSubjectType(md.GetFunctionDetails()) == pb.FunctionDetails_FUNCTION {
			names = append(names, md.GetFunctionDetails().GetName())
		}
	}
	sort.Strings(names)
	return writeFunctionJSON(w, names)
}

// --- F6, F7 status --------------------------------------------------------------

func (s *Server) functionStatus(w http.ResponseWriter, r *http.Request) error {
	md, err := s.statusChecks(r)
	if err != nil {
		return err
	}
	return writeFunctionJSON(w, s.aggregateStatus(r.Context(), md))
}

func (s *Server) functionInstanceStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := parseInstanceID(r.PathValue("instanceId"))
	if err != nil {
		return err
	}
	md, err := s.statusChecks(r)
	if err != nil {
		return err
	}
	fd := md.GetFunctionDetails()
	if id < 0 || id >= int64(fd.GetParallelism()) {
		return fail(http.StatusBadRequest, "%s %s doesn't have instance with id %d", functionType, fd.GetName(), id)
	}
	fqfn := fqfnOf(fd.GetTenant(), fd.GetNamespace(), fd.GetName())
	owner, ok := s.functions.InstanceOwner(fqfn, int(id))
	switch {
	case !ok:
		return writeFunctionJSON(w, notScheduledInstance())
	case owner.WorkerID == s.functions.Self().WorkerID:
		return writeFunctionJSON(w, s.localInstanceStatus(r.Context(), fqfn, int(id)))
	}
	redirect(w, r, owner)
	return nil
}

// statusChecks is ComponentImpl.componentStatusRequestValidate.
func (s *Server) statusChecks(r *http.Request) (*pb.FunctionMetaData, error) {
	if err := s.checkInitialized(); err != nil {
		return nil, err
	}
	t, ns, name, err := pathParams(r, true)
	if err != nil {
		return nil, err
	}
	if err := s.authorizeFunctions(r, t, ns); err != nil {
		return nil, err
	}
	return s.existingFunction(t, ns, name, http.StatusNotFound)
}

// --- F25 leader -------------------------------------------------------------------

func (s *Server) functionLeaderUpdate(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkInitialized(); err != nil {
		return err
	}
	// Super-user first, then the body (see configRequest).
	if err := s.requireSuperUser(r, msgNotAuthorized); err != nil {
		return err
	}
	form, err := readFunctionForm(r, s.maxPackageBytes)
	if err != nil {
		return err
	}
	defer form.close()
	if _, _, _, err := pathParams(r, true); err != nil {
		return err
	}
	md := &pb.FunctionMetaData{}
	if !form.hasMetaData || proto.Unmarshal(form.metaData, md) != nil {
		return fail(http.StatusBadRequest, msgCorruptMeta)
	}
	if !s.worker.IsLeader() {
		leader, err := s.worker.Leader(r.Context())
		if err != nil || leader.WorkerID == s.functions.Self().WorkerID {
			return fail(http.StatusServiceUnavailable, msgLeaderNotReady)
		}
		redirect(w, r, leader)
		return nil
	}
	deleting := strings.EqualFold(strings.TrimSpace(form.delete), "true")
	if err := s.functions.SubmitOnLeader(r.Context(), md, deleting); err != nil {
		var se *StatusError
		switch {
		case errors.As(err, &se):
			return &apiError{se.Code, se.Reason}
		case errors.Is(err, ErrOutdated) && deleting:
			return fail(http.StatusBadRequest, msgOutdatedDelete)
		case errors.Is(err, ErrOutdated):
			return fail(http.StatusBadRequest, msgOutdatedUpdate)
		}
		return fail(http.StatusInternalServerError, "%s", err.Error())
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
