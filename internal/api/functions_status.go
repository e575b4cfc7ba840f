package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/jackson"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// remoteStatusTimeout bounds one worker-to-worker status call of F6.
const remoteStatusTimeout = 10 * time.Second

const msgNotScheduled = "Function has not been scheduled"

// functionStatus is Java's FunctionStatus (F6).
type functionStatus struct {
	NumInstances int                      `json:"numInstances"`
	NumRunning   int                      `json:"numRunning"`
	Instances    []functionInstanceStatus `json:"instances"`
}

type functionInstanceStatus struct {
	InstanceID int                         `json:"instanceId"`
	Status     *functionInstanceStatusData `json:"status"`
}

// functionInstanceStatusData is Java's FunctionInstanceStatusData (F7).
// Java leaves null fields out; the lists are null until an instance reports.
type functionInstanceStatusData struct {
	Running                  bool                   `json:"running"`
	Error                    *string                `json:"error,omitzero"`
	NumRestarts              int64                  `json:"numRestarts"`
	NumReceived              int64                  `json:"numReceived"`
	NumSuccessfullyProcessed int64                  `json:"numSuccessfullyProcessed"`
	NumUserExceptions        int64                  `json:"numUserExceptions"`
	LatestUserExceptions     []exceptionInformation `json:"latestUserExceptions,omitzero"`
	NumSystemExceptions      int64                  `json:"numSystemExceptions"`
	LatestSystemExceptions   []exceptionInformation `json:"latestSystemExceptions,omitzero"`
	AverageLatency           jackson.Double         `json:"averageLatency"`
	LastInvocationTime       int64                  `json:"lastInvocationTime"`
	WorkerID                 *string                `json:"workerId,omitzero"`
}

// exceptionInformation is Java's ExceptionInformation.
type exceptionInformation struct {
	ExceptionString string `json:"exceptionString"`
	TimestampMs     int64  `json:"timestampMs"`
}

func notScheduledInstance() *functionInstanceStatusData {
	return &functionInstanceStatusData{Error: ptr(msgNotScheduled)}
}

func notRunningInstance(workerID, errMsg string) *functionInstanceStatusData {
	return &functionInstanceStatusData{Error: ptr(errMsg), WorkerID: ptr(workerID)}
}

// statusFromProto is FunctionsImpl.GetFunctionStatus.fromFunctionStatusProto:
// for functions, source and sink exceptions count as system exceptions.
func statusFromProto(st *pb.FunctionStatus, workerID string) *functionInstanceStatusData {
	conv := func(lists ...[]*pb.FunctionStatus_ExceptionInformation) []exceptionInformation {
		out := []exceptionInformation{}
		for _, l := range lists {
			for _, e := range l {
				out = append(out, exceptionInformation{ExceptionString: e.GetExceptionString(), TimestampMs: e.GetMsSinceEpoch()})
			}
		}
		return out
	}
	return &functionInstanceStatusData{
		Running:                  st.GetRunning(),
		Error:                    ptr(st.GetFailureException()),
		NumRestarts:              st.GetNumRestarts(),
		NumReceived:              st.GetNumReceived(),
		NumSuccessfullyProcessed: st.GetNumSuccessfullyProcessed(),
		NumUserExceptions:        st.GetNumUserExceptions(),
		LatestUserExceptions:     conv(st.GetLatestUserExceptions()),
		NumSystemExceptions:      st.GetNumSystemExceptions() + st.GetNumSourceExceptions() + st.GetNumSinkExceptions(),
		LatestSystemExceptions:   conv(st.GetLatestSystemExceptions(), st.GetLatestSourceExceptions(), st.GetLatestSinkExceptions()),
		AverageLatency:           jackson.Double(st.GetAverageLatency()),
		LastInvocationTime:       st.GetLastInvocationTime(),
		WorkerID:                 ptr(workerID),
	}
}

// localInstanceStatus asks this worker's runtime.
func (s *Server) localInstanceStatus(ctx context.Context, fqfn string, id int) *functionInstanceStatusData {
	self := s.functions.Self().WorkerID
	st, err := s.functions.LocalInstanceStatus(ctx, fqfn, id)
	switch {
	case st != nil && !st.GetRunning() && st.GetFailureException() == "":
		// Stopped: the Java worker has no runtime for it and answers
		// "not running" without counters' lists.
		return notRunningInstance(self, "")
	case st != nil:
		return statusFromProto(st, self)
	case err != nil:
		return notRunningInstance(self, err.Error())
	}
	return notRunningInstance(self, "")
}

// remoteInstanceStatus asks the owning worker's F7, as Java's worker does
// through its own admin client. Unlike Java, whose whole F6 then fails with
// 500, an unreachable owner only marks its instance not running.
func (s *Server) remoteInstanceStatus(ctx context.Context, owner cluster.WorkerInfo, t, ns, name string, id int) *functionInstanceStatusData {
	ctx, cancel := context.WithTimeout(ctx, remoteStatusTimeout)
	defer cancel()
	u := s.functions.WorkerURL(owner) + "/admin/v3/functions/" + url.PathEscape(t) + "/" +
		url.PathEscape(ns) + "/" + url.PathEscape(name) + "/" + strconv.Itoa(id) + "/status"
	data, err := func() (*functionInstanceStatusData, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		resp, err := s.functions.WorkerHTTPClient().Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			var e struct {
				Reason string `json:"reason"`
			}
			if json.Unmarshal(body, &e) == nil && e.Reason != "" {
				return nil, fmt.Errorf("%s: %s", resp.Status, e.Reason)
			}
			return nil, fmt.Errorf("%s", resp.Status)
		}
		var d functionInstanceStatusData
		if err := json.Unmarshal(body, &d); err != nil {
			return nil, fmt.Errorf("decode status from %s: %w", owner.WorkerID, err)
		}
		return &d, nil
	}()
	if err != nil {
		s.log.Warn("function instance status from its worker failed", "worker", owner.WorkerID, "url", u, "err", err)
		return notRunningInstance(owner.WorkerID, err.Error())
	}
	return data
}

// aggregateStatus is F6: every instance, local ones from the runtime, remote
// ones from their workers (concurrently). Instances without an assignment
// (or whose worker left) show Java's "Function has not been scheduled";
// Java lists only assigned instances.
func (s *Server) aggregateStatus(ctx context.Context, md *pb.FunctionMetaData) *functionStatus {
	fd := md.GetFunctionDetails()
	fqfn := fd.GetTenant() + "/" + fd.GetNamespace() + "/" + fd.GetName()
	n := int(fd.GetParallelism())
	self := s.functions.Self().WorkerID
	out := &functionStatus{Instances: make([]functionInstanceStatus, n)}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		out.Instances[i].InstanceID = i
		owner, ok := s.functions.InstanceOwner(fqfn, i)
		if !ok {
			out.Instances[i].Status = notScheduledInstance()
			continue
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if owner.WorkerID == self {
				out.Instances[i].Status = s.localInstanceStatus(ctx, fqfn, i)
			} else {
				out.Instances[i].Status = s.remoteInstanceStatus(ctx, owner, fd.GetTenant(), fd.GetNamespace(), fd.GetName(), i)
			}
		}(i)
	}
	wg.Wait()
	out.NumInstances = len(out.Instances)
	for _, in := range out.Instances {
		if in.Status.Running {
			out.NumRunning++
		}
	}
	return out
}
