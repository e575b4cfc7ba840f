package api

// F8/F9 stats: Java's FunctionStatsImpl and FunctionInstanceStatsDataImpl
// (spec/rest-api.md §3.8, §7.8), from the instances' gRPC GetMetrics.
//
// Where we knowingly differ from 4.0.8: an owner that cannot be asked for
// an instance's stats gives that instance all-zero stats (as F6 marks it not
// running); Java fails the whole F8 with 500.

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"sync"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/jackson"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// statsBase is Java's FunctionInstanceStatsDataBaseImpl (the "1min" object).
type statsBase struct {
	ReceivedTotal              int64           `json:"receivedTotal"`
	ProcessedSuccessfullyTotal int64           `json:"processedSuccessfullyTotal"`
	SystemExceptionsTotal      int64           `json:"systemExceptionsTotal"`
	UserExceptionsTotal        int64           `json:"userExceptionsTotal"`
	AvgProcessLatency          *jackson.Double `json:"avgProcessLatency"`
}

// instanceStatsData is Java's FunctionInstanceStatsDataImpl (F9), with its
// property order and its wire name "1min".
type instanceStatsData struct {
	ReceivedTotal              int64                     `json:"receivedTotal"`
	ProcessedSuccessfullyTotal int64                     `json:"processedSuccessfullyTotal"`
	SystemExceptionsTotal      int64                     `json:"systemExceptionsTotal"`
	UserExceptionsTotal        int64                     `json:"userExceptionsTotal"`
	AvgProcessLatency          *jackson.Double           `json:"avgProcessLatency"`
	OneMin                     statsBase                 `json:"1min"`
	LastInvocation             *int64                    `json:"lastInvocation"`
	UserMetrics                map[string]jackson.Double `json:"userMetrics"`
}

// instanceStats is Java's FunctionInstanceStatsImpl.
type instanceStats struct {
	InstanceID int                `json:"instanceId"`
	Metrics    *instanceStatsData `json:"metrics"`
}

// functionStats is Java's FunctionStatsImpl (F8).
type functionStats struct {
	ReceivedTotal              int64           `json:"receivedTotal"`
	ProcessedSuccessfullyTotal int64           `json:"processedSuccessfullyTotal"`
	SystemExceptionsTotal      int64           `json:"systemExceptionsTotal"`
	UserExceptionsTotal        int64           `json:"userExceptionsTotal"`
	AvgProcessLatency          *jackson.Double `json:"avgProcessLatency"`
	OneMin                     statsBase       `json:"1min"`
	LastInvocation             *int64          `json:"lastInvocation"`
	Instances                  []instanceStats `json:"instances"`
}

func emptyInstanceStats() *instanceStatsData {
	return &instanceStatsData{UserMetrics: map[string]jackson.Double{}}
}

// nonZero is Java's "0.0 means not measured" for latencies.
func nonZero(f float64) *jackson.Double {
	if f == 0 {
		return nil
	}
	d := jackson.Double(f)
	return &d
}

// statsFromMetrics is Utils.getFunctionInstanceStats: zero latencies and
// times become null, NaN user metrics are left out.
func statsFromMetrics(m *pb.MetricsData) *instanceStatsData {
	d := emptyInstanceStats()
	d.ReceivedTotal = m.GetReceivedTotal()
	d.ProcessedSuccessfullyTotal = m.GetProcessedSuccessfullyTotal()
	d.SystemExceptionsTotal = m.GetSystemExceptionsTotal()
	d.UserExceptionsTotal = m.GetUserExceptionsTotal()
	d.AvgProcessLatency = nonZero(m.GetAvgProcessLatency())
	if li := m.GetLastInvocation(); li != 0 {
		d.LastInvocation = &li
	}
	d.OneMin = statsBase{
		ReceivedTotal:              m.GetReceivedTotal_1Min(),
		ProcessedSuccessfullyTotal: m.GetProcessedSuccessfullyTotal_1Min(),
		SystemExceptionsTotal:      m.GetSystemExceptionsTotal_1Min(),
		UserExceptionsTotal:        m.GetUserExceptionsTotal_1Min(),
		AvgProcessLatency:          nonZero(m.GetAvgProcessLatency_1Min()),
	}
	for k, v := range m.GetUserMetrics() {
		if !math.IsNaN(v) {
			d.UserMetrics[k] = jackson.Double(v)
		}
	}
	return d
}

// calculateOverall is FunctionStatsImpl.calculateOverall: sums, the mean of
// the latencies instances reported, the latest invocation.
func (fs *functionStats) calculateOverall() {
	var lat, lat1 float64
	var n, n1 int
	for _, in := range fs.Instances {
		m := in.Metrics
		fs.ReceivedTotal += m.ReceivedTotal
		fs.ProcessedSuccessfullyTotal += m.ProcessedSuccessfullyTotal
		fs.SystemExceptionsTotal += m.SystemExceptionsTotal
		fs.UserExceptionsTotal += m.UserExceptionsTotal
		if m.AvgProcessLatency != nil {
			lat += float64(*m.AvgProcessLatency)
			n++
		}
		fs.OneMin.ReceivedTotal += m.OneMin.ReceivedTotal
		fs.OneMin.ProcessedSuccessfullyTotal += m.OneMin.ProcessedSuccessfullyTotal
		fs.OneMin.SystemExceptionsTotal += m.OneMin.SystemExceptionsTotal
		fs.OneMin.UserExceptionsTotal += m.OneMin.UserExceptionsTotal
		if m.OneMin.AvgProcessLatency != nil {
			lat1 += float64(*m.OneMin.AvgProcessLatency)
			n1++
		}
		if m.LastInvocation != nil && (fs.LastInvocation == nil || *m.LastInvocation > *fs.LastInvocation) {
			li := *m.LastInvocation
			fs.LastInvocation = &li
		}
	}
	if n > 0 {
		v := jackson.Double(lat / float64(n))
		fs.AvgProcessLatency = &v
	}
	if n1 > 0 {
		v := jackson.Double(lat1 / float64(n1))
		fs.OneMin.AvgProcessLatency = &v
	}
}

// localInstanceStats asks this worker's runtime; an instance that does not
// run, or cannot be asked, has all-zero stats, as in Java.
func (s *Server) localInstanceStats(ctx context.Context, fqfn string, id int) *instanceStatsData {
	if s.lifecycle == nil {
		return emptyInstanceStats()
	}
	m, err := s.lifecycle.LocalInstanceMetrics(ctx, fqfn, id)
	if err != nil {
		s.log.Warn("failed to collect metrics for function instance", "instance", fqfn+":"+strconv.Itoa(id), "err", err)
		return emptyInstanceStats()
	}
	if m == nil {
		return emptyInstanceStats()
	}
	return statsFromMetrics(m)
}

// functionInstanceStats is F9.
func (s *Server) functionInstanceStats(w http.ResponseWriter, r *http.Request) error {
	md, err := s.kindChecks(r, functionKind)
	if err != nil {
		return err
	}
	id, err := parseInstanceID(r.PathValue("instanceId"))
	if err != nil {
		return err
	}
	fd := md.GetFunctionDetails()
	if id < 0 || id >= int64(fd.GetParallelism()) {
		return fail(http.StatusBadRequest, "%s %s doesn't have instance with id %d", functionType, fd.GetName(), id)
	}
	fqfn := fqfnOf(fd.GetTenant(), fd.GetNamespace(), fd.GetName())
	owner, ok := s.functions.InstanceOwner(fqfn, int(id))
	switch {
	case !ok:
		return writeFunctionJSON(w, emptyInstanceStats())
	case owner.WorkerID == s.functions.Self().WorkerID:
		return writeFunctionJSON(w, s.localInstanceStats(r.Context(), fqfn, int(id)))
	}
	redirect(w, r, owner)
	return nil
}

// functionStats is F8: every assigned instance, local ones from the
// runtime, remote ones from their owners' F9, concurrently.
func (s *Server) functionStats(w http.ResponseWriter, r *http.Request) error {
	md, err := s.kindChecks(r, functionKind)
	if err != nil {
		return err
	}
	fd := md.GetFunctionDetails()
	fqfn := fqfnOf(fd.GetTenant(), fd.GetNamespace(), fd.GetName())
	self := s.functions.Self().WorkerID
	out := &functionStats{Instances: []instanceStats{}}
	var wg sync.WaitGroup
	results := make([]*instanceStatsData, fd.GetParallelism())
	for i := range results {
		owner, ok := s.functions.InstanceOwner(fqfn, i)
		if !ok {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var d *instanceStatsData
			if owner.WorkerID == self {
				d = s.localInstanceStats(r.Context(), fqfn, i)
			} else {
				d = s.remoteInstanceStats(r.Context(), owner, fd, i)
			}
			results[i] = d // each goroutine has its own index
		}()
	}
	wg.Wait()
	for i, d := range results {
		if d != nil {
			out.Instances = append(out.Instances, instanceStats{InstanceID: i, Metrics: d})
		}
	}
	out.calculateOverall()
	return writeFunctionJSON(w, out)
}

func (s *Server) remoteInstanceStats(ctx context.Context, owner cluster.WorkerInfo, fd *pb.FunctionDetails, id int) *instanceStatsData {
	body, err := s.workerCall(ctx, http.MethodGet, owner, instancePath(functionKind.apiBase, fd, id, "stats"))
	d := emptyInstanceStats()
	if err == nil {
		err = json.Unmarshal(body, d)
	}
	if err != nil {
		s.log.Warn("function instance stats from its worker failed", "worker", owner.WorkerID,
			"instance", fqfnOf(fd.GetTenant(), fd.GetNamespace(), fd.GetName())+":"+strconv.Itoa(id), "err", err)
		return emptyInstanceStats()
	}
	if d.UserMetrics == nil {
		d.UserMetrics = map[string]jackson.Double{}
	}
	return d
}

// parseInstanceID reads an instance id path segment. A malformed or
// out-of-range id is the caller's mistake: 400 with a reason. (4.0.8 lets
// Integer.parseInt's NumberFormatException escape, which Jetty answers
// with 500; a deliberate deviation.)
func parseInstanceID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, fail(http.StatusBadRequest, "Invalid instance id '%s': not a 32-bit integer", s)
	}
	return id, nil
}
