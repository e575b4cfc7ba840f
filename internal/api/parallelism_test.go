package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMaxParallelism: creates and updates of functions, sources and sinks
// asking for more instances than maxParallelism are refused with 400 before
// anything is stored; at the limit they go through.
func TestMaxParallelism(t *testing.T) {
	py := []byte("print(1)\n")
	withFn := func(f *fakeFunctions) {
		f.put(t, `{"name":"ex","jar":"x","className":"fns.Exclaim","inputs":["in"],"parallelism":2}`, "public/default/ex/testfns.jar", 3)
	}
	tests := []struct {
		name       string
		setup      func(*fakeFunctions)
		req        func() *http.Request
		wantCode   int
		wantReason string
	}{
		{name: "function create above the limit", req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", `{"className":"f.F","inputs":["in"],"py":"/x/f.py","parallelism":100000}`), filePart("f.py", py))
		}, wantCode: 400, wantReason: "Function parallelism 100000 is above this worker's limit of 10 (maxParallelism)"},
		{name: "function create at the limit", req: func() *http.Request {
			return multipartRequest(t, "POST", fnBase+"ex", jsonPart("functionConfig", `{"className":"f.F","inputs":["in"],"py":"/x/f.py","parallelism":10}`), filePart("f.py", py))
		}, wantCode: 204},
		{name: "function update above the limit", setup: withFn, req: func() *http.Request {
			return multipartRequest(t, "PUT", fnBase+"ex", jsonPart("functionConfig", `{"parallelism":11}`))
		}, wantCode: 400, wantReason: "Function parallelism 11 is above this worker's limit of 10 (maxParallelism)"},
		{name: "function update to zero keeps Java's message", setup: withFn, req: func() *http.Request {
			return multipartRequest(t, "PUT", fnBase+"ex", jsonPart("functionConfig", `{"parallelism":0}`))
		}, wantCode: 400, wantReason: "Function parallelism must be a positive number"},
		{name: "source create above the limit", req: func() *http.Request {
			return multipartRequest(t, "POST", "/admin/v3/sources/public/default/src",
				jsonPart("sourceConfig", `{"archive":"builtin://testconn","topicName":"out","parallelism":100000}`))
		}, wantCode: 400, wantReason: "Source parallelism 100000 is above this worker's limit of 10 (maxParallelism)"},
		{name: "sink create above the limit", req: func() *http.Request {
			return multipartRequest(t, "POST", "/admin/v3/sinks/public/default/snk",
				jsonPart("sinkConfig", `{"archive":"builtin://testconn","inputs":["in"],"parallelism":100000}`))
		}, wantCode: 400, wantReason: "Sink parallelism 100000 is above this worker's limit of 10 (maxParallelism)"},
		{name: "sink create at the limit", req: func() *http.Request {
			return multipartRequest(t, "POST", "/admin/v3/sinks/public/default/snk",
				jsonPart("sinkConfig", `{"archive":"builtin://testconn","inputs":["in"],"parallelism":10}`))
		}, wantCode: 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeFunctions()
			if tt.setup != nil {
				tt.setup(f)
			}
			s := New(leaderWorker, nil, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)),
				WithFunctions(f), WithConnectors(&fakeConnectors{}), WithMaxParallelism(10))
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, tt.req())
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.wantCode, rec.Body)
			}
			if tt.wantCode == 204 {
				return
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
			if len(f.submitted) > 0 {
				t.Errorf("a refused request was submitted: %s", f.summary())
			}
		})
	}
}
