package api

// /admin/v2/worker-stats (spec/rest-api.md §6.2, §7.12): the worker's own
// metrics as the Java worker's MetricsGenerator lists them, and the metrics
// of every instance this worker runs, from each instance's GetMetrics RPC.

import (
	"context"
	"math"
	"net/http"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// WorkerStats is what /admin/v2/worker-stats needs from the worker.
type WorkerStats interface {
	// WorkerMetrics is the /metrics answer: Java lists one entry, its JVM
	// metrics with dimensions {"metric": "jvm_metrics"}.
	WorkerMetrics(ctx context.Context) []WorkerMetrics
	// FunctionsMetrics lists every instance this worker runs, by fully
	// qualified instance name (tenant/namespace/name:id), with its metrics;
	// nil metrics when the instance could not be asked.
	FunctionsMetrics(ctx context.Context) []InstanceMetrics
}

// WorkerMetrics is one entry of /worker-stats/metrics (Java's
// org.apache.pulsar.common.stats.Metrics).
type WorkerMetrics struct {
	Metrics    map[string]any    `json:"metrics"`
	Dimensions map[string]string `json:"dimensions"`
}

// InstanceMetrics is one local instance and what its GetMetrics answered.
type InstanceMetrics struct {
	Name    string
	Metrics *pb.MetricsData
}

// WorkerFunctionInstanceStats is one entry of /worker-stats/functionsmetrics.
type WorkerFunctionInstanceStats struct {
	Name    string                  `json:"name"`
	Metrics WorkerInstanceStatsData `json:"metrics"`
}

// WorkerInstanceStatsBase is Java's FunctionInstanceStatsDataBaseImpl.
type WorkerInstanceStatsBase struct {
	ReceivedTotal              int64    `json:"receivedTotal"`
	ProcessedSuccessfullyTotal int64    `json:"processedSuccessfullyTotal"`
	SystemExceptionsTotal      int64    `json:"systemExceptionsTotal"`
	UserExceptionsTotal        int64    `json:"userExceptionsTotal"`
	AvgProcessLatency          *float64 `json:"avgProcessLatency"`
}

// WorkerInstanceStatsData is Java's FunctionInstanceStatsDataImpl, in its
// property order.
type WorkerInstanceStatsData struct {
	WorkerInstanceStatsBase
	OneMin         WorkerInstanceStatsBase `json:"1min"`
	LastInvocation *int64                  `json:"lastInvocation"`
	UserMetrics    map[string]float64      `json:"userMetrics"`
}

// InstanceStatsData converts an instance's MetricsData as Java's
// WorkerUtils.getFunctionInstanceStats does: a zero latency or last
// invocation is null, NaN user metrics are left out; nil (the instance
// could not be asked) gives all zeros.
func InstanceStatsData(md *pb.MetricsData) WorkerInstanceStatsData {
	out := WorkerInstanceStatsData{UserMetrics: map[string]float64{}}
	if md == nil {
		return out
	}
	nonZero := func(f float64) *float64 {
		if f == 0 {
			return nil
		}
		return &f
	}
	out.WorkerInstanceStatsBase = WorkerInstanceStatsBase{
		ReceivedTotal:              md.GetReceivedTotal(),
		ProcessedSuccessfullyTotal: md.GetProcessedSuccessfullyTotal(),
		SystemExceptionsTotal:      md.GetSystemExceptionsTotal(),
		UserExceptionsTotal:        md.GetUserExceptionsTotal(),
		AvgProcessLatency:          nonZero(md.GetAvgProcessLatency()),
	}
	out.OneMin = WorkerInstanceStatsBase{
		ReceivedTotal:              md.GetReceivedTotal_1Min(),
		ProcessedSuccessfullyTotal: md.GetProcessedSuccessfullyTotal_1Min(),
		SystemExceptionsTotal:      md.GetSystemExceptionsTotal_1Min(),
		UserExceptionsTotal:        md.GetUserExceptionsTotal_1Min(),
		AvgProcessLatency:          nonZero(md.GetAvgProcessLatency_1Min()),
	}
	if li := md.GetLastInvocation(); li != 0 {
		out.LastInvocation = &li
	}
	for k, v := range md.GetUserMetrics() {
		if !math.IsNaN(v) {
			out.UserMetrics[k] = v
		}
	}
	return out
}

// WithWorkerStats serves /admin/v2/worker-stats (and /admin/worker-stats) from st.
func WithWorkerStats(st WorkerStats) Option {
	return func(s *Server) {
		for _, base := range []string{"/admin/v2/worker-stats", "/admin/worker-stats"} {
			s.mux.Handle("GET "+base+"/metrics", s.superUser(func(w http.ResponseWriter, r *http.Request) {
				m := st.WorkerMetrics(r.Context())
				if m == nil {
					m = []WorkerMetrics{}
				}
				writeJSON(w, http.StatusOK, m)
			}))
			s.mux.Handle("GET "+base+"/functionsmetrics", s.superUser(func(w http.ResponseWriter, r *http.Request) {
				list := st.FunctionsMetrics(r.Context())
				out := make([]WorkerFunctionInstanceStats, len(list))
				for i, in := range list {
					out[i] = WorkerFunctionInstanceStats{Name: in.Name, Metrics: InstanceStatsData(in.Metrics)}
				}
				writeJSON(w, http.StatusOK, out)
			}))
		}
	}
}
