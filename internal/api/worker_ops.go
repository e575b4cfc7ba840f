package api

// /admin/v2/worker rebalance and drain (spec/rest-api.md §6.1, §7.13): the
// leader runs them; another worker answers 307 to the leader, as the Java
// worker's WorkerImpl does (drain and drain status always to
// /admin/v2/worker/leader/drain?workerId=<id>).

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
)

// WorkerOps is what rebalance and drain need from the worker.
type WorkerOps interface {
	// Self is this worker.
	Self() cluster.WorkerInfo
	// Rebalance queues a rebalance. Errors wrap ErrNotLeading,
	// ErrRebalanceInProgress or ErrTooFewWorkers, or are answered with 500.
	Rebalance(ctx context.Context) error
	// Drain queues the drain of workerID. Errors wrap ErrNotLeading,
	// ErrDrainInProgress, ErrTooFewWorkers, ErrWorkerNotRemoved or
	// ErrUnknownWorker, or are answered with 500.
	Drain(ctx context.Context, workerID string) error
	// DrainStatus reports the drain of workerID; ErrNotLeading when this
	// worker does not run the scheduler.
	DrainStatus(ctx context.Context, workerID string) (LongRunningProcessStatus, error)
}

// Errors a WorkerOps returns (wrapped) to choose the answer.
var (
	// ErrNotLeading: this worker does not run the scheduler; the request goes
	// to the leader.
	ErrNotLeading          = errors.New("this worker does not lead the cluster")
	ErrRebalanceInProgress = errors.New("Rebalance already in progress")
	ErrTooFewWorkers       = errors.New("Too few workers (need at least 2)")
	ErrDrainInProgress     = errors.New("Another drain is in progress")
	ErrWorkerNotRemoved    = errors.New("worker not yet removed after a prior drain")
	ErrUnknownWorker       = errors.New("worker is not among the current workers")
)

// LongRunningProcessStatus is the drain status JSON (Java's class of that
// name): status NOT_RUN, RUNNING, SUCCESS or ERROR; lastError "" unless ERROR.
type LongRunningProcessStatus struct {
	Status    string `json:"status"`
	LastError string `json:"lastError"`
}

const (
	msgLeaderUnknown  = "Leader cannot be determined"
	leaderDrainPath   = "/admin/v2/worker/leader/drain"
	workerIDParameter = "workerId"
)

// WithWorkerOps serves rebalance, drain and drain status from o.
func WithWorkerOps(o WorkerOps) Option {
	return func(s *Server) {
		for _, base := range []string{"/admin/v2/worker", "/admin/worker"} {
			s.mux.Handle("PUT "+base+"/rebalance", s.superUser(s.fnHandler(func(w http.ResponseWriter, r *http.Request) error {
				return s.rebalance(o, w, r)
			})))
			s.mux.Handle("PUT "+base+"/leader/drain", s.superUser(s.fnHandler(func(w http.ResponseWriter, r *http.Request) error {
				return s.drain(o, w, r, r.URL.Query().Get(workerIDParameter))
			})))
			s.mux.Handle("PUT "+base+"/drain", s.superUser(s.fnHandler(func(w http.ResponseWriter, r *http.Request) error {
				return s.drain(o, w, r, "")
			})))
			s.mux.Handle("GET "+base+"/leader/drain", s.superUser(s.fnHandler(func(w http.ResponseWriter, r *http.Request) error {
				return s.drainStatus(o, w, r, r.URL.Query().Get(workerIDParameter))
			})))
			s.mux.Handle("GET "+base+"/drain", s.superUser(s.fnHandler(func(w http.ResponseWriter, r *http.Request) error {
				return s.drainStatus(o, w, r, "")
			})))
		}
	}
}

func (s *Server) rebalance(o WorkerOps, w http.ResponseWriter, r *http.Request) error {
	err := o.Rebalance(r.Context())
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
		return nil
	case errors.Is(err, ErrNotLeading):
		leader, err := s.leaderElsewhere(r.Context(), o)
		if err != nil {
			return err
		}
		redirect(w, r, leader)
		return nil
	case errors.Is(err, ErrRebalanceInProgress):
		return fail(http.StatusBadRequest, "Rebalance already in progress")
	case errors.Is(err, ErrTooFewWorkers):
		return fail(http.StatusBadRequest, "Too few workers (need at least 2)")
	}
	return err
}

func (s *Server) drain(o WorkerOps, w http.ResponseWriter, r *http.Request, workerID string) error {
	if workerID == "" {
		workerID = o.Self().WorkerID
	}
	err := o.Drain(r.Context(), workerID)
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
		return nil
	case errors.Is(err, ErrNotLeading):
		return s.redirectDrain(o, w, r, workerID)
	case errors.Is(err, ErrDrainInProgress):
		return fail(http.StatusConflict, "Another drain is in progress")
	case errors.Is(err, ErrTooFewWorkers):
		return fail(http.StatusBadRequest, "Too few workers (need at least 2)")
	case errors.Is(err, ErrWorkerNotRemoved):
		return fail(http.StatusPreconditionFailed, "Worker %s was not yet removed after a prior drain op; try later", workerID)
	case errors.Is(err, ErrUnknownWorker):
		return fail(http.StatusBadRequest, "Worker %s is not among the current workers in the system", workerID)
	}
	return err
}

func (s *Server) drainStatus(o WorkerOps, w http.ResponseWriter, r *http.Request, workerID string) error {
	if workerID == "" {
		workerID = o.Self().WorkerID
	}
	st, err := o.DrainStatus(r.Context(), workerID)
	if errors.Is(err, ErrNotLeading) {
		return s.redirectDrain(o, w, r, workerID)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// redirectDrain answers 307 to the leader's drain path for workerID, the
// request's other query parameters kept (Java's buildRedirectUriForDrainRelatedOp).
func (s *Server) redirectDrain(o WorkerOps, w http.ResponseWriter, r *http.Request, workerID string) error {
	leader, err := s.leaderElsewhere(r.Context(), o)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	q.Set(workerIDParameter, workerID)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	w.Header().Set("Location", fmt.Sprintf("%s://%s:%d%s?%s", scheme, leader.WorkerHostname, leader.Port, leaderDrainPath, q.Encode()))
	w.WriteHeader(http.StatusTemporaryRedirect)
	return nil
}

// leaderElsewhere names the leader a request is sent on to: 500 "Leader
// cannot be determined" without one; 503 while this worker is named leader
// but does not run the scheduler yet (a redirect would come back here).
func (s *Server) leaderElsewhere(ctx context.Context, o WorkerOps) (cluster.WorkerInfo, error) {
	leader, err := s.worker.Leader(ctx)
	if err != nil {
		return cluster.WorkerInfo{}, fail(http.StatusInternalServerError, msgLeaderUnknown)
	}
	if leader.WorkerID == o.Self().WorkerID {
		return cluster.WorkerInfo{}, fail(http.StatusServiceUnavailable, msgLeaderNotReady)
	}
	return leader, nil
}
