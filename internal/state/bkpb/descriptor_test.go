package bkpb

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// Every message, field, enum value, service and method we declare must exist
// in BookKeeper 4.17.2's descriptor with the same name, number, type, label
// and oneof; we may declare less than it has.
func TestDescriptorsMatchBookKeeper(t *testing.T) {
	tests := []struct {
		ref  string
		ours protoreflect.FileDescriptor
	}{
		{"java/stream.desc", File_bookkeeper_stream_proto},
		{"java/storage.desc", File_bookkeeper_storage_proto},
		{"java/kv.desc", File_bookkeeper_kv_proto},
		{"java/kv_rpc.desc", File_bookkeeper_kv_rpc_proto},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tc.ref))
			if err != nil {
				t.Fatal(err)
			}
			ref := &descriptorpb.FileDescriptorProto{}
			if err := proto.Unmarshal(b, ref); err != nil {
				t.Fatalf("parse %s: %v", tc.ref, err)
			}
			ours := protodesc.ToFileDescriptorProto(tc.ours)
			for _, m := range subsetMismatches(ref, ours) {
				t.Error(m)
			}
		})
	}
}

func subsetMismatches(ref, ours *descriptorpb.FileDescriptorProto) []string {
	var out []string
	if ref.GetPackage() != ours.GetPackage() {
		out = append(out, fmt.Sprintf("package %q, want %q", ours.GetPackage(), ref.GetPackage()))
	}
	refMsgs := map[string]*descriptorpb.DescriptorProto{}
	for _, m := range ref.GetMessageType() {
		refMsgs[m.GetName()] = m
	}
	for _, m := range ours.GetMessageType() {
		r, ok := refMsgs[m.GetName()]
		if !ok {
			out = append(out, "message "+m.GetName()+" is not in BookKeeper's")
			continue
		}
		refFields := map[string]*descriptorpb.FieldDescriptorProto{}
		for _, f := range r.GetField() {
			refFields[f.GetName()] = f
		}
		for _, f := range m.GetField() {
			rf, ok := refFields[f.GetName()]
			if !ok {
				out = append(out, fmt.Sprintf("field %s.%s is not in BookKeeper's", m.GetName(), f.GetName()))
				continue
			}
			got := fmt.Sprintf("%d %v %v %s oneof=%s", f.GetNumber(), f.GetType(), f.GetLabel(), f.GetTypeName(), oneofName(m, f))
			want := fmt.Sprintf("%d %v %v %s oneof=%s", rf.GetNumber(), rf.GetType(), rf.GetLabel(), rf.GetTypeName(), oneofName(r, rf))
			if got != want {
				out = append(out, fmt.Sprintf("field %s.%s: %s, want %s", m.GetName(), f.GetName(), got, want))
			}
		}
		if len(m.GetNestedType()) > 0 || len(m.GetEnumType()) > 0 {
			out = append(out, "message "+m.GetName()+": nested declarations are not checked; add them to the test")
		}
	}
	refEnums := map[string]map[string]int32{}
	for _, e := range ref.GetEnumType() {
		vals := map[string]int32{}
		for _, v := range e.GetValue() {
			vals[v.GetName()] = v.GetNumber()
		}
		refEnums[e.GetName()] = vals
	}
	for _, e := range ours.GetEnumType() {
		vals, ok := refEnums[e.GetName()]
		if !ok {
			out = append(out, "enum "+e.GetName()+" is not in BookKeeper's")
			continue
		}
		for _, v := range e.GetValue() {
			if n, ok := vals[v.GetName()]; !ok || n != v.GetNumber() {
				out = append(out, fmt.Sprintf("enum value %s.%s = %d, BookKeeper's: %d (present %v)", e.GetName(), v.GetName(), v.GetNumber(), n, ok))
			}
		}
	}
	refMethods := map[string]string{}
	for _, s := range ref.GetService() {
		for _, m := range s.GetMethod() {
			refMethods[s.GetName()+"/"+m.GetName()] = m.GetInputType() + " -> " + m.GetOutputType()
		}
	}
	for _, s := range ours.GetService() {
		for _, m := range s.GetMethod() {
			key := s.GetName() + "/" + m.GetName()
			got := m.GetInputType() + " -> " + m.GetOutputType()
			if want, ok := refMethods[key]; !ok || want != got {
				out = append(out, fmt.Sprintf("method %s: %s, BookKeeper's %q", key, got, want))
			}
		}
	}
	return out
}

func oneofName(m *descriptorpb.DescriptorProto, f *descriptorpb.FieldDescriptorProto) string {
	if f.OneofIndex == nil {
		return ""
	}
	return m.GetOneofDecl()[f.GetOneofIndex()].GetName()
}

// The gRPC paths are what the server dispatches on.
func TestMethodPaths(t *testing.T) {
	tests := []struct{ got, want string }{
		{RootRangeService_GetStream_FullMethodName, "/bookkeeper.proto.storage.RootRangeService/GetStream"},
		{RootRangeService_CreateStream_FullMethodName, "/bookkeeper.proto.storage.RootRangeService/CreateStream"},
		{RootRangeService_DeleteStream_FullMethodName, "/bookkeeper.proto.storage.RootRangeService/DeleteStream"},
		{RootRangeService_CreateNamespace_FullMethodName, "/bookkeeper.proto.storage.RootRangeService/CreateNamespace"},
		{TableService_Range_FullMethodName, "/bookkeeper.proto.kv.rpc.TableService/Range"},
		{TableService_Put_FullMethodName, "/bookkeeper.proto.kv.rpc.TableService/Put"},
		{TableService_Delete_FullMethodName, "/bookkeeper.proto.kv.rpc.TableService/Delete"},
		{TableService_Increment_FullMethodName, "/bookkeeper.proto.kv.rpc.TableService/Increment"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("gRPC path %s, want %s", tc.got, tc.want)
		}
	}
}
