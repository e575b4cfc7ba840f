package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

// configKeys returns Config's top-level keys in field order.
func configKeys() []string {
	t := reflect.TypeFor[Config]()
	var out []string
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("koanf"); tag != "" {
			out = append(out, tag)
		}
	}
	return out
}

func TestEveryKeyIsClassified(t *testing.T) {
	keys := configKeys()
	for _, k := range keys {
		if _, ok := reloadRules[k]; !ok {
			t.Errorf("key %s is not in reloadRules: decide whether a reload can apply it (live) or not (restart)", k)
		}
	}
	for k, r := range reloadRules {
		if !slices.Contains(keys, k) {
			t.Errorf("reloadRules has %s, which is not a Config key", k)
		}
		if strings.TrimSpace(r.why) == "" {
			t.Errorf("reloadRules[%s] gives no reason", k)
		}
	}
}

// TestReloadTableInDocMatchesRules keeps the table in reloadRules' doc comment
// (copied to the README) in step with the map, in Config's field order.
func TestReloadTableInDocMatchesRules(t *testing.T) {
	src, err := os.ReadFile("diff.go")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`^//\t(\S+)\s+(live|restart)\s+(.+)$`)
	var got []string
	for _, line := range strings.Split(string(src), "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			got = append(got, m[1]+" "+m[2]+" "+m[3])
		}
	}
	var want []string
	var doc strings.Builder
	width := 0
	for _, k := range configKeys() {
		width = max(width, len(k))
	}
	fmt.Fprintf(&doc, "//\t%-*s  applied  why\n", width, "key")
	for _, k := range configKeys() {
		r := reloadRules[k]
		class := "restart"
		if r.live {
			class = "live"
		}
		want = append(want, k+" "+class+" "+r.why)
		fmt.Fprintf(&doc, "//\t%-*s  %-7s  %s\n", width, k, class, r.why)
	}
	if !slices.Equal(got, want) {
		t.Errorf("the table in reloadRules' doc comment differs from the map; replace it with:\n%s", doc.String())
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		key  string
		live bool
	}{
		{"superUserRoles", true},
		{"logLevel", true},
		{"workerPort", false},
		{"functionInstanceMaxResources.ram", true},
		{"functionRuntimeFactoryConfigs.logDirectory", false},
		{"functionRuntimeFactoryConfigs.customLabels.app", false},
		{"noSuchKey", false},
		{"noSuch.nested.key", false},
	} {
		live, why := Classify(tc.key)
		if live != tc.live || why == "" {
			t.Errorf("Classify(%q) = %v, %q; want live=%v with a reason", tc.key, live, why, tc.live)
		}
	}
}

func TestDiff(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(c *Config)
		want   []string // Change.String() of each change, in order
	}{
		{"no change", func(*Config) {}, nil},
		{"live list", func(c *Config) { c.SuperUserRoles = []string{"a", "b"} },
			[]string{"superUserRoles: [a] -> [a b] (live)"}},
		{"live string", func(c *Config) { c.LogLevel = "debug" },
			[]string{"logLevel: info -> debug (live)"}},
		{"restart pointer", func(c *Config) { c.WorkerPort = ptr(6760) },
			[]string{"workerPort: 6750 -> 6760 (restart needed)"}},
		{"pointer to null", func(c *Config) { c.WorkerPort = nil },
			[]string{"workerPort: 6750 -> null (restart needed)"}},
		{"empty string shown", func(c *Config) { c.WorkerId = "" },
			[]string{`workerId: w1 -> "" (restart needed)`}},
		{"several, sorted", func(c *Config) {
			c.WorkerId = "w2"
			c.FailureCheckFreqMs = 1000
			c.ProxyRoles = []string{"proxy"}
			c.InstanceLivenessCheckFreqMs = 5000
		}, []string{
			"failureCheckFreqMs: 30000 -> 1000 (live)",
			"instanceLivenessCheckFreqMs: 30000 -> 5000 (restart needed)",
			"proxyRoles: [] -> [proxy] (live)",
			"workerId: w1 -> w2 (restart needed)",
		}},
		{"nested runtime key", func(c *Config) {
			c.FunctionRuntimeFactoryConfigs = map[string]any{"logDirectory": "/var/log/fn", "extraFunctionDependenciesDir": "/deps"}
		}, []string{"functionRuntimeFactoryConfigs.logDirectory: /logs -> /var/log/fn (restart needed)"}},
		{"nested runtime key removed", func(c *Config) {
			c.FunctionRuntimeFactoryConfigs = map[string]any{"extraFunctionDependenciesDir": "/deps"}
		}, []string{"functionRuntimeFactoryConfigs.logDirectory: /logs -> null (restart needed)"}},
		{"nested resources", func(c *Config) {
			c.FunctionInstanceMaxResources = &Resources{Cpu: ptr(4.0), Ram: ptr(int64(1 << 30))}
		}, []string{
			"functionInstanceMaxResources.cpu: 2 -> 4 (live)",
			"functionInstanceMaxResources.ram: null -> 1073741824 (live)",
		}},
		{"object set from null is one change", func(c *Config) {
			c.FunctionInstanceMinResources = &Resources{Cpu: ptr(0.5)}
		}, []string{"functionInstanceMinResources: null -> map[cpu:0.5] (live)"}},
		{"free-form map is one value", func(c *Config) {
			c.Properties = map[string]string{"a": "1", "b": "3"}
		}, []string{"properties: map[a:1 b:2] -> map[a:1 b:3] (restart needed)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := diffBase()
			new := diffBase()
			tc.change(new)
			var got []string
			for _, c := range Diff(old, new) {
				got = append(got, c.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Diff:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// diffBase is a config with a value in the keys TestDiff changes.
func diffBase() *Config {
	c := Default()
	c.WorkerId = "w1"
	c.WorkerPort = ptr(6750)
	c.SuperUserRoles = []string{"a"}
	c.FailureCheckFreqMs = 30000
	c.InstanceLivenessCheckFreqMs = 30000
	c.FunctionRuntimeFactoryClassName = ProcessRuntimeFactoryClass
	c.FunctionRuntimeFactoryConfigs = map[string]any{"logDirectory": "/logs", "extraFunctionDependenciesDir": "/deps"}
	c.FunctionInstanceMaxResources = &Resources{Cpu: ptr(2.0)}
	c.Properties = map[string]string{"a": "1", "b": "2"}
	return c
}

func TestDiffNilConfigs(t *testing.T) {
	if got := Diff(nil, nil); len(got) != 0 {
		t.Errorf("Diff(nil, nil) = %v", got)
	}
	got := Diff(nil, &Config{LogLevel: "info"})
	if len(got) != 1 || got[0].Key != "logLevel" {
		t.Errorf("Diff(nil, logLevel set) = %v", got)
	}
}

// TestDiffSeesEveryKey changes each key on its own and expects exactly that key
// (or, for object maps, a key under it) back: no field can be skipped.
func TestDiffSeesEveryKey(t *testing.T) {
	t.Run("top level", func(t *testing.T) {
		typ := reflect.TypeFor[Config]()
		for i := range typ.NumField() {
			tag := typ.Field(i).Tag.Get("koanf")
			old, new := Default(), Default()
			perturb(t, reflect.ValueOf(new).Elem().Field(i))
			checkOne(t, Diff(old, new), tag)
		}
	})
	// Every field of every object, with the object set on both sides.
	for _, tag := range []string{"functionInstanceMinResources", "threadContainerFactory", "processContainerFactory", "kubernetesContainerFactory"} {
		t.Run(tag, func(t *testing.T) {
			f, _ := reflect.TypeFor[Config]().FieldByNameFunc(func(n string) bool {
				sf, _ := reflect.TypeFor[Config]().FieldByName(n)
				return sf.Tag.Get("koanf") == tag
			})
			st := f.Type.Elem()
			for j := range st.NumField() {
				old, new := Default(), Default()
				ov := reflect.ValueOf(old).Elem().FieldByIndex(f.Index)
				nv := reflect.ValueOf(new).Elem().FieldByIndex(f.Index)
				ov.Set(reflect.New(st))
				nv.Set(reflect.New(st))
				perturb(t, nv.Elem().Field(j))
				checkOne(t, Diff(old, new), tag+"."+st.Field(j).Tag.Get("koanf"))
			}
		})
	}
}

func checkOne(t *testing.T, got []Change, key string) {
	t.Helper()
	if len(got) != 1 || (got[0].Key != key && !strings.HasPrefix(got[0].Key, key+".")) {
		t.Errorf("changing %s: Diff = %v", key, got)
		return
	}
	if live, _ := Classify(got[0].Key); got[0].Live != live {
		t.Errorf("changing %s: Live = %v, Classify says %v", key, got[0].Live, live)
	}
}

// perturb sets v to a different value.
func perturb(t *testing.T, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "x")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Float64:
		v.SetFloat(v.Float() + 1.5)
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		} else {
			v.Set(reflect.Zero(v.Type()))
		}
	case reflect.Slice:
		e := reflect.New(v.Type().Elem()).Elem()
		perturb(t, e)
		v.Set(reflect.Append(v, e))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		e := reflect.New(v.Type().Elem()).Elem()
		if e.Kind() == reflect.Interface {
			e.Set(reflect.ValueOf("x"))
		} else {
			perturb(t, e)
		}
		m.SetMapIndex(reflect.ValueOf("k"), e)
		v.Set(m)
	default:
		t.Fatalf("perturb: add a case for %s", v.Type())
	}
}

// TestDiffOfLoadedFiles diffs configs as Load produces them.
func TestDiffOfLoadedFiles(t *testing.T) {
	load := func(snippet string) *Config {
		t.Helper()
		c, probs, err := LoadBytes("functions_worker.yml", doc(snippet), nil)
		if err != nil || probs.HasErrors() {
			t.Fatalf("load: %v %v", err, probs)
		}
		return c
	}
	old := load("superUserRoles: [admin]\nfunctionRuntimeFactoryConfigs:\n  logDirectory: /var/log/a\n")
	if got := Diff(old, load("superUserRoles: [admin]\nfunctionRuntimeFactoryConfigs:\n  logDirectory: /var/log/a\n")); len(got) != 0 {
		t.Errorf("same file: Diff = %v", got)
	}
	shipped, probs, err := Load(shippedFile)
	if err != nil || probs.HasErrors() {
		t.Fatalf("load %s: %v %v", shippedFile, err, probs)
	}
	again, _, _ := Load(shippedFile)
	if got := Diff(shipped, again); len(got) != 0 {
		t.Errorf("shipped file loaded twice: Diff = %v", got)
	}

	new := load("superUserRoles: [admin, ops]\nlogLevel: debug\nworkerPort: 6760\nfunctionRuntimeFactoryConfigs:\n  logDirectory: /var/log/b\n")
	var got []string
	for _, c := range Diff(old, new) {
		got = append(got, c.String())
	}
	want := []string{
		"functionRuntimeFactoryConfigs.logDirectory: /var/log/a -> /var/log/b (restart needed)",
		"logLevel: info -> debug (live)",
		"superUserRoles: [admin] -> [admin ops] (live)",
		"workerPort: 6750 -> 6760 (restart needed)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Diff:\n got %q\nwant %q", got, want)
	}
}

func TestChangeRedactsSecrets(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(c *Config)
		want   string
		leak   string // must not appear
	}{
		{"broker auth parameters", func(c *Config) { c.BrokerClientAuthenticationParameters = "token:eyJhbGciOi" },
			`brokerClientAuthenticationParameters: "" -> <redacted> (restart needed)`, "eyJ"},
		{"deprecated client parameters", func(c *Config) { c.ClientAuthenticationParameters = `{"password":"hunter2"}` },
			`clientAuthenticationParameters: "" -> <redacted> (restart needed)`, "hunter2"},
		{"bookkeeper parameters", func(c *Config) { c.BookkeeperClientAuthenticationParameters = "s3cr3t" },
			`bookkeeperClientAuthenticationParameters: "" -> <redacted> (restart needed)`, "s3cr3t"},
		{"key store password", func(c *Config) { c.TlsKeyStorePassword = "changeit" },
			`tlsKeyStorePassword: "" -> <redacted> (restart needed)`, "changeit"},
		{"trust store password", func(c *Config) { c.TlsTrustStorePassword = "changeit" },
			`tlsTrustStorePassword: "" -> <redacted> (restart needed)`, "changeit"},
		{"secrets provider config", func(c *Config) { c.SecretsProviderConfiguratorConfig = map[string]string{"vaultToken": "hvs.abc"} },
			`secretsProviderConfiguratorConfig: null -> <redacted> (restart needed)`, "hvs.abc"},
		{"secret entries of properties", func(c *Config) {
			c.Properties = map[string]string{"brokerClient_authParams": "token:abc", "tokenSecretKey": "data:;base64,xyz", "brokerClient_operationTimeoutMs": "30000"}
		}, `properties: null -> map[brokerClient_authParams:<redacted> brokerClient_operationTimeoutMs:30000 tokenSecretKey:<redacted>] (restart needed)`, "xyz"},
		{"URL password", func(c *Config) { c.PulsarWebServiceUrl = "https://admin:pa55@broker:8443" },
			`pulsarWebServiceUrl: "" -> https://admin:<redacted>@broker:8443 (restart needed)`, "pa55"},
		{"multi-host URL password", func(c *Config) { c.PulsarServiceUrl = "pulsar://u:pa55@h1:6650,h2:6650" },
			`pulsarServiceUrl: "" -> pulsar://u:<redacted>@h1:6650,h2:6650 (restart needed)`, "pa55"},
		{"password in JVM options", func(c *Config) {
			c.AdditionalJavaRuntimeArguments = []string{"-Xmx1g", "-Djavax.net.ssl.keyStorePassword=changeit"}
		}, `additionalJavaRuntimeArguments: [] -> [-Xmx1g -Djavax.net.ssl.keyStorePassword=<redacted>] (restart needed)`, "changeit"},
		{"secret in runtime configs", func(c *Config) {
			c.FunctionRuntimeFactoryConfigs = map[string]any{"kubernetesFunctionAuthProviderConfig": map[string]any{"serviceAccountToken": "abc123"}}
		}, `functionRuntimeFactoryConfigs.kubernetesFunctionAuthProviderConfig: null -> map[serviceAccountToken:<redacted>] (restart needed)`, "abc123"},
		{"paths and class names stay visible", func(c *Config) { c.SaslJaasServerRoleTokenSignerSecretPath = "/etc/secret/key" },
			`saslJaasServerRoleTokenSignerSecretPath: "" -> /etc/secret/key (restart needed)`, ""},
		{"auth plugin class stays visible", func(c *Config) {
			c.BrokerClientAuthenticationPlugin = "org.apache.pulsar.client.impl.auth.AuthenticationToken"
		}, `brokerClientAuthenticationPlugin: "" -> org.apache.pulsar.client.impl.auth.AuthenticationToken (restart needed)`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			new := Default()
			tc.change(new)
			changes := Diff(Default(), new)
			if len(changes) != 1 {
				t.Fatalf("Diff = %v", changes)
			}
			c := changes[0]
			if got := c.String(); got != tc.want {
				t.Errorf("String:\n got %s\nwant %s", got, tc.want)
			}
			// Logged as a slog value, the change is redacted too.
			var buf bytes.Buffer
			slog.New(slog.NewTextHandler(&buf, nil)).Info("config reloaded", "change", c)
			if tc.leak != "" && strings.Contains(buf.String(), tc.leak) {
				t.Errorf("slog output leaks %q: %s", tc.leak, buf.String())
			}
		})
	}
}

func TestIsSecretKey(t *testing.T) {
	secret := []string{"brokerClientAuthenticationParameters", "clientAuthenticationParameters", "bookkeeperClientAuthenticationParameters",
		"tlsKeyStorePassword", "tlsTrustStorePassword", "secretsProviderConfiguratorConfig", "properties.brokerClient_authParams", "tokenSecretKey"}
	plain := []string{"bookkeeperClientAuthenticationParametersName", "saslJaasServerRoleTokenSignerSecretPath", "secretsProviderConfiguratorClassName",
		"brokerClientAuthenticationPlugin", "brokerClientAuthenticationEnabled", "tlsKeyFilePath", "tlsKeyStore", "superUserRoles"}
	for _, k := range secret {
		if !IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = false", k)
		}
	}
	for _, k := range plain {
		if IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = true", k)
		}
	}
}
