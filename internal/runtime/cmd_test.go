package runtime

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// goldenOptions are fixed worker options for the golden command lines; auth
// also turns on every optional argument.
func goldenOptions(auth bool) Options {
	o := Options{
		PulsarHome:                     "/opt/pulsar",
		LogDir:                         "/var/log/pulsar",
		DownloadDir:                    "/var/lib/pulsar/download",
		ExtraDependenciesDir:           "/opt/pulsar/instances/deps",
		JavaLogConfigFile:              "/opt/pulsar/conf/functions_log4j2.xml",
		NarExtractionDir:               "/tmp",
		PulsarServiceURL:               "pulsar://localhost:6650",
		PulsarWebServiceURL:            "http://localhost:8080",
		ClusterName:                    "standalone",
		AdditionalJavaRuntimeArguments: []string{"-XX:+ExitOnOutOfMemoryError"},
		JavaSecretsProvider:            JavaClearTextSecretsProvider,
		PythonSecretsProvider:          PythonClearTextSecretsProvider,
		HealthCheckInterval:            30 * time.Second,
	}
	if auth {
		o.ExposeAdminClient = true
		o.IgnoreUnknownConfigFields = true
		o.StateStorageServiceURL = "bk://localhost:4181"
		o.Auth = &InstanceAuth{
			Plugin:               "org.apache.pulsar.client.impl.auth.AuthenticationToken",
			Params:               "token:abc",
			UseTLS:               true,
			HostnameVerification: true,
			TrustCertsPath:       "/etc/ca.pem",
		}
	}
	return o.withDefaults()
}

// goldenDetails is a function as `pulsar-admin functions create` makes it, plus
// a few options that show up in the command line.
func goldenDetails(rt pb.FunctionDetails_Runtime) *pb.FunctionDetails {
	d := &pb.FunctionDetails{
		Tenant:               "public",
		Namespace:            "default",
		Name:                 "fn",
		ClassName:            "org.example.Exclaim",
		ProcessingGuarantees: pb.ProcessingGuarantees_ATLEAST_ONCE,
		UserConfig:           `{"greeting":"<hi & 'bye'>"}`,
		Runtime:              rt,
		//lint:ignore SA1019 autoAck is deprecated in Pulsar's Function.proto, yet Java's worker and instances still read and write it
		AutoAck:     true,
		Parallelism: 2,
		Source: &pb.SourceSpec{
			TypeClassName:       "java.lang.String",
			InputSpecs:          map[string]*pb.ConsumerSpec{"persistent://public/default/in": {}},
			CleanupSubscription: true,
			SubscriptionType:    pb.SubscriptionType_SHARED,
		},
		Sink: &pb.SinkSpec{
			TypeClassName:                "java.lang.String",
			Topic:                        "persistent://public/default/out",
			ForwardSourceMessageProperty: true,
		},
		Resources:     &pb.Resources{Cpu: 1, Ram: 1073741824, Disk: 10737418240},
		SecretsMap:    `{"pw":"secret"}`,
		RuntimeFlags:  `-Dx="a b"  -Dy=1`,
		ComponentType: pb.FunctionDetails_FUNCTION,
	}
	switch rt {
	case pb.FunctionDetails_PYTHON:
		d.ClassName = "exclamation_function.ExclamationFunction"
		d.Source.TypeClassName, d.Sink.TypeClassName = "", ""
		d.RuntimeFlags = "-X dev"
	case pb.FunctionDetails_GO:
		d.ClassName = ""
		d.RuntimeFlags = ""
		d.Source.TimeoutMs = 5000
		d.RetryDetails = &pb.RetryDetails{MaxMessageRetries: 3, DeadLetterTopic: "persistent://public/default/dlq"}
	}
	return d
}

func goldenParams(d *pb.FunctionDetails) launchParams {
	pkg := map[pb.FunctionDetails_Runtime]string{
		pb.FunctionDetails_JAVA:   "/dl/public/default/fn/0/fn.jar",
		pb.FunctionDetails_PYTHON: "/dl/public/default/fn/0/fn.py",
		pb.FunctionDetails_GO:     "/dl/public/default/fn/0/fn",
	}[d.GetRuntime()]
	return launchParams{
		details:         d,
		instanceID:      1,
		functionID:      "11111111-2222-4333-8444-555555555555",
		functionVersion: "66666666-7777-4888-9999-aaaaaaaaaaaa",
		packagePath:     pkg,
		grpcPort:        40001,
		metricsPort:     40002,
	}
}

// connectorDetails turns the Java golden function into a source or sink as
// SourceConfigUtils/SinkConfigUtils build them (a built-in NAR's classes).
func connectorDetails(ct pb.FunctionDetails_ComponentType) *pb.FunctionDetails {
	d := goldenDetails(pb.FunctionDetails_JAVA)
	d.ComponentType = ct
	d.ClassName = "org.apache.pulsar.functions.api.utils.IdentityFunction"
	d.UserConfig = ""
	if ct == pb.FunctionDetails_SOURCE {
		d.Source = &pb.SourceSpec{ClassName: "org.apache.pulsar.io.datagenerator.DataGeneratorSource",
			Configs: `{"sleepBetweenMessages":"50"}`, TypeClassName: "org.apache.pulsar.io.datagenerator.Person", Builtin: "data-generator"}
		d.Sink.TypeClassName = "org.apache.pulsar.io.datagenerator.Person"
		return d
	}
	d.Source.SubscriptionPosition = pb.SubscriptionPosition_LATEST
	d.Source.TypeClassName = "org.apache.pulsar.io.datagenerator.Person"
	d.Sink = &pb.SinkSpec{ClassName: "org.apache.pulsar.io.datagenerator.DataGeneratorPrintSink",
		TypeClassName: "org.apache.pulsar.io.datagenerator.Person", Builtin: "data-generator"}
	return d
}

var goldenCases = []struct {
	name string
	rt   pb.FunctionDetails_Runtime
	auth bool
	ct   pb.FunctionDetails_ComponentType // sources and sinks run as Java instances with their NAR as --jar
}{
	{"java", pb.FunctionDetails_JAVA, false, pb.FunctionDetails_FUNCTION},
	{"java-auth", pb.FunctionDetails_JAVA, true, pb.FunctionDetails_FUNCTION},
	{"python", pb.FunctionDetails_PYTHON, false, pb.FunctionDetails_FUNCTION},
	{"python-auth", pb.FunctionDetails_PYTHON, true, pb.FunctionDetails_FUNCTION},
	{"go", pb.FunctionDetails_GO, false, pb.FunctionDetails_FUNCTION},
	{"go-auth", pb.FunctionDetails_GO, true, pb.FunctionDetails_FUNCTION},
	{"source", pb.FunctionDetails_JAVA, false, pb.FunctionDetails_SOURCE},
	{"sink", pb.FunctionDetails_JAVA, false, pb.FunctionDetails_SINK},
	{"sink-transform", pb.FunctionDetails_JAVA, false, pb.FunctionDetails_SINK},
}

// The transform function package and UUID of the sink-transform case
// (testdata/javaref/gen.sh passes the same to Java).
const (
	goldenTransformJar = "/dl/public/default/fn/0/examples.jar"
	goldenTransformID  = "bbbbbbbb-cccc-4ddd-8eee-ffffffffffff"
)

// caseParams is goldenParams of a golden case.
func caseParams(name string, d *pb.FunctionDetails) launchParams {
	p := goldenParams(d)
	if name == "sink-transform" {
		d.ClassName = "org.apache.pulsar.functions.api.examples.RecordFunction"
		d.UserConfig = `{"publish-topic":"out"}`
		d.Builtin = ""
		p.transformPath, p.transformID = goldenTransformJar, goldenTransformID
	}
	return p
}

// caseDetails is the FunctionDetails of a golden case.
func caseDetails(rt pb.FunctionDetails_Runtime, ct pb.FunctionDetails_ComponentType) *pb.FunctionDetails {
	if ct == pb.FunctionDetails_SOURCE || ct == pb.FunctionDetails_SINK {
		return connectorDetails(ct)
	}
	return goldenDetails(rt)
}

type goldenFile struct {
	Argv []string `json:"argv"`
	Env  []string `json:"env"`
}

func TestCommandGolden(t *testing.T) {
	getenv = func(string) string { return "" }
	t.Cleanup(func() { getenv = os.Getenv })
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			o := goldenOptions(tc.auth)
			d := caseDetails(tc.rt, tc.ct)
			c, err := buildCommand(&o, caseParams(tc.name, d))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(goldenFile{Argv: c.argv, Env: c.env}); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "cmd", tc.name+".golden.json")
			if *update {
				writeFile(t, path, buf.Bytes())
				// The input for testdata/javaref (see its README).
				raw, err := protojson.Marshal(d)
				if err != nil {
					t.Fatal(err)
				}
				var pretty bytes.Buffer // json.Indent: stable, unlike protojson's own layout
				if err := json.Indent(&pretty, raw, "", "  "); err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join("testdata", "javaref", tc.name+".details.json"), append(pretty.Bytes(), '\n'))
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs (go test -run TestCommandGolden -update to accept):\n%s", path, buf.Bytes())
			}
		})
	}
}

// TestCommandMatchesJava408 compares our command lines with the ones Pulsar
// 4.0.8's own RuntimeUtils.getCmd printed for the same inputs
// (testdata/javaref/README.md). JSON arguments are compared as JSON: key order
// and escaping differ by design.
func TestCommandMatchesJava408(t *testing.T) {
	getenv = func(string) string { return "" }
	t.Cleanup(func() { getenv = os.Getenv })
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			ref, err := os.ReadFile(filepath.Join("testdata", "javaref", tc.name+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, arg := range strings.Split(strings.TrimSuffix(string(ref), "\n"), "\n") {
				// Java passes the empty token between two spaces of runtimeFlags; we drop it.
				if arg != "" {
					want = append(want, arg)
				}
			}
			o := goldenOptions(tc.auth)
			c, err := buildCommand(&o, caseParams(tc.name, caseDetails(tc.rt, tc.ct)))
			if err != nil {
				t.Fatal(err)
			}
			got := c.argv
			if tc.rt == pb.FunctionDetails_GO {
				// Deliberate difference: we enable the Go instance's health-check
				// watchdog (see goInstanceConf); Java leaves it 0.
				for i := range want {
					want[i] = strings.Replace(want[i], `"expectedHealthCheckInterval":0,`,
						fmt.Sprintf(`"expectedHealthCheckInterval":%d,`, int(o.HealthCheckInterval/time.Second)), 1)
				}
			}
			// The Java worker runs "java"/"python3" from PATH; ours are configurable.
			if tc.rt != pb.FunctionDetails_GO {
				got = append([]string{filepath.Base(got[0])}, got[1:]...)
			}
			if len(got) != len(want) {
				t.Fatalf("%d arguments, Java has %d:\n ours %q\n java %q", len(got), len(want), got, want)
			}
			for i := range want {
				if got[i] == want[i] {
					continue
				}
				g, w := strings.Trim(got[i], "'"), strings.Trim(want[i], "'")
				if jsonEqual(t, g, w) && (got[i] != g) == (want[i] != w) {
					continue
				}
				t.Errorf("argument %d:\n ours %s\n java %s", i, got[i], want[i])
			}
		})
	}
}

// jsonEqual compares JSON texts by value; string values that hold JSON (the Go
// config's functionDetails and input specs) are compared as JSON too.
func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	return reflect.DeepEqual(normalizeJSON(va), normalizeJSON(vb))
}

func normalizeJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeJSON(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeJSON(e)
		}
	case string:
		var inner any
		if (strings.HasPrefix(x, "{") || strings.HasPrefix(x, "[")) && json.Unmarshal([]byte(x), &inner) == nil {
			return normalizeJSON(inner)
		}
	}
	return v
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSplitRuntimeFlags(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"-Xms1g", []string{"-Xms1g"}},
		{"-Xms1g -Xmx2g", []string{"-Xms1g", "-Xmx2g"}},
		{`-Dname="a b c" -X`, []string{`-Dname="a b c"`, "-X"}},
		{"a  b\tc\nd", []string{"a", "b", "c", "d"}}, // Java would keep an empty token between the two spaces
		{" lead trail ", []string{"lead", "trail"}},
		{`"unterminated quote x`, []string{`"unterminated`, "quote", "x"}}, // odd quotes: Java's lookahead splits everywhere
	} {
		if got := splitRuntimeFlags(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitRuntimeFlags(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFunctionDetailsJSONDropsFieldsUnknownToJava408(t *testing.T) {
	d := goldenDetails(pb.FunctionDetails_JAVA)
	d.Source.InputSpecs["persistent://public/default/in"].MessagePayloadProcessorSpec = &pb.MessagePayloadProcessorSpec{ClassName: "x"}
	d.Sink.ProducerSpec = &pb.ProducerSpec{MaxPendingMessages: 5, BatchingSpec: &pb.BatchingSpec{Enabled: true}}
	s, err := functionDetailsJSON(d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s, "messagePayloadProcessorSpec") || strings.Contains(s, "batchingSpec") || !strings.Contains(s, `"maxPendingMessages":5`) {
		t.Errorf("got %s", s)
	}
	if d.Sink.ProducerSpec.BatchingSpec == nil {
		t.Error("the caller's FunctionDetails was modified")
	}
}

func TestUnitName(t *testing.T) {
	d := &pb.FunctionDetails{Tenant: "public", Namespace: "default", Name: "my-fn.v2"}
	if got, want := unitName(d, 3), `pulsar-fn-public-default-my\x2dfn.v2-3`; got != want {
		t.Errorf("unitName = %s, want %s", got, want)
	}
}
