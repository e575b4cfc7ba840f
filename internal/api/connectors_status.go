package api

// Status of sources and sinks (spec/rest-api.md §7.7): Java's SourceStatus
// and SinkStatus, built as SourcesImpl.GetSourceStatus and
// SinksImpl.GetSinkStatus build them from the instances' FunctionStatus.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// connectorStatusData is a SourceInstanceStatusData or SinkInstanceStatusData.
type connectorStatusData interface{ isRunning() bool }

// connectorStatus is SourceStatus / SinkStatus.
type connectorStatus struct {
	NumInstances int                       `json:"numInstances"`
	NumRunning   int                       `json:"numRunning"`
	Instances    []connectorInstanceStatus `json:"instances"`
}

type connectorInstanceStatus struct {
	InstanceID int                 `json:"instanceId"`
	Status     connectorStatusData `json:"status"`
}

// sourceInstanceStatusData is Java's SourceInstanceStatusData.
type sourceInstanceStatusData struct {
	Running                bool                   `json:"running"`
	Error                  *string                `json:"error,omitzero"`
	NumRestarts            int64                  `json:"numRestarts"`
	NumReceivedFromSource  int64                  `json:"numReceivedFromSource"`
	NumSystemExceptions    int64                  `json:"numSystemExceptions"`
	LatestSystemExceptions []exceptionInformation `json:"latestSystemExceptions,omitzero"`
	NumSourceExceptions    int64                  `json:"numSourceExceptions"`
	LatestSourceExceptions []exceptionInformation `json:"latestSourceExceptions,omitzero"`
	NumWritten             int64                  `json:"numWritten"`
	LastReceivedTime       int64                  `json:"lastReceivedTime"`
	WorkerID               *string                `json:"workerId,omitzero"`
}

func (d *sourceInstanceStatusData) isRunning() bool { return d.Running }

// sinkInstanceStatusData is Java's SinkInstanceStatusData.
type sinkInstanceStatusData struct {
	Running                bool                   `json:"running"`
	Error                  *string                `json:"error,omitzero"`
	NumRestarts            int64                  `json:"numRestarts"`
	NumReadFromPulsar      int64                  `json:"numReadFromPulsar"`
	NumSystemExceptions    int64                  `json:"numSystemExceptions"`
	LatestSystemExceptions []exceptionInformation `json:"latestSystemExceptions,omitzero"`
	NumSinkExceptions      int64                  `json:"numSinkExceptions"`
	LatestSinkExceptions   []exceptionInformation `json:"latestSinkExceptions,omitzero"`
	NumWrittenToSink       int64                  `json:"numWrittenToSink"`
	LastReceivedTime       int64                  `json:"lastReceivedTime"`
	WorkerID               *string                `json:"workerId,omitzero"`
}

func (d *sinkInstanceStatusData) isRunning() bool { return d.Running }

func (k *connectorKind) newStatusData() connectorStatusData {
	if k == sourceKind {
		return &sourceInstanceStatusData{}
	}
	return &sinkInstanceStatusData{}
}

// notScheduled is the placeholder of an instance without a worker.
func (k *connectorKind) notScheduled() connectorStatusData {
	return k.notRunning(nil, k.name+" has not been scheduled")
}

func (k *connectorKind) notRunning(workerID *string, errMsg string) connectorStatusData {
	if k == sourceKind {
		return &sourceInstanceStatusData{Error: ptr(errMsg), WorkerID: workerID}
	}
	return &sinkInstanceStatusData{Error: ptr(errMsg), WorkerID: workerID}
}

func exceptionList(lists ...[]*pb.FunctionStatus_ExceptionInformation) []exceptionInformation {
	out := []exceptionInformation{}
	for _, l := range lists {
		for _, e := range l {
			out = append(out, exceptionInformation{ExceptionString: e.GetExceptionString(), TimestampMs: e.GetMsSinceEpoch()})
		}
	}
	return out
}

// fromProto is fromFunctionStatusProto of the kind: a source counts user and
// sink exceptions as system ones, a sink user and source exceptions.
func (k *connectorKind) fromProto(st *pb.FunctionStatus, workerID string) connectorStatusData {
	if k == sourceKind {
		return &sourceInstanceStatusData{
			Running:                st.GetRunning(),
			Error:                  ptr(st.GetFailureException()),
			NumRestarts:            st.GetNumRestarts(),
			NumReceivedFromSource:  st.GetNumReceived(),
			NumSourceExceptions:    st.GetNumSourceExceptions(),
			LatestSourceExceptions: exceptionList(st.GetLatestSourceExceptions()),
			NumSystemExceptions:    st.GetNumSystemExceptions() + st.GetNumUserExceptions() + st.GetNumSinkExceptions(),
			LatestSystemExceptions: exceptionList(st.GetLatestUserExceptions(), st.GetLatestSystemExceptions(), st.GetLatestSinkExceptions()),
			NumWritten:             st.GetNumSuccessfullyProcessed(),
			LastReceivedTime:       st.GetLastInvocationTime(),
			WorkerID:               ptr(workerID),
		}
	}
	return &sinkInstanceStatusData{
		Running:                st.GetRunning(),
		Error:                  ptr(st.GetFailureException()),
		NumRestarts:            st.GetNumRestarts(),
		NumReadFromPulsar:      st.GetNumReceived(),
		NumSinkExceptions:      st.GetNumSinkExceptions(),
		LatestSinkExceptions:   exceptionList(st.GetLatestSinkExceptions()),
		NumSystemExceptions:    st.GetNumSystemExceptions() + st.GetNumUserExceptions() + st.GetNumSourceExceptions(),
		LatestSystemExceptions: exceptionList(st.GetLatestUserExceptions(), st.GetLatestSystemExceptions(), st.GetLatestSourceExceptions()),
		NumWrittenToSink:       st.GetNumSuccessfullyProcessed(),
		LastReceivedTime:       st.GetLastInvocationTime(),
		WorkerID:               ptr(workerID),
	}
}

// path is the kind's API path segment.
func (k *connectorKind) path() string {
	if k == sourceKind {
		return "sources"
	}
	return "sinks"
}

func (s *Server) localConnectorStatus(ctx context.Context, k *connectorKind, fqfn string, id int) connectorStatusData {
	self := s.functions.Self().WorkerID
	st, err := s.functions.LocalInstanceStatus(ctx, fqfn, id)
	switch {
	case st != nil:
		return k.fromProto(st, self)
	case err != nil:
		return k.notRunning(ptr(self), err.Error())
	}
	return k.notRunning(ptr(self), "")
}

// remoteConnectorStatus asks the owner's per-instance status endpoint; an
// unreachable owner marks only its instance not running.
func (s *Server) remoteConnectorStatus(ctx context.Context, k *connectorKind, owner cluster.WorkerInfo, t, ns, name string, id int) connectorStatusData {
	ctx, cancel := context.WithTimeout(ctx, remoteStatusTimeout)
	defer cancel()
	u := s.functions.WorkerURL(owner) + "/admin/v3/" + k.path() + "/" + url.PathEscape(t) + "/" +
		url.PathEscape(ns) + "/" + url.PathEscape(name) + "/" + strconv.Itoa(id) + "/status"
	data, err := func() (connectorStatusData, error) {
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
		d := k.newStatusData()
		if err := json.Unmarshal(body, d); err != nil {
			return nil, fmt.Errorf("decode status from %s: %w", owner.WorkerID, err)
		}
		return d, nil
	}()
	if err != nil {
		s.log.Warn("connector instance status from its worker failed", "worker", owner.WorkerID, "url", u, "err", err)
		return k.notRunning(ptr(owner.WorkerID), err.Error())
	}
	return data
}

// aggregateConnectorStatus lists instances 0..parallelism-1 as F6 does for
// functions.
func (s *Server) aggregateConnectorStatus(ctx context.Context, k *connectorKind, md *pb.FunctionMetaData) *connectorStatus {
	fd := md.GetFunctionDetails()
	fqfn := fqfnOf(fd.GetTenant(), fd.GetNamespace(), fd.GetName())
	n := int(fd.GetParallelism())
	self := s.functions.Self().WorkerID
	out := &connectorStatus{Instances: make([]connectorInstanceStatus, n)}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		out.Instances[i].InstanceID = i
		owner, ok := s.functions.InstanceOwner(fqfn, i)
		if !ok {
			out.Instances[i].Status = k.notScheduled()
			continue
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if owner.WorkerID == self {
				out.Instances[i].Status = s.localConnectorStatus(ctx, k, fqfn, i)
			} else {
				out.Instances[i].Status = s.remoteConnectorStatus(ctx, k, owner, fd.GetTenant(), fd.GetNamespace(), fd.GetName(), i)
			}
		}(i)
	}
	wg.Wait()
	out.NumInstances = len(out.Instances)
	for _, in := range out.Instances {
		if in.Status.isRunning() {
			out.NumRunning++
		}
	}
	return out
}
