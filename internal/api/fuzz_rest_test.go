package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http/httptest"
	"net/textproto"
	"os"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// The fuzz targets of the REST API go through the whole handler (routing,
// authentication, form reading, decoding, validation) as a client's request
// does; they only rely on New and the fakes of this package's tests.

// fuzzRoute is a request with a body: a multipart form whose main part is
// part (a JSON or protobuf-JSON document, or a file).
type fuzzRoute struct{ method, path, part string }

var fuzzRoutes = []fuzzRoute{
	{"POST", "/admin/v3/functions/public/default/fz", "functionConfig"},
	{"PUT", "/admin/v3/functions/public/default/ex", "functionConfig"},
	{"POST", "/admin/v3/sources/public/default/fz", "sourceConfig"},
	{"PUT", "/admin/v3/sources/public/default/src", "sourceConfig"},
	{"POST", "/admin/v3/sinks/public/default/fz", "sinkConfig"},
	{"PUT", "/admin/v3/sinks/public/default/snk", "sinkConfig"},
	{"PUT", "/admin/v3/functions/leader/public/default/ex", "functionMetaData"},
	{"POST", "/admin/v2/functions/public/default/fz", "functionDetails"},
	{"PUT", "/admin/v2/functions/public/default/ex", "functionDetails"},
	{"POST", "/admin/v3/functions/public/default/ex/state/k", "state"},
	{"POST", "/admin/v3/functions/public/default/ex/trigger", "data"},
	{"POST", "/admin/v3/functions/upload", "data"},
}

// fuzzServer is a leader's API over the fake backends, built once per
// process (building the routes costs more than a request); fuzzReset puts
// back its function "ex", source "src" and sink "snk" before every request.
var fuzzServer = sync.OnceValues(func() (*Server, *fakeFunctions) {
	f := newFakeFunctions()
	return New(leaderWorker, nil, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)),
		WithFunctions(f), WithConnectors(&fakeConnectors{}), WithLifecycle(newFakeLifecycle()), WithState(newFakeState()),
		WithMaxPackageBytes(1<<20), WithMaxParallelism(1000)), f
})

func fuzzReset(f *fakeFunctions) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.metas, f.uploads, f.submitted, f.deleted = map[string]*pb.FunctionMetaData{}, map[string][]byte{}, nil, nil
	for name, kind := range map[string]pb.FunctionDetails_ComponentType{
		"ex": pb.FunctionDetails_FUNCTION, "src": pb.FunctionDetails_SOURCE, "snk": pb.FunctionDetails_SINK,
	} {
		f.metas["public/default/"+name] = &pb.FunctionMetaData{
			FunctionDetails: &pb.FunctionDetails{Tenant: "public", Namespace: "default", Name: name, ComponentType: kind,
				Parallelism: 1, Runtime: pb.FunctionDetails_PYTHON, ClassName: "f.F",
				Source: &pb.SourceSpec{InputSpecs: map[string]*pb.ConsumerSpec{"in": {}}}, Sink: &pb.SinkSpec{Topic: "out"}},
			PackageLocation: &pb.PackageLocationMetaData{PackagePath: "public/default/" + name + "/f.py"},
			Version:         1, CreateTime: 1,
		}
		f.uploads["public/default/"+name+"/f.py"] = []byte("print(1)\n")
	}
}

const fuzzBoundary = "fuzzboundary"

// fuzzForm is a multipart body: the route's part, then the other parts.
func fuzzForm(r fuzzRoute, doc, extra []byte) []byte {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.SetBoundary(fuzzBoundary)
	h := textproto.MIMEHeader{}
	if r.part == "data" {
		h.Set("Content-Disposition", `form-data; name="data"; filename="f.py"`)
		h.Set("Content-Type", "application/octet-stream")
	} else {
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, r.part))
		h.Set("Content-Type", "application/json")
	}
	w, _ := mw.CreatePart(h)
	_, _ = w.Write(doc)
	if len(extra) > 0 {
		// An update's options, a trigger's value, the path of an upload, or
		// the package of a create.
		switch r.part {
		case "functionConfig", "sourceConfig", "sinkConfig":
			if r.method == "PUT" {
				_ = mw.WriteField("updateOptions", string(extra))
			} else {
				fw, _ := mw.CreateFormFile("data", "f.py")
				_, _ = fw.Write(extra)
			}
		case "data":
			_ = mw.WriteField(map[bool]string{true: "path", false: "topic"}[r.path == "/admin/v3/functions/upload"], string(extra))
		default:
			_ = mw.WriteField("delete", string(extra))
		}
	}
	_ = mw.Close()
	return buf.Bytes()
}

// serveFuzz sends one request and checks what every answer must be: no
// panic, no 500 (bad input is the client's fault), an error as
// {"reason": ...}, and no spooled upload left in the temporary directory.
func serveFuzz(t *testing.T, tmp string, r fuzzRoute, contentType string, body []byte) {
	req := httptest.NewRequest(r.method, r.path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	srv, backend := fuzzServer()
	fuzzReset(backend)
	srv.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s: %d %s", r.method, r.path, rec.Code, rec.Body)
	}
	if rec.Code >= 400 {
		var e struct {
			Reason *string `json:"reason"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Reason == nil {
			t.Fatalf("%s %s: %d with a body that is not {\"reason\": ...}: %q", r.method, r.path, rec.Code, rec.Body)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Fatalf("%s %s: %d files left in the temporary directory, e.g. %s", r.method, r.path, len(left), left[0].Name())
	}
}

// FuzzRESTConfigParts fuzzes the JSON documents clients send: a function's,
// source's or sink's config, update options, a function's metadata (leader
// update), v2 function details, a state value, and trigger and upload forms.
func FuzzRESTConfigParts(f *testing.F) {
	tmp := f.TempDir()
	f.Setenv("TMPDIR", tmp)
	seeds := [][2]string{
		{pyConfig0, ""},
		{`{"tenant":"public","namespace":"default","name":"fz","runtime":"GO","inputs":["in"],"parallelism":2}`, "package"},
		{`{"parallelism":3,"userConfig":{"a":[1,{"b":null}]}}`, `{"updateAuthData":true}`},
		{`{"topicName":"out","archive":"builtin://x","configs":{"k":"v"},"parallelism":1e3}`, ""},
		{`{"inputs":["in"],"archive":"/x.nar","inputSpecs":{"in":{"receiverQueueSize":-1}}}`, ""},
		{`{"functionDetails":{"tenant":"public","namespace":"default","name":"ex","parallelism":1},"version":"2"}`, "false"},
		{`{"tenant":"public","namespace":"default","name":"fz","runtime":"PYTHON","className":"f.F"}`, ""},
		{`{"key":"k","stringValue":"v","numberValue":"7"}`, ""},
		{"print(1)\n", "in"},
		{`{"parallelism":99999999999999999999}`, ""},
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s[0]), []byte(s[1]))
	}
	// A state without a value, key spelled in another case (found by the fuzzer: it was a 500).
	f.Add(uint8(9), []byte(`{"keY":"k"}`), []byte(""))
	f.Fuzz(func(t *testing.T, route uint8, doc, extra []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		serveFuzz(t, tmp, r, "multipart/form-data; boundary="+fuzzBoundary, fuzzForm(r, doc, extra))
	})
}

// FuzzRESTMultipart fuzzes the multipart bodies themselves (boundaries,
// headers, part names, truncation) on the routes that read forms.
func FuzzRESTMultipart(f *testing.F) {
	tmp := f.TempDir()
	f.Setenv("TMPDIR", tmp)
	for i, r := range fuzzRoutes {
		f.Add(uint8(i), fuzzForm(r, []byte(pyConfig0), []byte("x")))
	}
	f.Add(uint8(0), []byte("--fuzzboundary\r\nContent-Disposition: form-data; name=\"data\"; filename=\"../../x\"\r\n\r\nabc"))
	f.Add(uint8(1), []byte("--fuzzboundary--\r\n"))
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		serveFuzz(t, tmp, r, "multipart/form-data; boundary="+fuzzBoundary, body)
	})
}
