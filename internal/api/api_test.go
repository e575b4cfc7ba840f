package api

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

type fakeWorker struct {
	initialized, leader bool
	members             []cluster.WorkerInfo
	leaderInfo          cluster.WorkerInfo
	leaderErr           error
}

func (f fakeWorker) Initialized() bool { return f.initialized }
func (f fakeWorker) IsLeader() bool    { return f.leader }
func (f fakeWorker) Members(context.Context) ([]cluster.WorkerInfo, error) {
	return f.members, nil
}
func (f fakeWorker) Leader(context.Context) (cluster.WorkerInfo, error) {
	return f.leaderInfo, f.leaderErr
}
func (f fakeWorker) Assignments(context.Context) (map[string][]string, error) {
	return nil, nil
}

type denyGuard struct{ OpenGuard }

func (denyGuard) IsSuperUser(context.Context, string, *http.Request) (bool, error) { return false, nil }

func TestEndpoints(t *testing.T) {
	ready := fakeWorker{
		initialized: true, leader: true,
		members:    []cluster.WorkerInfo{{WorkerID: "w1", WorkerHostname: "host-1", Port: 6750}, {WorkerID: "w2", WorkerHostname: "host-2", Port: 6750}},
		leaderInfo: cluster.WorkerInfo{WorkerID: "w1", WorkerHostname: "host-1", Port: 6750},
	}
	tests := []struct {
		name, path string
		worker     fakeWorker
		guard      Guard
		wantCode   int
	}{
		{"cluster", "/admin/v2/worker/cluster", ready, nil, 200},
		{"cluster legacy path", "/admin/worker/cluster", ready, nil, 200},
		{"leader", "/admin/v2/worker/cluster/leader", ready, nil, 200},
		{"leader unknown", "/admin/v2/worker/cluster/leader", fakeWorker{initialized: true, leaderErr: cluster.ErrLeaderUnknown}, nil, 500},
		{"assignments empty", "/admin/v2/worker/assignments", ready, nil, 200},
		{"leader ready", "/admin/v2/worker/cluster/leader/ready", ready, nil, 200},
		{"leader ready on member", "/admin/v2/worker/cluster/leader/ready", fakeWorker{initialized: true}, nil, 503},
		{"not initialized", "/admin/v2/worker/cluster", fakeWorker{}, nil, 503},
		{"not super user", "/admin/v2/worker/cluster", ready, denyGuard{}, 401},
		{"initialized", "/initialized", ready, nil, 200},
		{"initialized before join", "/initialized", fakeWorker{}, nil, 503},
		{"unknown path", "/admin/v2/worker/nope", ready, nil, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.worker, tt.guard, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.wantCode, rec.Body)
			}
			if rec.Body.Len() > 0 && rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q, want application/json", rec.Header().Get("Content-Type"))
			}
			golden(t, strings.ReplaceAll(tt.name, " ", "_"), rec.Body.String())
		})
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing %s; run go test -update", path)
	}
	if string(want) != got {
		t.Fatalf("body differs from %s:\ngot:  %s\nwant: %s", path, got, want)
	}
}
