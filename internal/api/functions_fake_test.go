package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/functionconfig"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// fakeFunctions is an in-memory FunctionsBackend: Submit applies changes to
// its metadata map as the leader would.
type fakeFunctions struct {
	mu          sync.Mutex
	metas       map[string]*pb.FunctionMetaData // by fqfn
	tenants     map[string]bool
	namespaces  map[string]bool // "t/ns"
	tenantErr   error
	submitted   []submission
	submitErr   error
	leaderErr   error
	uploads     map[string][]byte // packagePath -> bytes
	uploadErr   error
	deleted     []string
	packages    map[string]string // URL -> local file
	builtins    map[string]string // name -> local file
	owners      map[string]cluster.WorkerInfo
	departed    map[string]string // "fqfn:id" -> assigned worker that is no member
	self        cluster.WorkerInfo
	workerURLs  map[string]string // workerId -> base URL
	local       map[string]*pb.FunctionStatus
	localErr    map[string]error
	noForward   bool
	httpClient  *http.Client
	openedPaths []string
}

type submission struct {
	md       *pb.FunctionMetaData
	delete   bool
	onLeader bool
}

func newFakeFunctions() *fakeFunctions {
	return &fakeFunctions{
		metas:      map[string]*pb.FunctionMetaData{},
		tenants:    map[string]bool{"public": true},
		namespaces: map[string]bool{"public/default": true},
		uploads:    map[string][]byte{},
		packages:   map[string]string{},
		builtins:   map[string]string{},
		owners:     map[string]cluster.WorkerInfo{},
		self:       cluster.WorkerInfo{WorkerID: "w1", WorkerHostname: "host-1", Port: 6750},
		workerURLs: map[string]string{},
		local:      map[string]*pb.FunctionStatus{},
		localErr:   map[string]error{},
		httpClient: http.DefaultClient,
	}
}

func (f *fakeFunctions) Function(t, ns, name string) (*pb.FunctionMetaData, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	md, ok := f.metas[fqfnOf(t, ns, name)]
	return md, ok
}

func (f *fakeFunctions) ListFunctions(t, ns string) []*pb.FunctionMetaData {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*pb.FunctionMetaData
	for _, md := range f.metas {
		if fd := md.GetFunctionDetails(); fd.GetTenant() == t && fd.GetNamespace() == ns {
			out = append(out, md)
		}
	}
	return out
}

func (f *fakeFunctions) apply(md *pb.FunctionMetaData, del, onLeader bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submitted = append(f.submitted, submission{proto.Clone(md).(*pb.FunctionMetaData), del, onLeader})
	fd := md.GetFunctionDetails()
	key := fqfnOf(fd.GetTenant(), fd.GetNamespace(), fd.GetName())
	if old, ok := f.metas[key]; ok && old.GetVersion() >= md.GetVersion() {
		return fmt.Errorf("version %d: %w", md.GetVersion(), ErrOutdated)
	}
	if del {
		delete(f.metas, key)
	} else {
		f.metas[key] = proto.Clone(md).(*pb.FunctionMetaData)
	}
	return nil
}

func (f *fakeFunctions) Submit(_ context.Context, md *pb.FunctionMetaData, del bool) error {
	if f.submitErr != nil {
		f.mu.Lock()
		f.submitted = append(f.submitted, submission{md: md, delete: del})
		f.mu.Unlock()
		return f.submitErr
	}
	return f.apply(md, del, false)
}

func (f *fakeFunctions) SubmitOnLeader(_ context.Context, md *pb.FunctionMetaData, del bool) error {
	if f.leaderErr != nil {
		return f.leaderErr
	}
	return f.apply(md, del, true)
}

func (f *fakeFunctions) TenantExists(_ context.Context, t string) (bool, error) {
	return f.tenants[t], f.tenantErr
}

func (f *fakeFunctions) NamespaceExists(_ context.Context, t, ns string) (bool, error) {
	return f.namespaces[t+"/"+ns], nil
}

func (f *fakeFunctions) ForwardSourceMessageProperty() bool { return !f.noForward }

func (f *fakeFunctions) OpenPackage(_ context.Context, p string) (io.ReadCloser, error) {
	f.mu.Lock()
	f.openedPaths = append(f.openedPaths, p)
	f.mu.Unlock()
	if name, ok := strings.CutPrefix(p, "builtin://"); ok {
		file, ok := f.builtins[name]
		if !ok {
			return nil, fmt.Errorf("builtin %s: %w", name, ErrBuiltinNotFound)
		}
		return os.Open(file)
	}
	if b, ok := f.uploads[p]; ok {
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	if strings.HasPrefix(p, "ftp:") {
		return nil, fmt.Errorf("%q: %w", p, ErrPackageURLNotAllowed)
	}
	file, ok := f.packages[p]
	if !ok {
		return nil, fmt.Errorf("%s does not exists locally", p)
	}
	return os.Open(file)
}

func (f *fakeFunctions) UploadPackage(_ context.Context, md *pb.FunctionMetaData, r io.Reader, fileName string) (*pb.PackageLocationMetaData, error) {
	if f.uploadErr != nil {
		return nil, f.uploadErr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	fd := md.GetFunctionDetails()
	p := fmt.Sprintf("%s/%s/%s/v%d-%s", fd.GetTenant(), fd.GetNamespace(), fd.GetName(), md.GetVersion(), fileName)
	f.mu.Lock()
	f.uploads[p] = b
	f.mu.Unlock()
	return &pb.PackageLocationMetaData{PackagePath: p, OriginalFileName: fileName}, nil
}

func (f *fakeFunctions) DeletePackage(_ context.Context, loc *pb.PackageLocationMetaData) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, loc.GetPackagePath())
	delete(f.uploads, loc.GetPackagePath())
	return nil
}

func (f *fakeFunctions) InstanceOwner(fqfn string, id int) (cluster.WorkerInfo, bool) {
	key := fmt.Sprintf("%s:%d", fqfn, id)
	if w, ok := f.departed[key]; ok {
		return cluster.WorkerInfo{WorkerID: w}, false
	}
	w, ok := f.owners[key]
	return w, ok
}

func (f *fakeFunctions) Self() cluster.WorkerInfo { return f.self }

func (f *fakeFunctions) WorkerURL(w cluster.WorkerInfo) string {
	if u, ok := f.workerURLs[w.WorkerID]; ok {
		return u
	}
	return fmt.Sprintf("http://%s:%d", w.WorkerHostname, w.Port)
}

func (f *fakeFunctions) LocalInstanceStatus(_ context.Context, fqfn string, id int) (*pb.FunctionStatus, error) {
	key := fmt.Sprintf("%s:%d", fqfn, id)
	return f.local[key], f.localErr[key]
}

func (f *fakeFunctions) WorkerHTTPClient() *http.Client { return f.httpClient }

// lastSubmitted is the metadata of the latest Submit/SubmitOnLeader.
func (f *fakeFunctions) lastSubmitted(t *testing.T) submission {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.submitted) == 0 {
		t.Fatal("nothing submitted")
	}
	return f.submitted[len(f.submitted)-1]
}

// mdJSON renders metadata for a golden file: stable key order, createTime
// masked.
func mdJSON(t *testing.T, md *pb.FunctionMetaData) string {
	t.Helper()
	md = proto.Clone(md).(*pb.FunctionMetaData)
	if md.CreateTime != 0 {
		md.CreateTime = 1
	}
	b, err := protojson.Marshal(md)
	if err != nil {
		t.Fatal(err)
	}
	return indentJSON(t, b)
}

func indentJSON(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(out) + "\n"
}

// part is one part of a multipart request.
type part struct {
	name, fileName, contentType string
	body                        []byte
}

func jsonPart(name, body string) part {
	return part{name: name, contentType: "application/json; charset=UTF-8", body: []byte(body)}
}

func filePart(file string, body []byte) part {
	return part{name: "data", fileName: file, contentType: "application/octet-stream", body: body}
}

func textPart(name, body string) part {
	return part{name: name, contentType: "text/plain", body: []byte(body)}
}

func multipartRequest(t *testing.T, method, target string, parts ...part) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := fmt.Sprintf(`form-data; name="%s"`, p.name)
		if p.fileName != "" {
			cd += fmt.Sprintf(`; filename="%s"`, p.fileName)
		}
		h.Set("Content-Disposition", cd)
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.body)
	}
	mw.Close()
	req := httptest.NewRequest(method, target, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return req
}

func newFunctionsServer(w fakeWorker, g Guard, b *fakeFunctions) *Server {
	return New(w, g, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)), WithFunctions(b))
}

func testJar(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, "functions", "java", "testfns.jar"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// existingFunction puts a created function into the fake's view.
func (f *fakeFunctions) put(t *testing.T, config string, pkgPath string, version uint64) *pb.FunctionMetaData {
	t.Helper()
	fc, err := functionconfig.ParseFunction([]byte(config))
	if err != nil {
		t.Fatal(err)
	}
	fc.Tenant, fc.Namespace = ptr("public"), ptr("default")
	if fc.Name == nil {
		fc.Name = ptr("fn")
	}
	fc.InferMissingArguments(true)
	jar := ""
	if str(fc.Runtime) == "JAVA" {
		jar = filepath.Join(fixtures, "functions", "java", "testfns.jar")
	}
	fd, _, err := functionconfig.CheckAndConvert(fc, jar)
	if err != nil {
		t.Fatal(err)
	}
	md := &pb.FunctionMetaData{FunctionDetails: fd, Version: version, CreateTime: 1,
		PackageLocation: &pb.PackageLocationMetaData{PackagePath: pkgPath}}
	if jar != "" && !strings.Contains(pkgPath, "://") {
		b, _ := os.ReadFile(jar)
		f.uploads[pkgPath] = b
		md.PackageLocation.OriginalFileName = "testfns.jar"
	}
	f.metas[fqfnOf(fd.GetTenant(), fd.GetNamespace(), fd.GetName())] = md
	return md
}

// sortedSubmissions is for messages.
func (f *fakeFunctions) summary() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var s []string
	for _, sub := range f.submitted {
		s = append(s, fmt.Sprintf("%s v%d delete=%v", sub.md.GetFunctionDetails().GetName(), sub.md.GetVersion(), sub.delete))
	}
	sort.Strings(s)
	return strings.Join(s, "; ")
}

var errBoom = errors.New("boom")

// fixtures holds the jars and NARs built from Java sources that the config
// model's tests check against Pulsar 4.0.8 (see their READMEs).
var fixtures = filepath.Join("..", "functionconfig", "testdata")
