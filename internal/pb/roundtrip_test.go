package pb

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

var deterministic = proto.MarshalOptions{Deterministic: true}

func TestFunctionMetaDataRoundTrip(t *testing.T) {
	in := sampleFunctionMetaData()
	in.FunctionDetails = sampleFunctionDetails() // all fields, not only the Java view

	b, err := proto.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out := &FunctionMetaData{}
	if err := proto.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(in, out) {
		t.Fatalf("round trip changed the message:\n in  %v\n out %v", in, out)
	}

	// Spot checks through the generated getters.
	fd := out.GetFunctionDetails()
	if got := fd.GetSource().GetInputSpecs()["persistent://public/default/in"].GetReceiverQueueSize().GetValue(); got != 1000 {
		t.Errorf("receiverQueueSize = %d", got)
	}
	if got := fd.GetSink().GetProducerSpec().GetBatchingSpec().GetBatchingMaxBytes(); got != 131072 {
		t.Errorf("batchingMaxBytes = %d", got)
	}
	if got := out.GetInstanceStates()[1]; got != FunctionState_STOPPED {
		t.Errorf("instanceStates[1] = %v", got)
	}
	if got := out.GetPackageLocation().GetOriginalFileName(); got != "exclamation.py" {
		t.Errorf("originalFileName = %q", got)
	}
	if got := out.GetFunctionAuthSpec().GetData(); !bytes.Equal(got, []byte{0xfb, 0xff, 0xbf, 0x01}) {
		t.Errorf("functionAuthSpec.data = %x", got)
	}
}

func TestAssignmentAndServiceRequestRoundTrip(t *testing.T) {
	for _, in := range []proto.Message{sampleAssignment(), sampleServiceRequest()} {
		b, err := proto.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		out := in.ProtoReflect().New().Interface()
		if err := proto.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(in, out) {
			t.Errorf("%T: round trip changed the message", in)
		}
	}
}

// The deterministic encoding of the samples is byte-for-byte what the Pulsar
// 4.0.8 Java classes produce for the same messages, and we decode Java's bytes
// to the same messages.
func TestWireMatchesJava408(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  proto.Message
	}{
		{"FunctionMetaData", sampleFunctionMetaData()},
		{"Assignment", sampleAssignment()},
		{"ServiceRequest", sampleServiceRequest()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			java, err := os.ReadFile(filepath.Join("testdata", "wire", tc.name+".java.bin"))
			if err != nil {
				t.Fatal(err)
			}
			ours, err := deterministic.Marshal(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ours, java) {
				t.Errorf("encoding differs from Java 4.0.8\n ours %x\n java %x", ours, java)
			}
			got := tc.msg.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(java, got); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, tc.msg) {
				t.Errorf("decoding Java's bytes gave %v", got)
			}
		})
	}
}

// A worker re-embeds whole FunctionMetaData in Instance/Assignment and Java
// workers compare them for equality, so fields we do not know (e.g. added by
// a newer Pulsar) must survive decoding and re-encoding.
func TestUnknownFieldsSurvive(t *testing.T) {
	details, err := proto.Marshal(sampleFunctionDetails())
	if err != nil {
		t.Fatal(err)
	}
	// Unknown fields in FunctionDetails: 99 (varint) and 100 (bytes).
	details = protowire.AppendTag(details, 99, protowire.VarintType)
	details = protowire.AppendVarint(details, 12345)
	details = protowire.AppendTag(details, 100, protowire.BytesType)
	details = protowire.AppendString(details, "from the future")

	var meta []byte
	meta = protowire.AppendTag(meta, 1, protowire.BytesType) // functionDetails
	meta = protowire.AppendBytes(meta, details)
	meta = protowire.AppendTag(meta, 3, protowire.VarintType) // version
	meta = protowire.AppendVarint(meta, 4)
	meta = protowire.AppendTag(meta, 50, protowire.Fixed64Type) // unknown in FunctionMetaData
	meta = protowire.AppendFixed64(meta, 0xdeadbeef)

	fmd := &FunctionMetaData{}
	if err := proto.Unmarshal(meta, fmd); err != nil {
		t.Fatal(err)
	}
	if len(fmd.ProtoReflect().GetUnknown()) == 0 || len(fmd.GetFunctionDetails().ProtoReflect().GetUnknown()) == 0 {
		t.Fatal("unknown fields were dropped on decode")
	}

	// Re-embed in an Assignment, encode, decode, and compare.
	a := &Assignment{Instance: &Instance{FunctionMetaData: fmd, InstanceId: 0}, WorkerId: "w"}
	b, err := proto.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	back := &Assignment{}
	if err := proto.Unmarshal(b, back); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(a, back) {
		t.Fatal("assignment changed across a round trip")
	}
	got := back.GetInstance().GetFunctionMetaData()
	if !bytes.Equal(got.ProtoReflect().GetUnknown(), fmd.ProtoReflect().GetUnknown()) ||
		!bytes.Equal(got.GetFunctionDetails().ProtoReflect().GetUnknown(), fmd.GetFunctionDetails().ProtoReflect().GetUnknown()) {
		t.Fatal("unknown fields changed across a round trip")
	}
}

// Zero values are not encoded (proto3), so an empty message is empty on the
// wire, and the non-zero default enums need care: CompressionType's zero is
// LZ4, not NONE.
func TestProto3Defaults(t *testing.T) {
	b, err := proto.Marshal(&FunctionDetails{Runtime: FunctionDetails_JAVA, ComponentType: FunctionDetails_UNKNOWN})
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 0 {
		t.Errorf("zero-valued FunctionDetails encodes to %x", b)
	}
	if got := (&ProducerSpec{}).GetCompressionType(); got != CompressionType_LZ4 {
		t.Errorf("default compressionType = %v", got)
	}
}
