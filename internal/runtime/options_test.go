package runtime

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/config"
)

func TestOptionsFromConfig(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "conf", "functions_log4j2.xml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	// The shipped functions_worker.yml's runtime-related values.
	cfg := config.Default()
	cfg.FunctionRuntimeFactoryClassName = config.ProcessRuntimeFactoryClass
	cfg.FunctionRuntimeFactoryConfigs = map[string]any{"logDirectory": "logs/"}
	cfg.DownloadDirectory = "download/pulsar_functions"
	cfg.PulsarServiceUrl = "pulsar://localhost:6650"
	cfg.PulsarWebServiceUrl = "http://localhost:8080"
	cfg.PulsarFunctionsCluster = "standalone"
	cfg.InstanceLivenessCheckFreqMs = 30000
	cfg.NarExtractionDirectory = "/var/tmp"
	cfg.BrokerClientAuthenticationPlugin = "org.apache.pulsar.client.impl.auth.AuthenticationToken"
	cfg.BrokerClientAuthenticationParameters = "token:x"

	// Relative working directories resolve in the worker's working
	// directory (the unit's WorkingDirectory=), not in the distribution.
	wd := t.TempDir()
	t.Chdir(wd)
	o := OptionsFromConfig(cfg, home)
	o.Logger = nil
	want := Options{
		PulsarHome:              home,
		Java:                    "java",
		Python:                  "python3",
		JavaInstanceJar:         home + "/instances/java-instance.jar",
		PythonInstanceFile:      home + "/instances/python-instance/python_instance_main.py",
		InstanceClasspath:       home + "/conf:" + home + "/lib/*",
		ExtraDependenciesDir:    home + "/instances/deps",
		JavaLogConfigFile:       home + "/conf/functions_log4j2.xml",
		PythonLogConfigFile:     home + "/conf/functions-logging/logging_config.ini",
		LogDir:                  wd + "/logs",
		DownloadDir:             wd + "/download/pulsar_functions",
		NarExtractionDir:        "/var/tmp",
		PulsarServiceURL:        "pulsar://localhost:6650",
		PulsarWebServiceURL:     "http://localhost:8080",
		ClusterName:             "standalone",
		MaxPendingAsyncRequests: 1000,
		JavaSecretsProvider:     JavaClearTextSecretsProvider,
		PythonSecretsProvider:   PythonClearTextSecretsProvider,
		HealthCheckInterval:     30 * time.Second,
		StopGracePeriod:         DefaultStopGracePeriod,
		BackoffInitial:          DefaultBackoffInitial,
		BackoffMax:              DefaultBackoffMax,
		BackoffReset:            DefaultBackoffReset,
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("OptionsFromConfig =\n%+v\nwant\n%+v", o, want)
	}
	if got := o.instanceLogDir(); got != wd+"/logs/functions" {
		t.Errorf("instance log dir %s", got)
	}
	if o.expectedHealthCheckSeconds() != 30 {
		t.Errorf("expected health check interval %d", o.expectedHealthCheckSeconds())
	}

	// Explicit locations, authentication, and the other instance arguments.
	cfg.FunctionRuntimeFactoryConfigs = map[string]any{
		"logDirectory":                 "/var/log/pulsar",
		"javaInstanceJarLocation":      "/opt/j.jar",
		"pythonInstanceLocation":       "py/main.py",
		"extraFunctionDependenciesDir": "/opt/deps",
	}
	cfg.AuthenticationEnabled = true
	cfg.UseTls = true
	cfg.TlsAllowInsecureConnection = true
	cfg.TlsEnableHostnameVerification = true
	cfg.TlsTrustCertsFilePath = "/etc/ca.pem"
	cfg.StateStorageServiceUrl = "bk://localhost:4181"
	cfg.ExposeAdminClientEnabled = true
	cfg.MaxPendingAsyncRequests = 7
	cfg.IgnoreUnknownConfigFields = true
	cfg.AdditionalJavaRuntimeArguments = []string{"-XX:+ExitOnOutOfMemoryError"}
	cfg.InstanceLivenessCheckFreqMs = 1500
	o = OptionsFromConfig(cfg, home)
	if o.LogDir != "/var/log/pulsar" || o.JavaInstanceJar != "/opt/j.jar" || o.PythonInstanceFile != home+"/py/main.py" || o.ExtraDependenciesDir != "/opt/deps" {
		t.Errorf("paths: %+v", o)
	}
	wantAuth := &InstanceAuth{Plugin: cfg.BrokerClientAuthenticationPlugin, Params: "token:x", UseTLS: true, TLSAllowInsecure: true, HostnameVerification: true, TrustCertsPath: "/etc/ca.pem"}
	if !reflect.DeepEqual(o.Auth, wantAuth) {
		t.Errorf("auth %+v, want %+v", o.Auth, wantAuth)
	}
	if o.StateStorageServiceURL != "bk://localhost:4181" || !o.ExposeAdminClient || o.MaxPendingAsyncRequests != 7 || !o.IgnoreUnknownConfigFields || len(o.AdditionalJavaRuntimeArguments) != 1 {
		t.Errorf("instance arguments: %+v", o)
	}
	if o.HealthCheckInterval != 1500*time.Millisecond || o.expectedHealthCheckSeconds() != 1 {
		t.Errorf("health check %v / %d s", o.HealthCheckInterval, o.expectedHealthCheckSeconds())
	}

	// Java passes no auth/TLS arguments when authentication is off, whatever else is set.
	cfg.AuthenticationEnabled = false
	if o := OptionsFromConfig(cfg, home); o.Auth != nil {
		t.Errorf("auth without authenticationEnabled: %+v", o.Auth)
	}
	// Without the conf file the jar's own log4j2 resource is used.
	if o := OptionsFromConfig(cfg, t.TempDir()); o.JavaLogConfigFile != "java_instance_log4j2.xml" {
		t.Errorf("log config %s", o.JavaLogConfigFile)
	}
}
