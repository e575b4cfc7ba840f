package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// fakeConnectors serves testdata/connectors/java/testconn.nar as the one
// built-in connector.
type fakeConnectors struct{ reloads int }

var testConnDefinition = ConnectorDefinition{
	Name: "testconn", Description: "test connectors", SourceClass: "conn.StringSource",
	SinkClass: "conn.IntSink", SourceConfigClass: "conn.SourceConfig",
}

func (f *fakeConnectors) Connectors() []BuiltinConnector {
	return []BuiltinConnector{{Definition: testConnDefinition, Path: filepath.Join(fixtures, "connectors", "java", "testconn.nar")}}
}
func (f *fakeConnectors) ReloadConnectors() error { f.reloads++; return nil }
func (f *fakeConnectors) BuiltinFunctions() []FunctionDefinition {
	return []FunctionDefinition{{Name: "exclaim", Description: "d", FunctionClass: "fns.Exclaim"}}
}
func (f *fakeConnectors) ReloadBuiltinFunctions() error { f.reloads++; return nil }

func newConnectorsServer(g Guard, f *fakeFunctions, c *fakeConnectors) *Server {
	return New(leaderWorker, g, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)), WithFunctions(f), WithConnectors(c))
}

// TestConnectorRequests walks sources and sinks through their endpoints on
// one server: each step's status and body are the Java worker's.
func TestConnectorRequests(t *testing.T) {
	nar, err := os.ReadFile(filepath.Join(fixtures, "connectors", "java", "testconn.nar"))
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeFunctions()
	c := &fakeConnectors{}
	s := newConnectorsServer(nil, f, c)
	get := func(path string) func() *http.Request {
		return func() *http.Request { return httptest.NewRequest("GET", path, nil) }
	}
	steps := []struct {
		name       string
		req        func() *http.Request
		wantCode   int
		wantBody   string // exact, or a prefix when it ends with "..."
		afterCheck func(t *testing.T)
	}{
		{"register builtin source", func() *http.Request {
			return multipartRequest(t, "POST", "/admin/v3/sources/public/default/src",
				jsonPart("sourceConfig", `{"archive":"builtin://testconn","topicName":"out","configs":{"n":1}}`))
		}, 204, "", func(t *testing.T) {
			md := f.lastSubmitted(t).md
			if md.GetPackageLocation().GetPackagePath() != "builtin://testconn" || md.GetFunctionDetails().GetSource().GetBuiltin() != "testconn" ||
				md.GetFunctionDetails().GetComponentType() != pb.FunctionDetails_SOURCE || md.GetFunctionDetails().GetSource().GetTypeClassName() != "java.lang.String" {
				t.Errorf("stored %s", mdJSON(t, md))
			}
		}},
		{"register it again", func() *http.Request {
			return multipartRequest(t, "POST", "/admin/v3/sources/public/default/src", jsonPart("sourceConfig", `{"archive":"builtin://testconn"}`))
		}, 400, `{"reason":"Source src already exists"}`, nil},
		{"register without config", func() *http.Request {
			return multipartRequest(t, "POST", "/admin/v3/sources/public/default/x", textPart("url", ""))
		}, 400, `{"reason":"Source config is not provided"}`, nil},
		{"register unknown builtin", func() *http.Request {
			return multipartRequest(t, "POST", "/admin/v3/sinks/public/default/x", jsonPart("sinkConfig", `{"archive":"builtin://nope","inputs":["in"]}`))
		}, 400, `{"reason":"Built-in sink is not available"}`, nil},
		{"register without package", func() *http.Request {
			return multipartRequest(t, "POST", "/admin/v3/sources/public/default/x", jsonPart("sourceConfig", `{"topicName":"out"}`))
		}, 400, `{"reason":"Source package is not provided"}`, nil},
		{"register a sink from an uploaded NAR (deprecated path)", func() *http.Request {
			return multipartRequest(t, "POST", "/admin/v3/sink/public/default/snk",
				jsonPart("sinkConfig", `{"inputs":["in"],"parallelism":2}`), filePart("testconn.nar", nar))
		}, 204, "", func(t *testing.T) {
			md := f.lastSubmitted(t).md
			if md.GetFunctionDetails().GetSink().GetClassName() != "conn.IntSink" || md.GetFunctionDetails().GetSink().GetBuiltin() != "" ||
				md.GetPackageLocation().GetPackagePath() == "" || strings.HasPrefix(md.GetPackageLocation().GetPackagePath(), "builtin") {
				t.Errorf("stored %s", mdJSON(t, md))
			}
		}},
		{"get source", get("/admin/v3/sources/public/default/src"), 200,
			`{"tenant":"public","namespace":"default","name":"src","className":"conn.StringSource","topicName":"out",` +
				`"producerConfig":{"useThreadLocalProducers":false,"batchBuilder":"","compressionType":"LZ4"},` +
				`"configs":{"n":1},"parallelism":1,"processingGuarantees":"ATLEAST_ONCE","resources":{"cpu":1.0,"ram":1073741824,"disk":10737418240},"archive":"builtin://testconn"}`, nil},
		{"get a source as a sink", get("/admin/v3/sinks/public/default/src"), 404, `{"reason":"Sink src doesn't exist"}`, nil},
		{"list sources", get("/admin/v3/sources/public/default"), 200, `["src"]`, nil},
		{"list sinks", get("/admin/v3/sinks/public/default"), 200, `["snk"]`, nil},
		{"source status, not scheduled", get("/admin/v3/sources/public/default/src/status"), 200,
			`{"numInstances":1,"numRunning":0,"instances":[{"instanceId":0,"status":{"running":false,"error":"Source has not been scheduled",` +
				`"numRestarts":0,"numReceivedFromSource":0,"numSystemExceptions":0,"numSourceExceptions":0,"numWritten":0,"lastReceivedTime":0}}]}`, nil},
		{"sink instance status, local", func() *http.Request {
			f.owners["public/default/snk:1"] = f.self
			f.local["public/default/snk:1"] = &pb.FunctionStatus{Running: true, NumReceived: 7, NumSuccessfullyProcessed: 6, NumSinkExceptions: 1,
				NumUserExceptions: 2, LatestSinkExceptions: []*pb.FunctionStatus_ExceptionInformation{{ExceptionString: "boom", MsSinceEpoch: 5}}}
			return httptest.NewRequest("GET", "/admin/v3/sinks/public/default/snk/1/status", nil)
		}, 200, `{"running":true,"error":"","numRestarts":0,"numReadFromPulsar":7,"numSystemExceptions":2,"latestSystemExceptions":[],` +
			`"numSinkExceptions":1,"latestSinkExceptions":[{"exceptionString":"boom","timestampMs":5}],"numWrittenToSink":6,"lastReceivedTime":0,"workerId":"w1"}`, nil},
		{"sink instance status, no such instance", get("/admin/v3/sinks/public/default/snk/2/status"), 400,
			`{"reason":"Sink snk doesn't have instance with id 2"}`, nil},
		{"update without change", func() *http.Request {
			return multipartRequest(t, "PUT", "/admin/v3/sources/public/default/src", jsonPart("sourceConfig", `{}`))
		}, 400, `{"reason":"Update contains no change"}`, nil},
		{"update configs", func() *http.Request {
			return multipartRequest(t, "PUT", "/admin/v3/sources/public/default/src", jsonPart("sourceConfig", `{"configs":{"n":2}}`))
		}, 204, "", func(t *testing.T) {
			md := f.lastSubmitted(t).md
			if md.GetVersion() != 1 || md.GetFunctionDetails().GetSource().GetConfigs() != `{"n":2}` {
				t.Errorf("stored %s", mdJSON(t, md))
			}
		}},
		{"update a missing source", func() *http.Request {
			return multipartRequest(t, "PUT", "/admin/v3/sources/public/default/nope", jsonPart("sourceConfig", `{"parallelism":2}`))
		}, 400, `{"reason":"Source nope doesn't exist"}`, nil},
		{"builtin sources", get("/admin/v3/sources/builtinsources"), 200,
			`[{"name":"testconn","description":"test connectors","sourceClass":"conn.StringSource","sinkClass":"conn.IntSink","sourceConfigClass":"conn.SourceConfig"}]`, nil},
		{"builtin sinks", get("/admin/v3/sinks/builtinsinks"), 200,
			`[{"name":"testconn","description":"test connectors","sourceClass":"conn.StringSource","sinkClass":"conn.IntSink","sourceConfigClass":"conn.SourceConfig"}]`, nil},
		{"source config definition", get("/admin/v3/sources/builtinsources/testconn/configdefinition"), 200, `[{"fieldName":"intervalMs",...`, nil},
		{"sink config definition (no config class)", get("/admin/v3/sinks/builtinsinks/testconn/configdefinition"), 200, `[]`, nil},
		{"config definition of an unknown source", get("/admin/v3/sources/builtinsources/nope/configdefinition"), 404,
			`{"reason":"builtin source does not exist"}`, nil},
		{"F20 connectors", get("/admin/v3/functions/connectors"), 200,
			`[{"name":"testconn","description":"test connectors","sourceClass":"conn.StringSource","sinkClass":"conn.IntSink","sourceConfigClass":"conn.SourceConfig"}]`, nil},
		{"F22 builtins", get("/admin/v3/functions/builtins"), 200, `[{"name":"exclaim","description":"d","functionClass":"fns.Exclaim"}]`, nil},
		{"worker connectors", get("/admin/v2/worker/connectors"), 200, `[{"name":"testconn",...`, nil},
		{"reload sources", func() *http.Request {
			return httptest.NewRequest("POST", "/admin/v3/sources/reloadBuiltInSources", nil)
		}, 204, "",
			func(t *testing.T) {
				if c.reloads != 1 {
					t.Errorf("%d reloads", c.reloads)
				}
			}},
		{"delete the sink", func() *http.Request { return httptest.NewRequest("DELETE", "/admin/v3/sinks/public/default/snk", nil) }, 204, "",
			func(t *testing.T) {
				if _, ok := f.metas["public/default/snk"]; ok || len(f.deleted) != 1 {
					t.Errorf("after delete: metadata %v, deleted packages %v", f.summary(), f.deleted)
				}
			}},
		{"delete it again", func() *http.Request { return httptest.NewRequest("DELETE", "/admin/v3/sinks/public/default/snk", nil) }, 404,
			`{"reason":"Sink snk doesn't exist"}`, nil},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, st.req())
			body := strings.TrimSpace(rec.Body.String())
			if rec.Code != st.wantCode {
				t.Fatalf("status %d, want %d: %s", rec.Code, st.wantCode, body)
			}
			if prefix, ok := strings.CutSuffix(st.wantBody, "..."); ok {
				if !strings.HasPrefix(body, prefix) {
					t.Errorf("body\n got: %s\nwant: %s", body, st.wantBody)
				}
			} else if body != st.wantBody {
				t.Errorf("body\n got: %s\nwant: %s", body, st.wantBody)
			}
			if st.afterCheck != nil {
				st.afterCheck(t)
			}
		})
	}
}

// TestConnectorReloadNeedsSuperUser: the reload endpoints answer Java's
// super-user message.
func TestConnectorReloadNeedsSuperUser(t *testing.T) {
	s := newConnectorsServer(denyGuard{}, newFakeFunctions(), &fakeConnectors{})
	for _, path := range []string{"/admin/v3/sources/reloadBuiltInSources", "/admin/v3/sinks/reloadBuiltInSinks", "/admin/v3/functions/builtins/reload"} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("POST", path, nil))
		if body := strings.TrimSpace(rec.Body.String()); rec.Code != 401 || body != `{"reason":"This operation requires super-user access"}` {
			t.Errorf("%s: %d %s", path, rec.Code, body)
		}
	}
}
