package functionconfig

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/jackson"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/javaclass"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/testenv"
)

// conversionCase is one entry of testdata/functions/conversion_cases.json.
type conversionCase struct {
	Name            string          `json:"name"`
	Config          json.RawMessage `json:"config"`
	Package         string          `json:"package"`
	Existing        json.RawMessage `json:"existing"`
	ExistingPackage string          `json:"existingPackage"`
	Update          json.RawMessage `json:"update"`
}

// javaResult is what Pulsar 4.0.8's own code gave for a case
// (testdata/functions/conversion_java.golden.json, made by java/Gen.java).
type javaResult struct {
	Name     string          `json:"name"`
	Details  json.RawMessage `json:"details"`
	Get      json.RawMessage `json:"get"`
	Error    *string         `json:"error"`
	NoChange *bool           `json:"noChange"`
}

// refusedLikeJava checks err against Java's outcome: true when Java
// refused too (with the same message), false when both converted.
func refusedLikeJava(t *testing.T, err error, want javaResult) bool {
	t.Helper()
	switch {
	case want.Error == nil && err != nil:
		t.Fatalf("error %q, Java converts", err)
	case want.Error != nil && err == nil:
		t.Fatalf("no error, Java says %q", *want.Error)
	case want.Error != nil && err.Error() != *want.Error:
		t.Fatalf("error\n got: %q\nwant: %q", err, *want.Error)
	}
	return want.Error != nil
}

func loadJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "functions", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// goCreate runs what Gen.create runs in Java.
func goCreate(raw json.RawMessage, pkg string) (*pb.FunctionDetails, error) {
	fc, err := ParseFunction(raw)
	if err != nil {
		return nil, err
	}
	return goCreateConfig(fc, pkg)
}

func goCreateConfig(fc *Function, pkg string) (*pb.FunctionDetails, error) {
	fc.Tenant, fc.Namespace, fc.Name = ptr("public"), ptr("default"), ptr("fn")
	fc.InferMissingArguments(true)
	if pkg != "" {
		pkg = filepath.Join("testdata", "functions", pkg)
	}
	fd, _, err := CheckAndConvert(fc, pkg)
	return fd, err
}

// normalizeJSON parses JSON for a semantic comparison: numbers as float64,
// and the JSON-in-a-string fields of FunctionDetails parsed too.
func normalizeJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && (k == "userConfig" || k == "secretsMap" || k == "cryptoKeyReaderConfig") {
					var inner any
					if json.Unmarshal([]byte(s), &inner) == nil {
						e = map[string]any{"<json>": inner}
					}
				}
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		}
		return v
	}
	return walk(v)
}

func TestConversionMatchesJava(t *testing.T) {
	var cases []conversionCase
	var results []javaResult
	loadJSON(t, "conversion_cases.json", &cases)
	loadJSON(t, "conversion_java.golden.json", &results)
	if len(cases) != len(results) {
		t.Fatalf("%d cases but %d Java results; regenerate (testdata/functions/java/README.md)", len(cases), len(results))
	}
	for i, c := range cases {
		want := results[i]
		t.Run(c.Name, func(t *testing.T) {
			if want.Name != c.Name {
				t.Fatalf("golden entry %d is %q", i, want.Name)
			}
			var fd *pb.FunctionDetails
			var err error
			var noChange *bool
			if c.Update != nil {
				fd, noChange, err = goUpdate(t, c)
			} else {
				fd, err = goCreate(c.Config, c.Package)
			}
			if refusedLikeJava(t, err, want) {
				return
			}
			if want.NoChange != nil && *want.NoChange != *noChange {
				t.Errorf("noChange %v, Java %v", *noChange, *want.NoChange)
			}
			got, err := protojson.Marshal(fd)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := normalizeJSON(t, got), normalizeJSON(t, want.Details); !reflect.DeepEqual(g, w) {
				t.Errorf("FunctionDetails differ\n got: %s\nwant: %s", got, compact(want.Details))
			}
			if want.Get != nil {
				fc, err := FromDetails(fd)
				if err != nil {
					t.Fatal(err)
				}
				got, err := jackson.Marshal(fc.ForResponse())
				if err != nil {
					t.Fatal(err)
				}
				if g, w := normalizeJSON(t, got), normalizeJSON(t, want.Get); !reflect.DeepEqual(g, w) {
					t.Errorf("GET config differs\n got: %s\nwant: %s", got, compact(want.Get))
				}
			}
		})
	}
}

func compact(b []byte) string {
	var v any
	_ = json.Unmarshal(b, &v)
	out, _ := json.Marshal(v)
	return string(out)
}

// goUpdate runs what Gen does for an update case.
func goUpdate(t *testing.T, c conversionCase) (*pb.FunctionDetails, *bool, error) {
	t.Helper()
	existing, err := goCreate(c.Existing, c.ExistingPackage)
	if err != nil {
		t.Fatalf("existing: %v", err)
	}
	existingConfig, err := FromDetails(existing)
	if err != nil {
		t.Fatal(err)
	}
	newConfig, err := ParseFunction(c.Update)
	if err != nil {
		return nil, nil, err
	}
	newConfig.Tenant, newConfig.Namespace, newConfig.Name = ptr("public"), ptr("default"), ptr("fn")
	merged, err := ValidateUpdate(existingConfig, newConfig)
	if err != nil {
		return nil, nil, err
	}
	noChange := reflect.DeepEqual(existingConfig, merged)
	fd, err := goCreateConfig(merged, c.Package)
	return fd, &noChange, err
}

func TestTypeArgumentsMatchJava(t *testing.T) {
	checkTypeArguments(t, filepath.Join("testdata", "functions", "java", "testfns.jar"), "typeargs_java.golden.json")
}

// Every class of the distribution's example jar, when there is one.
func TestTypeArgumentsOfPulsarExamples(t *testing.T) {
	jar := filepath.Join(testenv.PulsarHome(t), "examples", "api-examples.jar")
	checkTypeArguments(t, jar, "typeargs_api_examples_java.golden.json")
}

// checkTypeArguments compares our class checks with what Java's doJavaChecks
// gave for every class of jar, as a plain and as a window function.
func checkTypeArguments(t *testing.T, jar, golden string) {
	var want map[string]map[string]string
	loadJSON(t, golden, &want)
	jp, closer, err := javaclass.Open(jar)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	for class, modes := range want {
		for mode, w := range modes {
			t.Run(class+"/"+mode, func(t *testing.T) {
				fc := &Function{Ident: Ident{ClassName: ptr(class)}}
				if mode == "window" {
					fc.WindowConfig = &windowConfig{}
				}
				ex, err := javaChecks(jp, fc)
				var got string
				switch {
				case err != nil:
					got = "error: " + err.Error()
				case ex.typeArg0 == nil:
					got = "accepted without type names"
				default:
					got = *ex.typeArg0 + " -> " + *ex.typeArg1
				}
				if got != w {
					t.Errorf("got  %q\nwant %q", got, w)
				}
			})
		}
	}
}

func TestJacksonCoercion(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"processingGuarantees":1,"parallelism":"3","autoAck":"true","className":5,"timeoutMs":1.9,"retainOrdering":1}`,
			`{"className":"5","processingGuarantees":"ATMOST_ONCE","retainOrdering":true,"autoAck":true,"parallelism":3,"timeoutMs":1,"subscriptionPosition":"Latest"}`},
		{`{"parallelism":""}`, `{"subscriptionPosition":"Latest"}`},
		{`{"autoAck":"TRUE","parallelism":" 5 "}`, `{"autoAck":true,"parallelism":5,"subscriptionPosition":"Latest"}`},
		{`{"processingGuarantees":7,"runtime":"java","foo":1}`, `{"subscriptionPosition":"Latest"}`},
		{`{"resources":{"disk":1234}}`, `{"resources":{"cpu":1.0,"ram":1073741824,"disk":1234},"subscriptionPosition":"Latest"}`},
		{`{"inputSpecs":{"a":{"schemaProperties":null}},"subscriptionPosition":null}`, `{"inputSpecs":{"a":{"consumerProperties":{},"poolMessages":false,"regexPattern":false}}}`},
	} {
		fc, err := ParseFunction([]byte(tc.in))
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		got, _ := jackson.Marshal(fc.ForResponse())
		if string(got) != tc.want {
			t.Errorf("%s\n got: %s\nwant: %s", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{`{"parallelism":true}`, `{"inputs":"a"}`, `{"className":{}}`, `{"parallelism":3000000000}`,
		`{"autoAck":"yes"}`, `{"parallelism":"0x10"}`, `[]`, `"x"`, `{"tenant":`} {
		if _, err := ParseFunction([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	for _, none := range []string{``, ` `, `null`} {
		if fc, err := ParseFunction([]byte(none)); fc != nil || err != nil {
			t.Errorf("%q: %v, %v", none, fc, err)
		}
	}
}

func TestValidTopicName(t *testing.T) {
	for topic, want := range map[string]bool{
		"in": true, "public/default/in": true, "persistent://public/default/in": true,
		"non-persistent://t/ns/x": true, "persistent://t/c/ns/a/b/c": true, "x/y": false, "a/b/c/d/e": false,
		"http://a/b/c": false, "persistent://te nant/ns/t": false, "persistent://t/ns/ ": false, "": false,
		"persistent://t//x": false, "/x": true, "a//b": false, "persistent://t/ns/p-.*": true,
	} {
		if got := validTopicName(topic); got != want {
			t.Errorf("validTopicName(%q) = %v, want %v", topic, got, want)
		}
	}
}
