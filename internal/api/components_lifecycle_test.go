package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// fakeLifecycle is an in-memory LifecycleBackend.
type fakeLifecycle struct {
	mu         sync.Mutex
	metrics    map[string]*pb.MetricsData // "fqfn:id"
	metricsErr map[string]error
	restarted  []string
	restartErr error
	topicErr   error
	triggers   []TriggerRequest
	triggerOut []byte
	triggerErr error
	stored     map[string][]byte // path -> bytes
}

func newFakeLifecycle() *fakeLifecycle {
	return &fakeLifecycle{metrics: map[string]*pb.MetricsData{}, metricsErr: map[string]error{}, stored: map[string][]byte{}}
}

func (f *fakeLifecycle) LocalInstanceMetrics(_ context.Context, fqfn string, id int) (*pb.MetricsData, error) {
	key := fmt.Sprintf("%s:%d", fqfn, id)
	return f.metrics[key], f.metricsErr[key]
}

func (f *fakeLifecycle) RestartLocalInstance(fqfn string, id int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.restarted = append(f.restarted, fmt.Sprintf("%s:%d", fqfn, id))
	return f.restartErr
}

func (f *fakeLifecycle) TopicReady(context.Context, string) error { return f.topicErr }

func (f *fakeLifecycle) Trigger(_ context.Context, req TriggerRequest) ([]byte, error) {
	f.mu.Lock()
	f.triggers = append(f.triggers, req)
	f.mu.Unlock()
	if f.triggerErr != nil {
		return nil, f.triggerErr
	}
	if req.OutputTopic == "" {
		return nil, nil
	}
	return f.triggerOut, nil
}

func (f *fakeLifecycle) UploadPath(_ context.Context, path string, r io.Reader) error {
	if strings.HasPrefix(path, "invalid/") {
		return fmt.Errorf("upload %s: %w", path, ErrInvalidPackageName)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.stored[path] = b
	f.mu.Unlock()
	return nil
}

func (f *fakeLifecycle) OpenPath(_ context.Context, path string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.stored[path]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrPackageNotFound, path)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// OpenPackage reads the same map: the fake stores locations as paths.
func (f *fakeLifecycle) OpenPackage(ctx context.Context, location string) (io.ReadCloser, error) {
	return f.OpenPath(ctx, location)
}

func newLifecycleServer(w fakeWorker, g Guard, f *fakeFunctions, l *fakeLifecycle) *Server {
	return New(w, g, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)), WithFunctions(f), WithLifecycle(l))
}

// sourceGuard allows functions but not sources or sinks: the check must use
// the kind's action.
type sourceGuard struct{ OpenGuard }

func (sourceGuard) AllowSourceOps(context.Context, string, string, string, *http.Request) (bool, error) {
	return false, nil
}
func (sourceGuard) AllowSinkOps(context.Context, string, string, string, *http.Request) (bool, error) {
	return true, nil
}

// putSource adds a source of parallelism 2 named src.
func putSource(f *fakeFunctions) {
	f.metas["public/default/src"] = &pb.FunctionMetaData{Version: 4, FunctionDetails: &pb.FunctionDetails{
		Tenant: "public", Namespace: "default", Name: "src", ComponentType: pb.FunctionDetails_SOURCE, Parallelism: 2}}
}

func statesOf(md *pb.FunctionMetaData) string {
	var s []string
	for i := int32(0); i < int32(len(md.GetInstanceStates())); i++ {
		s = append(s, fmt.Sprintf("%d=%s", i, md.GetInstanceStates()[i]))
	}
	return strings.Join(s, ",")
}

// TestStartStop covers F13–F16 for every kind: Java's canChangeState rules,
// the instance states written through the leader, and the refusals.
func TestStartStop(t *testing.T) {
	partly := map[int32]pb.FunctionState{0: pb.FunctionState_RUNNING, 1: pb.FunctionState_STOPPED}
	tests := []struct {
		name       string
		states     map[int32]pb.FunctionState
		path       string
		worker     *fakeWorker
		guard      Guard
		submitErr  error
		wantCode   int
		wantReason string
		wantStates string // written metadata's instance states
	}{
		{name: "stop all, none recorded", path: fnBase + "ex/stop", wantCode: 204, wantStates: "0=STOPPED,1=STOPPED"},
		{name: "start all, none recorded", path: fnBase + "ex/start", wantCode: 400, wantReason: "Operation not permitted"},
		{name: "stop one, none recorded", path: fnBase + "ex/1/stop", wantCode: 204, wantStates: "0=RUNNING,1=STOPPED"},
		{name: "start a stopped one", states: partly, path: fnBase + "ex/1/start", wantCode: 204, wantStates: "0=RUNNING,1=RUNNING"},
		{name: "start a running one", states: partly, path: fnBase + "ex/0/start", wantCode: 400, wantReason: "Operation not permitted"},
		{name: "stop a stopped one", states: partly, path: fnBase + "ex/1/stop", wantCode: 400, wantReason: "Operation not permitted"},
		{name: "start all, one stopped", states: partly, path: fnBase + "ex/start", wantCode: 204, wantStates: "0=RUNNING,1=RUNNING"},
		{name: "stop all, one stopped", states: partly, path: fnBase + "ex/stop", wantCode: 204, wantStates: "0=STOPPED,1=STOPPED"},
		{name: "instance beyond parallelism", path: fnBase + "ex/2/stop", wantCode: 400, wantReason: "Operation not permitted"},
		{name: "instance id not a number", path: fnBase + "ex/x/stop", wantCode: 400, wantReason: "Invalid instance id 'x': not a 32-bit integer"},
		{name: "function missing", path: fnBase + "nope/stop", wantCode: 404, wantReason: "Function nope doesn't exist"},
		{name: "a source on the functions path", path: fnBase + "src/stop", wantCode: 404, wantReason: "Function src doesn't exist"},
		{name: "a function on the sinks path", path: "/admin/v3/sinks/public/default/ex/stop", wantCode: 404, wantReason: "Sink ex doesn't exist"},
		{name: "source stop", path: "/admin/v3/sources/public/default/src/0/stop", wantCode: 204, wantStates: "0=STOPPED,1=RUNNING"},
		{name: "source stop on the singular alias", path: "/admin/v3/source/public/default/src/stop", wantCode: 204, wantStates: "0=STOPPED,1=STOPPED"},
		{name: "source without the sources action", path: "/admin/v3/sources/public/default/src/stop", guard: sourceGuard{}, wantCode: 401, wantReason: msgNotAuthorized},
		{name: "not initialized", path: fnBase + "ex/stop", worker: &fakeWorker{}, wantCode: 503, wantReason: msgNotInitialized},
		{name: "not authorized", path: fnBase + "ex/stop", guard: denyFunctionsGuard{}, wantCode: 401, wantReason: msgNotAuthorized},
		{name: "leader's answer passed on", path: fnBase + "ex/stop", submitErr: &StatusError{Code: 400, Reason: msgOutdatedUpdate}, wantCode: 400, wantReason: msgOutdatedUpdate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeFunctions()
			md := f.put(t, `{"name":"ex","jar":"x","className":"fns.Exclaim","inputs":["in"],"parallelism":2}`, "public/default/ex/testfns.jar", 3)
			md.InstanceStates = tt.states
			putSource(f)
			f.submitErr = tt.submitErr
			w := leaderWorker
			if tt.worker != nil {
				w = *tt.worker
			}
			s := newLifecycleServer(w, tt.guard, f, newFakeLifecycle())
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest("POST", tt.path, nil)) // no body, no Content-Type, as pulsar-client-go
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.wantCode, rec.Body)
			}
			if tt.wantReason != "" {
				if got := body2reason(t, rec.Body.Bytes()); got != tt.wantReason {
					t.Errorf("reason %q, want %q", got, tt.wantReason)
				}
			}
			if tt.wantStates == "" {
				if tt.submitErr == nil && len(f.submitted) > 0 {
					t.Errorf("submitted %s", f.summary())
				}
				return
			}
			sub := f.lastSubmitted(t)
			if got := statesOf(sub.md); got != tt.wantStates {
				t.Errorf("instance states %s, want %s", got, tt.wantStates)
			}
			old := f.metas[fqfnOf("public", "default", sub.md.GetFunctionDetails().GetName())]
			if sub.md.GetVersion() != old.GetVersion() || sub.delete {
				t.Errorf("submitted version %d delete=%v; the view has version %d", sub.md.GetVersion(), sub.delete, old.GetVersion())
			}
		})
	}
}

func body2reason(t *testing.T, b []byte) string {
	t.Helper()
	return decodeReason(b)
}

// remoteWorker is a peer worker that records what it is asked and answers
// with code and body.
func remoteWorker(t *testing.T, code int, body string) (*httptest.Server, *[]string) {
	var mu sync.Mutex
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// TestRestart covers F11/F12: local instances restarted here, one remote
// instance redirected, all remote instances restarted through their owners.
func TestRestart(t *testing.T) {
	w2 := cluster.WorkerInfo{WorkerID: "w2", WorkerHostname: "host-2", Port: 6750}
	tests := []struct {
		name          string
		path          string
		remoteCode    int
		remoteBody    string
		restartErr    error
		wantCode      int
		wantReason    string
		wantLocation  string
		wantRestarted string
		wantRemote    string
	}{
		{name: "local instance", path: fnBase + "ex/0/restart", wantCode: 204, wantRestarted: "public/default/ex:0"},
		{name: "remote instance", path: fnBase + "ex/1/restart", wantCode: 307, wantLocation: "http://host-2:6750" + fnBase + "ex/1/restart"},
		{name: "unassigned instance", path: fnBase + "ex/2/restart", wantCode: 400, wantReason: "public/default/ex/2 doesn't exist"},
		{name: "instance past the parallelism", path: fnBase + "ex/7/restart", wantCode: 400, wantReason: "public/default/ex/7 doesn't exist"},
		{name: "instance -1", path: fnBase + "ex/-1/restart", wantCode: 400, wantReason: "public/default/ex/-1 doesn't exist"},
		{name: "instance of a worker that left", path: "/admin/v3/sinks/public/default/snk/0/restart", wantCode: 400,
			wantReason: "public/default/snk/0 has not been assigned yet"},
		{name: "source instance past the parallelism", path: "/admin/v3/sources/public/default/src/7/restart", wantCode: 400,
			wantReason: "public/default/src/7 doesn't exist"},
		{name: "all instances, none assigned", path: "/admin/v3/functions/public/default/idle/restart", wantCode: 400,
			wantReason: "public/default/idle has not been assigned yet"},
		{name: "all instances of a sink whose worker left", path: "/admin/v3/sinks/public/default/snk/restart", remoteCode: 204, wantCode: 204},
		{name: "local restart fails", path: fnBase + "ex/0/restart", restartErr: errBoom, wantCode: 500, wantReason: "boom", wantRestarted: "public/default/ex:0"},
		{name: "all instances", path: fnBase + "ex/restart", remoteCode: 204, wantCode: 204,
			wantRestarted: "public/default/ex:0", wantRemote: "POST /admin/v3/functions/public/default/ex/1/restart"},
		{name: "all instances, the owner refuses", path: fnBase + "ex/restart", remoteCode: 401, remoteBody: `{"reason":"` + msgNotAuthorized + `"}`,
			wantCode: 401, wantReason: msgNotAuthorized, wantRestarted: "public/default/ex:0", wantRemote: "POST /admin/v3/functions/public/default/ex/1/restart"},
		{name: "all instances of a source", path: "/admin/v3/source/public/default/src/restart", remoteCode: 204, wantCode: 204,
			wantRestarted: "public/default/src:0", wantRemote: "POST /admin/v3/sources/public/default/src/1/restart"},
		{name: "restart is a POST", path: fnBase + "ex/0/restart", wantCode: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeFunctions()
			f.put(t, `{"name":"ex","jar":"x","className":"fns.Exclaim","inputs":["in"],"parallelism":3}`, "public/default/ex/testfns.jar", 3)
			f.put(t, `{"name":"idle","jar":"x","className":"fns.Exclaim","inputs":["in"],"parallelism":1}`, "public/default/idle/testfns.jar", 3)
			putSource(f)
			f.metas["public/default/snk"] = &pb.FunctionMetaData{Version: 1, FunctionDetails: &pb.FunctionDetails{
				Tenant: "public", Namespace: "default", Name: "snk", ComponentType: pb.FunctionDetails_SINK, Parallelism: 1}}
			f.departed = map[string]string{"public/default/snk:0": "gone"}
			for _, fn := range []string{"public/default/ex", "public/default/src"} {
				f.owners[fn+":0"] = f.self
				f.owners[fn+":1"] = w2
			}
			srv, calls := remoteWorker(t, tt.remoteCode, tt.remoteBody)
			f.workerURLs["w2"] = srv.URL
			l := newFakeLifecycle()
			l.restartErr = tt.restartErr
			s := newLifecycleServer(leaderWorker, nil, f, l)
			method := "POST"
			if tt.wantCode == 405 {
				method = "GET"
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(method, tt.path, nil))
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.wantCode, rec.Body)
			}
			if got := rec.Header().Get("Location"); got != tt.wantLocation {
				t.Errorf("Location %q, want %q", got, tt.wantLocation)
			}
			if tt.wantReason != "" && body2reason(t, rec.Body.Bytes()) != tt.wantReason {
				t.Errorf("reason %q, want %q", body2reason(t, rec.Body.Bytes()), tt.wantReason)
			}
			if got := strings.Join(l.restarted, ";"); got != tt.wantRestarted {
				t.Errorf("restarted here %q, want %q", got, tt.wantRestarted)
			}
			if got := strings.Join(*calls, ";"); got != tt.wantRemote {
				t.Errorf("asked of w2 %q, want %q", got, tt.wantRemote)
			}
		})
	}
}

// TestStats covers F8/F9 with golden bodies: Java's field names ("1min"),
// nulls for unmeasured latencies and times, remote instances through F9.
func TestStats(t *testing.T) {
	remoteStats := `{"receivedTotal":10,"processedSuccessfullyTotal":8,"systemExceptionsTotal":1,"userExceptionsTotal":1,"avgProcessLatency":3.0,` +
		`"1min":{"receivedTotal":4,"processedSuccessfullyTotal":4,"systemExceptionsTotal":0,"userExceptionsTotal":0,"avgProcessLatency":2.5},` +
		`"lastInvocation":1700000000500,"userMetrics":{"m":1.5}}`
	srv, calls := remoteWorker(t, 200, remoteStats)
	setup := func() (*fakeFunctions, *fakeLifecycle) {
		f := newFakeFunctions()
		f.put(t, `{"name":"ex","jar":"x","className":"fns.Exclaim","inputs":["in"],"output":"out","parallelism":4}`, "public/default/ex/v0-testfns.jar", 0)
		f.put(t, `{"name":"idle","jar":"x","className":"fns.Exclaim","inputs":["in"],"output":"out","parallelism":1}`, "public/default/idle/v0-testfns.jar", 0)
		putSource(f)
		w2 := cluster.WorkerInfo{WorkerID: "w2", WorkerHostname: "host-2", Port: 6750}
		f.owners["public/default/ex:0"] = f.self
		f.owners["public/default/ex:1"] = w2
		f.owners["public/default/ex:3"] = f.self // not running: zeros
		f.workerURLs["w2"] = srv.URL
		l := newFakeLifecycle()
		l.metrics["public/default/ex:0"] = &pb.MetricsData{
			ReceivedTotal: 5, ProcessedSuccessfullyTotal: 4, SystemExceptionsTotal: 0, UserExceptionsTotal: 1,
			AvgProcessLatency: 1.0, LastInvocation: 1700000000001,
			ReceivedTotal_1Min: 2, ProcessedSuccessfullyTotal_1Min: 2,
			UserMetrics: map[string]float64{"count": 7, "nan": math.NaN()},
		}
		return f, l
	}
	tests := []struct {
		name, path, golden string
		wantCode           int
		wantLocation       string
		wantReason         string
	}{
		{name: "all instances", path: fnBase + "ex/stats", golden: "stats", wantCode: 200},
		{name: "no instance assigned", path: fnBase + "idle/stats", golden: "stats_unassigned", wantCode: 200},
		{name: "local instance", path: fnBase + "ex/0/stats", golden: "instance_stats_local", wantCode: 200},
		{name: "local instance not running", path: fnBase + "ex/3/stats", golden: "instance_stats_empty", wantCode: 200},
		{name: "unassigned instance", path: fnBase + "ex/2/stats", golden: "instance_stats_empty", wantCode: 200},
		{name: "remote instance", path: fnBase + "ex/1/stats?x=1", wantCode: 307, wantLocation: "http://host-2:6750" + fnBase + "ex/1/stats?x=1"},
		{name: "instance out of range", path: fnBase + "ex/4/stats", wantCode: 400, wantReason: "Function ex doesn't have instance with id 4"},
		{name: "instance id not a number", path: fnBase + "ex/x/stats", wantCode: 400, wantReason: "Invalid instance id 'x': not a 32-bit integer"},
		{name: "instance id beyond int32", path: fnBase + "ex/99999999999999999999/stats", wantCode: 400, wantReason: "Invalid instance id '99999999999999999999': not a 32-bit integer"},
		{name: "missing", path: fnBase + "nope/stats", wantCode: 404, wantReason: "Function nope doesn't exist"},
		{name: "a source", path: fnBase + "src/stats", wantCode: 404, wantReason: "Function src doesn't exist"},
		{name: "no stats for sources", path: "/admin/v3/sources/public/default/src/0/stats", wantCode: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, l := setup()
			s := newLifecycleServer(leaderWorker, nil, f, l)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.wantCode, rec.Body)
			}
			if got := rec.Header().Get("Location"); got != tt.wantLocation {
				t.Errorf("Location %q, want %q", got, tt.wantLocation)
			}
			if tt.wantReason != "" && body2reason(t, rec.Body.Bytes()) != tt.wantReason {
				t.Errorf("reason %q, want %q", body2reason(t, rec.Body.Bytes()), tt.wantReason)
			}
			if tt.golden != "" {
				golden(t, "functions/"+tt.golden, rec.Body.String())
			}
		})
	}
	if len(*calls) == 0 || (*calls)[0] != "GET /admin/v3/functions/public/default/ex/1/stats" {
		t.Errorf("remote worker asked %v", *calls)
	}
}

// TestTrigger covers F10's checks and answers.
func TestTrigger(t *testing.T) {
	tests := []struct {
		name        string
		fn          string
		parts       []part
		topicErr    error
		triggerOut  []byte
		triggerErr  error
		wantCode    int
		wantBody    string
		wantReason  string
		wantTrigger string // input topic and payload given to the backend
	}{
		{name: "value", fn: "ex", parts: []part{textPart("data", "hello")}, triggerOut: []byte("hello!"), wantCode: 200, wantBody: "hello!", wantTrigger: "in:hello->out"},
		{name: "file wins over value", fn: "ex", parts: []part{textPart("data", "v"), {name: "dataStream", fileName: "f", body: []byte("from file")}},
			triggerOut: []byte("x"), wantCode: 200, wantBody: "x", wantTrigger: "in:from file->out"},
		{name: "empty answer", fn: "ex", parts: []part{textPart("data", "")}, triggerOut: []byte{}, wantCode: 200, wantBody: "", wantTrigger: "in:->out"},
		{name: "no output topic", fn: "noout", parts: []part{textPart("data", "v")}, wantCode: 204, wantTrigger: "in:v->"},
		{name: "topic chosen", fn: "two", parts: []part{textPart("data", "v"), textPart("topic", "in2")}, triggerOut: []byte("ok"), wantCode: 200, wantBody: "ok", wantTrigger: "in2:v->out"},
		{name: "no data", fn: "ex", parts: []part{textPart("topic", "in")}, wantCode: 400, wantReason: "Trigger Data is not provided"},
		{name: "missing", fn: "nope", parts: []part{textPart("data", "v")}, wantCode: 404, wantReason: "Function nope doesn't exist"},
		{name: "two inputs, no topic", fn: "two", parts: []part{textPart("data", "v")}, wantCode: 400, wantReason: "Function in trigger function has more than 1 input topics"},
		{name: "topic not an input", fn: "ex", parts: []part{textPart("data", "v"), textPart("topic", "other")}, wantCode: 400, wantReason: "Function in trigger function has unidentified topic"},
		{name: "topic not ready", fn: "ex", parts: []part{textPart("data", "v")}, topicErr: errBoom, wantCode: 400, wantReason: "Function in trigger function is not ready"},
		{name: "no answer in time", fn: "ex", parts: []part{textPart("data", "v")}, triggerErr: ErrTriggerTimeout, wantCode: 408, wantReason: "Request Timed Out", wantTrigger: "in:v->out"},
		{name: "schema refuses the value", fn: "ex", parts: []part{textPart("data", "v")}, triggerErr: fmt.Errorf("%w: not JSON", ErrTriggerSchema), wantCode: 400,
			wantReason: "Failed to serialize input with error: schema serialization failed: not JSON. Please check if input data conforms with the schema of the input topic.", wantTrigger: "in:v->out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeFunctions()
			f.put(t, `{"name":"ex","py":"f.py","className":"f.F","inputs":["in"],"output":"out"}`, "public/default/ex/f.py", 0)
			f.put(t, `{"name":"noout","py":"f.py","className":"f.F","inputs":["in"]}`, "public/default/noout/f.py", 0)
			f.put(t, `{"name":"two","py":"f.py","className":"f.F","inputs":["in","in2"],"output":"out"}`, "public/default/two/f.py", 0)
			l := newFakeLifecycle()
			l.topicErr, l.triggerOut, l.triggerErr = tt.topicErr, tt.triggerOut, tt.triggerErr
			s := newLifecycleServer(leaderWorker, nil, f, l)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, multipartRequest(t, "POST", fnBase+tt.fn+"/trigger", tt.parts...))
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.wantCode, rec.Body)
			}
			if tt.wantReason != "" {
				if got := body2reason(t, rec.Body.Bytes()); got != tt.wantReason {
					t.Errorf("reason %q, want %q", got, tt.wantReason)
				}
			} else if got := rec.Body.String(); got != tt.wantBody {
				t.Errorf("body %q, want %q (raw, not JSON-quoted)", got, tt.wantBody)
			}
			var got string
			for _, tr := range l.triggers {
				got = fmt.Sprintf("%s:%s->%s", strings.TrimPrefix(tr.InputTopic, "persistent://public/default/"), tr.Payload,
					strings.TrimPrefix(tr.OutputTopic, "persistent://public/default/"))
				if tr.FQFN != "public/default/"+tt.fn {
					t.Errorf("FQFN %q", tr.FQFN)
				}
			}
			if got != tt.wantTrigger {
				t.Errorf("triggered %q, want %q", got, tt.wantTrigger)
			}
		})
	}
}

// TestUploadDownload covers F17–F19 and their permission rules.
func TestUploadDownload(t *testing.T) {
	jar := testJar(t)
	type req struct {
		method, path string
		parts        []part
	}
	upload := func(parts ...part) req { return req{"POST", "/admin/v3/functions/upload", parts} }
	get := func(path string) req { return req{"GET", path, nil} }
	blob := []byte("\x00package\xff")
	tests := []struct {
		name       string
		req        req
		guard      Guard
		wantCode   int
		wantReason string
		wantBody   []byte
		wantStored string // path now holding blob
	}{
		{name: "upload", req: upload(filePart("b.bin", blob), textPart("path", "a/b")), wantCode: 204, wantStored: "a/b"},
		{name: "upload, path first", req: upload(textPart("path", "x/y/z/b.bin"), filePart("b.bin", blob)), wantCode: 204, wantStored: "x/y/z/b.bin"},
		{name: "upload under no package name, package management on", req: upload(filePart("b.bin", blob), textPart("path", "invalid/x")), wantCode: 500,
			wantReason: "com.google.common.util.concurrent.UncheckedExecutionException: java.lang.IllegalArgumentException: Invalid package name 'invalid/x'"},
		{name: "upload without path", req: upload(filePart("b.bin", blob)), wantCode: 400, wantReason: "Function Package is not provided null"},
		{name: "upload without data", req: upload(textPart("path", "a/b")), wantCode: 400, wantReason: "Function Package is not provided a/b"},
		{name: "upload by a non super user", req: upload(filePart("b.bin", blob), textPart("path", "a/b")), guard: denyGuard{}, wantCode: 401, wantReason: msgNotAuthorized},
		{name: "download by path", req: get("/admin/v3/functions/download?path=stored/one"), wantCode: 200, wantBody: blob},
		{name: "download by path, missing", req: get("/admin/v3/functions/download?path=nothing/here"), wantCode: 404},
		{name: "download of tenant/namespace/name/file: namespace right is enough", req: get("/admin/v3/functions/download?path=public/default/ex/f"),
			guard: denyGuardAllowingFunctions{}, wantCode: 200, wantBody: blob},
		{name: "download of tenant/namespace/name/file without the namespace right", req: get("/admin/v3/functions/download?path=public/default/ex/f"),
			guard: denyFunctionsGuard{}, wantCode: 401, wantReason: msgNotAuthorized},
		{name: "download of another path needs a super user", req: get("/admin/v3/functions/download?path=stored/one"),
			guard: denyGuardAllowingFunctions{}, wantCode: 401, wantReason: msgNotAuthorized},
		{name: "download of a function's package", req: get(fnBase + "ex/download"), wantCode: 200, wantBody: jar},
		{name: "download of a function's transform function", req: get(fnBase + "ex/download?transform-function=true"), wantCode: 404},
		{name: "download of a missing function", req: get(fnBase + "nope/download"), wantCode: 404, wantReason: "Function nope doesn't exist"},
		{name: "download without the namespace right", req: get(fnBase + "ex/download"), guard: denyFunctionsGuard{}, wantCode: 401, wantReason: msgNotAuthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeFunctions()
			f.put(t, `{"name":"ex","jar":"x","className":"fns.Exclaim","inputs":["in"]}`, "public/default/ex/v0-testfns.jar", 0)
			l := newFakeLifecycle()
			l.stored["stored/one"] = blob
			l.stored["public/default/ex/f"] = blob
			l.stored["public/default/ex/v0-testfns.jar"] = jar
			s := newLifecycleServer(leaderWorker, tt.guard, f, l)
			var r *http.Request
			if tt.req.parts != nil {
				r = multipartRequest(t, tt.req.method, tt.req.path, tt.req.parts...)
			} else {
				r = httptest.NewRequest(tt.req.method, tt.req.path, nil)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, r)
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.wantCode, rec.Body)
			}
			if tt.wantReason != "" && body2reason(t, rec.Body.Bytes()) != tt.wantReason {
				t.Errorf("reason %q, want %q", body2reason(t, rec.Body.Bytes()), tt.wantReason)
			}
			if tt.wantBody != nil && !bytes.Equal(rec.Body.Bytes(), tt.wantBody) {
				t.Errorf("body %q, want %q", rec.Body.Bytes(), tt.wantBody)
			}
			if tt.wantStored != "" && !bytes.Equal(l.stored[tt.wantStored], blob) {
				t.Errorf("stored under %q: %q", tt.wantStored, l.stored[tt.wantStored])
			}
		})
	}
}

// denyGuardAllowingFunctions: not a super user, but allowed the functions
// action.
type denyGuardAllowingFunctions struct{ denyGuard }

func (denyGuardAllowingFunctions) AllowFunctionOps(context.Context, string, string, string, *http.Request) (bool, error) {
	return true, nil
}

// TestPairRouting: the one route for {name}/{a}/{b} sends state/{key} to the
// state endpoints and {instanceId}/... to the instance endpoints; literal
// segments win over templates.
func TestPairRouting(t *testing.T) {
	// Without a state store the state endpoints answer Java's 503.
	const noState = "State storage client is not done initializing. Please try again in a little while."
	tests := []struct {
		method, path string
		wantCode     int
		wantReason   string
	}{
		{"GET", fnBase + "ex/state/k", 503, noState},
		{"POST", fnBase + "ex/state/k", 503, noState},
		{"GET", fnBase + "ex/0/status", 200, ""},
		{"GET", fnBase + "ex/0/nope", 404, "HTTP 404 Not Found"},
		{"POST", fnBase + "ex/0/status", 405, "HTTP 405 Method Not Allowed"},
		{"GET", "/admin/v3/sinks/public/default/ex/state/k", 404, "HTTP 404 Not Found"},
		{"GET", "/admin/v3/functions/download?path=public/default/ex/f", 200, ""},
		{"GET", "/admin/v3/functions/public/default", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			f := newFakeFunctions()
			f.put(t, `{"name":"ex","jar":"x","className":"fns.Exclaim","inputs":["in"]}`, "public/default/ex/v0-testfns.jar", 0)
			f.owners["public/default/ex:0"] = f.self
			f.local["public/default/ex:0"] = &pb.FunctionStatus{Running: true}
			l := newFakeLifecycle()
			l.stored["public/default/ex/f"] = []byte("x")
			s := newLifecycleServer(leaderWorker, nil, f, l)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.wantCode, rec.Body)
			}
			if tt.wantReason != "" && body2reason(t, rec.Body.Bytes()) != tt.wantReason {
				t.Errorf("reason %q, want %q", body2reason(t, rec.Body.Bytes()), tt.wantReason)
			}
		})
	}
}
