// Package functionconfig is the Java worker's config model: FunctionConfig,
// SourceConfig and SinkConfig as the REST API reads them, their validation
// with Java's messages, and their conversion to and from FunctionDetails.
// It knows no HTTP and runs nothing.
package functionconfig

// FunctionConfig <-> FunctionDetails as Apache Pulsar 4.0.8's
// FunctionConfigUtils does it (convert, convertFromDetails, validateUpdate,
// inferMissingArguments, doCommonChecks, doPythonChecks, doGolangChecks).
// Messages are Java's, typos included, because clients show them verbatim.
// testdata/functions/conversion_java.golden.json holds what the Java code
// itself produces for testdata/functions/conversion_cases.json; the tests
// compare against it.

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/jackson"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// Java enum names, in declaration order (Jackson accepts their ordinals).
var (
	enumGuarantees       = []string{"ATLEAST_ONCE", "ATMOST_ONCE", "EFFECTIVELY_ONCE", "MANUAL"}
	enumWindowGuarantees = []string{"ATLEAST_ONCE", "ATMOST_ONCE"}
	enumRuntime          = []string{"JAVA", "PYTHON", "GO"}
	enumPosition         = []string{"Latest", "Earliest"}
	enumCompression      = []string{"NONE", "LZ4", "ZLIB", "ZSTD", "SNAPPY"}
	enumProducerCrypto   = []string{"FAIL", "SEND"}
	enumConsumerCrypto   = []string{"FAIL", "DISCARD", "CONSUME"}
)

const (
	windowConfigKey      = "__WINDOWCONFIGS__"
	windowExecutorClass  = "org.apache.pulsar.functions.windowing.WindowFunctionExecutor"
	maxPendingAsyncReqs  = 1000
	defaultCPU           = 1.0
	defaultRAM           = 1073741824
	defaultDisk          = 10737418240
	MsgNoRuntime         = "Function language runtime is either not set or cannot be determined"
	MsgPackageMissing    = "Function Package is not provided"
	msgJavaPackageMissng = "Function package is not provided"
)

// gson is the window config as Gson writes it into userConfig.
func (w *windowConfig) gson() jackson.GsonObject {
	o := jackson.GsonObject{}
	add := func(name string, v any) { o = append(o, jackson.GsonField{Name: name, Value: v}) }
	if w.WindowLengthCount != nil {
		add("windowLengthCount", int64(*w.WindowLengthCount))
	}
	if w.WindowLengthDurationMs != nil {
		add("windowLengthDurationMs", *w.WindowLengthDurationMs)
	}
	if w.SlidingIntervalCount != nil {
		add("slidingIntervalCount", int64(*w.SlidingIntervalCount))
	}
	if w.SlidingIntervalDurationMs != nil {
		add("slidingIntervalDurationMs", *w.SlidingIntervalDurationMs)
	}
	if w.LateDataTopic != nil {
		add("lateDataTopic", *w.LateDataTopic)
	}
	if w.MaxLagMs != nil {
		add("maxLagMs", *w.MaxLagMs)
	}
	if w.WatermarkEmitIntervalMs != nil {
		add("watermarkEmitIntervalMs", *w.WatermarkEmitIntervalMs)
	}
	if w.TimestampExtractorClassName != nil {
		add("timestampExtractorClassName", *w.TimestampExtractorClassName)
	}
	if w.ActualWindowFunctionClassName != nil {
		add("actualWindowFunctionClassName", *w.ActualWindowFunctionClassName)
	}
	if w.ProcessingGuarantees != nil {
		add("processingGuarantees", *w.ProcessingGuarantees)
	}
	return o
}

// ParseFunction binds the functionConfig part. A missing, empty or
// "null" part gives (nil, nil): "Function config is not provided".
func ParseFunction(data []byte) (*Function, error) {
	return parse[Function](data, functionConfigSchema)
}

// typedAnyMap types the json.Numbers of a decoded Map<String, Object> the
// way Jackson types them.
func typedAnyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return jackson.Numbers(m).(map[string]any)
}

// --- Helpers for Java's null/empty/blank tests -----------------------------

func ptr[T any](v T) *T { return &v }

func isEmpty(s *string) bool { return s == nil || *s == "" }

func isBlank(s *string) bool {
	return s == nil || strings.TrimFunc(*s, unicode.IsSpace) == ""
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func isTrue(b *bool) bool { return b != nil && *b }

func strOrNull(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

// ValidationError is an IllegalArgumentException of FunctionConfigUtils: the
// REST layer answers 400 with its message.
type ValidationError struct{ msg string }

func (e *ValidationError) Error() string { return e.msg }

func Invalid(format string, args ...any) error {
	return &ValidationError{fmt.Sprintf(format, args...)}
}

// --- inferMissingArguments, validation -------------------------------------

// InferMissingArguments fills defaults the way Java's does before
// validation: parallelism, maxPendingAsyncRequests, the worker's
// forwardSourceMessageProperty default, the runtime from jar/py/go, and the
// window defaults.
func (fc *Function) InferMissingArguments(forwardSourceMessageProperty bool) {
	if fc.Parallelism == nil {
		fc.Parallelism = ptr(int32(1))
	}
	if fc.MaxPendingAsyncRequests == nil {
		fc.MaxPendingAsyncRequests = ptr(int32(maxPendingAsyncReqs))
	}
	if forwardSourceMessageProperty {
		if fc.ForwardSourceMessageProperty == nil {
			fc.ForwardSourceMessageProperty = ptr(true)
		}
	} else {
		fc.ForwardSourceMessageProperty = nil
	}
	switch {
	case fc.Jar != nil:
		fc.Runtime = ptr("JAVA")
	case fc.Py != nil:
		fc.Runtime = ptr("PYTHON")
	case fc.Go != nil:
		fc.Runtime = ptr("GO")
	}
	if w := fc.WindowConfig; w != nil {
		if w.WindowLengthDurationMs != nil && w.SlidingIntervalDurationMs == nil {
			w.SlidingIntervalDurationMs = ptr(*w.WindowLengthDurationMs)
		}
		if w.WindowLengthCount != nil && w.SlidingIntervalCount == nil {
			w.SlidingIntervalCount = ptr(*w.WindowLengthCount)
		}
		if w.TimestampExtractorClassName != nil {
			if w.MaxLagMs == nil {
				w.MaxLagMs = ptr(int64(0))
			}
			if w.WatermarkEmitIntervalMs == nil {
				w.WatermarkEmitIntervalMs = ptr(int64(1000))
			}
		}
		fc.AutoAck = ptr(false)
	}
}

// collectAllInputTopics lists every input, duplicates included, as Java does.
func (fc *Function) collectAllInputTopics() []string {
	var all []string
	for _, t := range fc.Inputs {
		all = append(all, strOrNull(t))
	}
	if fc.TopicsPattern != nil {
		all = append(all, *fc.TopicsPattern)
	}
	all = append(all, sortedKeys(fc.CustomSerdeInputs)...)
	all = append(all, sortedKeys(fc.CustomSchemaInputs)...)
	all = append(all, sortedKeys(fc.InputSpecs)...)
	return all
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (fc *Function) guarantee(g string) bool {
	return fc.ProcessingGuarantees != nil && *fc.ProcessingGuarantees == g
}

func (fc *Function) retries() bool {
	return fc.MaxMessageRetries != nil && *fc.MaxMessageRetries >= 0
}

// doCommonChecks is FunctionConfigUtils.doCommonChecks.
func (fc *Function) doCommonChecks() error {
	if isEmpty(fc.Tenant) {
		return Invalid("Function tenant cannot be null")
	}
	if isEmpty(fc.Namespace) {
		return Invalid("Function namespace cannot be null")
	}
	if isEmpty(fc.Name) {
		return Invalid("Function name cannot be null")
	}
	if str(fc.Runtime) == "PYTHON" && isEmpty(fc.ClassName) {
		return Invalid("Function classname cannot be null")
	}
	inputs := fc.collectAllInputTopics()
	if len(inputs) == 0 {
		return Invalid("No input topic(s) specified for the function")
	}
	for _, t := range inputs {
		if !validTopicName(t) {
			return Invalid("Input topic %s is invalid", t)
		}
	}
	if !isEmpty(fc.Output) && !validTopicName(*fc.Output) {
		return Invalid("Output topic %s is invalid", *fc.Output)
	}
	if !isEmpty(fc.LogTopic) && !validTopicName(*fc.LogTopic) {
		return Invalid("LogTopic topic %s is invalid", *fc.LogTopic)
	}
	if !isEmpty(fc.DeadLetterTopic) && !validTopicName(*fc.DeadLetterTopic) {
		return Invalid("DeadLetter topic %s is invalid", *fc.DeadLetterTopic)
	}
	if fc.Parallelism != nil && *fc.Parallelism <= 0 {
		return Invalid("Function parallelism must be a positive number")
	}
	if fc.Output != nil {
		for _, t := range inputs {
			if t == *fc.Output {
				return Invalid("Output topic %s is also being used as an input topic (topics must be one or the other)", *fc.Output)
			}
		}
	}
	if w := fc.WindowConfig; w != nil {
		if isTrue(fc.AutoAck) {
			return Invalid("Cannot enable auto ack when using windowing functionality")
		}
		if err := w.validate(); err != nil {
			return err
		}
	}
	if err := validateResources(fc.Resources); err != nil {
		return err
	}
	if fc.TimeoutMs != nil && *fc.TimeoutMs <= 0 {
		return Invalid("Function timeout must be a positive number")
	}
	if fc.TimeoutMs != nil && fc.ProcessingGuarantees != nil && *fc.ProcessingGuarantees != "ATLEAST_ONCE" {
		return Invalid("Message timeout can only be specified with processing guarantee is ATLEAST_ONCE")
	}
	if fc.retries() && fc.guarantee("EFFECTIVELY_ONCE") {
		return Invalid("MaxMessageRetries and Effectively once don't gel well")
	}
	if !fc.retries() && !isEmpty(fc.DeadLetterTopic) {
		return Invalid("Dead Letter Topic specified, however max retries is set to infinity")
	}
	if isTrue(fc.RetainKeyOrdering) && fc.guarantee("EFFECTIVELY_ONCE") {
		return Invalid("When effectively once processing guarantee is specified, retain Key ordering cannot be set")
	}
	if isTrue(fc.RetainKeyOrdering) && isTrue(fc.RetainOrdering) {
		return Invalid("Only one of retain ordering or retain key ordering can be set")
	}
	// A builtin:// py or go "file" is looked up on the worker's disk, as in Java.
	for _, c := range []struct {
		file *string
		msg  string
	}{{fc.Py, "The supplied python file does not exist"}, {fc.Go, "The supplied go file does not exist"}} {
		if isEmpty(c.file) || PackageURLSupported(*c.file) || !strings.HasPrefix(*c.file, "builtin") {
			continue
		}
		if strings.Contains(*c.file, "..") {
			return Invalid("Invalid filename: %s", *c.file)
		}
		if _, err := os.Stat(*c.file); err != nil {
			return Invalid("%s", c.msg)
		}
	}
	for _, topic := range sortedKeys(fc.InputSpecs) {
		cc := fc.InputSpecs[topic]
		if cc.ReceiverQueueSize != nil && *cc.ReceiverQueueSize < 0 {
			return Invalid("Receiver queue size should be >= zero")
		}
		if cc.CryptoConfig != nil && isBlank(cc.CryptoConfig.CryptoKeyReaderClassName) {
			return Invalid("CryptoKeyReader class name required")
		}
	}
	if pc := fc.ProducerConfig; pc != nil && pc.CryptoConfig != nil {
		if isBlank(pc.CryptoConfig.CryptoKeyReaderClassName) {
			return Invalid("CryptoKeyReader class name required")
		}
		if len(pc.CryptoConfig.EncryptionKeys) == 0 {
			return Invalid("Must provide encryption key name for crypto key reader")
		}
	}
	return nil
}

func (w *windowConfig) validate() error {
	if w.WindowLengthDurationMs == nil && w.WindowLengthCount == nil {
		return Invalid("Window length is not specified")
	}
	if w.WindowLengthDurationMs != nil && w.WindowLengthCount != nil {
		return Invalid("Window length for time and count are set! Please set one or the other.")
	}
	if w.WindowLengthCount != nil && *w.WindowLengthCount <= 0 {
		return Invalid("Window length must be positive [%d]", *w.WindowLengthCount)
	}
	if w.WindowLengthDurationMs != nil && *w.WindowLengthDurationMs <= 0 {
		return Invalid("Window length must be positive [%d]", *w.WindowLengthDurationMs)
	}
	if w.SlidingIntervalCount != nil && *w.SlidingIntervalCount <= 0 {
		return Invalid("Sliding interval must be positive [%d]", *w.SlidingIntervalCount)
	}
	if w.SlidingIntervalDurationMs != nil && *w.SlidingIntervalDurationMs <= 0 {
		return Invalid("Sliding interval must be positive [%d]", *w.SlidingIntervalDurationMs)
	}
	if w.TimestampExtractorClassName != nil {
		if w.MaxLagMs != nil && *w.MaxLagMs < 0 {
			return Invalid("Lag duration must be positive [%d]", *w.MaxLagMs)
		}
		if w.WatermarkEmitIntervalMs != nil && *w.WatermarkEmitIntervalMs <= 0 {
			return Invalid("Watermark interval must be positive [%d]", *w.WatermarkEmitIntervalMs)
		}
	}
	return nil
}

// validateNonJavaFunction is FunctionConfigUtils.validateNonJavaFunction.
func (fc *Function) validateNonJavaFunction() error {
	if err := fc.doCommonChecks(); err != nil {
		return err
	}
	switch str(fc.Runtime) {
	case "GO":
		switch {
		case fc.guarantee("EFFECTIVELY_ONCE"):
			return Invalid("Effectively-once processing guarantees not yet supported in Go function")
		case fc.WindowConfig != nil:
			return Invalid("Windowing is not supported in Go function yet")
		case fc.retries():
			return Invalid("Message retries not yet supported in Go function")
		case isTrue(fc.RetainKeyOrdering):
			return Invalid("Retain Key Orderering not yet supported in Go function")
		}
	case "PYTHON":
		switch {
		case fc.guarantee("EFFECTIVELY_ONCE"):
			return Invalid("Effectively-once processing guarantees not yet supported in Python")
		case fc.WindowConfig != nil:
			return Invalid("There is currently no support windowing in python")
		case fc.retries():
			return Invalid("Message retries not yet supported in python")
		}
	default:
		return Invalid(MsgNoRuntime)
	}
	return nil
}

// --- Topic names (TopicName.isValid) ---------------------------------------

var namedEntity = regexp.MustCompile(`^[-=:.\w]*$`)

// validTopicName is TopicName.isValid: short names (topic, or
// tenant/namespace/topic) are completed with persistent:// and
// public/default; the domain must be persistent or non-persistent;
// tenant, cluster and namespace must match Pulsar's name pattern and the
// local name must not be blank.
func validTopicName(t string) bool {
	complete := t
	if !strings.Contains(t, "://") {
		var parts []string
		for _, p := range strings.Split(t, "/") {
			if p != "" {
				parts = append(parts, p)
			}
		}
		switch len(parts) {
		case 3:
			complete = "persistent://" + t
		case 1:
			complete = "persistent://public/default/" + parts[0]
		default:
			return false
		}
	}
	domain, rest, _ := strings.Cut(complete, "://")
	if domain != "persistent" && domain != "non-persistent" {
		return false
	}
	parts := strings.SplitN(rest, "/", 4)
	var names []string
	var local string
	switch len(parts) {
	case 3:
		names, local = parts[:2], parts[2]
	case 4:
		names, local = parts[:3], parts[3]
	default:
		return false
	}
	for _, n := range names {
		if n == "" || !namedEntity.MatchString(n) {
			return false
		}
	}
	return strings.TrimFunc(local, unicode.IsSpace) != ""
}

// PackageURLSupported is Utils.isFunctionPackageUrlSupported.
func PackageURLSupported(s string) bool {
	return strings.HasPrefix(s, "http") || strings.HasPrefix(s, "file") || HasPackageTypePrefix(s)
}

// HasPackageTypePrefix tells package-management URLs (function://,
// sink://, source://) apart.
func HasPackageTypePrefix(s string) bool {
	for _, p := range []string{"function://", "sink://", "source://"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// --- convert (FunctionConfig -> FunctionDetails) ---------------------------

// extractedDetails is Java's ExtractedFunctionDetails: the class to run and
// the input/output type names found in the package (Java runtime only).
type extractedDetails struct {
	functionClassName *string
	typeArg0          *string
	typeArg1          *string
}

// convert is FunctionConfigUtils.convert(config, extracted).
func (fc *Function) convert(ex extractedDetails) (*pb.FunctionDetails, error) {
	fd, err := functionRules.view(fc).details()
	if err != nil {
		return nil, err
	}
	src := fd.Source
	src.SkipToLatest = isTrue(fc.SkipToLatest)
	if ex.typeArg0 != nil {
		src.TypeClassName = *ex.typeArg0
	} else if !isEmpty(fc.InputTypeClassName) {
		src.TypeClassName = *fc.InputTypeClassName
	}
	if fd.Sink, err = fc.sinkSpec(ex); err != nil {
		return nil, err
	}
	if fc.Runtime != nil {
		fd.Runtime = pb.FunctionDetails_Runtime(pb.FunctionDetails_Runtime_value[*fc.Runtime])
	}
	configs := make(map[string]any, len(fc.UserConfig)+1)
	for k, v := range fc.UserConfig {
		configs[k] = v
	}
	if w := fc.WindowConfig; w != nil {
		if fc.guarantee("EFFECTIVELY_ONCE") || fc.guarantee("MANUAL") {
			return nil, Invalid("Windows Function not support %s delivery semantics.", *fc.ProcessingGuarantees)
		}
		// The window executor acks; the function's guarantee moves into
		// the window config.
		w.ProcessingGuarantees = ptr(fd.ProcessingGuarantees.String())
		fd.ProcessingGuarantees = pb.ProcessingGuarantees_MANUAL
		w.ActualWindowFunctionClassName = ex.functionClassName
		configs[windowConfigKey] = w.gson()
		fd.ClassName = windowExecutorClass
	} else if ex.functionClassName != nil {
		fd.ClassName = *ex.functionClassName
	}
	if len(configs) > 0 {
		fd.UserConfig = jackson.GsonJSON(configs)
	}
	if !isEmpty(fc.Jar) && strings.HasPrefix(*fc.Jar, "builtin") {
		fd.Builtin = strings.TrimPrefix(*fc.Jar, "builtin://")
	}
	if err := validateFunctionDetails(fd); err != nil {
		return nil, err
	}
	return fd, nil
}

// sinkSpec is the function's output.
func (fc *Function) sinkSpec(ex extractedDetails) (*pb.SinkSpec, error) {
	sink := &pb.SinkSpec{}
	if fc.Output != nil {
		sink.Topic = *fc.Output
	}
	if !isBlank(fc.OutputSerdeClassName) {
		sink.SerDeClassName = *fc.OutputSerdeClassName
	}
	if !isBlank(fc.OutputSchemaType) {
		sink.SchemaType = *fc.OutputSchemaType
	}
	if isTrue(fc.ForwardSourceMessageProperty) {
		sink.ForwardSourceMessageProperty = true
	}
	if fc.CustomSchemaOutputs != nil && fc.Output != nil {
		if conf := fc.CustomSchemaOutputs[*fc.Output]; conf != "" {
			var cc consumerConfig
			isNull, err := jackson.Decode([]byte(conf), consumerSchema, &cc)
			if err != nil || isNull {
				return nil, Invalid("Incorrect custom schema outputs,Topic %s ", *fc.Output)
			}
			sink.SchemaProperties = copyMap(cc.SchemaProperties)
			sink.ConsumerProperties = copyMap(cc.ConsumerProperties)
		}
	}
	if ex.typeArg1 != nil {
		sink.TypeClassName = *ex.typeArg1
	} else if !isEmpty(fc.OutputTypeClassName) {
		sink.TypeClassName = *fc.OutputTypeClassName
	}
	sink.ProducerSpec = producerSpec(fc.ProducerConfig, fc.BatchBuilder)
	return sink, nil
}

// producerSpec is the producer config with the batch builder given beside
// it (functions and sources).
func producerSpec(pc *producerConfig, batchBuilder *string) *pb.ProducerSpec {
	var spec *pb.ProducerSpec
	if pc != nil {
		spec = pc.toSpec()
	}
	if batchBuilder != nil {
		if spec == nil {
			spec = &pb.ProducerSpec{}
		}
		spec.BatchBuilder = *batchBuilder
	}
	return spec
}

func validateFunctionDetails(fd *pb.FunctionDetails) error {
	//lint:ignore SA1019 autoAck is deprecated in Pulsar's Function.proto, yet Java's worker and instances still read and write it
	if !fd.GetAutoAck() && fd.GetProcessingGuarantees() == pb.ProcessingGuarantees_ATMOST_ONCE {
		return Invalid("When Guarantees == ATMOST_ONCE, autoAck must be equal to true. This is a contradictory " +
			"configuration, autoAck will be removed later. Please refer to PIP: https://github.com/apache/pulsar/issues/15560")
	}
	return nil
}

func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (c *cryptoConfig) toSpec() *pb.CryptoSpec {
	s := &pb.CryptoSpec{CryptoKeyReaderClassName: str(c.CryptoKeyReaderClassName)}
	if c.CryptoKeyReaderConfig != nil {
		s.CryptoKeyReaderConfig = jackson.GsonJSON(c.CryptoKeyReaderConfig)
	}
	s.ProducerEncryptionKeyName = append([]string(nil), c.EncryptionKeys...)
	if c.ProducerCryptoFailureAction != nil {
		s.ProducerCryptoFailureAction = pb.CryptoSpec_FailureAction(pb.CryptoSpec_FailureAction_value[*c.ProducerCryptoFailureAction])
	}
	if c.ConsumerCryptoFailureAction != nil {
		s.ConsumerCryptoFailureAction = pb.CryptoSpec_FailureAction(pb.CryptoSpec_FailureAction_value[*c.ConsumerCryptoFailureAction])
	}
	return s
}

func (p *producerConfig) toSpec() *pb.ProducerSpec {
	s := &pb.ProducerSpec{}
	if p.MaxPendingMessages != nil {
		s.MaxPendingMessages = *p.MaxPendingMessages
	}
	if p.MaxPendingMessagesAcrossPartitions != nil {
		s.MaxPendingMessagesAcrossPartitions = *p.MaxPendingMessagesAcrossPartitions
	}
	if p.UseThreadLocalProducers != nil {
		s.UseThreadLocalProducers = *p.UseThreadLocalProducers
	}
	if p.CryptoConfig != nil {
		s.CryptoSpec = p.CryptoConfig.toSpec()
	}
	s.BatchBuilder = str(p.BatchBuilder)
	s.CompressionType = pb.CompressionType_LZ4
	if p.CompressionType != nil {
		s.CompressionType = pb.CompressionType(pb.CompressionType_value[*p.CompressionType])
	}
	return s
}

// --- convertFromDetails (FunctionDetails -> FunctionConfig, for GET) -------

// CalculateSubjectType is InstanceUtils.CalculateSubjectType: the component
// type, inferred from the specs when unset.
func CalculateSubjectType(fd *pb.FunctionDetails) pb.FunctionDetails_ComponentType {
	if ct := fd.GetComponentType(); ct != pb.FunctionDetails_UNKNOWN {
		return ct
	}
	if len(fd.GetSource().GetInputSpecs()) == 0 {
		return pb.FunctionDetails_SOURCE
	}
	if fd.GetSink().GetBuiltin() != "" {
		return pb.FunctionDetails_SINK
	}
	if c := fd.GetSink().GetClassName(); c != "" && c != "org.apache.pulsar.functions.sink.PulsarSink" {
		return pb.FunctionDetails_SINK
	}
	return pb.FunctionDetails_FUNCTION
}

// FromDetails is FunctionConfigUtils.FromDetails: what GET
// answers, and the "existing" side of an update.
func FromDetails(fd *pb.FunctionDetails) (*Function, error) {
	if err := validateFunctionDetails(fd); err != nil {
		return nil, err
	}
	fc := &Function{}
	if err := functionRules.view(fc).fromDetails(fd); err != nil {
		return nil, err
	}
	sink := fd.GetSink()
	if err := functionRules.view(fc).outputFromDetails(sink); err != nil {
		return nil, err
	}
	if sink.GetForwardSourceMessageProperty() {
		fc.ForwardSourceMessageProperty = ptr(true)
	}
	fc.Runtime = ptr(fd.GetRuntime().String())
	userConfig := map[string]any{}
	if fd.GetUserConfig() != "" {
		var err error
		if userConfig, err = jackson.ParseGsonMap(fd.GetUserConfig()); err != nil {
			return nil, fmt.Errorf("userConfig of %s: %w", fqfnOf(fd.GetTenant(), fd.GetNamespace(), fd.GetName()), err)
		}
	}
	if raw, ok := userConfig[windowConfigKey]; ok {
		w, err := windowFromGson(raw)
		if err != nil {
			return nil, err
		}
		delete(userConfig, windowConfigKey)
		if w.ProcessingGuarantees != nil {
			fc.ProcessingGuarantees = ptr(*w.ProcessingGuarantees)
		}
		fc.ClassName = w.ActualWindowFunctionClassName
		fc.WindowConfig = w
	} else {
		fc.ClassName = ptr(fd.GetClassName())
	}
	fc.UserConfig = userConfig
	return fc, nil
}

// windowFromGson reads the window config back from userConfig as Gson
// binds it to WindowConfig.
func windowFromGson(raw any) (*windowConfig, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is not an object", windowConfigKey)
	}
	w := &windowConfig{}
	i32 := func(k string) *int32 {
		if f, ok := m[k].(float64); ok {
			return ptr(int32(f))
		}
		return nil
	}
	i64 := func(k string) *int64 {
		if f, ok := m[k].(float64); ok {
			return ptr(int64(f))
		}
		return nil
	}
	s := func(k string) *string {
		if v, ok := m[k].(string); ok {
			return ptr(v)
		}
		return nil
	}
	w.WindowLengthCount = i32("windowLengthCount")
	w.WindowLengthDurationMs = i64("windowLengthDurationMs")
	w.SlidingIntervalCount = i32("slidingIntervalCount")
	w.SlidingIntervalDurationMs = i64("slidingIntervalDurationMs")
	w.LateDataTopic = s("lateDataTopic")
	w.MaxLagMs = i64("maxLagMs")
	w.WatermarkEmitIntervalMs = i64("watermarkEmitIntervalMs")
	w.TimestampExtractorClassName = s("timestampExtractorClassName")
	w.ActualWindowFunctionClassName = s("actualWindowFunctionClassName")
	if g := s("processingGuarantees"); g != nil {
		if e, ok := jackson.CoerceEnum(*g, enumWindowGuarantees).(string); ok {
			w.ProcessingGuarantees = ptr(e)
		}
	}
	return w, nil
}

func cryptoFromSpec(s *pb.CryptoSpec) (*cryptoConfig, error) {
	if s.GetCryptoKeyReaderClassName() == "" {
		return nil, nil
	}
	c := &cryptoConfig{CryptoKeyReaderClassName: ptr(s.GetCryptoKeyReaderClassName())}
	if s.GetCryptoKeyReaderConfig() != "" {
		m, err := jackson.ParseGsonMap(s.GetCryptoKeyReaderConfig())
		if err != nil {
			return nil, fmt.Errorf("cryptoKeyReaderConfig: %w", err)
		}
		c.CryptoKeyReaderConfig = m
	}
	c.EncryptionKeys = append([]string{}, s.GetProducerEncryptionKeyName()...)
	c.ProducerCryptoFailureAction = ptr(s.GetProducerCryptoFailureAction().String())
	c.ConsumerCryptoFailureAction = ptr(s.GetConsumerCryptoFailureAction().String())
	return c, nil
}

func producerFromSpec(s *pb.ProducerSpec) (*producerConfig, error) {
	p := &producerConfig{}
	if s.GetMaxPendingMessages() != 0 {
		p.MaxPendingMessages = ptr(s.GetMaxPendingMessages())
	}
	if s.GetMaxPendingMessagesAcrossPartitions() != 0 {
		p.MaxPendingMessagesAcrossPartitions = ptr(s.GetMaxPendingMessagesAcrossPartitions())
	}
	if s.GetCryptoSpec() != nil {
		c, err := cryptoFromSpec(s.GetCryptoSpec())
		if err != nil {
			return nil, err
		}
		p.CryptoConfig = c
	}
	p.BatchBuilder = ptr(s.GetBatchBuilder())
	p.UseThreadLocalProducers = ptr(s.GetUseThreadLocalProducers())
	p.CompressionType = ptr(s.GetCompressionType().String())
	return p, nil
}

// ForResponse prepares the config for encoding: Map<String, Object> values
// print as Jackson prints them.
func (fc *Function) ForResponse() *Function {
	out := *fc
	out.UserConfig = jacksonMap(fc.UserConfig)
	out.Secrets = jacksonMap(fc.Secrets)
	if fc.ProducerConfig != nil && fc.ProducerConfig.CryptoConfig != nil {
		pc := *fc.ProducerConfig
		cc := *pc.CryptoConfig
		cc.CryptoKeyReaderConfig = jacksonMap(cc.CryptoKeyReaderConfig)
		pc.CryptoConfig = &cc
		out.ProducerConfig = &pc
	}
	if fc.InputSpecs != nil {
		out.InputSpecs = make(map[string]*consumerConfig, len(fc.InputSpecs))
		for k, v := range fc.InputSpecs {
			c := *v
			if c.CryptoConfig != nil {
				cc := *c.CryptoConfig
				cc.CryptoKeyReaderConfig = jacksonMap(cc.CryptoKeyReaderConfig)
				c.CryptoConfig = &cc
			}
			out.InputSpecs[k] = &c
		}
	}
	return &out
}

func jacksonMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return jackson.Value(m).(map[string]any)
}

// --- validateUpdate -------------------------------------------------------

// ValidateUpdate is FunctionConfigUtils.ValidateUpdate: newConfig merged
// onto existing. Like Java's toBuilder().build() the copy is shallow, so
// changes to input specs land in existing's map too (and therefore never
// count as a change on their own).
func ValidateUpdate(existing, newConfig *Function) (*Function, error) {
	merged := *existing
	if err := functionRules.update(functionRules.view(existing), functionRules.view(newConfig), functionRules.view(&merged)); err != nil {
		return nil, err
	}
	if !isEmpty(newConfig.Output) {
		merged.Output = newConfig.Output
	}
	if newConfig.UserConfig != nil {
		merged.UserConfig = newConfig.UserConfig
	}
	if newConfig.WindowConfig != nil {
		merged.WindowConfig = newConfig.WindowConfig
	}
	return &merged, nil
}
