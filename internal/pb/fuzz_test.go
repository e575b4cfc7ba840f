package pb

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// FuzzUnmarshal feeds arbitrary bytes to the decoders of the messages a
// worker reads from Pulsar topics (metadata and assignments). Decoding must
// never panic, and whatever decodes must re-encode stably.
func FuzzUnmarshal(f *testing.F) {
	for _, m := range []proto.Message{sampleFunctionMetaData(), sampleAssignment(), sampleServiceRequest()} {
		b, err := deterministic.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2]) // truncated
	}
	for _, name := range []string{"FunctionMetaData", "Assignment", "ServiceRequest"} {
		if b, err := os.ReadFile(filepath.Join("testdata", "wire", name+".java.bin")); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0x0a})                                                 // tag with no length
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f})                   // huge length
	f.Add([]byte{0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80}) // unterminated varint
	f.Add([]byte{0x0b, 0x0c})                                           // group start/end
	f.Add([]byte{0x2a, 0x04, 0x08, 0x01, 0x10, 0x07})                   // map entry with out-of-range enum
	f.Add(bytes.Repeat([]byte{0x0a, 0x02}, 200))                        // deep nesting attempt

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, m := range []proto.Message{&FunctionMetaData{}, &Assignment{}, &ServiceRequest{}} {
			if err := proto.Unmarshal(data, m); err != nil {
				continue
			}
			b1, err := deterministic.Marshal(m)
			if err != nil {
				t.Fatalf("%T: re-encoding a decoded message: %v", m, err)
			}
			m2 := m.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(b1, m2); err != nil {
				t.Fatalf("%T: decoding our own encoding: %v", m, err)
			}
			b2, err := deterministic.Marshal(m2)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b1, b2) {
				t.Fatalf("%T: encoding not stable\n %x\n %x", m, b1, b2)
			}
			// The text encoders must not panic either.
			_, _ = protojson.Marshal(m)
			_ = prototext.Format(m)
		}
	})
}
