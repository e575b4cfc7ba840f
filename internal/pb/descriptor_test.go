package pb

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// The reference descriptors in testdata are the serialized FileDescriptorProtos
// embedded in the Apache Pulsar 4.0.8 binary distribution (see
// testdata/README.md):
//
//	testdata/python/*.desc  from instances/python-instance/*_pb2.py
//	testdata/java/*.desc    from lib/org.apache.pulsar-pulsar-functions-proto-4.0.8.jar
//
// 4.0.8 ships no Request_pb2.py, so Request.proto is checked against the
// Java descriptor only.

// javaOnlyMissing lists what the 4.0.8 Java classes lack compared with the
// 4.0.8 Python descriptors (and so with ours). A Java 4.0.8 worker keeps these
// fields as unknown fields in the binary form but drops them when it prints
// FunctionDetails as JSON for an instance.
var javaOnlyMissing = []string{
	"field proto.ConsumerSpec.messagePayloadProcessorSpec",
	"field proto.ProducerSpec.batchingSpec",
	"message proto.BatchingSpec",
	"message proto.MessagePayloadProcessorSpec",
}

func TestDescriptorsMatchPulsar408(t *testing.T) {
	pyFunction := loadRef(t, "python/Function.desc")
	pyIC := loadRef(t, "python/InstanceCommunication.desc")
	javaFunction := loadRef(t, "java/Function.desc")
	javaIC := loadRef(t, "java/InstanceCommunication.desc")
	javaRequest := loadRef(t, "java/Request.desc")

	pyFiles := buildRefs(t, pyFunction, pyIC)
	javaFiles := buildRefs(t, javaFunction, javaIC, javaRequest)

	tests := []struct {
		name       string
		ours       protoreflect.FileDescriptor
		ref        *descriptorpb.FileDescriptorProto
		refFiles   *protoregistry.Files
		wantExtras []string
	}{
		{"python/Function.proto", File_Function_proto, pyFunction, pyFiles, nil},
		{"python/InstanceCommunication.proto", File_InstanceCommunication_proto, pyIC, pyFiles, nil},
		{"java/Function.proto", File_Function_proto, javaFunction, javaFiles, javaOnlyMissing},
		{"java/InstanceCommunication.proto", File_InstanceCommunication_proto, javaIC, javaFiles, nil},
		{"java/Request.proto", File_Request_proto, javaRequest, javaFiles, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref, err := tc.refFiles.FindFileByPath(tc.ref.GetName())
			if err != nil {
				t.Fatal(err)
			}
			d := &differ{}
			d.file(ref, tc.ours)
			for _, m := range d.mismatches {
				t.Errorf("mismatch: %s", m)
			}
			sort.Strings(d.extras)
			if !slices.Equal(d.extras, tc.wantExtras) {
				t.Errorf("declarations in ours but not in the 4.0.8 descriptor:\n got %q\nwant %q", d.extras, tc.wantExtras)
			}
			if tc.wantExtras == nil {
				// Belt and braces: apart from options, json_name and
				// comments the two FileDescriptorProtos must be identical,
				// declaration order included.
				got := normalize(protodesc.ToFileDescriptorProto(tc.ours))
				want := normalize(tc.ref)
				switch {
				case proto.Equal(got, want):
				case len(d.mismatches) > 0:
					t.Error("normalized descriptors differ (see the mismatches above)")
				default:
					t.Errorf("normalized descriptors differ\n--- ours\n%s\n--- 4.0.8\n%s",
						prototext.Format(got), prototext.Format(want))
				}
			}
		})
	}
}

// The Python and Java copies of InstanceCommunication.proto in 4.0.8 agree.
func TestPulsar408PythonAndJavaInstanceCommunicationAgree(t *testing.T) {
	py := loadRef(t, "python/InstanceCommunication.desc")
	java := loadRef(t, "java/InstanceCommunication.desc")
	if !proto.Equal(py, java) {
		t.Error("python and java InstanceCommunication descriptors differ")
	}
}

func TestGRPCMethodNames(t *testing.T) {
	want := []string{
		"/proto.InstanceControl/GetFunctionStatus",
		"/proto.InstanceControl/GetAndResetMetrics",
		"/proto.InstanceControl/ResetMetrics",
		"/proto.InstanceControl/GetMetrics",
		"/proto.InstanceControl/HealthCheck",
	}
	got := []string{
		InstanceControl_GetFunctionStatus_FullMethodName,
		InstanceControl_GetAndResetMetrics_FullMethodName,
		InstanceControl_ResetMetrics_FullMethodName,
		InstanceControl_GetMetrics_FullMethodName,
		InstanceControl_HealthCheck_FullMethodName,
	}
	if !slices.Equal(got, want) {
		t.Errorf("method names %q, want %q", got, want)
	}
	if InstanceControl_ServiceDesc.ServiceName != "proto.InstanceControl" {
		t.Errorf("service name %q", InstanceControl_ServiceDesc.ServiceName)
	}
}

func loadRef(t *testing.T, name string) *descriptorpb.FileDescriptorProto {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	fd := &descriptorpb.FileDescriptorProto{}
	if err := proto.Unmarshal(b, fd); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return fd
}

// buildRefs links reference descriptors in a registry of their own (ours
// occupy the same paths in protoregistry.GlobalFiles). Well-known types come
// from the global registry.
func buildRefs(t *testing.T, fds ...*descriptorpb.FileDescriptorProto) *protoregistry.Files {
	t.Helper()
	files := &protoregistry.Files{}
	resolver := &chainResolver{files}
	for _, fd := range fds {
		f, err := protodesc.NewFile(fd, resolver)
		if err != nil {
			t.Fatalf("%s: %v", fd.GetName(), err)
		}
		if err := files.RegisterFile(f); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

type chainResolver struct{ local *protoregistry.Files }

func (r *chainResolver) FindFileByPath(p string) (protoreflect.FileDescriptor, error) {
	if f, err := r.local.FindFileByPath(p); err == nil {
		return f, nil
	}
	if strings.HasPrefix(p, "google/protobuf/") {
		return protoregistry.GlobalFiles.FindFileByPath(p)
	}
	return nil, protoregistry.NotFound
}

func (r *chainResolver) FindDescriptorByName(n protoreflect.FullName) (protoreflect.Descriptor, error) {
	if d, err := r.local.FindDescriptorByName(n); err == nil {
		return d, nil
	}
	if strings.HasPrefix(string(n), "google.protobuf.") {
		return protoregistry.GlobalFiles.FindDescriptorByName(n)
	}
	return nil, protoregistry.NotFound
}

// differ compares a reference file with ours. Everything in the reference
// must be in ours with the same facts; what only ours has is collected in
// extras.
type differ struct {
	mismatches []string
	extras     []string
}

func (d *differ) errf(format string, args ...any) {
	d.mismatches = append(d.mismatches, fmt.Sprintf(format, args...))
}

func (d *differ) file(ref, ours protoreflect.FileDescriptor) {
	if ref.Path() != ours.Path() {
		d.errf("file path %q, want %q", ours.Path(), ref.Path())
	}
	if ref.Package() != ours.Package() {
		d.errf("package %q, want %q", ours.Package(), ref.Package())
	}
	if ref.Syntax() != ours.Syntax() {
		d.errf("syntax %v, want %v", ours.Syntax(), ref.Syntax())
	}
	refImports, ourImports := imports(ref), imports(ours)
	if !slices.Equal(refImports, ourImports) {
		d.errf("imports %q, want %q", ourImports, refImports)
	}
	d.messages(ref.Messages(), ours.Messages())
	d.enums(ref.Enums(), ours.Enums())
	if ours.Extensions().Len() != ref.Extensions().Len() {
		d.errf("%d extensions, want %d", ours.Extensions().Len(), ref.Extensions().Len())
	}
	d.services(ref.Services(), ours.Services())
}

func imports(f protoreflect.FileDescriptor) []string {
	var out []string
	for i := 0; i < f.Imports().Len(); i++ {
		imp := f.Imports().Get(i)
		s := imp.Path()
		if imp.IsPublic {
			s += " (public)"
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func (d *differ) messages(ref, ours protoreflect.MessageDescriptors) {
	for i := 0; i < ref.Len(); i++ {
		r := ref.Get(i)
		o := ours.ByName(r.Name())
		if o == nil {
			d.errf("message %s missing", r.FullName())
			continue
		}
		d.message(r, o)
	}
	for i := 0; i < ours.Len(); i++ {
		if o := ours.Get(i); ref.ByName(o.Name()) == nil {
			d.extras = append(d.extras, "message "+string(o.FullName()))
		}
	}
}

func (d *differ) message(ref, ours protoreflect.MessageDescriptor) {
	name := ref.FullName()
	if ref.IsMapEntry() != ours.IsMapEntry() {
		d.errf("message %s: map entry %v, want %v", name, ours.IsMapEntry(), ref.IsMapEntry())
	}
	if got, want := reserved(ours), reserved(ref); got != want {
		d.errf("message %s: reserved %s, want %s", name, got, want)
	}
	if ours.Oneofs().Len() != ref.Oneofs().Len() {
		d.errf("message %s: %d oneofs, want %d", name, ours.Oneofs().Len(), ref.Oneofs().Len())
	}
	for i := 0; i < ref.Fields().Len(); i++ {
		rf := ref.Fields().Get(i)
		of := ours.Fields().ByNumber(rf.Number())
		if of == nil {
			d.errf("field %s = %d missing", rf.FullName(), rf.Number())
			continue
		}
		if got, want := fieldFacts(of), fieldFacts(rf); got != want {
			d.errf("field %s = %d:\n  ours  %s\n  4.0.8 %s", rf.FullName(), rf.Number(), got, want)
		}
	}
	for i := 0; i < ours.Fields().Len(); i++ {
		if of := ours.Fields().Get(i); ref.Fields().ByNumber(of.Number()) == nil {
			d.extras = append(d.extras, "field "+string(of.FullName()))
		}
	}
	d.messages(ref.Messages(), ours.Messages())
	d.enums(ref.Enums(), ours.Enums())
}

func reserved(m protoreflect.MessageDescriptor) string {
	var b strings.Builder
	for i := 0; i < m.ReservedNames().Len(); i++ {
		fmt.Fprintf(&b, "%s ", m.ReservedNames().Get(i))
	}
	for i := 0; i < m.ReservedRanges().Len(); i++ {
		r := m.ReservedRanges().Get(i)
		fmt.Fprintf(&b, "%d-%d ", r[0], r[1])
	}
	return b.String()
}

// fieldFacts renders everything about a field that affects the wire format,
// the JSON mapping or the generated API.
func fieldFacts(f protoreflect.FieldDescriptor) string {
	typ := f.Kind().String()
	switch {
	case f.Message() != nil:
		typ += " " + string(f.Message().FullName())
	case f.Enum() != nil:
		typ += " " + string(f.Enum().FullName())
	}
	oneof := ""
	if o := f.ContainingOneof(); o != nil {
		oneof = string(o.Name())
	}
	deprecated := false
	if opts, ok := f.Options().(*descriptorpb.FieldOptions); ok {
		deprecated = opts.GetDeprecated()
	}
	return fmt.Sprintf("name=%s cardinality=%v type=%s json=%s map=%v packed=%v presence=%v oneof=%q deprecated=%v",
		f.Name(), f.Cardinality(), typ, f.JSONName(), f.IsMap(), f.IsPacked(), f.HasPresence(), oneof, deprecated)
}

func (d *differ) enums(ref, ours protoreflect.EnumDescriptors) {
	for i := 0; i < ref.Len(); i++ {
		r := ref.Get(i)
		o := ours.ByName(r.Name())
		if o == nil {
			d.errf("enum %s missing", r.FullName())
			continue
		}
		for j := 0; j < r.Values().Len(); j++ {
			rv := r.Values().Get(j)
			ov := o.Values().ByName(rv.Name())
			switch {
			case ov == nil:
				d.errf("enum value %s = %d missing", rv.FullName(), rv.Number())
			case ov.Number() != rv.Number():
				d.errf("enum value %s = %d, want %d", rv.FullName(), ov.Number(), rv.Number())
			}
		}
		for j := 0; j < o.Values().Len(); j++ {
			if ov := o.Values().Get(j); r.Values().ByName(ov.Name()) == nil {
				d.extras = append(d.extras, "enum value "+string(ov.FullName()))
			}
		}
	}
	for i := 0; i < ours.Len(); i++ {
		if o := ours.Get(i); ref.ByName(o.Name()) == nil {
			d.extras = append(d.extras, "enum "+string(o.FullName()))
		}
	}
}

func (d *differ) services(ref, ours protoreflect.ServiceDescriptors) {
	for i := 0; i < ref.Len(); i++ {
		r := ref.Get(i)
		o := ours.ByName(r.Name())
		if o == nil {
			d.errf("service %s missing", r.FullName())
			continue
		}
		for j := 0; j < r.Methods().Len(); j++ {
			rm := r.Methods().Get(j)
			om := o.Methods().ByName(rm.Name())
			if om == nil {
				d.errf("method %s missing", rm.FullName())
				continue
			}
			if got, want := methodFacts(om), methodFacts(rm); got != want {
				d.errf("method %s: %s, want %s", rm.FullName(), got, want)
			}
		}
		for j := 0; j < o.Methods().Len(); j++ {
			if om := o.Methods().Get(j); r.Methods().ByName(om.Name()) == nil {
				d.extras = append(d.extras, "method "+string(om.FullName()))
			}
		}
	}
	for i := 0; i < ours.Len(); i++ {
		if o := ours.Get(i); ref.ByName(o.Name()) == nil {
			d.extras = append(d.extras, "service "+string(o.FullName()))
		}
	}
}

func methodFacts(m protoreflect.MethodDescriptor) string {
	return fmt.Sprintf("(%s stream=%v) returns (%s stream=%v)",
		m.Input().FullName(), m.IsStreamingClient(), m.Output().FullName(), m.IsStreamingServer())
}

// normalize drops what may legitimately differ between our .proto files and
// Apache's: file options (go_package, java_*), method options, comments and
// json_name (the reference descriptors leave it implicit). Field "deprecated"
// and message "map_entry" are kept.
func normalize(in *descriptorpb.FileDescriptorProto) *descriptorpb.FileDescriptorProto {
	fd := proto.Clone(in).(*descriptorpb.FileDescriptorProto)
	fd.Options = nil
	fd.SourceCodeInfo = nil
	for _, m := range fd.MessageType {
		normalizeMessage(m)
	}
	for _, e := range fd.EnumType {
		normalizeEnum(e)
	}
	for _, s := range fd.Service {
		s.Options = nil
		for _, m := range s.Method {
			m.Options = nil
		}
	}
	return fd
}

func normalizeMessage(m *descriptorpb.DescriptorProto) {
	if m.GetOptions().GetMapEntry() {
		m.Options = &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)}
	} else {
		m.Options = nil
	}
	for _, f := range m.Field {
		f.JsonName = nil
		if f.GetOptions().GetDeprecated() {
			f.Options = &descriptorpb.FieldOptions{Deprecated: proto.Bool(true)}
		} else {
			f.Options = nil
		}
	}
	for _, n := range m.NestedType {
		normalizeMessage(n)
	}
	for _, e := range m.EnumType {
		normalizeEnum(e)
	}
}

func normalizeEnum(e *descriptorpb.EnumDescriptorProto) {
	e.Options = nil
	for _, v := range e.Value {
		v.Options = nil
	}
}
