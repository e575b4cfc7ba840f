package config

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const (
	shippedFile = "../../etc/pulsar/functions_worker.yml"
	pulsarFile  = "testdata/pulsar-4.0.8-functions_worker.yml"
)

// baseLines is a minimal valid config; doc appends the lines whose keys a test's
// snippet does not set, after the snippet, so snippet line numbers stay as written.
var baseLines = []string{
	"workerId: w1",
	"workerHostname: host1",
	"workerPort: 6750",
	"pulsarServiceUrl: pulsar://localhost:6650",
	"pulsarWebServiceUrl: http://localhost:8080",
	"pulsarFunctionsNamespace: public/functions",
	"pulsarFunctionsCluster: standalone",
	"functionMetadataTopicName: metadata",
	"clusterCoordinationTopicName: coordinate",
	"functionAssignmentTopicName: assignments",
	"schedulerClassName: " + RoundRobinSchedulerClass,
	"downloadDirectory: download",
	"failureCheckFreqMs: 30000",
	"rescheduleTimeoutMs: 60000",
	"instanceLivenessCheckFreqMs: 30000",
	"functionRuntimeFactoryClassName: " + ProcessRuntimeFactoryClass,
}

var topKey = regexp.MustCompile(`(?m)^([A-Za-z0-9_]+):`)

func doc(snippet string) []byte {
	set := map[string]bool{}
	for _, m := range topKey.FindAllStringSubmatch(snippet, -1) {
		set[m[1]] = true
	}
	var b strings.Builder
	b.WriteString(snippet)
	if snippet != "" && !strings.HasSuffix(snippet, "\n") {
		b.WriteByte('\n')
	}
	for _, l := range baseLines {
		if k, _, _ := strings.Cut(l, ":"); !set[k] {
			b.WriteString(l + "\n")
		}
	}
	return []byte(b.String())
}

func load(t *testing.T, snippet string, env ...string) (*Config, Problems) {
	t.Helper()
	c, ps, err := LoadBytes("test.yml", doc(snippet), env)
	if err != nil {
		t.Fatalf("LoadBytes: %v", err)
	}
	return c, ps
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestShippedFileLoadsWithoutProblems(t *testing.T) {
	c, ps, err := LoadBytes(shippedFile, mustRead(t, shippedFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		t.Errorf("problem: %s", p)
	}
	if got, want := c.WorkerInfoString(), "standalone:localhost:6750"; got != want {
		t.Errorf("WorkerInfoString = %q, want %q", got, want)
	}
	if c.WorkerPortTls == nil || *c.WorkerPortTls != 6751 || c.TlsEnabled || c.TLSEnabled() {
		t.Errorf("TLS: workerPortTls=%v tlsEnabled=%v", c.WorkerPortTls, c.TlsEnabled)
	}
	checks := map[string][2]string{
		"pulsarServiceUrl":       {c.PulsarServiceUrl, "pulsar://localhost:6650"},
		"pulsarWebServiceUrl":    {c.PulsarWebServiceUrl, "http://localhost:8080"},
		"pulsarFunctionsCluster": {c.PulsarFunctionsCluster, "standalone"},
		"downloadDirectory":      {c.DownloadDirectory, "download/pulsar_functions"},
		"logLevel":               {c.LogLevel, "info"},
		"MetadataTopic":          {c.MetadataTopic(), "persistent://public/functions/metadata"},
	}
	for k, v := range checks {
		if v[0] != v[1] {
			t.Errorf("%s = %q, want %q", k, v[0], v[1])
		}
	}
	if pr, ok := c.ProcessRuntime(); !ok || pr.LogDirectory != "logs/" {
		t.Errorf("ProcessRuntime() = %+v, %v", pr, ok)
	}
}

// The real 4.0.8 file must load cleanly: this is what proves we know every key in use.
func TestPulsarDefaultFileLoads(t *testing.T) {
	c, ps, err := LoadBytes(pulsarFile, mustRead(t, pulsarFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Severity == Error || strings.Contains(p.Message, "unknown key") {
			t.Errorf("problem: %s", p)
		}
	}
	if c.TlsProvider != "Conscrypt" || c.ZooKeeperSessionTimeoutMillis != -1 || c.AuthenticationProviders != nil {
		t.Errorf("unexpected values: tlsProvider=%q zk=%d providers=%v", c.TlsProvider, c.ZooKeeperSessionTimeoutMillis, c.AuthenticationProviders)
	}
}

// fileKeys returns the top-level keys of a yml file: set, and commented out ("#key:" or
// "# key:" at the start of a line; indented ones belong to commented blocks).
func fileKeys(t *testing.T, path string) (active, commented map[string]bool) {
	t.Helper()
	data := mustRead(t, path)
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	active, commented = map[string]bool{}, map[string]bool{}
	for k := range m {
		active[k] = true
	}
	re := regexp.MustCompile(`^# ?([a-z][A-Za-z0-9]*):(\s|$)`)
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		if g := re.FindStringSubmatch(sc.Text()); g != nil {
			commented[g[1]] = true
		}
	}
	return active, commented
}

func knownTopKeys() map[string]bool {
	out := map[string]bool{}
	for _, k := range keysOf(reflect.TypeFor[Config]()) {
		out[k] = true
	}
	return out
}

func TestEveryKeyOfPulsarFileIsKnown(t *testing.T) {
	active, commented := fileKeys(t, pulsarFile)
	if len(active) < 60 || len(commented) < 15 {
		t.Fatalf("key extraction looks broken: %d active, %d commented", len(active), len(commented))
	}
	known := knownTopKeys()
	for k := range active {
		if !known[k] {
			t.Errorf("active key %q is not a Config field", k)
		}
	}
	for k := range commented {
		if !known[k] && misplaced[k] == "" {
			t.Errorf("commented key %q is neither a Config field nor a known misplaced key", k)
		}
	}
}

func TestShippedFileHasPulsarKeys(t *testing.T) {
	pActive, pCommented := fileKeys(t, pulsarFile)
	sActive, sCommented := fileKeys(t, shippedFile)
	ours := map[string]bool{"addFunctionsClusterToNamespace": true, "logLevel": true, "maxPackageSizeBytes": true, "maxParallelism": true}
	for k := range pActive {
		if !sActive[k] {
			t.Errorf("key %q is set in Pulsar's file but not in ours", k)
		}
	}
	for k := range sActive {
		if !pActive[k] && !ours[k] {
			t.Errorf("key %q is set in our file but not in Pulsar's", k)
		}
	}
	for k := range ours {
		if !sActive[k] {
			t.Errorf("our own key %q is missing from the shipped file", k)
		}
	}
	for k := range pCommented {
		if misplaced[k] != "" {
			continue // documented in the shipped file, under the runtime it belongs to
		}
		if !sCommented[k] {
			t.Errorf("key %q is commented out in Pulsar's file but not in ours", k)
		}
	}
}

// Nested keys of commented-out blocks (thread and Kubernetes runtimes, resources,
// runtime customizer) must survive in our file too, at any depth.
func TestShippedFileKeepsCommentedNestedKeys(t *testing.T) {
	re := regexp.MustCompile(`(?m)^#\s*([a-z][A-Za-z0-9]*):(\s|$)`)
	keys := func(path string) map[string]bool {
		out := map[string]bool{}
		for _, m := range re.FindAllStringSubmatch(string(mustRead(t, path)), -1) {
			out[m[1]] = true
		}
		return out
	}
	ours := keys(shippedFile)
	for k := range keys(pulsarFile) {
		if !ours[k] {
			t.Errorf("commented key %q of Pulsar's file is missing from ours", k)
		}
	}
}

// javaFields reads a testdata/*-fields.tsv dump of a Java class.
func javaFields(t *testing.T, name string) [][3]string {
	t.Helper()
	var out [][3]string
	for line := range strings.SplitSeq(string(mustRead(t, "testdata/"+name)), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, "\t", 3)
		if len(f) != 3 {
			t.Fatalf("%s: bad line %q", name, line)
		}
		out = append(out, [3]string{f[0], f[1], f[2]})
	}
	return out
}

// goKind is the Go field type we map each Java type to.
func goKind(t *testing.T, javaType string, javaDefault string) string {
	t.Helper()
	switch javaType {
	case "java.lang.String":
		return "string"
	case "java.lang.Integer":
		return "*int"
	case "int":
		return "int"
	case "long":
		return "int64"
	case "java.lang.Long":
		return "*int64"
	case "double":
		return "float64"
	case "java.lang.Double":
		return "*float64"
	case "boolean":
		return "bool"
	case "java.lang.Boolean":
		if javaDefault == "null" {
			return "*bool" // null carries meaning (falls back to another key)
		}
		return "bool"
	case "java.util.List<java.lang.String>", "java.util.Set<java.lang.String>":
		return "[]string"
	case "java.util.Map<java.lang.String, java.lang.String>", "java.util.Properties":
		return "map[string]string"
	case "java.util.Map<java.lang.String, java.lang.Object>":
		return "map[string]interface {}"
	}
	return "*struct"
}

// javaString renders a Go value the way the dump printed the Java one.
func javaString(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return "null"
		}
		return javaString(v.Elem())
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'f', 1, 64)
	case reflect.Slice:
		if v.Len() == 0 {
			return "[]"
		}
	case reflect.Map:
		if v.Len() == 0 {
			return "{}"
		}
	}
	return fmt.Sprint(v.Interface())
}

// sameDefault treats Java's null, "" and empty collections as Go's zero values.
func sameDefault(java, goVal string) bool {
	empty := func(s string) bool { return s == "" || s == "null" || s == "[]" || s == "{}" }
	return java == goVal || empty(java) && empty(goVal)
}

// checkAgainstJava compares a Go struct with a Java class dump: same keys, matching
// types, same defaults (as Default or applyDefaults set them).
func checkAgainstJava(t *testing.T, dump string, v reflect.Value, renamed map[string]string) {
	t.Helper()
	typ := v.Type()
	idx := fieldIndex(typ)
	seen := map[string]bool{}
	for _, f := range javaFields(t, dump) {
		name, jt, jdef := f[0], f[1], f[2]
		seen[name] = true
		i, ok := idx[name]
		if !ok {
			t.Errorf("%s: Java field %q has no Go field", dump, name)
			continue
		}
		sf := typ.Field(i)
		wantName := strings.ToUpper(name[:1]) + name[1:]
		if r, ok := renamed[name]; ok {
			wantName = r
		}
		if sf.Name != wantName {
			t.Errorf("%s: field for %q is %s, want %s", dump, name, sf.Name, wantName)
		}
		want := goKind(t, jt, jdef)
		got := sf.Type.String()
		if want == "*struct" {
			if sf.Type.Kind() != reflect.Pointer || sf.Type.Elem().Kind() != reflect.Struct {
				t.Errorf("%s: %q is %s, want a pointer to a struct for %s", dump, name, got, jt)
			}
		} else if got != want {
			t.Errorf("%s: %q is %s, want %s for %s", dump, name, got, want, jt)
		}
		if name == "narExtractionDirectory" {
			jdef = os.TempDir() // java.io.tmpdir where the dump was taken
		}
		if g := javaString(v.Field(i)); !sameDefault(jdef, g) {
			t.Errorf("%s: default of %q is %s, Java's is %s", dump, name, g, jdef)
		}
	}
	for name := range idx {
		if !seen[name] && name != "addFunctionsClusterToNamespace" && name != "logLevel" && name != "maxPackageSizeBytes" && name != "maxParallelism" {
			t.Errorf("%s: Go field %q is not in the Java class", dump, name)
		}
	}
}

func TestSchemaMatchesJava(t *testing.T) {
	checkAgainstJava(t, "workerconfig-4.0.8-fields.tsv", reflect.ValueOf(Default()).Elem(),
		map[string]string{"brokerClientTrustCertsFilePath": "BrokerClientTrustCertsFilePathRaw"})
	checkAgainstJava(t, "process-4.0.8-fields.tsv", reflect.ValueOf(ProcessRuntimeFactoryConfig{}), nil)
	checkAgainstJava(t, "thread-4.0.8-fields.tsv", reflect.ValueOf(ThreadRuntimeFactoryConfig{}), nil)
	checkAgainstJava(t, "memorylimit-4.0.8-fields.tsv", reflect.ValueOf(MemoryLimit{}), nil)
	k := &KubernetesRuntimeFactoryConfig{}
	k.applyDefaults()
	checkAgainstJava(t, "kubernetes-4.0.8-fields.tsv", reflect.ValueOf(k).Elem(), nil)
	r := &Resources{}
	r.applyDefaults()
	checkAgainstJava(t, "resources-4.0.8-fields.tsv", reflect.ValueOf(r).Elem(), nil)
}

func TestOwnKeyDefaults(t *testing.T) {
	d := Default()
	if d.AddFunctionsClusterToNamespace || d.LogLevel != "info" || d.MaxParallelism != 1000 {
		t.Errorf("own defaults: addFunctionsClusterToNamespace=%v logLevel=%q maxParallelism=%d", d.AddFunctionsClusterToNamespace, d.LogLevel, d.MaxParallelism)
	}
}

func TestRuntimeBlocksOfPulsarFileAreKnown(t *testing.T) {
	for _, f := range []string{"testdata/thread-runtime.yml", "testdata/kubernetes-runtime.yml"} {
		t.Run(f, func(t *testing.T) {
			c, ps := load(t, string(mustRead(t, f)))
			// Every key is known; the one problem is that the runtime is not ours
			// (TestRuntimeChoice).
			for _, p := range ps {
				if p.Key != "functionRuntimeFactoryClassName" {
					t.Errorf("problem: %s", p)
				}
			}
			if c.FunctionInstanceMinResources != nil && *c.FunctionInstanceMinResources.Cpu != 1 {
				t.Errorf("min cpu = %v", *c.FunctionInstanceMinResources.Cpu)
			}
		})
	}
}

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		snippet string
		want    Problem
	}{
		{"workerPrt: 6750\n", Problem{File: "test.yml", Line: 1, Key: "workerPrt", Severity: Warning,
			Message: `unknown key "workerPrt"; did you mean "workerPort"?`}},
		{"\n\nWORKERPORTTLS: 1\n", Problem{File: "test.yml", Line: 3, Key: "WORKERPORTTLS", Severity: Warning,
			Message: `unknown key "WORKERPORTTLS"; did you mean "workerPortTls"?`}},
		{"superUserRole: [a]\n", Problem{File: "test.yml", Line: 1, Key: "superUserRole", Severity: Warning,
			Message: `unknown key "superUserRole"; did you mean "superUserRoles"?`}},
		{"frobnicate: true\n", Problem{File: "test.yml", Line: 1, Key: "frobnicate", Severity: Warning,
			Message: `unknown key "frobnicate"`}},
		{"functionRuntimeFactoryConfigs:\n  logDirectroy: /x\n", Problem{File: "test.yml", Line: 2,
			Key: "functionRuntimeFactoryConfigs.logDirectroy", Severity: Warning,
			Message: `unknown key "functionRuntimeFactoryConfigs.logDirectroy"; did you mean "functionRuntimeFactoryConfigs.logDirectory"?`}},
		{"functionInstanceMinResources:\n  cpu: 1\n  rma: 5\n", Problem{File: "test.yml", Line: 3,
			Key: "functionInstanceMinResources.rma", Severity: Warning,
			Message: `unknown key "functionInstanceMinResources.rma"; did you mean "functionInstanceMinResources.ram"?`}},
		{"configAdminCLI: /bin/pulsarctl\n", Problem{File: "test.yml", Line: 1, Key: "configAdminCLI", Severity: Warning,
			Message: `"configAdminCLI" has no effect at the top level (Java ignores it too); the Kubernetes runtime reads functionRuntimeFactoryConfigs.configAdminCLI`}},
	}
	for _, tt := range tests {
		t.Run(tt.want.Key, func(t *testing.T) {
			_, ps := load(t, tt.snippet)
			if len(ps) != 1 || ps[0] != tt.want {
				t.Errorf("problems = %q\nwant      %q", ps, tt.want)
			}
		})
	}
}

func TestWrongTypesAndRanges(t *testing.T) {
	tests := []struct {
		name    string
		snippet string
		line    int
		key     string
		msg     string
	}{
		{"string for int", "# c\nworkerPort: abc\n", 2, "workerPort", `expected an integer, got string "abc"`},
		{"list for int", "numHttpServerThreads: [1]\n", 1, "numHttpServerThreads", "expected an integer, got a list"},
		{"fraction for int", "numHttpServerThreads: 8.5\n", 1, "numHttpServerThreads", "expected a whole number, got 8.5"},
		{"int32 overflow", "numHttpServerThreads: 99999999999\n", 1, "numHttpServerThreads", "99999999999 is out of range for a 32-bit integer"},
		{"word for bool", "tlsEnabled: yes\n", 1, "tlsEnabled", `expected true or false, got string "yes"`},
		{"map for string", "workerId:\n  a: b\n", 1, "workerId", "expected a string, got a mapping"},
		{"scalar for list", "superUserRoles: admin,ops\n", 1, "superUserRoles", `expected a list such as [a, b], got string "admin,ops"`},
		{"map in list", "proxyRoles:\n  - ok\n  - {a: b}\n", 3, "proxyRoles[1]", "expected a string, got a mapping"},
		{"list for map", "properties: [a]\n", 1, "properties", "expected a mapping of keys, got a list"},
		{"nested value in string map", "properties:\n  a: 1\n  b: [x]\n", 3, "properties.b", "expected a string, got a list"},
		{"scalar for object", "functionInstanceMinResources: 5\n", 1, "functionInstanceMinResources", "expected a mapping of keys, got number 5"},
		{"nested wrong type", "functionInstanceMaxResources:\n  cpu: lots\n", 2, "functionInstanceMaxResources.cpu", `expected a number, got string "lots"`},
		{"negative maxParallelism", "maxParallelism: -1\n", 1, "maxParallelism", "must not be negative (0 means no limit), got -1"},
		{"runtime config type", "functionRuntimeFactoryConfigs:\n  logDirectory: [a, b]\n", 2, "functionRuntimeFactoryConfigs.logDirectory", "expected a string, got a list"},
		{"port too big", "workerPort: 70000\n", 1, "workerPort", "port 70000 is out of range 1..65535 (use null to turn it off)"},
		{"port zero", "workerPortTls: 0\n", 1, "workerPortTls", "port 0 is out of range 1..65535 (use null to turn it off)"},
		{"log level", "logLevel: verbose\n", 1, "logLevel", `must be one of debug, info, warn, error; got "verbose"`},
		{"failure check", "failureCheckFreqMs: 0\n", 1, "failureCheckFreqMs", "must be above 0 (the leader's dead-worker check runs at this period), got 0"},
		{"threads", "numHttpServerThreads: 0\n", 1, "numHttpServerThreads", "must be at least 1, got 0"},
		{"rate limit", "httpRequestsLimitEnabled: true\nhttpRequestsMaxPerSecond: 0\n", 2, "httpRequestsMaxPerSecond", "must be above 0 when httpRequestsLimitEnabled is true, got 0"},
		{"colon in id", "workerId: a:b\n", 1, "workerId", `must not contain ':' (other workers split "id:host:port" on it)`},
		{"ipv6 hostname", "workerHostname: \"::1\"\n", 1, "workerHostname", `must not contain ':' (other workers split "id:host:port" on it; use a name, not an IPv6 address)`},
		{"namespace", "pulsarFunctionsNamespace: functions\n", 1, "pulsarFunctionsNamespace", `must be <tenant>/<namespace>, got "functions"`},
		{"service url", "pulsarServiceUrl: localhost:6650\n", 1, "pulsarServiceUrl", `must start with pulsar:// or pulsar+ssl:// or http:// or https://, got "localhost:6650"`},
		{"regexp", "additionalEnabledFunctionsUrlPatterns:\n  - 'https://ok/.*'\n  - '(?<=x)'\n", 3, "additionalEnabledFunctionsUrlPatterns[1]", "not a regular expression Go can use: error parsing regexp: invalid named capture: `(?<=x)`"},
		{"missing cluster", "pulsarFunctionsCluster: \"\"\n", 1, "pulsarFunctionsCluster", "required: the Java worker has no default (for example standalone)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ps := load(t, tt.snippet)
			want := Problem{File: "test.yml", Line: tt.line, Key: tt.key, Severity: Error, Message: tt.msg}
			if len(ps) != 1 || ps[0] != want {
				t.Errorf("problems = %q\nwant      %q", ps, want)
			}
		})
	}
}

// Jackson accepts these in the Java worker, so a file that works there works here.
func TestJavaCompatibleCoercions(t *testing.T) {
	c, ps := load(t, `workerPort: "7000"
numHttpServerThreads: 16.0
tlsEnabled: "TRUE"
workerPortTls: 7001
tlsCertificateFilePath: /c.pem
tlsKeyFilePath: /k.pem
workerId: 123
saslJaasClientAllowedIds: 1.50
superUserRoles: [1, true]
authenticateMetricsEndpoint:
webServiceLogDetailedAddresses: ""
properties:
  a: 1
  b: true
`)
	for _, p := range ps {
		t.Errorf("problem: %s", p)
	}
	switch {
	case *c.WorkerPort != 7000, c.NumHttpServerThreads != 16, !c.TlsEnabled, c.WorkerId != "123":
		t.Errorf("coercion: port=%d threads=%d tls=%v id=%q", *c.WorkerPort, c.NumHttpServerThreads, c.TlsEnabled, c.WorkerId)
	case c.SaslJaasClientAllowedIds != "1.50":
		t.Errorf("scalar text not kept: %q", c.SaslJaasClientAllowedIds)
	case !slices.Equal(c.SuperUserRoles, []string{"1", "true"}):
		t.Errorf("superUserRoles = %q", c.SuperUserRoles)
	case c.AuthenticateMetricsEndpoint:
		t.Errorf("null should set a primitive to its zero value, as Jackson does")
	case c.WebServiceLogDetailedAddresses != nil:
		t.Errorf("empty string should be null for a nullable boolean")
	case c.Properties["a"] != "1" || c.Properties["b"] != "true":
		t.Errorf("properties = %v", c.Properties)
	}
}

func TestNullDisablesPlainHTTP(t *testing.T) {
	c, ps := load(t, "workerPort: null\nworkerPortTls: 6751\ntlsEnabled: true\ntlsCertificateFilePath: /c\ntlsKeyFilePath: /k\n")
	if len(ps) != 0 || c.WorkerPort != nil || c.AdvertisedPort() != 6751 {
		t.Errorf("problems=%q workerPort=%v advertised=%d", ps, c.WorkerPort, c.AdvertisedPort())
	}
}

func TestCrossKeyRules(t *testing.T) {
	tests := []struct {
		name    string
		snippet string
		want    []string
	}{
		{"no listener", "workerPort:\nworkerPortTls:\n",
			[]string{"test.yml:1: workerPort: no listener: workerPort is null and HTTPS is off (HTTPS needs tlsEnabled: true and workerPortTls)"}},
		{"tls port without tlsEnabled is no listener", "workerPort: null\nworkerPortTls: 6751\n",
			[]string{"test.yml:1: workerPort: no listener: workerPort is null and HTTPS is off (HTTPS needs tlsEnabled: true and workerPortTls)"}},
		{"tls without files", "tlsEnabled: true\nworkerPortTls: 6751\n", []string{
			"test.yml: tlsCertificateFilePath: required when tlsEnabled is true and workerPortTls is set",
			"test.yml: tlsKeyFilePath: required when tlsEnabled is true and workerPortTls is set"}},
		{"tls with key store", "tlsEnabled: true\nworkerPortTls: 6751\ntlsEnabledWithKeyStore: true\n", []string{
			"test.yml: tlsKeyStore: required when tlsEnabled is true and workerPortTls is set (tlsEnabledWithKeyStore is true)"}},
		{"tlsEnabled without port", "tlsEnabled: true\n", []string{
			"test.yml:1: tlsEnabled: has no effect while workerPortTls is null"}},
		{"no runtime", "functionRuntimeFactoryClassName: \"\"\n", []string{
			"test.yml:1: functionRuntimeFactoryClassName: required: the Java worker has no default (for example " + ProcessRuntimeFactoryClass + ")"}},
		{"deprecated factory selects runtime", "functionRuntimeFactoryClassName: \"\"\nprocessContainerFactory:\n  logDirectory: /x\n", nil},
		{"factory shadowed", "processContainerFactory:\n  logDirectory: /x\n", []string{
			"test.yml:1: processContainerFactory: ignored: functionRuntimeFactoryClassName is set and takes precedence"}},
		{"liveness off", "instanceLivenessCheckFreqMs: 0\n", []string{
			"test.yml:1: instanceLivenessCheckFreqMs: is 0: instance health checks are off, so instances that die are not restarted"}},
		{"one typo is one error", "workerPort: abc\n", []string{
			`test.yml:1: workerPort: expected an integer, got string "abc"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ps := load(t, tt.snippet)
			var got []string
			for _, p := range ps {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestAllProblemsReported(t *testing.T) {
	_, ps := load(t, `workerPrt: 1
workerPort: abc
numHttpServerThreads: many
superUserRoles: admin
logLevel: loud
functionInstanceMinResources:
  cpu: x
  ram: y
`, "PF_workerPortTls=zero", "PF_tlsEnabeld=true")
	want := []string{
		`test.yml:1: workerPrt: unknown key "workerPrt"; did you mean "workerPort"?`,
		`test.yml:2: workerPort: expected an integer, got string "abc"`,
		`test.yml:3: numHttpServerThreads: expected an integer, got string "many"`,
		`test.yml:4: superUserRoles: expected a list such as [a, b], got string "admin"`,
		`test.yml:5: logLevel: must be one of debug, info, warn, error; got "loud"`,
		`test.yml:7: functionInstanceMinResources.cpu: expected a number, got string "x"`,
		`test.yml:8: functionInstanceMinResources.ram: expected an integer, got string "y"`,
		`environment: PF_tlsEnabeld: unknown key "PF_tlsEnabeld"; did you mean "PF_tlsEnabled"?`,
		`environment: PF_workerPortTls: expected an integer, got string "zero"`,
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !ps.HasErrors() || len(ps.Errors()) != 7 || len(ps.Warnings()) != 2 {
		t.Errorf("HasErrors=%v errors=%d warnings=%d", ps.HasErrors(), len(ps.Errors()), len(ps.Warnings()))
	}
	if err := ps.Err(); err == nil || !strings.Contains(err.Error(), "test.yml:2: workerPort") {
		t.Errorf("Err() = %v", err)
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	c, ps := load(t, "functionRuntimeFactoryConfigs:\n  logDirectory: logs/\n  javaInstanceJarLocation: /j.jar\nproperties:\n  keep: me\n",
		"HOME=/root",
		"PF_workerId=w2",
		"PF_workerPort=7000",
		"PF_workerPortTls=",
		"PF_exposeAdminClientEnabled=true",
		"PF_superUserRoles=admin, ops",
		"PF_proxyRoles=[proxy, 'a,b']",
		"PF_functionRuntimeFactoryConfigs_logDirectory=/var/log/pf",
		"PF_properties_brokerClient_tlsTrustCertsFilePath=/ca.pem",
		"PF_functionInstanceMinResources_cpu=2",
		"PF_pulsarServiceUrl=pulsar+ssl://b:6651",
		"PF_saslJaasClientAllowedIds=#not a comment",
		"PF_secretsProviderConfiguratorConfig={a: 1}",
	)
	for _, p := range ps {
		t.Errorf("problem: %s", p)
	}
	pr, _ := c.ProcessRuntime()
	checks := []struct {
		name      string
		got, want any
	}{
		{"workerId", c.WorkerId, "w2"},
		{"workerPort", *c.WorkerPort, 7000},
		{"workerPortTls", c.WorkerPortTls == nil, true},
		{"exposeAdminClientEnabled", c.ExposeAdminClientEnabled, true},
		{"superUserRoles", strings.Join(c.SuperUserRoles, "|"), "admin|ops"},
		{"proxyRoles", strings.Join(c.ProxyRoles, "|"), "proxy|a,b"},
		{"logDirectory", pr.LogDirectory, "/var/log/pf"},
		{"javaInstanceJarLocation kept from file", pr.JavaInstanceJarLocation, "/j.jar"},
		{"properties", fmt.Sprint(c.Properties), "map[brokerClient_tlsTrustCertsFilePath:/ca.pem keep:me]"},
		{"min cpu", *c.FunctionInstanceMinResources.Cpu, 2.0},
		{"min ram default", *c.FunctionInstanceMinResources.Ram, int64(1 << 30)},
		{"pulsarServiceUrl", c.PulsarServiceUrl, "pulsar+ssl://b:6651"},
		{"string verbatim", c.SaslJaasClientAllowedIds, "#not a comment"},
		{"string map", fmt.Sprint(c.SecretsProviderConfiguratorConfig), "map[a:1]"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestEnvironmentProblems(t *testing.T) {
	tests := []struct {
		env  string
		want Problem
	}{
		{"PF_workerPort=abc", Problem{File: EnvironmentFile, Key: "PF_workerPort", Severity: Error,
			Message: `expected an integer, got string "abc"`}},
		{"PF_workerPort=99999", Problem{File: EnvironmentFile, Key: "PF_workerPort", Severity: Error,
			Message: "port 99999 is out of range 1..65535 (use null to turn it off)"}},
		{"PF_workerPrt=1", Problem{File: EnvironmentFile, Key: "PF_workerPrt", Severity: Warning,
			Message: `unknown key "PF_workerPrt"; did you mean "PF_workerPort"?`}},
		{"PF_functionInstanceMinResources_rma=1", Problem{File: EnvironmentFile, Key: "PF_functionInstanceMinResources_rma", Severity: Warning,
			Message: `unknown key "PF_functionInstanceMinResources_rma"; did you mean "PF_functionInstanceMinResources_ram"?`}},
		{"PF_functionRuntimeFactoryConfigs_logDirectroy=x", Problem{File: EnvironmentFile, Key: "PF_functionRuntimeFactoryConfigs_logDirectroy", Severity: Warning,
			Message: `unknown key "PF_functionRuntimeFactoryConfigs_logDirectroy"; did you mean "PF_functionRuntimeFactoryConfigs_logDirectory"?`}},
		{"PF_workerPort_x=1", Problem{File: EnvironmentFile, Key: "PF_workerPort_x", Severity: Warning,
			Message: `unknown key "PF_workerPort_x": workerPort takes no sub-keys`}},
		{"PF_tlsEnabled=[", Problem{File: EnvironmentFile, Key: "PF_tlsEnabled", Severity: Error,
			Message: "cannot parse value: did not find expected node content"}},
		{"PF_containerFactory=k8s", Problem{File: EnvironmentFile, Key: "PF_containerFactory", Severity: Warning,
			Message: "only the Docker images' gen-yml-from-env.py uses it (to pick a container factory); ignored"}},
		{"PF_logLevel=trace", Problem{File: EnvironmentFile, Key: "PF_logLevel", Severity: Error,
			Message: `must be one of debug, info, warn, error; got "trace"`}},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			_, ps := load(t, "", tt.env)
			if len(ps) != 1 || ps[0] != tt.want {
				t.Errorf("problems = %q\nwant      %q", ps, tt.want)
			}
		})
	}
}

// A file key next to an environment-set key keeps its own line.
func TestEnvironmentAttributionIsPerKey(t *testing.T) {
	_, ps := load(t, "functionInstanceMinResources:\n  cpu: 1\n  ram: lots\n", "PF_functionInstanceMinResources_cpu=2")
	want := Problem{File: "test.yml", Line: 3, Key: "functionInstanceMinResources.ram", Severity: Error,
		Message: `expected an integer, got string "lots"`}
	if len(ps) != 1 || ps[0] != want {
		t.Errorf("problems = %q\nwant      %q", ps, want)
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		data string
		want string
	}{
		{"workerId: a\n  bad: [\n", "bad.yml:2: "},
		{"a: 1\na: 2\n", `bad.yml:2: mapping key "a" already defined at line 1`},
		{"- a\n- b\n", "bad.yml:1: expected a mapping of keys at the top level, got a list"},
		{"just text\n", `bad.yml:1: expected a mapping of keys at the top level, got scalar "just text"`},
		{"\tworkerId: x\n", "bad.yml:1: "},
	}
	for _, tt := range tests {
		_, _, err := LoadBytes("bad.yml", []byte(tt.data), nil)
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("LoadBytes(%q) error = %v, want prefix %q", tt.data, err, tt.want)
		}
	}
}

func TestEmptyFileGivesDefaults(t *testing.T) {
	for _, data := range []string{"", "# only comments\n", "~\n"} {
		c, ps, err := LoadBytes("empty.yml", []byte(data), nil)
		if err != nil || c == nil || !ps.HasErrors() {
			t.Errorf("LoadBytes(%q) = %v, %d problems, %v; want defaults with missing-key errors", data, c != nil, len(ps), err)
		}
	}
}

func TestLoadFromDisk(t *testing.T) {
	t.Setenv("PF_workerId", "from-env")
	c, ps, err := Load(shippedFile)
	if err != nil || ps.HasErrors() || c.WorkerId != "from-env" {
		t.Fatalf("Load: err=%v problems=%q workerId=%q", err, ps, c.WorkerId)
	}
	_, _, err = Load("testdata/does-not-exist.yml")
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "testdata/does-not-exist.yml") {
		t.Errorf("missing file error = %v", err)
	}
}

func TestDerivedGetters(t *testing.T) {
	p := func(n int) *int { return &n }
	b := func(v bool) *bool { return &v }
	tests := []struct {
		name string
		c    Config
		got  func(c *Config) any
		want any
	}{
		{"tls needs both", Config{TlsEnabled: true}, func(c *Config) any { return c.TLSEnabled() }, false},
		{"tls on", Config{TlsEnabled: true, WorkerPortTls: p(1)}, func(c *Config) any { return c.TLSEnabled() }, true},
		{"port plain", Config{WorkerPort: p(1), WorkerPortTls: p(2)}, func(c *Config) any { return c.AdvertisedPort() }, 1},
		{"port tls", Config{TlsEnabled: true, WorkerPort: p(1), WorkerPortTls: p(2)}, func(c *Config) any { return c.AdvertisedPort() }, 2},
		{"id set", Config{WorkerId: "w", WorkerHostname: "h"}, func(c *Config) any { return c.EffectiveWorkerId() }, "w"},
		{"id derived from workerPort", Config{WorkerId: " ", WorkerHostname: "h", WorkerPort: p(1), WorkerPortTls: p(2), TlsEnabled: true},
			func(c *Config) any { return c.EffectiveWorkerId() }, "h-1"},
		{"id derived from tls port", Config{WorkerHostname: "h", WorkerPortTls: p(2)}, func(c *Config) any { return c.EffectiveWorkerId() }, "h-2"},
		{"worker info", Config{WorkerId: "w", WorkerHostname: "h", WorkerPort: p(6750), WorkerPortTls: p(6751), TlsEnabled: true},
			func(c *Config) any { return c.WorkerInfoString() }, "w:h:6751"},
		{"hostname resolved", Config{}, func(c *Config) any { return c.EffectiveHostname() == localHostname() && c.EffectiveHostname() != "" }, true},
		{"web address", Config{WorkerHostname: "h", WorkerPort: p(1)}, func(c *Config) any { return c.WorkerWebAddress() }, "http://h:1"},
		{"web address tls", Config{WorkerHostname: "h", WorkerPortTls: p(2)}, func(c *Config) any { return c.WorkerWebAddressTLS() }, "https://h:2"},
		{"auth from broker keys", Config{BrokerClientAuthenticationPlugin: "P", BrokerClientAuthenticationParameters: "x", ClientAuthenticationPlugin: "old"},
			func(c *Config) any { a, b := c.BrokerClientAuth(); return a + "," + b }, "P,x"},
		{"auth falls back", Config{ClientAuthenticationPlugin: "old", ClientAuthenticationParameters: "y"},
			func(c *Config) any { a, b := c.BrokerClientAuth(); return a + "," + b }, "old,y"},
		{"auth enabled follows authenticationEnabled", Config{AuthenticationEnabled: true}, func(c *Config) any { return c.BrokerClientAuthEnabled() }, true},
		{"auth enabled explicit", Config{AuthenticationEnabled: true, BrokerClientAuthenticationEnabled: b(false)},
			func(c *Config) any { return c.BrokerClientAuthEnabled() }, false},
		{"trust certs fallback", Config{TlsTrustCertsFilePath: "/t"}, func(c *Config) any { return c.BrokerClientTrustCertsFilePath() }, "/t"},
		{"trust certs own", Config{TlsTrustCertsFilePath: "/t", BrokerClientTrustCertsFilePathRaw: "/b"},
			func(c *Config) any { return c.BrokerClientTrustCertsFilePath() }, "/b"},
		{"topics", Config{PulsarFunctionsNamespace: "t/n", FunctionMetadataTopicName: "m", FunctionAssignmentTopicName: "a", ClusterCoordinationTopicName: "c"},
			func(c *Config) any {
				return c.MetadataTopic() + " " + c.AssignmentTopic() + " " + c.CoordinationTopic()
			},
			"persistent://t/n/m persistent://t/n/a persistent://t/n/c"},
		{"metadata store fallback", Config{ConfigurationStoreServers: "zk:1"}, func(c *Config) any { return c.ConfigurationMetadataStore() }, "zk:1"},
		{"slog level", Config{LogLevel: "warn"}, func(c *Config) any { return c.SlogLevel().String() }, "WARN"},
		{"runtime from deprecated factory", Config{KubernetesContainerFactory: &KubernetesRuntimeFactoryConfig{}},
			func(c *Config) any { return c.RuntimeFactoryClassName() }, KubernetesRuntimeFactoryClass},
		{"process runtime from deprecated factory", Config{ProcessContainerFactory: &ProcessRuntimeFactoryConfig{LogDirectory: "/l"}},
			func(c *Config) any { r, ok := c.ProcessRuntime(); return fmt.Sprintf("%s %v", r.LogDirectory, ok) }, "/l true"},
		{"no process runtime", Config{FunctionRuntimeFactoryClassName: ThreadRuntimeFactoryClass},
			func(c *Config) any { _, ok := c.ProcessRuntime(); return ok }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.got(&tt.c); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "f.yml", Line: 3, Key: "workerPort", Message: "m"}, "f.yml:3: workerPort: m"},
		{Problem{File: "f.yml", Key: "workerPort", Message: "m"}, "f.yml: workerPort: m"},
		{Problem{File: EnvironmentFile, Key: "PF_x", Message: "m"}, "environment: PF_x: m"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	known := keysOf(reflect.TypeFor[Config]())
	tests := map[string]string{
		"workerPrt":                    "workerPort",
		"workerport":                   "workerPort",
		"pulsarServiceURL":             "pulsarServiceUrl",
		"functionRuntimeFactoryConfig": "functionRuntimeFactoryConfigs",
		"rebalanceCheckFreqSecs":       "rebalanceCheckFreqSec",
		"x":                            "",
		"completelyUnknown":            "",
	}
	for in, want := range tests {
		got, ok := suggest(in, known)
		if !ok {
			got = ""
		}
		if got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzLoadBytes(f *testing.F) {
	for _, p := range []string{shippedFile, pulsarFile, "testdata/kubernetes-runtime.yml", "testdata/thread-runtime.yml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "PF_workerPort=1")
	}
	f.Add([]byte("a: &x [*x]\n"), "PF_properties_a_b=c")
	f.Add([]byte("workerPort: [1, {a: b}]\nproperties: {1: 2}\n"), "PF_functionRuntimeFactoryConfigs_pulsarClientMemoryLimit_absoluteValue=x")
	f.Add([]byte("functionRuntimeFactoryConfigs: 5\nfunctionInstanceMinResources: {cpu: .nan}\n"), "PF_functionRuntimeFactoryConfigs={a: [1]}")
	f.Add([]byte("? [a]\n: b\n"), "PF_=")
	f.Add([]byte("<<: {workerId: a}\nworkerPort: 0x10\n"), "PF_superUserRoles=[a")
	f.Fuzz(func(t *testing.T, data []byte, env string) {
		c, ps, err := LoadBytes("fuzz.yml", data, strings.Split(env, "\n"))
		if err != nil {
			return
		}
		if c == nil {
			t.Fatal("nil Config without error")
		}
		for _, p := range ps {
			if p.File == "" || p.Message == "" || (p.Severity != Warning && p.Severity != Error) {
				t.Fatalf("malformed problem %#v", p)
			}
		}
		// Derived getters must cope with whatever was loaded.
		_ = c.WorkerInfoString()
		_, _ = c.ProcessRuntime()
		_ = c.SlogLevel()
	})
}
