package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/functionconfig"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

var leaderWorker = fakeWorker{
	initialized: true, leader: true,
	leaderInfo: cluster.WorkerInfo{WorkerID: "w1", WorkerHostname: "host-1", Port: 6750},
}

const (
	javaConfig0 = `{"tenant":"public","namespace":"default","name":"ex","className":"fns.Exclaim","inputs":["in"],"output":"out","outputSchemaType":"","forwardSourceMessageProperty":true,"parallelism":2,"jar":"/tmp/testfns.jar","subscriptionPosition":"Latest"}`
	pyConfig0   = `{"className":"f.F","inputs":["in"],"py":"/x/f.py"}`
	fnBase      = "/admin/v3/functions/public/default/"
)

type denyFunctionsGuard struct{ OpenGuard }

func (denyFunctionsGuard) AllowFunctionOps(context.Context, string, string, string, *http.Request) (bool, error) {
	return false, nil
}

type failingFunctionsGuard struct{ OpenGuard }

func (failingFunctionsGuard) AllowFunctionOps(context.Context, string, string, string, *http.Request) (bool, error) {
	return false, fmt.Errorf("metadata store timeout")
}

// TestFunctionErrors covers the refusals: status and reason as the Java
// worker gives them, and that nothing was stored or submitted.
func TestFunctionErrors(t *testing.T) {
	jar := testJar(t)
	py := []byte("print(1)\n")
	withFn := func(f *fakeFunctions) {
		f.put(t, `{"name":"ex","jar":"x","className":"fns.Exclaim","inputs":["in"],"parallelism":2}`, "public/default/ex/testfns.jar", 3)
	}
	withSource := func(f *fakeFunctions) {
		f.metas["public/default/src"] = &pb.FunctionMetaData{FunctionDetails: &pb.FunctionDetails{
			Tenant: "public", Namespace: "default", Name: "src", ComponentType: pb.FunctionDetails_SOURCE, Parallelism: 1}}
	}
	tests := []struct {
		name       string
		setup      func(*fakeFunctions)
		worker     *fakeWorker
		guard      Guard
		req        func() *http.Request
		wantCode   int
		wantReason string
		submits    bool // whether a Submit was attempted
	}{
		{name: "register without config", req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", filePart("f.py", py))
		}, wantCode: 400, wantReason: "Function config is not provided"},
		{name: "register with null config", req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", "null"), filePart("f.py", py))
		}, wantCode: 400, wantReason: "Function config is not provided"},
		{name: "register with invalid JSON", req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", `{"tenant":`), filePart("f.py", py))
		}, wantCode: 400, wantReason: "Bad Request"},
		{name: "register with mistyped JSON", req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", `{"parallelism":"abc"}`))
		}, wantCode: 400, wantReason: "Bad Request"},
		{name: "register not multipart", req: func() *http.Request {
			r := httptest.NewRequest("POST", fnBase+"ex", strings.NewReader("{}"))
			r.Header.Set("Content-Type", "application/json")
			return r
		}, wantCode: 415, wantReason: "Unsupported Media Type"},
		{name: "register before initialization", worker: &fakeWorker{}, req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", pyConfig0), filePart("f.py", py))
		}, wantCode: 503, wantReason: msgNotInitialized},
		{name: "register unauthorized", guard: denyFunctionsGuard{}, req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", pyConfig0), filePart("f.py", py))
		}, wantCode: 401, wantReason: msgNotAuthorized},
		{name: "register authorization error", guard: failingFunctionsGuard{}, req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", pyConfig0), filePart("f.py", py))
		}, wantCode: 500, wantReason: "metadata store timeout"},
		{name: "register not super user without namespace authorizer", guard: denyGuard{}, req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", pyConfig0), filePart("f.py", py))
		}, wantCode: 401, wantReason: msgNotAuthorized},
		{name: "register in missing tenant", req: func() *http.Request {
			return multipartRequest(t, "POST", "/admin/v3/functions/nope/default/ex", jsonPart("functionConfig", pyConfig0), filePart("f.py", py))
		}, wantCode: 400, wantReason: "Tenant does not exist"},
		{name: "register in missing namespace", req: func() *http.Request {
			return multipartRequest(t, "POST", "/admin/v3/functions/public/nope/ex", jsonPart("functionConfig", pyConfig0), filePart("f.py", py))
		}, wantCode: 400, wantReason: "Namespace does not exist"},
		{name: "register tenant lookup refused", setup: func(f *fakeFunctions) { f.tenantErr = fmt.Errorf("403: %w", ErrUnauthorized) }, req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", pyConfig0), filePart("f.py", py))
		}, wantCode: 401, wantReason: msgNotAuthorized},
		{name: "register tenant lookup failed", setup: func(f *fakeFunctions) { f.tenantErr = errBoom }, req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", pyConfig0), filePart("f.py", py))
		}, wantCode: 500, wantReason: "boom"},
		{name: "register existing", setup: withFn, req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", pyConfig0), filePart("f.py", py))
		}, wantCode: 400, wantReason: "Function ex already exists"},
		{name: "register over a source", setup: withSource, req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"src", jsonPart("functionConfig", pyConfig0), filePart("f.py", py))
		}, wantCode: 400, wantReason: "Function src already exists"},
		{name: "register java without package", req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", javaConfig0))
		}, wantCode: 400, wantReason: "Function package is not provided"},
		{name: "register python without package", req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", pyConfig0))
		}, wantCode: 400, wantReason: "Function Package is not provided"},
		{name: "register go without package", req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", `{"go":"x","inputs":["in"]}`))
		}, wantCode: 400, wantReason: "Function Package is not provided"},
		{name: "register without runtime", req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", `{"inputs":["in"]}`), filePart("f.py", py))
		}, wantCode: 400, wantReason: functionconfig.MsgNoRuntime},
		{name: "register without inputs", req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", `{"py":"f.py","className":"f.F"}`), filePart("f.py", py))
		}, wantCode: 400, wantReason: "No input topic(s) specified for the function"},
		{name: "register java class not in jar", req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", `{"jar":"x.jar","className":"fns.Nope","inputs":["in"]}`), filePart("testfns.jar", jar))
		}, wantCode: 400, wantReason: "Function class fns.Nope must be in class path"},
		{name: "register java class not a function", req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", `{"jar":"x.jar","className":"fns.NotAFunction","inputs":["in"]}`), filePart("testfns.jar", jar))
		}, wantCode: 400, wantReason: "Function class fns.NotAFunction does not implement the correct interface"},
		{name: "register java jar not a zip", req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", javaConfig0), filePart("testfns.jar", py))
		}, wantCode: 400, wantReason: "java.util.zip.ZipException: zip END header not found"},
		{name: "register url not allowed", req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", pyConfig0), textPart("url", "ftp://x/f.py"))
		}, wantCode: 400, wantReason: msgURLNotValid},
		{name: "register url that is a storage path", setup: withFn, req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"steal", jsonPart("functionConfig", pyConfig0), textPart("url", "public/default/ex/testfns.jar"))
		}, wantCode: 400, wantReason: msgURLNotValid},
		{name: "register url unreadable", req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", pyConfig0), textPart("url", "file:///nope/f.py"))
		}, wantCode: 400, wantReason: `Encountered error "file:///nope/f.py does not exists locally" when getting Function package from file:///nope/f.py`},
		{name: "register package url unreadable", req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", pyConfig0), textPart("url", "function://public/default/nope@1"))
		}, wantCode: 400, wantReason: "function://public/default/nope@1 does not exists locally"},
		{name: "register unknown builtin", req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", `{"jar":"builtin://nope","inputs":["in"]}`))
		}, wantCode: 400, wantReason: "No Function nope found"},
		{name: "register package too large", setup: func(f *fakeFunctions) { f.uploadErr = fmt.Errorf("upload: limit 1 MiB: %w", ErrPackageTooLarge) }, req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", pyConfig0), filePart("f.py", py))
		}, wantCode: 413, wantReason: "upload: limit 1 MiB: package too large"},
		{name: "register unsafe archive", setup: func(f *fakeFunctions) { f.uploadErr = fmt.Errorf("entry ../x: %w", ErrBadPackage) }, req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", pyConfig0), filePart("f.py", py))
		}, wantCode: 400, wantReason: "entry ../x: bad package"},
		{name: "register outdated", setup: func(f *fakeFunctions) { f.submitErr = ErrOutdated }, req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", pyConfig0), filePart("f.py", py))
		}, wantCode: 400, wantReason: msgOutdatedUpdate, submits: true},
		{name: "register leader answer passed on", setup: func(f *fakeFunctions) { f.submitErr = &StatusError{503, msgLeaderNotReady} }, req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", pyConfig0), filePart("f.py", py))
		}, wantCode: 503, wantReason: msgLeaderNotReady, submits: true},
		{name: "register submit failure", setup: func(f *fakeFunctions) { f.submitErr = errBoom }, req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", pyConfig0), filePart("f.py", py))
		}, wantCode: 500, wantReason: "boom", submits: true},

		{name: "update missing function", req: func() *http.Request {
			return multipartRequest(t, "PUT", fnBase+"ex", jsonPart("functionConfig", `{"parallelism":3}`))
		}, wantCode: 400, wantReason: "Function ex doesn't exist"},
		{name: "update a source", setup: withSource, req: func() *http.Request {
			return multipartRequest(t, "PUT", fnBase+"src", jsonPart("functionConfig", `{"parallelism":3}`))
		}, wantCode: 404, wantReason: "Function src doesn't exist"},
		{name: "update without config", setup: withFn, req: func() *http.Request {
			return multipartRequest(t, "PUT", fnBase+"ex", jsonPart("updateOptions", `{"updateAuthData":false}`))
		}, wantCode: 400, wantReason: "Function config is not provided"},
		{name: "update without change", setup: withFn, req: func() *http.Request {
			return multipartRequest(t, "PUT", fnBase+"ex", jsonPart("functionConfig", `{"outputSchemaType":"","forwardSourceMessageProperty":true,"parallelism":2,"subscriptionPosition":"Latest"}`))
		}, wantCode: 400, wantReason: "Update contains no change"},
		{name: "update input topics", setup: withFn, req: func() *http.Request {
			return multipartRequest(t, "PUT", fnBase+"ex", jsonPart("functionConfig", `{"inputs":["other"]}`))
		}, wantCode: 400, wantReason: "Input Topics cannot be altered"},
		{name: "update runtime", setup: withFn, req: func() *http.Request {
			return multipartRequest(t, "PUT", fnBase+"ex", jsonPart("functionConfig", `{"runtime":"PYTHON"}`))
		}, wantCode: 400, wantReason: "Runtime cannot be altered"},
		{name: "update to invalid parallelism", setup: withFn, req: func() *http.Request {
			return multipartRequest(t, "PUT", fnBase+"ex", jsonPart("functionConfig", `{"parallelism":0}`))
		}, wantCode: 400, wantReason: "Function parallelism must be a positive number"},
		{name: "update unauthorized", setup: withFn, guard: denyFunctionsGuard{}, req: func() *http.Request {
			return multipartRequest(t, "PUT", fnBase+"ex", jsonPart("functionConfig", `{"parallelism":3}`))
		}, wantCode: 401, wantReason: msgNotAuthorized},

		{name: "delete missing function", req: func() *http.Request {
			return httptest.NewRequest("DELETE", fnBase+"ex", nil)
		}, wantCode: 404, wantReason: "Function ex doesn't exist"},
		{name: "delete a source", setup: withSource, req: func() *http.Request {
			return httptest.NewRequest("DELETE", fnBase+"src", nil)
		}, wantCode: 404, wantReason: "Function src doesn't exist"},
		{name: "delete outdated", setup: func(f *fakeFunctions) { withFn(f); f.submitErr = fmt.Errorf("x: %w", ErrOutdated) }, req: func() *http.Request {
			return httptest.NewRequest("DELETE", fnBase+"ex", nil)
		}, wantCode: 400, wantReason: msgOutdatedDelete, submits: true},
		{name: "delete before initialization", worker: &fakeWorker{}, req: func() *http.Request {
			return httptest.NewRequest("DELETE", fnBase+"ex", nil)
		}, wantCode: 503, wantReason: msgNotInitialized},

		{name: "get missing function", req: func() *http.Request {
			return httptest.NewRequest("GET", fnBase+"ex", nil)
		}, wantCode: 404, wantReason: "Function ex doesn't exist"},
		{name: "get a source", setup: withSource, req: func() *http.Request {
			return httptest.NewRequest("GET", fnBase+"src", nil)
		}, wantCode: 404, wantReason: "Function src doesn't exist"},
		{name: "get unauthorized", setup: withFn, guard: denyFunctionsGuard{}, req: func() *http.Request {
			return httptest.NewRequest("GET", fnBase+"ex", nil)
		}, wantCode: 401, wantReason: msgNotAuthorized},
		{name: "list unauthorized", guard: denyFunctionsGuard{}, req: func() *http.Request {
			return httptest.NewRequest("GET", "/admin/v3/functions/public/default", nil)
		}, wantCode: 401, wantReason: msgNotAuthorized},

		{name: "status of missing function", req: func() *http.Request {
			return httptest.NewRequest("GET", fnBase+"ex/status", nil)
		}, wantCode: 404, wantReason: "Function ex doesn't exist"},
		{name: "instance status out of range", setup: withFn, req: func() *http.Request {
			return httptest.NewRequest("GET", fnBase+"ex/2/status", nil)
		}, wantCode: 400, wantReason: "Function ex doesn't have instance with id 2"},
		{name: "instance status negative", setup: withFn, req: func() *http.Request {
			return httptest.NewRequest("GET", fnBase+"ex/-1/status", nil)
		}, wantCode: 400, wantReason: "Function ex doesn't have instance with id -1"},
		{name: "instance status not a number", setup: withFn, req: func() *http.Request {
			return httptest.NewRequest("GET", fnBase+"ex/abc/status", nil)
		}, wantCode: 400, wantReason: "Invalid instance id 'abc': not a 32-bit integer"},
		{name: "instance status id beyond int32", setup: withFn, req: func() *http.Request {
			return httptest.NewRequest("GET", fnBase+"ex/99999999999999999999/status", nil)
		}, wantCode: 400, wantReason: "Invalid instance id '99999999999999999999': not a 32-bit integer"},
		{name: "status before initialization", worker: &fakeWorker{}, req: func() *http.Request {
			return httptest.NewRequest("GET", fnBase+"ex/status", nil)
		}, wantCode: 503, wantReason: msgNotInitialized},

		{name: "leader corrupt metadata", req: func() *http.Request {
			return multipartRequest(t, "PUT", "/admin/v3/functions/leader/public/default/ex",
				part{name: "functionMetaData", contentType: "application/octet-stream", body: []byte{0xff, 0xff, 0xff}}, textPart("delete", "false"))
		}, wantCode: 400, wantReason: msgCorruptMeta},
		{name: "leader without metadata", req: func() *http.Request {
			return multipartRequest(t, "PUT", "/admin/v3/functions/leader/public/default/ex", textPart("delete", "false"))
		}, wantCode: 400, wantReason: msgCorruptMeta},
		{name: "leader not super user", guard: denyGuard{}, req: func() *http.Request {
			return leaderRequest(t, "ex", 1, false)
		}, wantCode: 401, wantReason: msgNotAuthorized},
		{name: "leader unknown", worker: &fakeWorker{initialized: true, leaderErr: cluster.ErrLeaderUnknown}, req: func() *http.Request {
			return leaderRequest(t, "ex", 1, false)
		}, wantCode: 503, wantReason: msgLeaderNotReady},
		{name: "leader is self but not leading yet", worker: &fakeWorker{initialized: true, leaderInfo: cluster.WorkerInfo{WorkerID: "w1", WorkerHostname: "host-1", Port: 6750}}, req: func() *http.Request {
			return leaderRequest(t, "ex", 1, false)
		}, wantCode: 503, wantReason: msgLeaderNotReady},
		{name: "leader outdated update", setup: func(f *fakeFunctions) { f.leaderErr = ErrOutdated }, req: func() *http.Request {
			return leaderRequest(t, "ex", 1, false)
		}, wantCode: 400, wantReason: msgOutdatedUpdate},
		{name: "leader outdated delete", setup: func(f *fakeFunctions) { f.leaderErr = ErrOutdated }, req: func() *http.Request {
			return leaderRequest(t, "ex", 1, true)
		}, wantCode: 400, wantReason: msgOutdatedDelete},
		{name: "leader lost leadership", setup: func(f *fakeFunctions) { f.leaderErr = ErrNotLeader }, req: func() *http.Request {
			return leaderRequest(t, "ex", 1, false)
		}, wantCode: 500, wantReason: "Not the leader"},
		{name: "leader before initialization", worker: &fakeWorker{}, req: func() *http.Request {
			return leaderRequest(t, "ex", 1, false)
		}, wantCode: 503, wantReason: msgNotInitialized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeFunctions()
			if tt.setup != nil {
				tt.setup(f)
			}
			before := len(f.uploads)
			w := leaderWorker
			if tt.worker != nil {
				w = *tt.worker
			}
			s := newFunctionsServer(w, tt.guard, f)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, tt.req())
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.wantCode, rec.Body)
			}
			var body struct {
				Reason string `json:"reason"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if body.Reason != tt.wantReason {
				t.Errorf("reason\n got: %q\nwant: %q", body.Reason, tt.wantReason)
			}
			if got := len(f.submitted) > 0; got != tt.submits {
				t.Errorf("submitted: %v (%s), want %v", got, f.summary(), tt.submits)
			}
			if len(f.uploads) != before {
				t.Errorf("%d packages stored, want %d (a failed request leaves none behind)", len(f.uploads), before)
			}
		})
	}
}

func leaderRequest(t *testing.T, name string, version uint64, del bool) *http.Request {
	t.Helper()
	md := &pb.FunctionMetaData{Version: version, FunctionDetails: &pb.FunctionDetails{
		Tenant: "public", Namespace: "default", Name: name, ComponentType: pb.FunctionDetails_FUNCTION, Parallelism: 1}}
	b, err := proto.Marshal(md)
	if err != nil {
		t.Fatal(err)
	}
	return multipartRequest(t, "PUT", "/admin/v3/functions/leader/public/default/"+name,
		part{name: "functionMetaData", contentType: "application/octet-stream", body: b}, textPart("delete", fmt.Sprint(del)))
}

// TestFunctionChanges covers the successful changes: what reaches the
// backend (golden metadata) and the answer.
func TestFunctionChanges(t *testing.T) {
	jar := testJar(t)
	py := []byte("print(1)\n")
	builtinJar := filepath.Join(fixtures, "functions", "java", "testfns.nar")
	tests := []struct {
		name   string
		setup  func(*fakeFunctions)
		req    func() *http.Request
		check  func(*testing.T, *fakeFunctions)
		golden string
	}{
		{name: "register java", req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", javaConfig0), filePart("testfns.jar", jar))
		}, golden: "register_java", check: func(t *testing.T, f *fakeFunctions) {
			if _, ok := f.uploads["public/default/ex/v0-testfns.jar"]; !ok {
				t.Errorf("package not stored: %v", f.uploads)
			}
		}},
		{name: "register python with a text/plain config part", req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"pyex", textPart("functionConfig", pyConfig0), filePart("f.py", py))
		}, golden: "register_python"},
		{name: "register go", req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"goex", jsonPart("functionConfig", `{"go":"/tmp/gofn","inputs":["in"],"runtimeFlags":"-x","userConfig":{"a":1,"b":[1.5,"x"]},"secrets":{"s":{"path":"p"}},"resources":{"cpu":0.5}}`), filePart("gofn", []byte("ELF")))
		}, golden: "register_go"},
		{name: "register from url", setup: func(f *fakeFunctions) {
			f.packages["http://repo/testfns.jar"] = filepath.Join(fixtures, "functions", "java", "testfns.jar")
		}, req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"urlex", jsonPart("functionConfig", `{"jar":"x","className":"fns.Records","inputs":["in"]}`), textPart("url", "http://repo/testfns.jar"))
		}, golden: "register_url", check: func(t *testing.T, f *fakeFunctions) {
			if len(f.uploads) != 0 {
				t.Errorf("a URL package was stored: %v", f.uploads)
			}
		}},
		{name: "register builtin", setup: func(f *fakeFunctions) { f.builtins["testfns"] = builtinJar }, req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"bex", jsonPart("functionConfig", `{"jar":"builtin://testfns","inputs":["in"],"windowConfig":{"windowLengthCount":5},"className":"fns.Win"}`))
		}, golden: "register_builtin"},
		{name: "update parallelism keeps the package", setup: func(f *fakeFunctions) {
			f.put(t, `{"name":"ex","jar":"x","className":"fns.Exclaim","inputs":["in"],"parallelism":2}`, "public/default/ex/v0-testfns.jar", 0)
		}, req: func() *http.Request {
			return multipartRequest(t, "PUT", fnBase+"ex",
				jsonPart("functionConfig", `{"tenant":"public","namespace":"default","name":"ex","outputSchemaType":"","forwardSourceMessageProperty":true,"parallelism":3,"subscriptionPosition":"Latest"}`),
				jsonPart("updateOptions", `{"updateAuthData":false}`))
		}, golden: "update_parallelism", check: func(t *testing.T, f *fakeFunctions) {
			if got := f.openedPaths; len(got) != 1 || got[0] != "public/default/ex/v0-testfns.jar" {
				t.Errorf("opened %v, want the stored package (for the Java class checks)", got)
			}
		}},
		{name: "update with a new package", setup: func(f *fakeFunctions) {
			f.put(t, pyConfig0, "public/default/fn/v0-f.py", 4)
		}, req: func() *http.Request {
			return multipartRequest(t, "PUT", fnBase+"fn", jsonPart("functionConfig", `{"className":"f.G"}`), filePart("g.py", py))
		}, golden: "update_package"},
		{name: "delete", setup: func(f *fakeFunctions) {
			f.put(t, pyConfig0, "public/default/fn/v0-f.py", 4)
		}, req: func() *http.Request {
			return httptest.NewRequest("DELETE", fnBase+"fn", nil)
		}, golden: "delete", check: func(t *testing.T, f *fakeFunctions) {
			if len(f.deleted) != 1 || f.deleted[0] != "public/default/fn/v0-f.py" {
				t.Errorf("deleted packages %v", f.deleted)
			}
		}},
		{name: "delete keeps url packages", setup: func(f *fakeFunctions) {
			f.put(t, pyConfig0, "http://repo/f.py", 4)
		}, req: func() *http.Request {
			return httptest.NewRequest("DELETE", fnBase+"fn", nil)
		}, check: func(t *testing.T, f *fakeFunctions) {
			if len(f.deleted) != 0 {
				t.Errorf("deleted packages %v", f.deleted)
			}
		}},
		{name: "leader applies", req: func() *http.Request {
			return leaderRequest(t, "ex", 0, false)
		}, golden: "leader_update", check: func(t *testing.T, f *fakeFunctions) {
			if !f.lastSubmitted(t).onLeader {
				t.Error("not applied on the leader")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeFunctions()
			if tt.setup != nil {
				tt.setup(f)
			}
			s := newFunctionsServer(leaderWorker, nil, f)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, tt.req())
			if rec.Code != http.StatusNoContent {
				t.Fatalf("status %d, want 204; body %s", rec.Code, rec.Body)
			}
			if rec.Body.Len() != 0 {
				t.Errorf("body %q", rec.Body)
			}
			sub := f.lastSubmitted(t)
			if tt.golden != "" {
				got := fmt.Sprintf("delete: %v\n%s", sub.delete, mdJSON(t, sub.md))
				golden(t, "functions/"+tt.golden, got)
			}
			if tt.check != nil {
				tt.check(t, f)
			}
		})
	}
}

func TestFunctionLeaderRedirect(t *testing.T) {
	f := newFakeFunctions()
	w := fakeWorker{initialized: true, leaderInfo: cluster.WorkerInfo{WorkerID: "w2", WorkerHostname: "host-2", Port: 6751}}
	s := newFunctionsServer(w, nil, f)
	rec := httptest.NewRecorder()
	req := leaderRequest(t, "ex", 1, false)
	req.URL.RawQuery = "x=1"
	req.RequestURI = ""
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusTemporaryRedirect {
		t.Fatalf("status %d; body %s", rec.Code, rec.Body)
	}
	if got, want := rec.Header().Get("Location"), "http://host-2:6751/admin/v3/functions/leader/public/default/ex?x=1"; got != want {
		t.Errorf("Location %q, want %q", got, want)
	}
	if len(f.submitted) != 0 {
		t.Error("a non-leader applied the change")
	}
}

// TestFunctionReads covers get, list and the two status endpoints, with a
// real HTTP "remote worker" for the aggregated status.
func TestFunctionReads(t *testing.T) {
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/admin/v3/functions/public/default/ex/1/status" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"running":true,"error":"","numRestarts":1,"numReceived":10,"numSuccessfullyProcessed":9,"numUserExceptions":1,`+
			`"latestUserExceptions":[{"exceptionString":"boom","timestampMs":1700000000000}],"numSystemExceptions":0,"latestSystemExceptions":[],`+
			`"averageLatency":1.5,"lastInvocationTime":1700000000001,"workerId":"w2"}`)
	}))
	defer remote.Close()
	setup := func() *fakeFunctions {
		f := newFakeFunctions()
		f.put(t, `{"name":"ex","jar":"x","className":"fns.Exclaim","inputs":["in"],"output":"out","parallelism":5,"userConfig":{"n":1,"s":"<x>"}}`, "public/default/ex/v0-testfns.jar", 0)
		f.put(t, `{"name":"py","py":"f.py","className":"f.F","inputs":["in2"]}`, "public/default/py/v0-f.py", 0)
		f.metas["public/default/src"] = &pb.FunctionMetaData{FunctionDetails: &pb.FunctionDetails{
			Tenant: "public", Namespace: "default", Name: "src", ComponentType: pb.FunctionDetails_SOURCE}}
		f.metas["other/default/x"] = &pb.FunctionMetaData{FunctionDetails: &pb.FunctionDetails{
			Tenant: "other", Namespace: "default", Name: "x", ComponentType: pb.FunctionDetails_FUNCTION}}
		w2 := cluster.WorkerInfo{WorkerID: "w2", WorkerHostname: "host-2", Port: 6750}
		w3 := cluster.WorkerInfo{WorkerID: "w3", WorkerHostname: "host-3", Port: 6750}
		f.owners["public/default/ex:0"] = f.self
		f.owners["public/default/ex:1"] = w2
		f.owners["public/default/ex:2"] = w3 // unreachable
		f.owners["public/default/ex:4"] = f.self
		f.workerURLs["w2"] = remote.URL
		f.workerURLs["w3"] = "http://127.0.0.1:1"
		f.local["public/default/ex:0"] = &pb.FunctionStatus{
			Running: true, NumReceived: 5, NumSuccessfullyProcessed: 4, NumSystemExceptions: 1, NumSinkExceptions: 2,
			LatestSystemExceptions: []*pb.FunctionStatus_ExceptionInformation{{ExceptionString: "sys", MsSinceEpoch: 1}},
			LatestSinkExceptions:   []*pb.FunctionStatus_ExceptionInformation{{ExceptionString: "sink", MsSinceEpoch: 2}},
			AverageLatency:         0.25, LastInvocationTime: 7, InstanceId: "0",
		}
		f.localErr["public/default/ex:4"] = fmt.Errorf("java.io.IOException: Cannot run program")
		return f
	}
	tests := []struct {
		name, path, golden string
		wantCode           int
		wantLocation       string
	}{
		{"get", fnBase + "ex", "get_java", 200, ""},
		{"get python", fnBase + "py", "get_python", 200, ""},
		{"list", "/admin/v3/functions/public/default", "list", 200, ""},
		{"list empty namespace", "/admin/v3/functions/public/nope", "list_empty", 200, ""},
		{"status of all instances", fnBase + "ex/status", "status", 200, ""},
		{"status of an unassigned function", fnBase + "py/status", "status_unassigned", 200, ""},
		{"status of a local instance", fnBase + "ex/0/status", "instance_status_local", 200, ""},
		{"status of a local instance that failed to start", fnBase + "ex/4/status", "instance_status_not_running", 200, ""},
		{"status of an unassigned instance", fnBase + "ex/3/status", "instance_status_not_scheduled", 200, ""},
		{"status of a remote instance", fnBase + "ex/1/status?a=b", "", 307, "http://host-2:6750" + fnBase + "ex/1/status?a=b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFunctionsServer(leaderWorker, nil, setup())
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.wantCode, rec.Body)
			}
			if tt.wantLocation != "" {
				if got := rec.Header().Get("Location"); got != tt.wantLocation {
					t.Errorf("Location %q, want %q", got, tt.wantLocation)
				}
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			body := rec.Body.String()
			if tt.name == "status of all instances" {
				// The unreachable worker's error text is the OS's.
				body = maskDialError(body)
			}
			golden(t, "functions/"+tt.golden, body)
		})
	}
}

func maskDialError(s string) string {
	i := strings.Index(s, `"error":"Get \"http://127.0.0.1:1`)
	if i < 0 {
		return s
	}
	j := strings.Index(s[i:], `","`)
	return s[:i] + `"error":"<dial error>` + s[i+j:]
}

func TestFunctionsNotServedWithoutBackend(t *testing.T) {
	s := New(leaderWorker, nil, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", fnBase+"ex", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status %d", rec.Code)
	}
}
