package pb

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
)

// Sample messages shared by the round-trip, JSON and fuzz tests. The golden
// files under testdata/json and testdata/wire were produced from these by the
// Apache Pulsar 4.0.8 Java classes and Python modules (testdata/README.md). If
// you change a sample, regenerate them.

// sampleFunctionDetails sets every field of FunctionDetails and of the
// messages under it, with values chosen to exercise the JSON mapping: 64-bit
// integers, non-zero enums, maps, repeated fields, and characters that Java's
// printer escapes.
func sampleFunctionDetails() *FunctionDetails {
	return &FunctionDetails{
		Tenant:               "public",
		Namespace:            "default",
		Name:                 "exclaim",
		ClassName:            "exclamation.ExclamationFunction",
		LogTopic:             "persistent://public/default/exclaim-log",
		ProcessingGuarantees: ProcessingGuarantees_EFFECTIVELY_ONCE,
		UserConfig:           `{"greeting":"<hi & 'bye'>","n=1":2,"text":"ünïcode"}`,
		SecretsMap:           `{"password":{"path":"secret/db","key":"pw"}}`,
		Runtime:              FunctionDetails_PYTHON,
		AutoAck:              true,
		Parallelism:          3,
		Source: &SourceSpec{
			ClassName:              "org.example.Src",
			Configs:                `{"a":1}`,
			TypeClassName:          "java.lang.String",
			SubscriptionType:       SubscriptionType_KEY_SHARED,
			TopicsToSerDeClassName: map[string]string{"persistent://public/default/legacy": "org.example.Serde"},
			InputSpecs: map[string]*ConsumerSpec{
				"persistent://public/default/in": {
					SchemaType:         "avro",
					SerdeClassName:     "org.example.Serde",
					ReceiverQueueSize:  &ConsumerSpec_ReceiverQueueSize{Value: 1000},
					SchemaProperties:   map[string]string{"k1": "v1", "k2": "v2"},
					ConsumerProperties: map[string]string{"c": "d"},
					CryptoSpec: &CryptoSpec{
						CryptoKeyReaderClassName:    "org.example.Keys",
						CryptoKeyReaderConfig:       `{"dir":"/keys"}`,
						ProducerEncryptionKeyName:   []string{"key-a", "key-b"},
						ProducerCryptoFailureAction: CryptoSpec_SEND,
						ConsumerCryptoFailureAction: CryptoSpec_CONSUME,
					},
					PoolMessages: true,
					MessagePayloadProcessorSpec: &MessagePayloadProcessorSpec{
						ClassName: "org.example.Processor",
						Configs:   `{"p":true}`,
					},
				},
				"persistent://public/default/in-.*": {IsRegexPattern: true},
			},
			TimeoutMs:                    30000,
			TopicsPattern:                "persistent://public/default/old-.*",
			Builtin:                      "builtin-source",
			SubscriptionName:             "exclaim-sub",
			CleanupSubscription:          true,
			SubscriptionPosition:         SubscriptionPosition_EARLIEST,
			NegativeAckRedeliveryDelayMs: 60000,
			SkipToLatest:                 true,
		},
		Sink: &SinkSpec{
			ClassName:     "org.example.Sink",
			Configs:       `{"b":2}`,
			TypeClassName: "java.lang.String",
			Topic:         "persistent://public/default/out",
			ProducerSpec: &ProducerSpec{
				MaxPendingMessages:                 500,
				MaxPendingMessagesAcrossPartitions: 5000,
				UseThreadLocalProducers:            true,
				CryptoSpec:                         &CryptoSpec{CryptoKeyReaderClassName: "org.example.Keys"},
				BatchBuilder:                       "KEY_BASED",
				CompressionType:                    CompressionType_ZSTD,
				BatchingSpec: &BatchingSpec{
					Enabled:                   true,
					BatchingMaxPublishDelayMs: 10,
					RoundRobinRouterBatchingPartitionSwitchFrequency: 20,
					BatchingMaxMessages: 1000,
					BatchingMaxBytes:    131072,
					BatchBuilder:        "DEFAULT",
				},
			},
			SerDeClassName:               "org.example.OutSerde",
			Builtin:                      "builtin-sink",
			SchemaType:                   "json",
			ForwardSourceMessageProperty: true,
			SchemaProperties:             map[string]string{"s": "t"},
			ConsumerProperties:           map[string]string{"u": "v"},
		},
		Resources:            &Resources{Cpu: 0.5, Ram: 1073741824, Disk: 10737418240},
		PackageUrl:           "function://public/default/exclaim@1",
		RetryDetails:         &RetryDetails{MaxMessageRetries: 5, DeadLetterTopic: "persistent://public/default/dlq"},
		RuntimeFlags:         "-Xmx512m",
		ComponentType:        FunctionDetails_FUNCTION,
		CustomRuntimeOptions: `{"jobNamespace":"fn"}`,
		Builtin:              "builtin-fn",
		RetainOrdering:       true,
		RetainKeyOrdering:    true,
		SubscriptionPosition: SubscriptionPosition_EARLIEST,
	}
}

// javaView strips what the Apache Pulsar 4.0.8 Java classes do not know
// (see javaOnlyMissing).
func javaView(fd *FunctionDetails) *FunctionDetails {
	fd = proto.Clone(fd).(*FunctionDetails)
	for _, in := range fd.GetSource().GetInputSpecs() {
		in.MessagePayloadProcessorSpec = nil
	}
	if ps := fd.GetSink().GetProducerSpec(); ps != nil {
		ps.BatchingSpec = nil
	}
	return fd
}

// sampleFunctionMetaData is what the Java-side wire goldens are built from,
// so it uses the Java view of the details.
func sampleFunctionMetaData() *FunctionMetaData {
	return &FunctionMetaData{
		FunctionDetails: javaView(sampleFunctionDetails()),
		PackageLocation: &PackageLocationMetaData{
			PackagePath:      "public/default/exclaim/3f1c2d5e-exclamation.py",
			OriginalFileName: "exclamation.py",
		},
		Version:        7,
		CreateTime:     1731369600123,
		InstanceStates: map[int32]FunctionState{0: FunctionState_RUNNING, 1: FunctionState_STOPPED, 2: FunctionState_RUNNING},
		FunctionAuthSpec: &FunctionAuthenticationSpec{
			Data:     []byte{0xfb, 0xff, 0xbf, 0x01},
			Provider: "token",
		},
		TransformFunctionPackageLocation: &PackageLocationMetaData{
			PackagePath:      "builtin://transform",
			OriginalFileName: "transform.nar",
		},
	}
}

func sampleAssignment() *Assignment {
	return &Assignment{
		Instance: &Instance{FunctionMetaData: sampleFunctionMetaData(), InstanceId: 2},
		WorkerId: "c-standalone-fw-localhost-6750",
	}
}

func sampleServiceRequest() *ServiceRequest {
	return &ServiceRequest{
		ServiceRequestType: ServiceRequest_DELETE,
		RequestId:          "5b3e3f0c-9a0e-4f51-8f0e-2f1a8d7c6b5a",
		FunctionMetaData:   sampleFunctionMetaData(),
		WorkerId:           "c-standalone-fw-localhost-6750",
	}
}

func sampleMetricsData() *MetricsData {
	return &MetricsData{
		ReceivedTotal:                   100,
		ReceivedTotal_1Min:              42,
		ProcessedSuccessfullyTotal:      90,
		ProcessedSuccessfullyTotal_1Min: 40,
		SystemExceptionsTotal:           3,
		SystemExceptionsTotal_1Min:      1,
		UserExceptionsTotal:             7,
		UserExceptionsTotal_1Min:        2,
		AvgProcessLatency:               12.25,
		AvgProcessLatency_1Min:          3.5,
		LastInvocation:                  1731369600123,
		UserMetrics:                     map[string]float64{"custom_metric": 1.5},
	}
}

// TestWriteSamples writes the samples in binary form for the scripts that
// regenerate the golden files; it does nothing unless PFW_PB_SAMPLES_DIR is
// set.
func TestWriteSamples(t *testing.T) {
	dir := os.Getenv("PFW_PB_SAMPLES_DIR")
	if dir == "" {
		t.Skip("PFW_PB_SAMPLES_DIR not set")
	}
	samples := map[string]proto.Message{
		"FunctionDetails.bin":      sampleFunctionDetails(),
		"FunctionDetails.java.bin": javaView(sampleFunctionDetails()),
		"FunctionMetaData.bin":     sampleFunctionMetaData(),
		"Assignment.bin":           sampleAssignment(),
		"ServiceRequest.bin":       sampleServiceRequest(),
		"MetricsData.bin":          sampleMetricsData(),
	}
	for name, m := range samples {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
