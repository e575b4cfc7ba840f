package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// fakeOps answers with err, and records the worker asked about.
type fakeOps struct {
	err    error
	status LongRunningProcessStatus
	asked  *string
}

func (f fakeOps) Self() cluster.WorkerInfo {
	return cluster.WorkerInfo{WorkerID: "w2", WorkerHostname: "host-2", Port: 6750}
}
func (f fakeOps) Rebalance(context.Context) error { return f.err }
func (f fakeOps) Drain(_ context.Context, id string) error {
	*f.asked = id
	return f.err
}
func (f fakeOps) DrainStatus(_ context.Context, id string) (LongRunningProcessStatus, error) {
	*f.asked = id
	return f.status, f.err
}

func TestRebalanceAndDrain(t *testing.T) {
	leaderW1 := fakeWorker{initialized: true, leaderInfo: cluster.WorkerInfo{WorkerID: "w1", WorkerHostname: "host-1", Port: 6751}}
	noLeader := fakeWorker{initialized: true, leaderErr: cluster.ErrLeaderUnknown}
	selfLeader := fakeWorker{initialized: true, leaderInfo: cluster.WorkerInfo{WorkerID: "w2", WorkerHostname: "host-2", Port: 6750}}
	notLeading := fmt.Errorf("wrapped: %w", ErrNotLeading)
	tests := []struct {
		name, method, path string
		worker             fakeWorker
		guard              Guard
		err                error
		status             LongRunningProcessStatus
		wantCode           int
		wantLocation       string
		wantAsked          string
	}{
		{name: "rebalance on the leader", method: "PUT", path: "/admin/v2/worker/rebalance", worker: leaderW1, wantCode: 204},
		{name: "rebalance legacy path", method: "PUT", path: "/admin/worker/rebalance", worker: leaderW1, wantCode: 204},
		{name: "rebalance in progress", method: "PUT", path: "/admin/v2/worker/rebalance", worker: leaderW1, err: ErrRebalanceInProgress, wantCode: 400},
		{name: "rebalance too few workers", method: "PUT", path: "/admin/v2/worker/rebalance", worker: leaderW1, err: ErrTooFewWorkers, wantCode: 400},
		{name: "rebalance on a member", method: "PUT", path: "/admin/v2/worker/rebalance?x=1", worker: leaderW1, err: notLeading,
			wantCode: 307, wantLocation: "http://host-1:6751/admin/v2/worker/rebalance?x=1"},
		{name: "rebalance without leader", method: "PUT", path: "/admin/v2/worker/rebalance", worker: noLeader, err: notLeading, wantCode: 500},
		{name: "rebalance while taking over", method: "PUT", path: "/admin/v2/worker/rebalance", worker: selfLeader, err: notLeading, wantCode: 503},
		{name: "rebalance failed", method: "PUT", path: "/admin/v2/worker/rebalance", worker: leaderW1, err: fmt.Errorf("read members: boom"), wantCode: 500},
		{name: "rebalance not initialized", method: "PUT", path: "/admin/v2/worker/rebalance", worker: fakeWorker{}, wantCode: 503},
		{name: "rebalance not super user", method: "PUT", path: "/admin/v2/worker/rebalance", worker: leaderW1, guard: denyGuard{}, wantCode: 401},

		{name: "drain at leader", method: "PUT", path: "/admin/v2/worker/leader/drain?workerId=w3", worker: leaderW1, wantCode: 204, wantAsked: "w3"},
		{name: "drain self", method: "PUT", path: "/admin/v2/worker/drain", worker: leaderW1, wantCode: 204, wantAsked: "w2"},
		{name: "drain at leader without workerId", method: "PUT", path: "/admin/v2/worker/leader/drain", worker: leaderW1, wantCode: 204, wantAsked: "w2"},
		{name: "drain in progress", method: "PUT", path: "/admin/v2/worker/leader/drain?workerId=w3", worker: leaderW1, err: ErrDrainInProgress, wantCode: 409, wantAsked: "w3"},
		{name: "drain too few workers", method: "PUT", path: "/admin/v2/worker/drain", worker: leaderW1, err: ErrTooFewWorkers, wantCode: 400, wantAsked: "w2"},
		{name: "drain not removed", method: "PUT", path: "/admin/v2/worker/leader/drain?workerId=w3", worker: leaderW1, err: ErrWorkerNotRemoved, wantCode: 412, wantAsked: "w3"},
		{name: "drain unknown worker", method: "PUT", path: "/admin/v2/worker/leader/drain?workerId=w9", worker: leaderW1, err: ErrUnknownWorker, wantCode: 400, wantAsked: "w9"},
		{name: "drain self on a member", method: "PUT", path: "/admin/v2/worker/drain", worker: leaderW1, err: notLeading,
			wantCode: 307, wantLocation: "http://host-1:6751/admin/v2/worker/leader/drain?workerId=w2", wantAsked: "w2"},
		{name: "drain at leader on a member", method: "PUT", path: "/admin/worker/leader/drain?workerId=w3", worker: leaderW1, err: notLeading,
			wantCode: 307, wantLocation: "http://host-1:6751/admin/v2/worker/leader/drain?workerId=w3", wantAsked: "w3"},
		{name: "drain without leader", method: "PUT", path: "/admin/v2/worker/drain", worker: noLeader, err: notLeading, wantCode: 500, wantAsked: "w2"},

		{name: "drain status at leader", method: "GET", path: "/admin/v2/worker/leader/drain?workerId=w3", worker: leaderW1,
			status: LongRunningProcessStatus{Status: "SUCCESS"}, wantCode: 200, wantAsked: "w3"},
		{name: "drain status unknown", method: "GET", path: "/admin/v2/worker/leader/drain?workerId=w9", worker: leaderW1,
			status: LongRunningProcessStatus{Status: "ERROR", LastError: "Worker w9 not found in drain records"}, wantCode: 200, wantAsked: "w9"},
		{name: "drain status self", method: "GET", path: "/admin/v2/worker/drain", worker: leaderW1,
			status: LongRunningProcessStatus{Status: "RUNNING"}, wantCode: 200, wantAsked: "w2"},
		{name: "drain status on a member", method: "GET", path: "/admin/v2/worker/drain", worker: leaderW1, err: notLeading,
			wantCode: 307, wantLocation: "http://host-1:6751/admin/v2/worker/leader/drain?workerId=w2", wantAsked: "w2"},
		{name: "drain status not super user", method: "GET", path: "/admin/v2/worker/drain", worker: leaderW1, guard: denyGuard{}, wantCode: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked string
			ops := fakeOps{err: tt.err, status: tt.status, asked: &asked}
			s := New(tt.worker, tt.guard, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)), WithWorkerOps(ops))
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.wantCode, rec.Body)
			}
			if got := rec.Header().Get("Location"); got != tt.wantLocation {
				t.Errorf("Location %q, want %q", got, tt.wantLocation)
			}
			if asked != tt.wantAsked {
				t.Errorf("worker asked about %q, want %q", asked, tt.wantAsked)
			}
			golden(t, "workerops/"+strings.ReplaceAll(tt.name, " ", "_"), rec.Body.String())
		})
	}
}

type fakeStats struct{}

func (fakeStats) WorkerMetrics(context.Context) []WorkerMetrics {
	return []WorkerMetrics{{Metrics: map[string]any{"jvm_heap_used": int64(1024), "jvm_thread_cnt": 9}, Dimensions: map[string]string{"metric": "jvm_metrics"}}}
}

func (fakeStats) FunctionsMetrics(context.Context) []InstanceMetrics {
	return []InstanceMetrics{
		{Name: "public/default/f:0", Metrics: &pb.MetricsData{
			ReceivedTotal: 10, ProcessedSuccessfullyTotal: 8, SystemExceptionsTotal: 1, UserExceptionsTotal: 1,
			AvgProcessLatency: 2.5, LastInvocation: 1700000000000, ReceivedTotal_1Min: 3, ProcessedSuccessfullyTotal_1Min: 3,
			UserMetrics: map[string]float64{"seen": 7}}},
		{Name: "public/default/f:1"}, // could not be asked
	}
}

func TestWorkerStats(t *testing.T) {
	ready := fakeWorker{initialized: true}
	tests := []struct {
		name, path string
		worker     fakeWorker
		guard      Guard
		wantCode   int
	}{
		{"metrics", "/admin/v2/worker-stats/metrics", ready, nil, 200},
		{"metrics legacy path", "/admin/worker-stats/metrics", ready, nil, 200},
		{"functionsmetrics", "/admin/v2/worker-stats/functionsmetrics", ready, nil, 200},
		{"functionsmetrics not initialized", "/admin/v2/worker-stats/functionsmetrics", fakeWorker{}, nil, 503},
		{"metrics not super user", "/admin/v2/worker-stats/metrics", ready, denyGuard{}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.worker, tt.guard, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)), WithWorkerStats(fakeStats{}))
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.wantCode, rec.Body)
			}
			golden(t, "workerstats/"+strings.ReplaceAll(tt.name, " ", "_"), rec.Body.String())
		})
	}
}
