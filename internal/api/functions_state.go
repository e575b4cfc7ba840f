package api

// F23 GET and F24 POST /admin/v3/functions/{T}/{N}/{name}/state/{key}: a
// function's state, with the order of checks, status codes and messages of
// Apache Pulsar 4.0.8's ComponentImpl.getFunctionState/putFunctionState.
//
// Where 4.0.8 differs from older workers (and spec/rest-api.md §3.14), we
// follow 4.0.8:
//   - A function that does not exist (of any kind) is 404 "'<name>' is not
//     found"; the state table of one that exists is created when missing, so
//     a missing table is never reported.
//   - put writes byteValue if non-empty, else stringValue if present, else
//     numberValue as its 8-byte big-endian form (a plain value, not a
//     counter); with none of them it is "Invalid state value" — with 400
//     here, where 4.0.8 answers 500 (a deviation: the client's fault).
//
// Where we knowingly differ from 4.0.8:
//   - A put without a state part is 400 "Path key doesn't match key in json";
//     Java fails with a NullPointerException (500).
//   - The state part is read as JSON whatever its Content-Type, with Go's
//     case-insensitive field matching.

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"
	"unicode/utf8"
)

// StateStore is the function state storage (the worker's
// stateStorageServiceUrl): a table per function.
type StateStore interface {
	// GetState reads key from the state of tenant/namespace/function,
	// creating the function's table if it does not exist. An error wrapping
	// ErrStateKeyNotFound when the key is absent.
	GetState(ctx context.Context, tenant, namespace, function, key string) (StateValue, error)
	// PutState writes value under key, creating the table if needed.
	PutState(ctx context.Context, tenant, namespace, function, key string, value []byte) error
	// DeleteState drops the function's state table (function delete).
	DeleteState(ctx context.Context, tenant, namespace, function string) error
}

// StateValue is a stored state record.
type StateValue struct {
	// Value is the stored bytes; a counter's 8-byte big-endian form.
	Value []byte
	// Version counts the record's modifications.
	Version int64
	// IsNumber marks a counter.
	IsNumber bool
}

// ErrStateKeyNotFound: the state table has no such key.
var ErrStateKeyNotFound = errors.New("state key not found")

// WithState serves function state from st. Without it the state endpoints
// answer 503, as a Java worker without stateStorageServiceUrl does.
func WithState(st StateStore) Option {
	return func(s *Server) { s.state = st }
}

// Java's messages.
const (
	msgStateNotReady    = "State storage client is not done initializing. Please try again in a little while."
	msgStateKeyMismatch = "Path key doesn't match key in json"
	msgStateInvalid     = "Invalid state value"
)

// stateTimeout bounds one state request; Java's table setup gives up after
// one minute.
const stateTimeout = time.Minute

// functionState is Java's FunctionState as Jackson writes it, nulls left out.
type functionState struct {
	Key         string  `json:"key"`
	StringValue *string `json:"stringValue,omitempty"`
	ByteValue   []byte  `json:"byteValue,omitempty"`
	NumberValue *int64  `json:"numberValue,omitempty"`
	Version     *int64  `json:"version,omitempty"`
}

// functionStateOf presents a stored value as 4.0.8's
// ComponentImpl.getFunctionState does: any value of exactly 8 bytes also as
// numberValue (big-endian, whatever else it is), a counter only as that, UTF-8
// as stringValue, anything else as byteValue; version always.
func functionStateOf(key string, v StateValue) functionState {
	fs := functionState{Key: key, Version: &v.Version}
	if len(v.Value) == 8 {
		n := int64(binary.BigEndian.Uint64(v.Value))
		fs.NumberValue = &n
	}
	switch {
	case v.IsNumber:
	case utf8.Valid(v.Value):
		s := string(v.Value)
		fs.StringValue = &s
	default:
		fs.ByteValue = v.Value
	}
	return fs
}

// stateBytes is what putFunctionState writes for a FunctionState.
func stateBytes(fs *functionState) ([]byte, error) {
	switch {
	case len(fs.ByteValue) > 0:
		return fs.ByteValue, nil
	case fs.StringValue != nil:
		return []byte(*fs.StringValue), nil
	case fs.NumberValue != nil:
		return binary.BigEndian.AppendUint64(nil, uint64(*fs.NumberValue)), nil
	}
	// 4.0.8 answers 500; a body without a value is the client's fault (README deviation).
	return nil, fail(http.StatusBadRequest, msgStateInvalid)
}

// stateKey is the {key} path item; a combined GET/POST route over
// .../{name}/{a}/{b} passes it as {b} with {a} == "state".
func stateKey(r *http.Request) string {
	if k := r.PathValue("key"); k != "" {
		return k
	}
	if r.PathValue("a") == "state" {
		return r.PathValue("b")
	}
	return ""
}

// stateParams is validateFunctionStateParams.
func stateParams(r *http.Request) (t, ns, name, key string, err error) {
	t, ns, name, err = pathParams(r, true)
	if err != nil {
		return "", "", "", "", err
	}
	if key = stateKey(r); key == "" {
		return "", "", "", "", fail(http.StatusBadRequest, "Key is not provided")
	}
	return t, ns, name, key, nil
}

// stateFunctionExists is the 404 of ComponentImpl's state endpoints
// (FunctionMetaDataManager.containsFunction: any kind).
func (s *Server) stateFunctionExists(t, ns, name string) error {
	if _, ok := s.functions.Function(t, ns, name); !ok {
		return fail(http.StatusNotFound, "'%s' is not found", name)
	}
	return nil
}

// queryState is F23.
func (s *Server) queryState(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkInitialized(); err != nil {
		return err
	}
	if err := s.authorizeFunctions(r, r.PathValue("tenant"), r.PathValue("namespace")); err != nil {
		return err
	}
	if s.state == nil {
		return fail(http.StatusServiceUnavailable, msgStateNotReady)
	}
	t, ns, name, key, err := stateParams(r)
	if err != nil {
		return err
	}
	if err := s.stateFunctionExists(t, ns, name); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), stateTimeout)
	defer cancel()
	v, err := s.state.GetState(ctx, t, ns, name, key)
	if errors.Is(err, ErrStateKeyNotFound) {
		return fail(http.StatusNotFound, "key '%s' doesn't exist.", key)
	}
	if err != nil {
		return fail(http.StatusInternalServerError, "%s", err.Error())
	}
	return writeFunctionJSON(w, functionStateOf(key, v))
}

// putState is F24.
func (s *Server) putState(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkInitialized(); err != nil {
		return err
	}
	if s.state == nil {
		return fail(http.StatusServiceUnavailable, msgStateNotReady)
	}
	if err := s.authorizeFunctions(r, r.PathValue("tenant"), r.PathValue("namespace")); err != nil {
		return err
	}
	fs, err := readStatePart(r)
	if err != nil {
		return err
	}
	if key := stateKey(r); fs == nil || fs.Key != key {
		return fail(http.StatusBadRequest, msgStateKeyMismatch)
	}
	t, ns, name, key, err := stateParams(r)
	if err != nil {
		return err
	}
	if err := s.stateFunctionExists(t, ns, name); err != nil {
		return err
	}
	value, err := stateBytes(fs)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), stateTimeout)
	defer cancel()
	if err := s.state.PutState(ctx, t, ns, name, key, value); err != nil {
		return fail(http.StatusInternalServerError, "%s", err.Error())
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// readStatePart reads the multipart "state" part (JSON FunctionState); nil
// when there is none.
func readStatePart(r *http.Request) (*functionState, error) {
	mr, err := r.MultipartReader()
	if errors.Is(err, http.ErrNotMultipart) {
		return nil, fail(http.StatusUnsupportedMediaType, "Unsupported Media Type")
	}
	if err != nil {
		return nil, fail(http.StatusBadRequest, "Bad Request")
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return nil, fail(http.StatusBadRequest, "Bad Request")
		}
		if part.FormName() != "state" {
			part.Close()
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, maxTextPart+1))
		part.Close()
		if err != nil || len(b) > maxTextPart {
			return nil, fail(http.StatusBadRequest, "Bad Request")
		}
		fs := &functionState{}
		if err := json.Unmarshal(b, fs); err != nil {
			return nil, fail(http.StatusBadRequest, "Bad Request")
		}
		return fs, nil
	}
}

// dropState removes a deleted function's state table, best effort and in the
// background, as Java's deleteStatestoreTableAsync.
func (s *Server) dropState(t, ns, name string) {
	if s.state == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
		defer cancel()
		if err := s.state.DeleteState(ctx, t, ns, name); err != nil {
			s.log.Warn("could not delete state table", "tenant", t, "namespace", ns, "function", name, "err", err)
			return
		}
		s.log.Info("deleted state table", "tenant", t, "namespace", ns, "function", name)
	}()
}
