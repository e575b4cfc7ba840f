package api

// The legacy functions API (spec/rest-api.md §8): 4.0.8 mounts
// FunctionsApiV2Resource under both /admin and /admin/v2, so it answers at
// /admin/functions/... and /admin/v2/functions/.... FunctionsImplV2 runs
// the v3 logic (same checks, same errors) and reshapes the successes:
//   - get: FunctionDetails printed by protobuf's JsonFormat, not FunctionConfig;
//   - status: a FunctionStatusList, instance status a FunctionStatus, both
//     protobuf JSON with this worker's id as workerId;
//   - state: the text "value : <v>, version : <n>";
//   - register, update, delete, restart, stop, upload, trigger: 200, not 204.
//
// There are no start, stats, builtins or package download by name endpoints.
//
// Where we knowingly differ from 4.0.8:
//   - protobuf JSON keys come in protojson's order and escaping (equivalent
//     JSON; Java orders by field number and escapes HTML characters).
//   - Content-Type is application/json; Java's resource declares none, so
//     Jersey picks one from the request's Accept header.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"regexp"
	"strconv"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/functionconfig"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/jackson"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// legacyFunctionRoutes mounts the v2 functions API at both of Java's bases.
func (s *Server) legacyFunctionRoutes() {
	for _, base := range []string{"/admin/v2/functions", "/admin/functions"} {
		item := base + "/{tenant}/{namespace}/{name}"
		h := func(f func(http.ResponseWriter, *http.Request) error) http.Handler {
			return s.authenticated(s.fnHandler(f))
		}
		s.mux.Handle("GET "+base+"/{tenant}/{namespace}", h(s.listFunctions))
		s.mux.Handle("GET "+item, h(s.v2GetFunction))
		s.mux.Handle("POST "+item, h(s.v2Register(s.registerFunction)))
		s.mux.Handle("PUT "+item, h(s.v2Register(s.updateFunction)))
		s.mux.Handle("DELETE "+item, h(okFor204(s.deleteFunction)))
		s.mux.Handle("GET "+item+"/status", h(s.v2FunctionStatus))
		s.mux.Handle("POST "+item+"/trigger", h(okFor204(s.triggerFunction)))
		for _, action := range []string{"restart", "stop"} {
			s.mux.Handle("POST "+item+"/"+action, h(okFor204(func(w http.ResponseWriter, r *http.Request) error {
				return s.componentAction(w, r, functionKind, action, nil)
			})))
		}
		s.mux.Handle("GET "+item+"/{a}/{b}", h(s.v2Pair))
		s.mux.Handle("POST "+item+"/{a}/{b}", h(s.v2Pair))
		s.mux.Handle("POST "+base+"/upload", h(okFor204(s.uploadByPath)))
		s.mux.Handle("GET "+base+"/download", h(s.downloadByPath))
		if s.connectors != nil {
			s.mux.Handle("GET "+base+"/connectors", h(s.listAllConnectors))
		}
	}
}

// v2Pair routes item/{a}/{b}: {instanceId}/status (which JAX-RS prefers
// over state/{key}: more literal characters), state/{key},
// {instanceId}/restart and {instanceId}/stop.
func (s *Server) v2Pair(w http.ResponseWriter, r *http.Request) error {
	a, b := r.PathValue("a"), r.PathValue("b")
	get := r.Method == http.MethodGet
	switch {
	case get && b == "status":
		r.SetPathValue("instanceId", a)
		return s.v2InstanceStatus(w, r)
	case get && a == "state":
		r.SetPathValue("key", b)
		return s.v2State(w, r)
	case !get && (b == "restart" || b == "stop"):
		return okFor204(func(w http.ResponseWriter, r *http.Request) error {
			return s.componentAction(w, r, functionKind, b, &a)
		})(w, r)
	case !get && b == "status", get && (b == "restart" || b == "stop"):
		return fail(http.StatusMethodNotAllowed, "HTTP 405 Method Not Allowed")
	}
	return fail(http.StatusNotFound, "HTTP 404 Not Found")
}

// okFor204 runs a v3 handler and answers 200 where it answers 204.
func okFor204(h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		return h(&statusRewriter{ResponseWriter: w}, r)
	}
}

type statusRewriter struct{ http.ResponseWriter }

func (s *statusRewriter) WriteHeader(code int) {
	if code == http.StatusNoContent {
		code = http.StatusOK
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRewriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// recorder keeps a v3 handler's small answer so it can be reshaped.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

// runV3 runs h into a recorder; a non-200 answer (error, redirect) is
// passed on to w as it is and ok is false.
func runV3(w http.ResponseWriter, r *http.Request, h func(http.ResponseWriter, *http.Request) error) (body []byte, ok bool, err error) {
	rec := &recorder{header: http.Header{}}
	if err := h(rec, r); err != nil {
		return nil, false, err
	}
	if rec.code == http.StatusOK {
		return rec.body.Bytes(), true, nil
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.code)
	w.Write(rec.body.Bytes())
	return nil, false, nil
}

// writeProtoJSON answers 200 with m as FunctionCommon.printJson prints it:
// JsonFormat's defaults (json names, no default values, int64 as strings),
// indented by two spaces.
func writeProtoJSON(w http.ResponseWriter, m proto.Message) error {
	b, err := protojson.Marshal(m)
	if err != nil {
		return fmt.Errorf("print %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compactJSON(b), "", "  "); err != nil {
		return fmt.Errorf("print %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(javaDoubles(out.Bytes(), m.ProtoReflect().Descriptor()))
	return nil
}

// integralNumber is a member whose value is a JSON integer.
var integralNumber = regexp.MustCompile(`"([A-Za-z0-9_]+)": (-?[0-9]+)(,?)\n`)

// javaDoubles prints the integral values of double and float fields as
// protobuf-java's JsonFormat does (Double.toString: "1.0"), where protojson
// prints "1" (found side by side: resources.cpu of the v2 get).
func javaDoubles(b []byte, d protoreflect.MessageDescriptor) []byte {
	names := map[string]bool{}
	var collect func(d protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool)
	collect = func(d protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) {
		if seen[d.FullName()] {
			return
		}
		seen[d.FullName()] = true
		fields := d.Fields()
		for i := range fields.Len() {
			f := fields.Get(i)
			switch {
			case f.Kind() == protoreflect.DoubleKind || f.Kind() == protoreflect.FloatKind:
				names[f.JSONName()] = true
			case f.Message() != nil:
				collect(f.Message(), seen)
			}
		}
	}
	collect(d, map[protoreflect.FullName]bool{})
	return integralNumber.ReplaceAllFunc(b, func(m []byte) []byte {
		sub := integralNumber.FindSubmatch(m)
		if !names[string(sub[1])] {
			return m
		}
		return []byte(fmt.Sprintf("%q: %s.0%s\n", sub[1], sub[2], sub[3]))
	})
}

// compactJSON drops protojson's deliberately unstable whitespace.
func compactJSON(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

// v2GetFunction: the v3 get for its checks, then the stored FunctionDetails.
func (s *Server) v2GetFunction(w http.ResponseWriter, r *http.Request) error {
	if _, ok, err := runV3(w, r, s.getFunction); err != nil || !ok {
		return err
	}
	md, ok := s.functions.Function(r.PathValue("tenant"), r.PathValue("namespace"), r.PathValue("name"))
	if !ok {
		return fail(http.StatusNotFound, "%s %s doesn't exist", functionType, r.PathValue("name"))
	}
	return writeProtoJSON(w, md.GetFunctionDetails())
}

// v2FunctionStatus reshapes the v3 FunctionStatus into a FunctionStatusList.
func (s *Server) v2FunctionStatus(w http.ResponseWriter, r *http.Request) error {
	body, ok, err := runV3(w, r, s.functionStatus)
	if err != nil || !ok {
		return err
	}
	var st struct {
		Instances []struct {
			InstanceID int          `json:"instanceId"`
			Status     v2StatusData `json:"status"`
		} `json:"instances"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("v2 status: decode v3 status: %w", err)
	}
	list := &pb.FunctionStatusList{}
	for _, in := range st.Instances {
		list.FunctionStatusList = append(list.FunctionStatusList, s.statusToProto(&in.Status, strconv.Itoa(in.InstanceID)))
	}
	return writeProtoJSON(w, list)
}

// v2InstanceStatus reshapes the v3 instance status into a FunctionStatus.
func (s *Server) v2InstanceStatus(w http.ResponseWriter, r *http.Request) error {
	body, ok, err := runV3(w, r, s.functionInstanceStatus)
	if err != nil || !ok {
		return err
	}
	var st v2StatusData
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("v2 instance status: decode v3 status: %w", err)
	}
	return writeProtoJSON(w, s.statusToProto(&st, r.PathValue("instanceId")))
}

// v2StatusData is the part of the v3 instance status JSON that
// FunctionsImplV2.toProto copies.
type v2StatusData struct {
	Running                  bool                   `json:"running"`
	Error                    string                 `json:"error"`
	NumRestarts              int64                  `json:"numRestarts"`
	NumSuccessfullyProcessed int64                  `json:"numSuccessfullyProcessed"`
	NumUserExceptions        int64                  `json:"numUserExceptions"`
	LatestUserExceptions     []exceptionInformation `json:"latestUserExceptions"`
	NumSystemExceptions      int64                  `json:"numSystemExceptions"`
	LatestSystemExceptions   []exceptionInformation `json:"latestSystemExceptions"`
	AverageLatency           float64                `json:"averageLatency"`
	LastInvocationTime       int64                  `json:"lastInvocationTime"`
}

// statusToProto is FunctionsImplV2.toProto: workerId is this worker's,
// whichever worker runs the instance.
func (s *Server) statusToProto(d *v2StatusData, instanceID string) *pb.FunctionStatus {
	st := &pb.FunctionStatus{
		Running:                  d.Running,
		FailureException:         d.Error,
		NumRestarts:              d.NumRestarts,
		NumSuccessfullyProcessed: d.NumSuccessfullyProcessed,
		NumUserExceptions:        d.NumUserExceptions,
		NumSystemExceptions:      d.NumSystemExceptions,
		AverageLatency:           d.AverageLatency,
		LastInvocationTime:       d.LastInvocationTime,
		InstanceId:               instanceID,
		WorkerId:                 s.functions.Self().WorkerID,
	}
	for _, e := range d.LatestUserExceptions {
		st.LatestUserExceptions = append(st.LatestUserExceptions, &pb.FunctionStatus_ExceptionInformation{ExceptionString: e.ExceptionString, MsSinceEpoch: e.TimestampMs})
	}
	for _, e := range d.LatestSystemExceptions {
		st.LatestSystemExceptions = append(st.LatestSystemExceptions, &pb.FunctionStatus_ExceptionInformation{ExceptionString: e.ExceptionString, MsSinceEpoch: e.TimestampMs})
	}
	return st
}

// v2State answers "value : <v>, version : <n>", the number if the state
// holds one.
func (s *Server) v2State(w http.ResponseWriter, r *http.Request) error {
	body, ok, err := runV3(w, r, s.queryState)
	if err != nil || !ok {
		return err
	}
	var st struct {
		StringValue *string          `json:"stringValue"`
		NumberValue *json.RawMessage `json:"numberValue"`
		Version     *json.RawMessage `json:"version"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("v2 state: decode v3 state: %w", err)
	}
	raw := func(m *json.RawMessage) string {
		if m == nil {
			return "null"
		}
		return string(*m)
	}
	value := "null"
	switch {
	case st.NumberValue != nil && string(*st.NumberValue) != "null":
		value = raw(st.NumberValue)
	case st.StringValue != nil:
		value = *st.StringValue
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "value : %s, version : %s", value, raw(st.Version))
	return nil
}

// v2Register is register/update with a functionDetails part (protobuf JSON)
// in place of functionConfig: converted as FunctionConfigUtils
// .convertFromDetails does, then handed to the v3 handler h; 200.
func (s *Server) v2Register(h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		// Authorized before the body is spooled (see configRequest); h
		// checks again, cheaply, on the re-encoded form.
		if err := s.checkInitialized(); err != nil {
			return err
		}
		t, ns, _, err := pathParams(r, true)
		if err != nil {
			return err
		}
		if err := s.authorizeFunctions(r, t, ns); err != nil {
			return err
		}
		mr, err := r.MultipartReader()
		if errors.Is(err, http.ErrNotMultipart) {
			return fail(http.StatusUnsupportedMediaType, "Unsupported Media Type")
		}
		if err != nil {
			return fail(http.StatusBadRequest, "Bad Request")
		}
		// Re-encode the form for the v3 handler, with the package spooled to
		// disk as Jersey does.
		spool, err := os.CreateTemp("", "pfw-v2-form-*")
		if err != nil {
			return fmt.Errorf("v2 register: %w", err)
		}
		defer func() { spool.Close(); os.Remove(spool.Name()) }()
		out := multipart.NewWriter(spool)
		details := "" // Java's merge of a null string fails: 400
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fail(http.StatusBadRequest, "Bad Request")
			}
			switch name := part.FormName(); name {
			case "functionDetails":
				b, err := io.ReadAll(io.LimitReader(part, maxTextPart+1))
				if err != nil || len(b) > maxTextPart {
					return fail(http.StatusBadRequest, "Bad Request")
				}
				details = string(b)
			case "data", "url":
				hdr := textproto.MIMEHeader{}
				for k, v := range part.Header {
					hdr[k] = v
				}
				pw, err := out.CreatePart(hdr)
				if err != nil {
					return fmt.Errorf("v2 register: %w", err)
				}
				limit := s.maxPackageBytes
				if name == "url" {
					limit = maxTextPart
				}
				if err := spoolPart(pw, part, limit); err != nil {
					return err
				}
			}
			part.Close()
		}
		fd := &pb.FunctionDetails{}
		if err := (protojson.UnmarshalOptions{}).Unmarshal([]byte(details), fd); err != nil {
			return fail(http.StatusBadRequest, "%s", err.Error())
		}
		fc, err := functionconfig.FromDetails(fd)
		if err != nil {
			return badRequest(err)
		}
		cfg, err := jackson.Marshal(fc.ForResponse())
		if err != nil {
			return fmt.Errorf("v2 register: %w", err)
		}
		if err := out.WriteField("functionConfig", string(cfg)); err != nil {
			return fmt.Errorf("v2 register: %w", err)
		}
		if err := out.Close(); err != nil {
			return fmt.Errorf("v2 register: %w", err)
		}
		if _, err := spool.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("v2 register: %w", err)
		}
		r2 := r.Clone(r.Context())
		r2.Body = spool
		r2.MultipartForm = nil // Clone keeps the mark of the reader used above
		r2.ContentLength = -1
		r2.Header.Set("Content-Type", out.FormDataContentType())
		return okFor204(h)(w, r2)
	}
}
