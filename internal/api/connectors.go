package api

// /admin/v3/sources and /admin/v3/sinks (and the deprecated /admin/v3/source,
// /admin/v3/sink): register, update, delete, get, list, status, the built-in
// connector lists and their reload (spec/rest-api.md §4, §5), plus the
// connector and built-in function endpoints of /admin/v3/functions (F20-F22)
// and GET /admin/v2/worker/connectors. The flow is the functions one (Apache
// Pulsar 4.0.8 SourcesImpl, SinksImpl, ComponentImpl); start, stop and
// restart are served elsewhere.

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/functionconfig"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/jackson"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/javaclass"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// ConnectorDefinition is Java's org.apache.pulsar.common.io.ConnectorDefinition
// (null fields left out, as the worker's ObjectMapper does).
type ConnectorDefinition struct {
	Name              string `json:"name,omitempty" yaml:"name"`
	Description       string `json:"description,omitempty" yaml:"description"`
	SourceClass       string `json:"sourceClass,omitempty" yaml:"sourceClass"`
	SinkClass         string `json:"sinkClass,omitempty" yaml:"sinkClass"`
	SourceConfigClass string `json:"sourceConfigClass,omitempty" yaml:"sourceConfigClass"`
	SinkConfigClass   string `json:"sinkConfigClass,omitempty" yaml:"sinkConfigClass"`
}

// FunctionDefinition is Java's org.apache.pulsar.common.functions.FunctionDefinition.
type FunctionDefinition struct {
	Name          string `json:"name,omitempty"`
	Description   string `json:"description,omitempty"`
	FunctionClass string `json:"functionClass,omitempty"`
}

// ConfigFieldDefinition is Java's org.apache.pulsar.common.io.ConfigFieldDefinition.
type ConfigFieldDefinition = javaclass.ConfigFieldDefinition

// BuiltinConnector is a built-in connector: its definition and its NAR.
type BuiltinConnector struct {
	Definition ConnectorDefinition
	Path       string // the NAR file
}

// ConnectorsBackend is what the sources, sinks and built-ins endpoints need
// beyond FunctionsBackend: the built-in archives of connectorsDirectory and
// functionsDirectory.
type ConnectorsBackend interface {
	// Connectors lists the built-in connectors, by name.
	Connectors() []BuiltinConnector
	// ReloadConnectors rescans connectorsDirectory.
	ReloadConnectors() error
	// BuiltinFunctions lists the built-in functions, by name.
	BuiltinFunctions() []FunctionDefinition
	// ReloadBuiltinFunctions rescans functionsDirectory.
	ReloadBuiltinFunctions() error
}

// ConnectorsAuthorizer is the namespace check of /admin/v3/sources and
// /admin/v3/sinks (actions "sources", "sinks"); without it only super-users
// may use them when authorization is on.
type ConnectorsAuthorizer interface {
	AllowSourceOps(ctx context.Context, role, tenant, namespace string, r *http.Request) (bool, error)
	AllowSinkOps(ctx context.Context, role, tenant, namespace string, r *http.Request) (bool, error)
}

// WithConnectors serves the sources and sinks APIs (with WithFunctions'
// backend) and the built-in connector endpoints from b.
func WithConnectors(b ConnectorsBackend) Option {
	return func(s *Server) { s.connectors = b }
}

// connectorKind is what differs between sources and sinks.
type connectorKind struct {
	name       string // "Source", "Sink": ComponentTypeUtils.toString
	ct         pb.FunctionDetails_ComponentType
	configPart string
}

var (
	sourceKind = &connectorKind{name: "Source", ct: pb.FunctionDetails_SOURCE, configPart: "sourceConfig"}
	sinkKind   = &connectorKind{name: "Sink", ct: pb.FunctionDetails_SINK, configPart: "sinkConfig"}
)

const msgSuperUserRequired = "This operation requires super-user access"

func (s *Server) connectorRoutes() {
	for _, b := range []struct {
		kind   *connectorKind
		bases  []string
		list   string
		reload string
	}{
		{sourceKind, []string{"/admin/v3/sources", "/admin/v3/source"}, "builtinsources", "reloadBuiltInSources"},
		{sinkKind, []string{"/admin/v3/sinks", "/admin/v3/sink"}, "builtinsinks", "reloadBuiltInSinks"},
	} {
		k := b.kind
		for _, base := range b.bases {
			s.mux.Handle("POST "+base+"/{tenant}/{namespace}/{name}", s.authenticated(s.fnHandler(k.handler(s.registerConnector))))
			s.mux.Handle("PUT "+base+"/{tenant}/{namespace}/{name}", s.authenticated(s.fnHandler(k.handler(s.updateConnector))))
			s.mux.Handle("DELETE "+base+"/{tenant}/{namespace}/{name}", s.authenticated(s.fnHandler(k.handler(s.deleteConnector))))
			s.mux.Handle("GET "+base+"/{tenant}/{namespace}/{name}", s.authenticated(s.fnHandler(k.handler(s.getConnector))))
			s.mux.Handle("GET "+base+"/{tenant}/{namespace}", s.authenticated(s.fnHandler(k.handler(s.listConnectors))))
			s.mux.Handle("GET "+base+"/{tenant}/{namespace}/{name}/status", s.authenticated(s.fnHandler(k.handler(s.connectorStatus))))
			s.mux.Handle("GET "+base+"/{tenant}/{namespace}/{name}/{instanceId}/status", s.authenticated(s.fnHandler(k.handler(s.connectorInstanceStatus))))
			s.mux.Handle("GET "+base+"/"+b.list, s.authenticated(s.fnHandler(k.handler(s.builtinConnectors))))
			s.mux.Handle("GET "+base+"/"+b.list+"/{builtin}/configdefinition", s.authenticated(s.fnHandler(k.handler(s.connectorConfigDefinition))))
			s.mux.Handle("POST "+base+"/"+b.reload, s.authenticated(s.fnHandler(s.reloadConnectors)))
		}
	}
	const fn = "/admin/v3/functions"
	s.mux.Handle("GET "+fn+"/connectors", s.authenticated(s.fnHandler(s.listAllConnectors)))
	s.mux.Handle("GET "+fn+"/builtins", s.authenticated(s.fnHandler(s.listBuiltinFunctions)))
	s.mux.Handle("POST "+fn+"/builtins/reload", s.authenticated(s.fnHandler(s.reloadBuiltinFunctions)))
	for _, base := range []string{"/admin/v2/worker", "/admin/worker"} {
		s.mux.Handle("GET "+base+"/connectors", s.superUser(func(w http.ResponseWriter, r *http.Request) {
			s.fnHandler(s.listAllConnectors)(w, r)
		}))
	}
}

// handler binds a kind-specific handler.
func (k *connectorKind) handler(h func(*connectorKind, http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error { return h(k, w, r) }
}

// --- common checks ----------------------------------------------------------

// authorize is throwRestExceptionIfUnauthorizedForNamespace for the kind.
func (s *Server) authorizeConnector(k *connectorKind, r *http.Request, tenant, namespace string) error {
	role, _ := r.Context().Value(roleKey{}).(string)
	var ok bool
	var err error
	if a, is := s.guard.(ConnectorsAuthorizer); is {
		if k == sourceKind {
			ok, err = a.AllowSourceOps(r.Context(), role, tenant, namespace, r)
		} else {
			ok, err = a.AllowSinkOps(r.Context(), role, tenant, namespace, r)
		}
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

func (k *connectorKind) pathParams(r *http.Request, withName bool) (t, ns, name string, err error) {
	t, ns, name = r.PathValue("tenant"), r.PathValue("namespace"), r.PathValue("name")
	switch {
	case t == "":
		return "", "", "", fail(http.StatusBadRequest, "Tenant is not provided")
	case ns == "":
		return "", "", "", fail(http.StatusBadRequest, "Namespace is not provided")
	case withName && name == "":
		return "", "", "", fail(http.StatusBadRequest, "%s name is not provided", k.name)
	}
	return t, ns, name, nil
}

// existing finds a component of the kind; missing is missingCode, another
// kind 404.
func (s *Server) existingConnector(k *connectorKind, t, ns, name string, missingCode int) (*pb.FunctionMetaData, error) {
	md, ok := s.functions.Function(t, ns, name)
	if !ok {
		return nil, fail(missingCode, "%s %s doesn't exist", k.name, name)
	}
	if functionconfig.CalculateSubjectType(md.GetFunctionDetails()) != k.ct {
		return nil, fail(http.StatusNotFound, "%s %s doesn't exist", k.name, name)
	}
	return md, nil
}

// builtinConnector finds a built-in connector by name.
func (s *Server) builtinConnector(name string) (BuiltinConnector, bool) {
	for _, c := range s.connectors.Connectors() {
		if c.Definition.Name == name {
			return c, true
		}
	}
	return BuiltinConnector{}, false
}

// connectorRequest reads what register and update share, in Java's order
// except that the caller is authorized before the body is read (see
// configRequest).
func (s *Server) connectorRequest(k *connectorKind, r *http.Request) (form *functionForm, cc functionconfig.Connector, t, ns, name string, err error) {
	if err = s.checkInitialized(); err != nil {
		return
	}
	if t, ns, name, err = k.pathParams(r, true); err != nil {
		return
	}
	if err = s.authorizeConnector(k, r, t, ns); err != nil {
		return
	}
	form, err = readFunctionForm(r, s.maxPackageBytes)
	if err != nil {
		return nil, nil, "", "", "", err
	}
	defer func() {
		if err != nil {
			form.close()
			form = nil
		}
	}()
	cc, err = functionconfig.ParseConnector(k.ct, form.parts[k.configPart])
	if err == nil && len(strings.TrimSpace(string(form.updateOptions))) > 0 {
		var opts struct{}
		_, err = jackson.Decode(form.updateOptions, &jackson.Schema{Props: map[string]jackson.Prop{"updateAuthData": {Kind: jackson.KindBool}}}, &opts)
	}
	if err != nil {
		err = fail(http.StatusBadRequest, "Bad Request")
		return
	}
	if cc == nil {
		err = fail(http.StatusBadRequest, "%s config is not provided", k.name)
		return
	}
	return
}

// validateConnector is SourcesImpl/SinksImpl.validateUpdateRequestParams:
// the path wins, missing values are inferred, a builtin:// archive names
// the NAR, else the package is the given one; a sink's transform function
// package is fetched too.
func (s *Server) validateConnector(ctx context.Context, k *connectorKind, t, ns, name string, cc functionconfig.Connector, pkg *localPackage) (*pb.FunctionDetails, error) {
	cc.SetPath(t, ns, name)
	cc.InferMissing()
	pkgPath := ""
	if a := cc.ArchiveURL(); strings.HasPrefix(a, "builtin://") {
		c, ok := s.builtinConnector(strings.TrimPrefix(a, "builtin://"))
		if !ok {
			return nil, invalid("Built-in %s is not available", strings.ToLower(k.name))
		}
		pkgPath = c.Path
	} else if pkg != nil {
		pkgPath = pkg.path
	}
	if pkgPath == "" {
		return nil, invalid("%s package is not provided", k.name)
	}
	transformPath := ""
	if tf := cc.TransformURL(); strings.TrimSpace(tf) != "" {
		tp, err := s.openTransform(ctx, tf)
		if err != nil {
			return nil, err
		}
		defer tp.close()
		transformPath = tp.path
	}
	fd, err := cc.Validate(pkgPath, transformPath)
	if err != nil {
		return nil, err
	}
	if err := s.checkParallelism(k.name, fd); err != nil {
		return nil, err
	}
	return fd, nil
}

// openTransform fetches a sink's transform function package as SinksImpl
// does: builtin... names a built-in function of functionsDirectory
// (getBuiltinFunctionPackage, whose message names the component type as
// the enum spells it), anything else is a package URL (getPackageFile).
func (s *Server) openTransform(ctx context.Context, url string) (*localPackage, error) {
	if !strings.HasPrefix(url, "builtin") {
		return s.openUserPackage(ctx, url, true)
	}
	name := strings.TrimPrefix(url, "builtin://")
	found := false
	for _, f := range s.connectors.BuiltinFunctions() {
		found = found || f.Name == name
	}
	if !found {
		return nil, invalid("Built-in SINK is not available")
	}
	return s.openPackage(ctx, "builtin://"+name, true)
}

// transformLocation is SinksImpl.setTransformFunctionPackageLocation for a
// worker that runs its instances itself: a built-in function's name, else
// the URL as given; nothing is uploaded.
func transformLocation(fd *pb.FunctionDetails, url string) *pb.PackageLocationMetaData {
	if b := fd.GetBuiltin(); strings.TrimSpace(b) != "" {
		return &pb.PackageLocationMetaData{PackagePath: "builtin://" + b}
	}
	return &pb.PackageLocationMetaData{PackagePath: url}
}

// builtinOf is FunctionCommon.getFunctionCodeBuiltin for the kind.
func (k *connectorKind) builtinOf(fd *pb.FunctionDetails) string {
	if k == sourceKind {
		return fd.GetSource().GetBuiltin()
	}
	return fd.GetSink().GetBuiltin()
}

// --- register, update, delete -------------------------------------------------

func (s *Server) registerConnector(k *connectorKind, w http.ResponseWriter, r *http.Request) error {
	form, cc, t, ns, name, err := s.connectorRequest(k, r)
	if err != nil {
		return err
	}
	defer form.close()
	ctx := r.Context()
	if err := s.checkNamespace(ctx, t, ns); err != nil {
		return err
	}
	if _, ok := s.functions.Function(t, ns, name); ok {
		return fail(http.StatusBadRequest, "%s %s already exists", k.name, name)
	}
	urlGiven := strings.TrimSpace(form.url) != ""
	fd, err := func() (*pb.FunctionDetails, error) {
		var pkg *localPackage
		if urlGiven {
			var err error
			if pkg, err = s.openUserPackage(ctx, form.url, true); err != nil {
				return nil, err
			}
			defer pkg.close()
		} else if form.hasData {
			pkg = &localPackage{path: form.data.Name()}
		}
		fd, err := s.validateConnector(ctx, k, t, ns, name, cc, pkg)
		if err != nil {
			return nil, err
		}
		if !urlGiven && k.builtinOf(fd) == "" && !form.hasData {
			return nil, invalid("%s Package is not provided", k.name)
		}
		return fd, nil
	}()
	if err != nil {
		return badRequest(err)
	}
	md := &pb.FunctionMetaData{FunctionDetails: fd, CreateTime: uint64(time.Now().UnixMilli())}
	var uploaded *pb.PackageLocationMetaData
	switch {
	case k.builtinOf(fd) != "":
		md.PackageLocation = &pb.PackageLocationMetaData{PackagePath: "builtin://" + k.builtinOf(fd)}
	case urlGiven:
		md.PackageLocation = &pb.PackageLocationMetaData{PackagePath: form.url}
	default:
		if uploaded, err = s.uploadPackage(ctx, md, form); err != nil {
			return err
		}
		md.PackageLocation = uploaded
	}
	if tf := cc.TransformURL(); strings.TrimSpace(tf) != "" {
		md.TransformFunctionPackageLocation = transformLocation(fd, tf)
	}
	if err := s.functions.Submit(ctx, md, false); err != nil {
		s.discardPackage(uploaded)
		return submitError(err, false)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) updateConnector(k *connectorKind, w http.ResponseWriter, r *http.Request) error {
	form, cc, t, ns, name, err := s.connectorRequest(k, r)
	if err != nil {
		return err
	}
	defer form.close()
	existing, err := s.existingConnector(k, t, ns, name, http.StatusBadRequest)
	if err != nil {
		return err
	}
	existingConfig, err := functionconfig.ConnectorFromMetadata(k.ct, existing)
	if err != nil {
		return err
	}
	cc.SetPath(t, ns, name)
	merged, err := functionconfig.ValidateConnectorUpdate(k.ct, existingConfig, cc)
	if err != nil {
		return badRequest(err)
	}
	urlGiven := strings.TrimSpace(form.url) != ""
	if functionconfig.SameConfig(existingConfig, merged) && !urlGiven && !form.hasData {
		return fail(http.StatusBadRequest, msgNoChange)
	}
	ctx := r.Context()
	existingPath := existing.GetPackageLocation().GetPackagePath()
	fd, err := func() (*pb.FunctionDetails, error) {
		var pkg *localPackage
		var err error
		switch {
		case urlGiven:
			pkg, err = s.openUserPackage(ctx, form.url, true)
		case form.hasData:
			pkg = &localPackage{path: form.data.Name()}
		case existingPath != "" && !isBuiltinPath(existingPath):
			pkg, err = s.openPackage(ctx, existingPath, true)
		}
		if err != nil {
			return nil, err
		}
		defer pkg.close()
		fd, err := s.validateConnector(ctx, k, t, ns, name, merged, pkg)
		if err != nil {
			return nil, err
		}
		if isBuiltinPath(existingPath) && k.builtinOf(fd) == "" && !form.hasData {
			return nil, invalid("%s Package is not provided", k.name)
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
		switch {
		case k.builtinOf(fd) != "":
			md.PackageLocation = &pb.PackageLocationMetaData{PackagePath: "builtin://" + k.builtinOf(fd)}
		case urlGiven:
			md.PackageLocation = &pb.PackageLocationMetaData{PackagePath: form.url}
		default:
			if uploaded, err = s.uploadPackage(ctx, md, form); err != nil {
				return err
			}
			md.PackageLocation = uploaded
		}
	}
	if tf := merged.TransformURL(); strings.TrimSpace(tf) != "" && tf != existingConfig.TransformURL() {
		md.TransformFunctionPackageLocation = transformLocation(fd, tf)
	}
	if err := s.functions.Submit(ctx, md, false); err != nil {
		s.discardPackage(uploaded)
		return submitError(err, false)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checks of get, delete and status: initialised, path, namespace right,
// existence.
func (s *Server) connectorChecks(k *connectorKind, r *http.Request) (*pb.FunctionMetaData, error) {
	if err := s.checkInitialized(); err != nil {
		return nil, err
	}
	t, ns, name, err := k.pathParams(r, true)
	if err != nil {
		return nil, err
	}
	if err := s.authorizeConnector(k, r, t, ns); err != nil {
		return nil, err
	}
	return s.existingConnector(k, t, ns, name, http.StatusNotFound)
}

func (s *Server) deleteConnector(k *connectorKind, w http.ResponseWriter, r *http.Request) error {
	existing, err := s.connectorChecks(k, r)
	if err != nil {
		return err
	}
	md := proto.Clone(existing).(*pb.FunctionMetaData)
	md.Version = existing.GetVersion() + 1
	if err := s.functions.Submit(r.Context(), md, true); err != nil {
		return submitError(err, true)
	}
	s.dropPackage(r.Context(), existing.GetPackageLocation())
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- get, list ------------------------------------------------------------------

func (s *Server) getConnector(k *connectorKind, w http.ResponseWriter, r *http.Request) error {
	md, err := s.connectorChecks(k, r)
	if err != nil {
		return err
	}
	if k == sourceKind {
		sc, err := functionconfig.SourceFromDetails(md.GetFunctionDetails())
		if err != nil {
			return err
		}
		return writeFunctionJSON(w, sc.ForResponse())
	}
	sc, err := functionconfig.SinkFromMetadata(md)
	if err != nil {
		return err
	}
	return writeFunctionJSON(w, sc.ForResponse())
}

func (s *Server) listConnectors(k *connectorKind, w http.ResponseWriter, r *http.Request) error {
	if err := s.checkInitialized(); err != nil {
		return err
	}
	t, ns, _, err := k.pathParams(r, false)
	if err != nil {
		return err
	}
	if err := s.authorizeConnector(k, r, t, ns); err != nil {
		return err
	}
	names := []string{}
	for _, md := range s.functions.ListFunctions(t, ns) {
		if functionconfig.CalculateSubjectType(md.GetFunctionDetails()) == k.ct {
			names = append(names, md.GetFunctionDetails().GetName())
		}
	}
	sort.Strings(names)
	return writeFunctionJSON(w, names)
}

// --- status -----------------------------------------------------------------------

func (s *Server) connectorStatus(k *connectorKind, w http.ResponseWriter, r *http.Request) error {
	md, err := s.connectorChecks(k, r)
	if err != nil {
		return err
	}
	return writeFunctionJSON(w, s.aggregateConnectorStatus(r.Context(), k, md))
}

func (s *Server) connectorInstanceStatus(k *connectorKind, w http.ResponseWriter, r *http.Request) error {
	id, err := parseInstanceID(r.PathValue("instanceId"))
	if err != nil {
		return err
	}
	md, err := s.connectorChecks(k, r)
	if err != nil {
		return err
	}
	fd := md.GetFunctionDetails()
	if id < 0 || id >= int64(fd.GetParallelism()) {
		return fail(http.StatusBadRequest, "%s %s doesn't have instance with id %d", k.name, fd.GetName(), id)
	}
	fqfn := fqfnOf(fd.GetTenant(), fd.GetNamespace(), fd.GetName())
	owner, ok := s.functions.InstanceOwner(fqfn, int(id))
	switch {
	case !ok:
		return writeFunctionJSON(w, k.notScheduled())
	case owner.WorkerID == s.functions.Self().WorkerID:
		return writeFunctionJSON(w, s.localConnectorStatus(r.Context(), k, fqfn, int(id)))
	}
	redirect(w, r, owner)
	return nil
}

// --- built-ins ------------------------------------------------------------------------

func (s *Server) builtinConnectors(k *connectorKind, w http.ResponseWriter, r *http.Request) error {
	if err := s.checkInitialized(); err != nil {
		return err
	}
	out := []ConnectorDefinition{}
	for _, c := range s.connectors.Connectors() {
		if (k == sourceKind && c.Definition.SourceClass != "") || (k == sinkKind && c.Definition.SinkClass != "") {
			out = append(out, c.Definition)
		}
	}
	return writeFunctionJSON(w, out)
}

func (s *Server) connectorConfigDefinition(k *connectorKind, w http.ResponseWriter, r *http.Request) error {
	if err := s.checkInitialized(); err != nil {
		return err
	}
	c, ok := s.builtinConnector(r.PathValue("builtin"))
	configClass := c.Definition.SourceConfigClass
	if k == sinkKind {
		configClass = c.Definition.SinkConfigClass
	}
	if !ok || (k == sourceKind && c.Definition.SourceClass == "") || (k == sinkKind && c.Definition.SinkClass == "") {
		return fail(http.StatusNotFound, "builtin %s does not exist", strings.ToLower(k.name))
	}
	fields := []ConfigFieldDefinition{}
	if configClass != "" {
		var err error
		if fields, err = javaclass.FieldDefinitions(c.Path, configClass); err != nil {
			s.log.Warn("could not read connector config class", "connector", c.Definition.Name, "class", configClass, "err", err)
			fields = []ConfigFieldDefinition{}
		}
	}
	return writeFunctionJSON(w, fields)
}

// requireSuperUser answers 401 with reason unless the caller is a super-user
// (500 when that cannot be told).
func (s *Server) requireSuperUser(r *http.Request, reason string) error {
	role, _ := r.Context().Value(roleKey{}).(string)
	ok, err := s.guard.IsSuperUser(r.Context(), role, r)
	if err != nil {
		return fail(http.StatusInternalServerError, "%s", err.Error())
	}
	if !ok {
		return fail(http.StatusUnauthorized, "%s", reason)
	}
	return nil
}

func (s *Server) reloadConnectors(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkInitialized(); err != nil {
		return err
	}
	if err := s.requireSuperUser(r, msgSuperUserRequired); err != nil {
		return err
	}
	if err := s.connectors.ReloadConnectors(); err != nil {
		return fail(http.StatusInternalServerError, "%s", err.Error())
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// F20: every connector definition; no authorization check.
func (s *Server) listAllConnectors(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkInitialized(); err != nil {
		return err
	}
	out := []ConnectorDefinition{}
	for _, c := range s.connectors.Connectors() {
		out = append(out, c.Definition)
	}
	return writeFunctionJSON(w, out)
}

// F22.
func (s *Server) listBuiltinFunctions(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkInitialized(); err != nil {
		return err
	}
	if err := s.requireSuperUser(r, msgNotAuthorized); err != nil {
		return err
	}
	out := s.connectors.BuiltinFunctions()
	if out == nil {
		out = []FunctionDefinition{}
	}
	return writeFunctionJSON(w, out)
}

// F21.
func (s *Server) reloadBuiltinFunctions(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkInitialized(); err != nil {
		return err
	}
	if err := s.requireSuperUser(r, msgSuperUserRequired); err != nil {
		return err
	}
	if err := s.connectors.ReloadBuiltinFunctions(); err != nil {
		return fail(http.StatusInternalServerError, "%s", err.Error())
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
