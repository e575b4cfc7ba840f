// Package bkpb holds the protocol buffer messages and gRPC services of
// BookKeeper's stream storage ("table service") that the function state
// client uses, generated from our own .proto files in proto/bookkeeper:
//
//   - stream.proto: stream (table) and namespace configuration/properties.
//   - storage.proto: StatusCode and the RootRangeService (namespaces, streams).
//   - kv.proto: KeyValue.
//   - kv_rpc.proto: RoutingHeader and the TableService (Range, Put, Delete,
//     Increment).
//
// # Compatibility
//
// The wire contract is BookKeeper 4.17.2's, the stream storage Apache Pulsar
// 4.0.8 ships: the same proto packages ("bookkeeper.proto.stream",
// "bookkeeper.proto.storage", "bookkeeper.proto.kv", "bookkeeper.proto.kv.rpc"),
// message, enum, field and service names, numbers and types. Only a subset is
// declared; a message we leave a field out of keeps it as an unknown field.
// The registered file paths are ours ("bookkeeper/stream.proto", ...), so that
// they cannot collide with another package's generic "storage.proto".
//
// TestDescriptorsMatchBookKeeper checks every declaration against the
// descriptors embedded in the distribution's
// lib/org.apache.bookkeeper-stream-storage-proto-4.17.2.jar (testdata/java,
// written by testdata/gen/regen.sh).
//
// # Regenerating
//
// Edit proto/bookkeeper/*.proto, then run `make proto` (scripts/proto.sh) and
// `go test ./internal/state/bkpb/`.
package bkpb
