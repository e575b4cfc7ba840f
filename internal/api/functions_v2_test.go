package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// TestLegacyFunctionsAPI covers the v2 functions API that 4.0.8 still
// serves under /admin/v2/functions and /admin/functions: the v3 checks and
// errors, protobuf JSON for get and status, text for state, 200 for
// actions.
func TestLegacyFunctionsAPI(t *testing.T) {
	details := `{"tenant":"public","namespace":"default","name":"v2fn","className":"fns.Exclaim","runtime":"JAVA",` +
		`"source":{"inputSpecs":{"persistent://public/default/in":{}}},"sink":{"topic":"persistent://public/default/out"},"parallelism":1}`
	tests := []struct {
		name       string
		method     string
		path       string // under the base
		parts      []part
		guard      Guard
		wantCode   int
		wantReason string
		golden     string // testdata/functions/<golden>.golden
		wantBody   string
		wantSubmit bool
	}{
		{name: "list", method: "GET", path: "/public/default", wantCode: 200, wantBody: `["ex"]`},
		{name: "get: FunctionDetails as protobuf JSON", method: "GET", path: "/public/default/ex", wantCode: 200, golden: "v2_get"},
		{name: "get, missing", method: "GET", path: "/public/default/nope", wantCode: 404, wantReason: "Function nope doesn't exist"},
		{name: "get without the namespace right", method: "GET", path: "/public/default/ex", guard: denyFunctionsGuard{}, wantCode: 401, wantReason: msgNotAuthorized},
		{name: "status: FunctionStatusList", method: "GET", path: "/public/default/ex/status", wantCode: 200, golden: "v2_status"},
		{name: "instance status: FunctionStatus", method: "GET", path: "/public/default/ex/0/status", wantCode: 200, golden: "v2_instance_status"},
		{name: "instance status, not scheduled", method: "GET", path: "/public/default/ex/1/status", wantCode: 200, golden: "v2_instance_status_not_scheduled"},
		{name: "instance status without the namespace right", method: "GET", path: "/public/default/ex/0/status", guard: denyFunctionsGuard{}, wantCode: 401, wantReason: msgNotAuthorized},
		{name: "state: text", method: "GET", path: "/public/default/ex/state/k", wantCode: 200, wantBody: "value : 42, version : 3"},
		{name: "restart one: 200", method: "POST", path: "/public/default/ex/0/restart", wantCode: 200},
		{name: "restart an instance that does not exist", method: "POST", path: "/public/default/ex/7/restart", wantCode: 400, wantReason: "public/default/ex/7 doesn't exist"},
		{name: "stop all: 200", method: "POST", path: "/public/default/ex/stop", wantCode: 200, wantSubmit: true},
		{name: "no start in v2", method: "POST", path: "/public/default/ex/start", wantCode: 404},
		{name: "delete: 200", method: "DELETE", path: "/public/default/ex", wantCode: 200, wantSubmit: true},
		{name: "delete without the namespace right", method: "DELETE", path: "/public/default/ex", guard: denyFunctionsGuard{}, wantCode: 401, wantReason: msgNotAuthorized},
		{name: "register with functionDetails", method: "POST", path: "/public/default/v2fn",
			parts: []part{textPart("functionDetails", details), filePart("testfns.jar", testJar(t))}, wantCode: 200, wantSubmit: true},
		{name: "register with bad functionDetails", method: "POST", path: "/public/default/v2fn",
			parts: []part{textPart("functionDetails", `{"nope":1}`), filePart("testfns.jar", testJar(t))}, wantCode: 400},
	}
	for _, base := range []string{"/admin/v2/functions", "/admin/functions"} {
		for _, tt := range tests {
			t.Run(base+" "+tt.name, func(t *testing.T) {
				f := newFakeFunctions()
				f.put(t, `{"name":"ex","jar":"x","className":"fns.Exclaim","inputs":["in"],"output":"out","parallelism":2}`, "public/default/ex/v0-testfns.jar", 0)
				f.owners["public/default/ex:0"] = f.self
				f.local["public/default/ex:0"] = &pb.FunctionStatus{Running: true, NumReceived: 5, NumSuccessfullyProcessed: 4,
					LatestUserExceptions: []*pb.FunctionStatus_ExceptionInformation{{ExceptionString: "boom", MsSinceEpoch: 9}},
					AverageLatency:       0.5, LastInvocationTime: 7, InstanceId: "0"}
				st := newFakeState()
				st.values["public/default/ex/k"] = StateValue{Value: []byte{0, 0, 0, 0, 0, 0, 0, 42}, Version: 3, IsNumber: true}
				s := New(leaderWorker, tt.guard, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)),
					WithFunctions(f), WithLifecycle(newFakeLifecycle()), WithState(st))
				var r *http.Request
				if tt.parts != nil {
					r = multipartRequest(t, tt.method, base+tt.path, tt.parts...)
				} else {
					r = httptest.NewRequest(tt.method, base+tt.path, nil)
				}
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, r)
				if rec.Code != tt.wantCode {
					t.Fatalf("status %d, want %d; body %s", rec.Code, tt.wantCode, rec.Body)
				}
				if tt.wantReason != "" && body2reason(t, rec.Body.Bytes()) != tt.wantReason {
					t.Errorf("reason %q, want %q", body2reason(t, rec.Body.Bytes()), tt.wantReason)
				}
				if tt.wantBody != "" && strings.TrimSpace(rec.Body.String()) != tt.wantBody {
					t.Errorf("body %q, want %q", rec.Body, tt.wantBody)
				}
				if tt.golden != "" {
					golden(t, "functions/"+tt.golden, rec.Body.String())
				}
				if got := len(f.submitted) > 0; got != tt.wantSubmit {
					t.Errorf("metadata submitted: %v, want %v", got, tt.wantSubmit)
				}
			})
		}
	}
}
