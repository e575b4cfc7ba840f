package pb

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// How FunctionDetails travels as JSON:
//
//   - The Java worker (4.0.8 RuntimeUtils) passes it to every instance as
//     --function_details, printed with
//     JsonFormat.printer().omittingInsignificantWhitespace(): keys are the
//     fields' JSON names (lowerCamel, which for Function.proto are the proto
//     names themselves), enums by name, 64-bit integers as strings, zero
//     values left out, fields in field-number order, and strings escaped
//     HTML-safe by Gson (<, >, &, ', = as \u003c...).
//   - Python's json_format.MessageToJson (default options) uses the same JSON
//     names.
//   - Go's protojson with the default UseProtoNames=false does too; it orders
//     fields by declaration and does not HTML-escape, so its output is
//     equivalent JSON but not the same bytes.
//
// testdata/json/*.java.json and *.python.json were printed by the 4.0.8
// Java classes and Python modules from the samples in samples_test.go.

func readGolden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "json", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeJSON decodes JSON text into generic values, keeping numbers as text
// so that 64-bit values compare exactly.
func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	return v
}

func TestFunctionDetailsJSONMatchesPulsar408(t *testing.T) {
	for _, tc := range []struct {
		golden string
		msg    *FunctionDetails
	}{
		// Java 4.0.8 lacks batchingSpec and messagePayloadProcessorSpec.
		{"FunctionDetails.java.json", javaView(sampleFunctionDetails())},
		{"FunctionDetails.python.json", sampleFunctionDetails()},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			golden := readGolden(t, tc.golden)

			ours, err := protojson.Marshal(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := decodeJSON(t, ours), decodeJSON(t, golden); !reflect.DeepEqual(got, want) {
				t.Errorf("JSON differs\n ours   %s\n golden %s", ours, golden)
			}

			parsed := &FunctionDetails{}
			if err := protojson.Unmarshal(golden, parsed); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(parsed, tc.msg) {
				t.Errorf("parsing the golden JSON gave %v", parsed)
			}
		})
	}
}

// The exact text the Java 4.0.8 worker would put in --function_details for
// the sample: pinned here so a change in the sample or the goldens is seen.
func TestFunctionDetailsJavaJSONPinned(t *testing.T) {
	golden := strings.TrimSuffix(string(readGolden(t, "FunctionDetails.java.json")), "\n")
	const want = `{"tenant":"public","namespace":"default","name":"exclaim",` +
		`"className":"exclamation.ExclamationFunction","logTopic":"persistent://public/default/exclaim-log",` +
		`"processingGuarantees":"EFFECTIVELY_ONCE",` +
		`"userConfig":"{\"greeting\":\"\u003chi \u0026 \u0027bye\u0027\u003e\",\"n\u003d1\":2,\"text\":\"ünïcode\"}",` +
		`"runtime":"PYTHON","autoAck":true,"parallelism":3,` +
		`"source":{"className":"org.example.Src","configs":"{\"a\":1}","subscriptionType":"KEY_SHARED",` +
		`"topicsToSerDeClassName":{"persistent://public/default/legacy":"org.example.Serde"},` +
		`"typeClassName":"java.lang.String","timeoutMs":"30000","topicsPattern":"persistent://public/default/old-.*",` +
		`"builtin":"builtin-source","subscriptionName":"exclaim-sub",` +
		`"inputSpecs":{"persistent://public/default/in":{"schemaType":"avro","serdeClassName":"org.example.Serde",` +
		`"receiverQueueSize":{"value":1000},"schemaProperties":{"k1":"v1","k2":"v2"},"consumerProperties":{"c":"d"},` +
		`"cryptoSpec":{"cryptoKeyReaderClassName":"org.example.Keys","cryptoKeyReaderConfig":"{\"dir\":\"/keys\"}",` +
		`"producerEncryptionKeyName":["key-a","key-b"],"producerCryptoFailureAction":"SEND","consumerCryptoFailureAction":"CONSUME"},` +
		`"poolMessages":true},"persistent://public/default/in-.*":{"isRegexPattern":true}},` +
		`"cleanupSubscription":true,"subscriptionPosition":"EARLIEST","negativeAckRedeliveryDelayMs":"60000","skipToLatest":true},` +
		`"sink":{"className":"org.example.Sink","configs":"{\"b\":2}","topic":"persistent://public/default/out",` +
		`"serDeClassName":"org.example.OutSerde","typeClassName":"java.lang.String","builtin":"builtin-sink",` +
		`"schemaType":"json","forwardSourceMessageProperty":true,"schemaProperties":{"s":"t"},"consumerProperties":{"u":"v"},` +
		`"producerSpec":{"maxPendingMessages":500,"maxPendingMessagesAcrossPartitions":5000,"useThreadLocalProducers":true,` +
		`"cryptoSpec":{"cryptoKeyReaderClassName":"org.example.Keys"},"batchBuilder":"KEY_BASED","compressionType":"ZSTD"}},` +
		`"resources":{"cpu":0.5,"ram":"1073741824","disk":"10737418240"},"packageUrl":"function://public/default/exclaim@1",` +
		`"retryDetails":{"maxMessageRetries":5,"deadLetterTopic":"persistent://public/default/dlq"},` +
		`"secretsMap":"{\"password\":{\"path\":\"secret/db\",\"key\":\"pw\"}}","runtimeFlags":"-Xmx512m",` +
		`"componentType":"FUNCTION","customRuntimeOptions":"{\"jobNamespace\":\"fn\"}","builtin":"builtin-fn",` +
		`"retainOrdering":true,"retainKeyOrdering":true,"subscriptionPosition":"EARLIEST"}`
	if golden != want {
		t.Errorf("testdata/json/FunctionDetails.java.json changed:\n got  %s\n want %s", golden, want)
	}
	parsed := &FunctionDetails{}
	if err := protojson.Unmarshal([]byte(want), parsed); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(parsed, javaView(sampleFunctionDetails())) {
		t.Errorf("pinned JSON parses to %v", parsed)
	}
}

// In Function.proto and Request.proto every JSON name equals the proto field
// name, so UseProtoNames makes no difference there. InstanceCommunication.proto
// has fields with "_1min" whose JSON names drop the underscore; Java and Python
// print those JSON names, which is protojson's default.
func TestJSONNames(t *testing.T) {
	for _, fd := range []protoreflect.FileDescriptor{File_Function_proto, File_Request_proto} {
		forEachField(fd.Messages(), func(f protoreflect.FieldDescriptor) {
			if f.JSONName() != string(f.Name()) {
				t.Errorf("%s: JSON name %q differs from the field name", f.FullName(), f.JSONName())
			}
		})
	}
	var differing []string
	forEachField(File_InstanceCommunication_proto.Messages(), func(f protoreflect.FieldDescriptor) {
		if f.JSONName() != string(f.Name()) {
			differing = append(differing, string(f.Name())+"->"+f.JSONName())
		}
	})
	want := []string{
		"receivedTotal_1min->receivedTotal1min",
		"processedSuccessfullyTotal_1min->processedSuccessfullyTotal1min",
		"systemExceptionsTotal_1min->systemExceptionsTotal1min",
		"userExceptionsTotal_1min->userExceptionsTotal1min",
		"avgProcessLatency_1min->avgProcessLatency1min",
	}
	if !reflect.DeepEqual(differing, want) {
		t.Errorf("fields whose JSON name differs: %q, want %q", differing, want)
	}

	// Same JSON either way for FunctionDetails.
	a, err := protojson.MarshalOptions{UseProtoNames: false}.Marshal(sampleFunctionDetails())
	if err != nil {
		t.Fatal(err)
	}
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(sampleFunctionDetails())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(decodeJSON(t, a), decodeJSON(t, b)) {
		t.Error("UseProtoNames changes FunctionDetails JSON")
	}
}

func forEachField(msgs protoreflect.MessageDescriptors, fn func(protoreflect.FieldDescriptor)) {
	for i := 0; i < msgs.Len(); i++ {
		m := msgs.Get(i)
		for j := 0; j < m.Fields().Len(); j++ {
			fn(m.Fields().Get(j))
		}
		forEachField(m.Messages(), fn)
	}
}

func TestMetricsDataJSONMatchesPulsar408(t *testing.T) {
	for _, golden := range []string{"MetricsData.java.json", "MetricsData.python.json"} {
		t.Run(golden, func(t *testing.T) {
			want := readGolden(t, golden)
			ours, err := protojson.Marshal(sampleMetricsData())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(decodeJSON(t, ours), decodeJSON(t, want)) {
				t.Errorf("JSON differs\n ours   %s\n golden %s", ours, want)
			}
			parsed := &MetricsData{}
			if err := protojson.Unmarshal(want, parsed); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(parsed, sampleMetricsData()) {
				t.Errorf("parsing the golden JSON gave %v", parsed)
			}
		})
	}
	// protojson also accepts the proto names on input, as Java's and
	// Python's parsers do.
	m := &MetricsData{}
	if err := protojson.Unmarshal([]byte(`{"receivedTotal_1min":"5"}`), m); err != nil || m.GetReceivedTotal_1Min() != 5 {
		t.Errorf("proto-name input: %v, %v", m, err)
	}
}
