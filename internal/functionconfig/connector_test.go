package functionconfig

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/jackson"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// connectorCase is one entry of testdata/connectors/cases.json.
type connectorCase struct {
	conversionCase
	Kind string `json:"kind"` // "source" or "sink"
	// The transform function's package of a sink whose config names a
	// transformFunction, and of an update's existing sink.
	TransformPackage         string `json:"transformPackage"`
	ExistingTransformPackage string `json:"existingTransformPackage"`
}

func loadConnectorJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "connectors", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func (c connectorCase) kind() *testKind {
	if c.Kind == "source" {
		return sourceKind
	}
	return sinkKind
}

// testKind is a connector kind as the tests name it.
type testKind struct {
	name string
	ct   pb.FunctionDetails_ComponentType
}

var (
	sourceKind = &testKind{name: "Source", ct: pb.FunctionDetails_SOURCE}
	sinkKind   = &testKind{name: "Sink", ct: pb.FunctionDetails_SINK}
)

// goConnectorCreate runs what Gen.create runs in Java.
func goConnectorCreate(k *testKind, raw json.RawMessage, pkg, transform string) (*pb.FunctionDetails, error) {
	cc, err := ParseConnector(k.ct, raw)
	if err != nil {
		return nil, err
	}
	return goConnectorCreateConfig(k, cc, pkg, transform)
}

// goConnectorCreateConfig validates and converts cc; as SinksImpl, it opens
// the transform package only when the config names a transformFunction.
func goConnectorCreateConfig(k *testKind, cc Connector, pkg, transform string) (*pb.FunctionDetails, error) {
	cc.SetPath("public", "default", "conn")
	cc.InferMissing()
	if pkg == "" {
		return nil, Invalid("%s package is not provided", k.name)
	}
	transformPath := ""
	if cc.TransformURL() != "" && transform != "" {
		transformPath = filepath.Join("testdata", "connectors", transform)
	}
	return cc.Validate(filepath.Join("testdata", "connectors", pkg), transformPath)
}

// normalizeConnectorJSON is normalizeJSON with the specs' configs (JSON in a
// string) parsed too, and a sink's inputs sorted: Java lists them in the
// insertion order of the protobuf map, which we do not keep.
func normalizeConnectorJSON(t *testing.T, b []byte) any {
	t.Helper()
	v := normalizeJSON(t, b)
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "configs" {
					var inner any
					if json.Unmarshal([]byte(s), &inner) == nil {
						x[k] = map[string]any{"<json>": inner}
						continue
					}
				}
				if l, ok := e.([]any); ok && k == "inputs" {
					sort.Slice(l, func(i, j int) bool { return fmt.Sprint(l[i]) < fmt.Sprint(l[j]) })
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return v
}

// TestConnectorConversionMatchesJava checks SourceConfig/SinkConfig
// validation, conversion, GET and update against what Pulsar 4.0.8's own
// SourceConfigUtils/SinkConfigUtils gave for the same cases
// (testdata/connectors/java/README.md).
func TestConnectorConversionMatchesJava(t *testing.T) {
	var cases []connectorCase
	var results []javaResult
	loadConnectorJSON(t, "cases.json", &cases)
	loadConnectorJSON(t, "conversion_java.golden.json", &results)
	if len(cases) != len(results) {
		t.Fatalf("%d cases but %d Java results; regenerate (testdata/connectors/java/README.md)", len(cases), len(results))
	}
	for i, c := range cases {
		want := results[i]
		k := c.kind()
		t.Run(c.Name, func(t *testing.T) {
			if want.Name != c.Name {
				t.Fatalf("golden entry %d is %q", i, want.Name)
			}
			var fd *pb.FunctionDetails
			var err error
			var noChange bool
			if c.Update != nil {
				fd, noChange, err = goConnectorUpdate(t, k, c)
			} else {
				fd, err = goConnectorCreate(k, c.Config, c.Package, c.TransformPackage)
			}
			if refusedLikeJava(t, err, want) {
				return
			}
			if want.NoChange != nil && *want.NoChange != noChange {
				t.Errorf("noChange %v, Java %v", noChange, *want.NoChange)
			}
			got, err := protojson.Marshal(fd)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := normalizeConnectorJSON(t, got), normalizeConnectorJSON(t, want.Details); !reflect.DeepEqual(g, w) {
				t.Errorf("FunctionDetails differ\n got: %s\nwant: %s", got, compact(want.Details))
			}
			if want.Get != nil {
				var resp any
				if k == sourceKind {
					sc, err := SourceFromDetails(fd)
					if err != nil {
						t.Fatal(err)
					}
					resp = sc.ForResponse()
				} else {
					sc, err := SinkFromDetails(fd)
					if err != nil {
						t.Fatal(err)
					}
					resp = sc.ForResponse()
				}
				got, err := jackson.Marshal(resp)
				if err != nil {
					t.Fatal(err)
				}
				if g, w := normalizeConnectorJSON(t, got), normalizeConnectorJSON(t, want.Get); !reflect.DeepEqual(g, w) {
					t.Errorf("GET config differs\n got: %s\nwant: %s", got, compact(want.Get))
				}
			}
		})
	}
}

// goConnectorUpdate runs what Gen runs for an update case.
func goConnectorUpdate(t *testing.T, k *testKind, c connectorCase) (*pb.FunctionDetails, bool, error) {
	t.Helper()
	existing, err := goConnectorCreate(k, c.Existing, c.ExistingPackage, c.ExistingTransformPackage)
	if err != nil {
		t.Fatalf("existing: %v", err)
	}
	existingConfig, err := ConnectorFromDetails(k.ct, existing)
	if err != nil {
		t.Fatal(err)
	}
	update, err := ParseConnector(k.ct, c.Update)
	if err != nil {
		t.Fatal(err)
	}
	update.SetPath("public", "default", "conn")
	merged, err := ValidateConnectorUpdate(k.ct, existingConfig, update)
	if err != nil {
		return nil, false, err
	}
	noChange := SameConfig(existingConfig, merged)
	fd, err := goConnectorCreateConfig(k, merged, c.Package, c.TransformPackage)
	return fd, noChange, err
}

// TestSinkFromMetadata: the answer names the transform function: from the
// details for builtin://, from transformFunctionPackageLocation for a
// package URL (which 4.0.8 leaves out), not at all without one.
func TestSinkFromMetadata(t *testing.T) {
	details := func(className, builtin string) *pb.FunctionDetails {
		return &pb.FunctionDetails{Tenant: "public", Namespace: "default", Name: "snk", ClassName: className, Builtin: builtin,
			ComponentType: pb.FunctionDetails_SINK, Source: &pb.SourceSpec{InputSpecs: map[string]*pb.ConsumerSpec{"in": {}}},
			Sink: &pb.SinkSpec{ClassName: "conn.IntSink"}}
	}
	for _, tc := range []struct {
		name          string
		md            *pb.FunctionMetaData
		wantTransform *string
		wantClass     *string
	}{
		{"no transform function", &pb.FunctionMetaData{FunctionDetails: details(identityFunctionClass, "")}, nil, nil},
		{"built-in function", &pb.FunctionMetaData{FunctionDetails: details("fns.Records", "exclaim"),
			TransformFunctionPackageLocation: &pb.PackageLocationMetaData{PackagePath: "builtin://exclaim"}},
			ptr("builtin://exclaim"), ptr("fns.Records")},
		{"package URL", &pb.FunctionMetaData{FunctionDetails: details("fns.Records", ""),
			TransformFunctionPackageLocation: &pb.PackageLocationMetaData{PackagePath: "function://public/default/fns@1"}},
			ptr("function://public/default/fns@1"), ptr("fns.Records")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := SinkFromMetadata(tc.md)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(sc.TransformFunction, tc.wantTransform) || !reflect.DeepEqual(sc.TransformFunctionClassName, tc.wantClass) {
				t.Errorf("transformFunction %v, class %v; want %v, %v", str(sc.TransformFunction), str(sc.TransformFunctionClassName),
					str(tc.wantTransform), str(tc.wantClass))
			}
			if sc.TransformURL() != str(tc.wantTransform) {
				t.Errorf("TransformURL() = %q", sc.TransformURL())
			}
		})
	}
}
