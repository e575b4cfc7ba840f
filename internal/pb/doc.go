// Package pb holds the protocol buffer messages and the gRPC service that
// Pulsar Functions workers and instance runtimes exchange, generated from our
// own .proto files in internal/pb/proto:
//
//   - Function.proto: FunctionDetails and its specs, FunctionMetaData,
//     Instance, Assignment (metadata and assignment topics, instance config).
//   - Request.proto: ServiceRequest, the metadata-topic envelope used when
//     useCompactedMetadataTopic is false.
//   - InstanceCommunication.proto: FunctionStatus, MetricsData, ... and the
//     InstanceControl gRPC service (worker -> local instance).
//
// # Compatibility
//
// The .proto files are written for this project, but their wire contract is
// Apache Pulsar 4.0.8's: proto package "proto", and the same message, enum,
// field and service names, field numbers and types. The registered file paths
// are "Function.proto", "InstanceCommunication.proto" and "Request.proto", as
// in Pulsar, so full names are e.g. "proto.FunctionDetails" and gRPC methods
// are "/proto.InstanceControl/GetFunctionStatus".
//
// TestDescriptorsMatchPulsar408 checks this against the descriptors embedded
// in the 4.0.8 distribution (testdata/python from the Python instance's
// *_pb2.py, testdata/java from the pulsar-functions-proto jar). 4.0.8's Python
// modules know two messages its Java classes do not (BatchingSpec and
// MessagePayloadProcessorSpec, with ProducerSpec.batchingSpec = 7 and
// ConsumerSpec.messagePayloadProcessorSpec = 9); we follow Python, which is a
// superset. A Java 4.0.8 worker keeps those fields as unknown fields in the
// binary form.
//
// Workers re-embed whole FunctionMetaData in Instance and Assignment, and
// Java workers compare them for equality, so code must pass these messages on
// as decoded (proto.Clone, not field-by-field copies): the Go runtime keeps
// unknown fields, which carries fields added by newer Pulsar releases.
//
// For the JSON form of FunctionDetails (the --function_details argument of
// instances) use protojson with default options: its keys are the JSON names,
// which in Function.proto equal the field names, as Java's JsonFormat and
// Python's json_format print them. See json_test.go for what differs in the
// bytes (key order, escaping).
//
// Because the file paths and the "proto" package name are Pulsar's, this
// package cannot be linked into one binary with another Go package that
// registers the same files (e.g. Pulsar's pulsar-function-go/pb): the
// protobuf runtime panics at init on the duplicate registration. The Pulsar
// Go client (PulsarApi.proto, package "pulsar.proto") does not collide.
//
// # Regenerating
//
// Edit internal/pb/proto/*.proto, then run
//
//	make proto                  # or scripts/proto.sh
//	go test ./internal/pb/
//
// scripts/proto.sh fetches the pinned protoc from Maven Central with mvn
// (checking its sha256; cached under
// ${PFW_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pulsar-functions-worker}/protoc)
// and runs protoc-gen-go and protoc-gen-go-grpc at the versions pinned as
// tools in go.mod ("go tool"). scripts/proto.sh --check reports generated
// files that are out of date. The generated *.pb.go files are committed.
//
// testdata/README.md says where the golden files come from and how to
// regenerate them.
package pb
