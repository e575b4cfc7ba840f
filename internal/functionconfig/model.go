package functionconfig

// The config classes of the REST API (4.0.8), as Go structs: pointers
// because Java's fields are nullable, fields in Java's declaration order
// (Jackson's output order). Their Jackson shapes are read off the structs:
// a property's kind from its Go type, an enum's names from its `enum` tag,
// and what Java's no-argument constructor sets from schemaDefaults.

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/jackson"
)

// Ident are the properties every config class declares first (a
// function after runtimeFlags): where the component lives and what it runs.
type Ident struct {
	Tenant    *string `json:"tenant,omitzero"`
	Namespace *string `json:"namespace,omitzero"`
	Name      *string `json:"name,omitzero"`
	ClassName *string `json:"className,omitzero"`
}

// Function is Java's org.apache.pulsar.common.functions.FunctionConfig
// (4.0.8). Pointers because Java's fields are nullable; field order is
// Jackson's output order (declaration order).
type Function struct {
	RuntimeFlags *string `json:"runtimeFlags,omitzero"`
	Ident
	Inputs                         []*string                  `json:"inputs,omitzero"`
	CustomSerdeInputs              map[string]string          `json:"customSerdeInputs,omitzero"`
	TopicsPattern                  *string                    `json:"topicsPattern,omitzero"`
	CustomSchemaInputs             map[string]string          `json:"customSchemaInputs,omitzero"`
	CustomSchemaOutputs            map[string]string          `json:"customSchemaOutputs,omitzero"`
	InputSpecs                     map[string]*consumerConfig `json:"inputSpecs,omitzero"`
	InputTypeClassName             *string                    `json:"inputTypeClassName,omitzero"`
	Output                         *string                    `json:"output,omitzero"`
	ProducerConfig                 *producerConfig            `json:"producerConfig,omitzero"`
	OutputSchemaType               *string                    `json:"outputSchemaType,omitzero"`
	OutputTypeClassName            *string                    `json:"outputTypeClassName,omitzero"`
	OutputSerdeClassName           *string                    `json:"outputSerdeClassName,omitzero"`
	LogTopic                       *string                    `json:"logTopic,omitzero"`
	ProcessingGuarantees           *string                    `json:"processingGuarantees,omitzero" enum:"guarantees"`
	RetainOrdering                 *bool                      `json:"retainOrdering,omitzero"`
	RetainKeyOrdering              *bool                      `json:"retainKeyOrdering,omitzero"`
	BatchBuilder                   *string                    `json:"batchBuilder,omitzero"`
	ForwardSourceMessageProperty   *bool                      `json:"forwardSourceMessageProperty,omitzero"`
	UserConfig                     map[string]any             `json:"userConfig,omitzero"`
	Secrets                        map[string]any             `json:"secrets,omitzero"`
	Runtime                        *string                    `json:"runtime,omitzero" enum:"runtime"`
	AutoAck                        *bool                      `json:"autoAck,omitzero"`
	MaxMessageRetries              *int32                     `json:"maxMessageRetries,omitzero"`
	DeadLetterTopic                *string                    `json:"deadLetterTopic,omitzero"`
	SubName                        *string                    `json:"subName,omitzero"`
	Parallelism                    *int32                     `json:"parallelism,omitzero"`
	Resources                      *resourcesConfig           `json:"resources,omitzero"`
	FQFN                           *string                    `json:"fqfn,omitzero"`
	WindowConfig                   *windowConfig              `json:"windowConfig,omitzero"`
	TimeoutMs                      *int64                     `json:"timeoutMs,omitzero"`
	Jar                            *string                    `json:"jar,omitzero"`
	Py                             *string                    `json:"py,omitzero"`
	Go                             *string                    `json:"go,omitzero"`
	FunctionType                   *string                    `json:"functionType,omitzero"`
	CleanupSubscription            *bool                      `json:"cleanupSubscription,omitzero"`
	CustomRuntimeOptions           *string                    `json:"customRuntimeOptions,omitzero"`
	MaxPendingAsyncRequests        *int32                     `json:"maxPendingAsyncRequests,omitzero"`
	ExposePulsarAdminClientEnabled *bool                      `json:"exposePulsarAdminClientEnabled,omitzero"`
	SkipToLatest                   *bool                      `json:"skipToLatest,omitzero"`
	SubscriptionPosition           *string                    `json:"subscriptionPosition,omitzero" enum:"position"`
}

// consumerConfig is Java's ConsumerConfig. Jackson names isRegexPattern
// "regexPattern" and writes it last.
type consumerConfig struct {
	SchemaType         *string           `json:"schemaType,omitzero"`
	SerdeClassName     *string           `json:"serdeClassName,omitzero"`
	SchemaProperties   map[string]string `json:"schemaProperties,omitzero"`
	ConsumerProperties map[string]string `json:"consumerProperties,omitzero"`
	ReceiverQueueSize  *int32            `json:"receiverQueueSize,omitzero"`
	CryptoConfig       *cryptoConfig     `json:"cryptoConfig,omitzero"`
	PoolMessages       bool              `json:"poolMessages"`
	RegexPattern       bool              `json:"regexPattern"`
}

// producerConfig is Java's ProducerConfig (4.0.8: no batchingConfig).
type producerConfig struct {
	MaxPendingMessages                 *int32        `json:"maxPendingMessages,omitzero"`
	MaxPendingMessagesAcrossPartitions *int32        `json:"maxPendingMessagesAcrossPartitions,omitzero"`
	UseThreadLocalProducers            *bool         `json:"useThreadLocalProducers,omitzero"`
	CryptoConfig                       *cryptoConfig `json:"cryptoConfig,omitzero"`
	BatchBuilder                       *string       `json:"batchBuilder,omitzero"`
	CompressionType                    *string       `json:"compressionType,omitzero" enum:"compression"`
}

// cryptoConfig is Java's CryptoConfig.
type cryptoConfig struct {
	CryptoKeyReaderClassName    *string        `json:"cryptoKeyReaderClassName,omitzero"`
	CryptoKeyReaderConfig       map[string]any `json:"cryptoKeyReaderConfig,omitzero"`
	EncryptionKeys              []string       `json:"encryptionKeys,omitzero"`
	ProducerCryptoFailureAction *string        `json:"producerCryptoFailureAction,omitzero" enum:"producerCrypto"`
	ConsumerCryptoFailureAction *string        `json:"consumerCryptoFailureAction,omitzero" enum:"consumerCrypto"`
}

// resourcesConfig is Java's Resources; a new one holds the defaults.
type resourcesConfig struct {
	CPU  *jackson.Double `json:"cpu,omitzero"`
	RAM  *int64          `json:"ram,omitzero"`
	Disk *int64          `json:"disk,omitzero"`
}

// windowConfig is Java's WindowConfig.
type windowConfig struct {
	WindowLengthCount             *int32  `json:"windowLengthCount,omitzero"`
	WindowLengthDurationMs        *int64  `json:"windowLengthDurationMs,omitzero"`
	SlidingIntervalCount          *int32  `json:"slidingIntervalCount,omitzero"`
	SlidingIntervalDurationMs     *int64  `json:"slidingIntervalDurationMs,omitzero"`
	LateDataTopic                 *string `json:"lateDataTopic,omitzero"`
	MaxLagMs                      *int64  `json:"maxLagMs,omitzero"`
	WatermarkEmitIntervalMs       *int64  `json:"watermarkEmitIntervalMs,omitzero"`
	TimestampExtractorClassName   *string `json:"timestampExtractorClassName,omitzero"`
	ActualWindowFunctionClassName *string `json:"actualWindowFunctionClassName,omitzero"`
	ProcessingGuarantees          *string `json:"processingGuarantees,omitzero" enum:"windowGuarantees"`
}

// Source is Java's org.apache.pulsar.common.io.SourceConfig (4.0.8),
// fields in declaration order (Jackson's output order).
type Source struct {
	Ident
	TopicName            *string            `json:"topicName,omitzero"`
	ProducerConfig       *producerConfig    `json:"producerConfig,omitzero"`
	SerdeClassName       *string            `json:"serdeClassName,omitzero"`
	SchemaType           *string            `json:"schemaType,omitzero"`
	Configs              map[string]any     `json:"configs,omitzero"`
	Secrets              map[string]any     `json:"secrets,omitzero"`
	Parallelism          *int32             `json:"parallelism,omitzero"`
	ProcessingGuarantees *string            `json:"processingGuarantees,omitzero" enum:"guarantees"`
	Resources            *resourcesConfig   `json:"resources,omitzero"`
	SourceType           *string            `json:"sourceType,omitzero"`
	Archive              *string            `json:"archive,omitzero"`
	RuntimeFlags         *string            `json:"runtimeFlags,omitzero"`
	CustomRuntimeOptions *string            `json:"customRuntimeOptions,omitzero"`
	BatchSourceConfig    *batchSourceConfig `json:"batchSourceConfig,omitzero"`
	BatchBuilder         *string            `json:"batchBuilder,omitzero"`
	LogTopic             *string            `json:"logTopic,omitzero"`
}

// batchSourceConfig is Java's BatchSourceConfig.
type batchSourceConfig struct {
	DiscoveryTriggererClassName *string        `json:"discoveryTriggererClassName,omitzero"`
	DiscoveryTriggererConfig    map[string]any `json:"discoveryTriggererConfig,omitzero"`
}

// Sink is Java's org.apache.pulsar.common.io.SinkConfig (4.0.8).
type Sink struct {
	Ident
	SourceSubscriptionName       *string                    `json:"sourceSubscriptionName,omitzero"`
	SourceSubscriptionPosition   *string                    `json:"sourceSubscriptionPosition,omitzero" enum:"position"`
	Inputs                       []string                   `json:"inputs,omitzero"`
	TopicToSerdeClassName        map[string]string          `json:"topicToSerdeClassName,omitzero"`
	TopicsPattern                *string                    `json:"topicsPattern,omitzero"`
	TopicToSchemaType            map[string]string          `json:"topicToSchemaType,omitzero"`
	TopicToSchemaProperties      map[string]string          `json:"topicToSchemaProperties,omitzero"`
	InputSpecs                   map[string]*consumerConfig `json:"inputSpecs,omitzero"`
	MaxMessageRetries            *int32                     `json:"maxMessageRetries,omitzero"`
	DeadLetterTopic              *string                    `json:"deadLetterTopic,omitzero"`
	Configs                      map[string]any             `json:"configs,omitzero"`
	Secrets                      map[string]any             `json:"secrets,omitzero"`
	Parallelism                  *int32                     `json:"parallelism,omitzero"`
	ProcessingGuarantees         *string                    `json:"processingGuarantees,omitzero" enum:"guarantees"`
	RetainOrdering               *bool                      `json:"retainOrdering,omitzero"`
	RetainKeyOrdering            *bool                      `json:"retainKeyOrdering,omitzero"`
	Resources                    *resourcesConfig           `json:"resources,omitzero"`
	AutoAck                      *bool                      `json:"autoAck,omitzero"`
	TimeoutMs                    *int64                     `json:"timeoutMs,omitzero"`
	NegativeAckRedeliveryDelayMs *int64                     `json:"negativeAckRedeliveryDelayMs,omitzero"`
	SinkType                     *string                    `json:"sinkType,omitzero"`
	Archive                      *string                    `json:"archive,omitzero"`
	CleanupSubscription          *bool                      `json:"cleanupSubscription,omitzero"`
	RuntimeFlags                 *string                    `json:"runtimeFlags,omitzero"`
	CustomRuntimeOptions         *string                    `json:"customRuntimeOptions,omitzero"`
	TransformFunction            *string                    `json:"transformFunction,omitzero"`
	TransformFunctionClassName   *string                    `json:"transformFunctionClassName,omitzero"`
	TransformFunctionConfig      *string                    `json:"transformFunctionConfig,omitzero"`
	LogTopic                     *string                    `json:"logTopic,omitzero"`
}

// enums are Java's enum names, in declaration order (Jackson accepts their
// ordinals), by the name an `enum` tag gives.
var enums = map[string][]string{
	"guarantees":       enumGuarantees,
	"windowGuarantees": enumWindowGuarantees,
	"runtime":          enumRuntime,
	"position":         enumPosition,
	"compression":      enumCompression,
	"producerCrypto":   enumProducerCrypto,
	"consumerCrypto":   enumConsumerCrypto,
}

// schemaDefaults are the values the classes' constructors set.
var schemaDefaults = map[reflect.Type]map[string]any{
	reflect.TypeFor[consumerConfig](): {"schemaProperties": map[string]any{}, "consumerProperties": map[string]any{}},
	reflect.TypeFor[resourcesConfig](): {
		"cpu": json.Number("1.0"), "ram": json.Number(strconv.Itoa(defaultRAM)), "disk": json.Number(strconv.Itoa(defaultDisk)),
	},
	reflect.TypeFor[Function](): {"subscriptionPosition": "Latest"},
	reflect.TypeFor[Sink]():     {"sourceSubscriptionPosition": "Latest"},
}

var (
	consumerSchema       = schemaOf(reflect.TypeFor[consumerConfig]())
	batchSourceSchema    = schemaOf(reflect.TypeFor[batchSourceConfig]())
	functionConfigSchema = schemaOf(reflect.TypeFor[Function]())
	sourceConfigSchema   = schemaOf(reflect.TypeFor[Source]())
	sinkConfigSchema     = schemaOf(reflect.TypeFor[Sink]())
)

var (
	doubleType = reflect.TypeFor[jackson.Double]()
	stringType = reflect.TypeFor[string]()
)

// schemaOf is the Jackson shape of the config struct t.
func schemaOf(t reflect.Type) *jackson.Schema {
	s := &jackson.Schema{Props: map[string]jackson.Prop{}, Defaults: schemaDefaults[t]}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			for k, p := range schemaOf(f.Type).Props {
				s.Props[k] = p
			}
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		s.Props[name] = propOf(f)
	}
	return s
}

func propOf(f reflect.StructField) jackson.Prop {
	t := f.Type
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if e, ok := f.Tag.Lookup("enum"); ok {
		return jackson.Prop{Kind: jackson.KindEnum, Enum: enums[e]}
	}
	switch {
	case t == doubleType:
		return jackson.Prop{Kind: jackson.KindDouble}
	case t.Kind() == reflect.String:
		return jackson.Prop{Kind: jackson.KindString}
	case t.Kind() == reflect.Bool:
		return jackson.Prop{Kind: jackson.KindBool}
	case t.Kind() == reflect.Int32:
		return jackson.Prop{Kind: jackson.KindInt}
	case t.Kind() == reflect.Int64:
		return jackson.Prop{Kind: jackson.KindLong}
	case t.Kind() == reflect.Slice:
		return jackson.Prop{Kind: jackson.KindStringList}
	case t.Kind() == reflect.Struct:
		return jackson.Prop{Kind: jackson.KindObject, Obj: schemaOf(t)}
	case t.Kind() == reflect.Map && t.Elem() == stringType:
		return jackson.Prop{Kind: jackson.KindStringMap}
	case t.Kind() == reflect.Map && t.Elem().Kind() == reflect.Pointer:
		return jackson.Prop{Kind: jackson.KindObjectMap, Obj: schemaOf(t.Elem().Elem())}
	case t.Kind() == reflect.Map:
		return jackson.Prop{Kind: jackson.KindAnyMap}
	}
	panic("functionconfig: no Jackson kind for " + f.Name + " " + f.Type.String())
}

// parse binds a config part with the schema of T. A missing, empty or
// "null" part gives (nil, nil).
func parse[T any](data []byte, schema *jackson.Schema) (*T, error) {
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, nil
	}
	out := new(T)
	isNull, err := jackson.Decode(data, schema, out)
	if err != nil || isNull {
		return nil, err
	}
	typeMaps(reflect.ValueOf(out))
	return out, nil
}

// typeMaps types every Map<String, Object> in v the way Jackson types it.
func typeMaps(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			typeMaps(v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			typeMaps(v.Field(i))
		}
	case reflect.Map:
		if m, ok := v.Interface().(map[string]any); ok {
			if m != nil {
				v.Set(reflect.ValueOf(typedAnyMap(m)))
			}
			return
		}
		for _, k := range v.MapKeys() {
			typeMaps(v.MapIndex(k))
		}
	}
}
