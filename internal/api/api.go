// Package api serves the worker's REST API: the same paths, JSON shapes,
// status codes and {"reason": ...} errors as the Java worker, so pulsar-admin,
// pulsar-client-go and the Pulsar proxy cannot tell the difference.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/functionconfig"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/version"
)

// Messages the Java worker uses, kept verbatim because clients and operators
// match on them.
const (
	msgNotInitialized = "Function worker service is not done initializing. Please try again in a little while."
	msgNotAuthorized  = "Client is not authorized to perform operation"
)

// Worker is what the API needs from the running worker.
type Worker interface {
	// Initialized is true once the worker has joined and caught up.
	Initialized() bool
	// Members lists the cluster's workers.
	Members(ctx context.Context) ([]cluster.WorkerInfo, error)
	// Leader names the current leader; cluster.ErrLeaderUnknown when none.
	Leader(ctx context.Context) (cluster.WorkerInfo, error)
	// IsLeader tells whether this worker leads.
	IsLeader() bool
	// Assignments maps workerId to the instances assigned to it.
	Assignments(ctx context.Context) (map[string][]string, error)
}

// Guard authenticates requests and answers the super-user question.
type Guard interface {
	// Authenticate returns the caller's role; "" when authentication is off.
	// An error means the request must be refused with 401.
	Authenticate(r *http.Request) (string, error)
	// AuthenticateMetrics tells whether /metrics, /version and /initialized
	// need authentication too.
	AuthenticateMetrics() bool
	// IsSuperUser tells whether role may use super-user endpoints; always
	// true when authorization is off.
	IsSuperUser(ctx context.Context, role string, r *http.Request) (bool, error)
}

// OpenGuard lets every request through: authentication and authorization off.
type OpenGuard struct{}

func (OpenGuard) Authenticate(*http.Request) (string, error) { return "", nil }
func (OpenGuard) AuthenticateMetrics() bool                  { return false }
func (OpenGuard) IsSuperUser(context.Context, string, *http.Request) (bool, error) {
	return true, nil
}

// Server is the HTTP handler of the worker.
type Server struct {
	worker     Worker
	guard      Guard
	metrics    prometheus.Gatherer
	log        *slog.Logger
	mux        *http.ServeMux
	functions  FunctionsBackend
	connectors ConnectorsBackend
	state      StateStore
	lifecycle  LifecycleBackend
	// maxParallelism bounds the instances of one component; 0: no limit.
	maxParallelism int
	// maxPackageBytes bounds an uploaded package while it is spooled; 0: no limit.
	maxPackageBytes int64
}

// Option adds an optional part of the API to New's Server.
type Option func(*Server)

// New builds the handler. metrics is what /metrics exposes.
func New(w Worker, g Guard, metrics prometheus.Gatherer, log *slog.Logger, opts ...Option) *Server {
	if g == nil {
		g = OpenGuard{}
	}
	s := &Server{worker: w, guard: g, metrics: metrics, log: log, mux: http.NewServeMux()}
	for _, o := range opts {
		o(s)
	}
	s.routes()
	return s
}

// WithMaxParallelism refuses creates and updates of functions, sources and
// sinks asking for more than n instances (maxParallelism, ours); 0 means no
// limit, as in the Java worker.
func WithMaxParallelism(n int) Option {
	return func(s *Server) { s.maxParallelism = n }
}

// checkParallelism refuses a validated component whose parallelism is over
// the worker's maxParallelism. It runs after Java's own checks, so a
// non-positive parallelism still gets Java's message.
func (s *Server) checkParallelism(kind string, fd *pb.FunctionDetails) error {
	if p := fd.GetParallelism(); s.maxParallelism > 0 && int(p) > s.maxParallelism {
		return invalid("%s parallelism %d is above this worker's limit of %d (maxParallelism)", kind, p, s.maxParallelism)
	}
	return nil
}

// WithMaxPackageBytes refuses, with 413 while it streams in, an uploaded
// package (a form's data part) over n bytes (maxPackageSizeBytes); 0 means no
// limit. The package store enforces the same limit on what it stores.
func WithMaxPackageBytes(n int64) Option {
	return func(s *Server) { s.maxPackageBytes = n }
}

func (s *Server) routes() {
	for _, base := range []string{"/admin/v2/worker", "/admin/worker"} {
		s.mux.Handle("GET "+base+"/cluster", s.superUser(s.getCluster))
		s.mux.Handle("GET "+base+"/cluster/leader", s.superUser(s.getLeader))
		s.mux.Handle("GET "+base+"/assignments", s.superUser(s.getAssignments))
		s.mux.Handle("GET "+base+"/cluster/leader/ready", s.authenticated(s.getLeaderReady))
	}
	if s.functions != nil {
		s.functionRoutes()
		s.lifecycleRoutes()
		s.legacyFunctionRoutes()
	}
	if s.functions != nil && s.connectors != nil {
		s.connectorRoutes()
	}
	s.mux.Handle("GET /initialized", s.rootAuth(http.HandlerFunc(s.getInitialized)))
	s.mux.Handle("GET /version", s.rootAuth(http.HandlerFunc(s.getVersion)))
	s.mux.Handle("GET /metrics", s.rootAuth(promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	})))
	notFound := func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "HTTP 404 Not Found")
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(headerSASLType) != "" || r.Header.Get(headerSASLRoleToken) != "" {
			// Java's authentication filter runs before routing, and Pulsar's
			// SASL client does its exchange against a component's base path
			// (GET /admin/v3/functions before a create), which no handler
			// serves: authenticate first, as there.
			s.authenticated(notFound).ServeHTTP(w, r)
			return
		}
		notFound(w, r)
	})
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

type roleKey struct{}

// Headers of the SASL exchange (internal/auth/sasl).
const (
	headerSASLType      = "SASL-Type"
	headerSASLRoleToken = "SaslAuthRoleToken"
)

// answerer is an authentication error that answers the request itself (a
// step of the SASL exchange, internal/auth.Answer).
type answerer interface {
	error
	WriteAnswer(http.ResponseWriter)
}

// authenticated runs the Guard, then h with the role in the context.
func (s *Server) authenticated(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		role, err := s.guard.Authenticate(r)
		var step answerer
		if errors.As(err, &step) {
			// A step of a multi-request exchange (SASL): its own answer, and
			// the request itself is not processed.
			step.WriteAnswer(w)
			return
		}
		if err != nil {
			s.log.Debug("authentication failed", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
			// The Java worker's filter answers with a container error page.
			authRequired(w, r)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), roleKey{}, role)))
	})
}

// authRequired answers 401 as the Java worker's container does: Jetty's error
// page, in its JSON form for clients that accept JSON (pulsar-admin and the
// proxy do; pulsar-admin prints it after "HTTP 401"), in plain text
// otherwise. Jetty's page also names the servlet with an object hash, which
// has no meaning here and is left out.
func authRequired(w http.ResponseWriter, r *http.Request) {
	const msg = "Authentication required"
	if !strings.Contains(r.Header.Get("Accept"), "application/json") {
		http.Error(w, msg, http.StatusUnauthorized)
		return
	}
	url, _ := json.Marshal(r.URL.Path)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprintf(w, "{\n\"message\":\"%s\",\n\"url\":%s,\n\"status\":\"401\"\n}", msg, url)
}

// superUser is authenticated + the initialisation check + the super-user check,
// in the Java worker's order.
func (s *Server) superUser(h http.HandlerFunc) http.Handler {
	return s.authenticated(func(w http.ResponseWriter, r *http.Request) {
		if !s.worker.Initialized() {
			writeError(w, http.StatusServiceUnavailable, msgNotInitialized)
			return
		}
		role, _ := r.Context().Value(roleKey{}).(string)
		ok, err := s.guard.IsSuperUser(r.Context(), role, r)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		if !ok {
			writeError(w, http.StatusUnauthorized, msgNotAuthorized)
			return
		}
		h(w, r)
	})
}

func (s *Server) rootAuth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.guard.AuthenticateMetrics() {
			s.authenticated(h.ServeHTTP).ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) getCluster(w http.ResponseWriter, r *http.Request) {
	members, err := s.worker.Members(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, members)
}

func (s *Server) getLeader(w http.ResponseWriter, r *http.Request) {
	leader, err := s.worker.Leader(r.Context())
	if errors.Is(err, cluster.ErrLeaderUnknown) {
		writeError(w, http.StatusInternalServerError, cluster.ErrLeaderUnknown.Error())
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, leader)
}

func (s *Server) getAssignments(w http.ResponseWriter, r *http.Request) {
	a, err := s.worker.Assignments(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if a == nil {
		a = map[string][]string{}
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) getLeaderReady(w http.ResponseWriter, r *http.Request) {
	if !s.worker.Initialized() || !s.worker.IsLeader() {
		writeError(w, http.StatusServiceUnavailable, msgNotInitialized)
		return
	}
	writeJSON(w, http.StatusOK, true)
}

func (s *Server) getInitialized(w http.ResponseWriter, r *http.Request) {
	if !s.worker.Initialized() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, http.StatusOK, true)
}

func (s *Server) getVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": version.Version})
}

func (s *Server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Warn("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, err.Error())
}

// writeError writes the Java worker's ErrorData body.
func writeError(w http.ResponseWriter, code int, reason string) {
	writeJSON(w, code, struct {
		Reason string `json:"reason"`
	}{reason})
}

// writeJSON writes v as the body, without the newline json.Encoder would
// add: Jersey's bodies end with the JSON, and pulsar-admin prints an error
// body as it came (a trailing newline shows as an extra blank line).
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"reason":"cannot encode the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// Small helpers for Java's nullable fields.

func ptr[T any](v T) *T { return &v }

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func isEmpty(s *string) bool { return s == nil || *s == "" }

// invalid is a 400 with Java's message: an IllegalArgumentException.
func invalid(format string, args ...any) error { return functionconfig.Invalid(format, args...) }
