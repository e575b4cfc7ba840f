package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// stats are the instance's counters. As in the Go SDK, the *_1min values are
// reset only by the ResetMetrics / GetAndResetMetrics RPCs (no timer), and
// the 1-minute average latency is never computed.
type stats struct {
	mu                                           sync.Mutex
	received, processed, userExc, sysExc         int64
	received1m, processed1m, userExc1m, sysExc1m int64
	latencySumMs                                 float64
	latencyCount                                 int64
	lastInvocationNs                             int64 // the Go SDK's unit: time.Now().UnixNano()
	latestUser, latestSys                        []*pb.FunctionStatus_ExceptionInformation
	userErrors, sysErrors                        []string // distinct messages, for the *_exception gauges
}

const maxLatestExceptions = 10

func (s *stats) incReceived() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received++
	s.received1m++
	s.lastInvocationNs = time.Now().UnixNano()
}

func (s *stats) observeLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latencySumMs += float64(d) / float64(time.Millisecond)
	s.latencyCount++
}

// incProcessed counts a success and returns the new total.
func (s *stats) incProcessed() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.processed++
	s.processed1m++
	return s.processed
}

func (s *stats) addException(user bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := &pb.FunctionStatus_ExceptionInformation{
		ExceptionString: err.Error(),
		MsSinceEpoch:    time.Now().UnixNano(), // sic: the Go SDK stores nanoseconds here
	}
	add := func(list []*pb.FunctionStatus_ExceptionInformation) []*pb.FunctionStatus_ExceptionInformation {
		list = append(list, info)
		if len(list) > maxLatestExceptions {
			list = list[1:]
		}
		return list
	}
	if user {
		s.userExc++
		s.userExc1m++
		s.latestUser = add(s.latestUser)
		if !slices.Contains(s.userErrors, err.Error()) {
			s.userErrors = append(s.userErrors, err.Error())
		}
	} else {
		s.sysExc++
		s.sysExc1m++
		s.latestSys = add(s.latestSys)
		if !slices.Contains(s.sysErrors, err.Error()) {
			s.sysErrors = append(s.sysErrors, err.Error())
		}
	}
}

func (s *stats) avgLatencyLocked() float64 {
	if s.latencyCount == 0 {
		return 0
	}
	return s.latencySumMs / float64(s.latencyCount)
}

func (s *stats) status(instanceID int) *pb.FunctionStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &pb.FunctionStatus{
		Running:                  true,
		NumReceived:              s.received,
		NumSuccessfullyProcessed: s.processed,
		NumUserExceptions:        s.userExc,
		LatestUserExceptions:     slices.Clone(s.latestUser),
		NumSystemExceptions:      s.sysExc,
		LatestSystemExceptions:   slices.Clone(s.latestSys),
		AverageLatency:           s.avgLatencyLocked(),
		LastInvocationTime:       s.lastInvocationNs,
		InstanceId:               strconv.Itoa(instanceID),
	}
}

func (s *stats) metrics(reset bool) *pb.MetricsData {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := &pb.MetricsData{
		ReceivedTotal:                   s.received,
		ReceivedTotal_1Min:              s.received1m,
		ProcessedSuccessfullyTotal:      s.processed,
		ProcessedSuccessfullyTotal_1Min: s.processed1m,
		SystemExceptionsTotal:           s.sysExc,
		SystemExceptionsTotal_1Min:      s.sysExc1m,
		UserExceptionsTotal:             s.userExc,
		UserExceptionsTotal_1Min:        s.userExc1m,
		AvgProcessLatency:               s.avgLatencyLocked(),
		LastInvocation:                  s.lastInvocationNs,
	}
	if reset {
		s.resetLocked()
	}
	return m
}

func (s *stats) resetLocked() {
	s.received1m, s.processed1m, s.userExc1m, s.sysExc1m = 0, 0, 0, 0
}

// controlServer implements Pulsar's InstanceControl gRPC service.
type controlServer struct {
	pb.UnimplementedInstanceControlServer
	inst *instance
}

func (c *controlServer) GetFunctionStatus(context.Context, *emptypb.Empty) (*pb.FunctionStatus, error) {
	return c.inst.stats.status(c.inst.settings.Conf.InstanceID), nil
}

func (c *controlServer) GetAndResetMetrics(context.Context, *emptypb.Empty) (*pb.MetricsData, error) {
	return c.inst.stats.metrics(true), nil
}

func (c *controlServer) ResetMetrics(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	c.inst.stats.mu.Lock()
	c.inst.stats.resetLocked()
	c.inst.stats.mu.Unlock()
	return &emptypb.Empty{}, nil
}

func (c *controlServer) GetMetrics(context.Context, *emptypb.Empty) (*pb.MetricsData, error) {
	return c.inst.stats.metrics(false), nil
}

func (c *controlServer) HealthCheck(context.Context, *emptypb.Empty) (*pb.HealthCheckResult, error) {
	c.inst.lastHealthCheck.Store(time.Now().UnixNano())
	return &pb.HealthCheckResult{Success: true}, nil
}

// Prometheus text exposition (format 0.0.4) with the Go SDK's metric names,
// help texts and labels. Like the SDK every series is a gauge except the
// process_latency_ms summary (no quantiles, as the SDK declares none), the
// never-observed process_latency_ms_1min summary has no series, and the
// user_exception / system_exception gauges exist once an error happened.
// Note instance_id carries the funcID (the SDK's GetFuncID), not the index.

type promFamily struct {
	name, help string
	value      func(s *stats) float64
}

var promGauges = []promFamily{
	{"processed_successfully_total", "Total number of messages processed successfully.", func(s *stats) float64 { return float64(s.processed) }},
	{"system_exceptions_total", "Total number of system exceptions.", func(s *stats) float64 { return float64(s.sysExc) }},
	{"user_exceptions_total", "Total number of user exceptions.", func(s *stats) float64 { return float64(s.userExc) }},
	{"last_invocation", "The timestamp of the last invocation of the function.", func(s *stats) float64 { return float64(s.lastInvocationNs) }},
	{"received_total", "Total number of messages received from source.", func(s *stats) float64 { return float64(s.received) }},
	{"processed_successfully_total_1min", "Total number of messages processed successfully in the last 1 minute.", func(s *stats) float64 { return float64(s.processed1m) }},
	{"system_exceptions_total_1min", "Total number of system exceptions in the last 1 minute.", func(s *stats) float64 { return float64(s.sysExc1m) }},
	{"user_exceptions_total_1min", "Total number of user exceptions in the last 1 minute.", func(s *stats) float64 { return float64(s.userExc1m) }},
	{"received_total_1min", "Total number of messages received from source in the last 1 minute.", func(s *stats) float64 { return float64(s.received1m) }},
}

const promPrefix = "pulsar_function_"

func promEscape(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

func promFloat(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func (inst *instance) writePrometheus(w io.Writer) {
	d := inst.settings.Details
	labels := fmt.Sprintf(`tenant="%s",namespace="%s",name="%s",instance_id="%s",cluster="%s",fqfn="%s"`,
		promEscape(d.GetTenant()), promEscape(d.GetTenant()+"/"+d.GetNamespace()), promEscape(d.GetName()),
		promEscape(inst.settings.Conf.FuncID), promEscape(inst.settings.Conf.ClusterName), promEscape(inst.settings.FQFN()))
	s := inst.stats
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, f := range promGauges {
		n := promPrefix + f.name
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s{%s} %s\n", n, f.help, n, n, labels, promFloat(f.value(s)))
	}
	n := promPrefix + "process_latency_ms"
	fmt.Fprintf(&b, "# HELP %s Process latency in milliseconds.\n# TYPE %s summary\n", n, n)
	fmt.Fprintf(&b, "%s_sum{%s} %s\n%s_count{%s} %d\n", n, labels, promFloat(s.latencySumMs), n, labels, s.latencyCount)
	for _, e := range []struct {
		name, help string
		errs       []string
	}{
		{"user_exception", "Exception from user code.", s.userErrors},
		{"system_exception", "Exception from system code.", s.sysErrors},
	} {
		if len(e.errs) == 0 {
			continue
		}
		n := promPrefix + e.name
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", n, e.help, n)
		for _, msg := range e.errs {
			fmt.Fprintf(&b, "%s{%s,error=\"%s\"} 1\n", n, labels, promEscape(msg))
		}
	}
	_, _ = io.WriteString(w, b.String())
}

func (inst *instance) metricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" && r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		inst.writePrometheus(w)
	})
}
