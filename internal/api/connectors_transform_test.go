package api

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// TestSinkTransformFunctions walks sinks with a transform function through
// register, get and update: where the function's package comes from, what
// is stored (FunctionDetails and transformFunctionPackageLocation) and the
// 400s for bad input, with Java's messages.
func TestSinkTransformFunctions(t *testing.T) {
	nar, err := os.ReadFile(filepath.Join(fixtures, "connectors", "java", "testconn.nar"))
	if err != nil {
		t.Fatal(err)
	}
	fns := filepath.Join(fixtures, "functions", "java", "testfns.jar")
	f := newFakeFunctions()
	f.builtins["exclaim"] = fns
	f.packages["function://public/default/fns@1"] = fns
	f.packages["function://public/default/fns@2"] = fns
	s := newConnectorsServer(nil, f, &fakeConnectors{})

	register := func(name, config string) func() *http.Request {
		return func() *http.Request {
			return multipartRequest(t, "POST", "/admin/v3/sinks/public/default/"+name,
				jsonPart("sinkConfig", config), filePart("testconn.nar", nar))
		}
	}
	update := func(name, config string) func() *http.Request {
		return func() *http.Request {
			return multipartRequest(t, "PUT", "/admin/v3/sinks/public/default/"+name, jsonPart("sinkConfig", config))
		}
	}
	// stored checks the last submitted metadata.
	stored := func(class, builtin, userConfig, typeName, location string) func(t *testing.T) {
		return func(t *testing.T) {
			md := f.lastSubmitted(t).md
			fd := md.GetFunctionDetails()
			if fd.GetClassName() != class || fd.GetBuiltin() != builtin || fd.GetUserConfig() != userConfig ||
				fd.GetSource().GetTypeClassName() != typeName || fd.GetSink().GetTypeClassName() != typeName ||
				fd.GetSink().GetClassName() != "conn.IntSink" || fd.GetRuntime() != pb.FunctionDetails_JAVA ||
				md.GetTransformFunctionPackageLocation().GetPackagePath() != location {
				t.Errorf("stored %s", mdJSON(t, md))
			}
		}
	}
	steps := []struct {
		name       string
		req        func() *http.Request
		wantCode   int
		wantBody   string // exact, or a prefix when it ends with "..."
		afterCheck func(t *testing.T)
	}{
		{"built-in function", register("b", `{"inputs":["in"],"transformFunction":"builtin://exclaim",`+
			`"transformFunctionClassName":"fns.Records","transformFunctionConfig":"{\"k\":\"v\"}"}`),
			204, "", stored("fns.Records", "exclaim", `{"k":"v"}`, "java.lang.String", "builtin://exclaim")},
		{"function from package management", register("u", `{"inputs":["in"],"transformFunction":"function://public/default/fns@1",`+
			`"transformFunctionClassName":"fns.Records"}`),
			204, "", stored("fns.Records", "", "", "java.lang.String", "function://public/default/fns@1")},
		{"get names the package URL", func() *http.Request { return httptest.NewRequest("GET", "/admin/v3/sinks/public/default/u", nil) },
			200, `{"tenant":"public","namespace":"default","name":"u","className":"conn.IntSink",...`, nil},
		{"update keeps the function", update("u", `{"parallelism":2}`),
			204, "", stored("fns.Records", "", "", "java.lang.String", "function://public/default/fns@1")},
		{"update to another package", update("u", `{"transformFunction":"function://public/default/fns@2"}`),
			204, "", stored("fns.Records", "", "", "java.lang.String", "function://public/default/fns@2")},
		{"update the config of a built-in function", update("b", `{"transformFunctionConfig":"{}"}`),
			204, "", stored("fns.Records", "exclaim", `{}`, "java.lang.String", "builtin://exclaim")},
		{"update to a function that returns no Record", update("b", `{"transformFunctionClassName":"fns.Exclaim"}`),
			400, `{"reason":"Sink transform function output must be of type Record"}`, nil},
		{"unknown built-in function", register("x", `{"inputs":["in"],"transformFunction":"builtin://nope","transformFunctionClassName":"fns.Records"}`),
			400, `{"reason":"Built-in SINK is not available"}`, nil},
		{"unsupported URL", register("x", `{"inputs":["in"],"transformFunction":"ftp://h/f.jar","transformFunctionClassName":"fns.Records"}`),
			400, `{"reason":"Function Package url is not valid.supported url (http/https/file)"}`, nil},
		{"missing package", register("x", `{"inputs":["in"],"transformFunction":"function://public/default/nope@1","transformFunctionClassName":"fns.Records"}`),
			400, `{"reason":"function://public/default/nope@1 does not exists locally"}`, nil},
		{"class not in the package", register("x", `{"inputs":["in"],"transformFunction":"builtin://exclaim","transformFunctionClassName":"fns.Missing"}`),
			400, `{"reason":"Function class fns.Missing not found"}`, nil},
		{"jar without class name", register("x", `{"inputs":["in"],"transformFunction":"builtin://exclaim"}`),
			400, `{"reason":"Function package doesn't contain the META-INF/services/pulsar-io.yaml file."}`, nil},
		{"output not a Record", register("x", `{"inputs":["in"],"transformFunction":"builtin://exclaim","transformFunctionClassName":"fns.Exclaim"}`),
			400, `{"reason":"Sink transform function output must be of type Record"}`, nil},
		{"sink package checked first", func() *http.Request {
			return multipartRequest(t, "POST", "/admin/v3/sinks/public/default/x",
				jsonPart("sinkConfig", `{"inputs":["in"],"transformFunction":"builtin://nope"}`))
		}, 400, `{"reason":"Sink package is not provided"}`, nil},
	}
	// Unlike 4.0.8, the answer names a package URL transform function too.
	bodyHas := map[string]string{
		"get names the package URL": `"transformFunction":"function://public/default/fns@1","transformFunctionClassName":"fns.Records"`,
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
			if !strings.Contains(body, bodyHas[st.name]) {
				t.Errorf("body %s\nlacks %s", body, bodyHas[st.name])
			}
			if st.afterCheck != nil {
				st.afterCheck(t)
			}
		})
	}
}
