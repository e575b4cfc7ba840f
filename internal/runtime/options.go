// Package runtime runs the function instances assigned to this worker, as the
// Java worker's Process runtime does: it reconciles the desired assignments
// with the running processes, builds the Java, Python and Go instance command
// lines, launches them through a Launcher, restarts crashed instances with
// exponential backoff, and talks to them over the InstanceControl gRPC API
// (health checks, status, metrics).
package runtime

import (
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/config"
)

// Default values used when an Options field is left zero.
const (
	DefaultStopGracePeriod   = 10 * time.Second // Java: destroy(), then ~10 s of polling, then destroyForcibly()
	DefaultBackoffInitial    = time.Second
	DefaultBackoffMax        = 60 * time.Second
	DefaultBackoffReset      = time.Minute // uptime after which a crash counts as the first one again
	DefaultMaxBufferedTuples = 1024        // Java worker's constant
	DefaultMaxPendingAsync   = 1000
)

// Secrets providers the Java worker's DefaultSecretsProviderConfigurator hands to
// Process-runtime instances; Go instances get none.
const (
	JavaClearTextSecretsProvider   = "org.apache.pulsar.functions.secretsprovider.ClearTextSecretsProvider"
	PythonClearTextSecretsProvider = "secretsprovider.ClearTextSecretsProvider"
)

// Options is everything the runtime needs from the worker configuration and the
// Pulsar distribution. Paths should be absolute: instances run with Dir set to
// PulsarHome, so relative paths would be read relative to it.
type Options struct {
	// PulsarHome is the root of the Pulsar binary distribution (instances/, lib/, conf/).
	PulsarHome string
	// Java is the java executable for Java instances (default "java", looked up in PATH).
	Java string
	// Python is the interpreter for Python instances (default "python3").
	Python string
	// JavaInstanceJar is instances/java-instance.jar (functionRuntimeFactoryConfigs.javaInstanceJarLocation).
	JavaInstanceJar string
	// PythonInstanceFile is python_instance_main.py (functionRuntimeFactoryConfigs.pythonInstanceLocation).
	PythonInstanceFile string
	// InstanceClasspath is -Dpulsar.functions.instance.classpath, from which
	// JavaInstanceMain loads the instance runtime (default <home>/conf:<home>/lib/*, as bin/pulsar).
	InstanceClasspath string
	// ExtraDependenciesDir is added to Java instances' -cp and to Python's PYTHONPATH
	// (functionRuntimeFactoryConfigs.extraFunctionDependenciesDir; bin/pulsar: <home>/instances/deps).
	ExtraDependenciesDir string
	// JavaLogConfigFile is -Dlog4j.configurationFile (default <home>/conf/functions_log4j2.xml
	// if it exists, else the jar resource java_instance_log4j2.xml, as the Java worker).
	JavaLogConfigFile string
	// PythonLogConfigFile is --logging_config_file (default <home>/conf/functions-logging/logging_config.ini).
	PythonLogConfigFile string
	// LogDir is the base log directory; instance logs go to <LogDir>/functions/<tenant>/<ns>/<name>/.
	LogDir string
	// DownloadDir is the worker's downloadDirectory; <DownloadDir>/<tenant>/<ns>/<name>/<id> is
	// deleted when an instance stops.
	DownloadDir string
	// NarExtractionDir is --nar_extraction_directory for Java instances (narExtractionDirectory).
	NarExtractionDir string

	// PulsarServiceURL is the broker URL handed to instances (pulsarServiceUrl).
	PulsarServiceURL string
	// PulsarWebServiceURL is the admin URL handed to Java instances when ExposeAdminClient is set.
	PulsarWebServiceURL string
	// ClusterName is --cluster_name (pulsarFunctionsCluster).
	ClusterName string
	// StateStorageServiceURL is --state_storage_serviceurl; blank leaves it out.
	StateStorageServiceURL string
	// ExposeAdminClient gives Java functions an admin client (exposeAdminClientEnabled).
	ExposeAdminClient bool
	// MaxPendingAsyncRequests is Java's --pending_async_requests (maxPendingAsyncRequests).
	MaxPendingAsyncRequests int
	// IgnoreUnknownConfigFields adds Java's --ignore_unknown_config_fields.
	IgnoreUnknownConfigFields bool
	// AdditionalJavaRuntimeArguments are extra JVM options (additionalJavaRuntimeArguments).
	AdditionalJavaRuntimeArguments []string
	// Auth is the client auth/TLS handed to instances; nil (the Java worker: unless
	// authenticationEnabled) leaves all those arguments out.
	Auth *InstanceAuth
	// JavaSecretsProvider and PythonSecretsProvider are --secrets_provider per runtime; blank leaves it out.
	JavaSecretsProvider, PythonSecretsProvider string
	// SecretsProviderConfig is --secrets_provider_config (JSON); empty leaves it out.
	SecretsProviderConfig map[string]string

	// HealthCheckInterval is how often instances are health-checked over gRPC.
	// Its whole seconds are --expected_healthcheck_interval: Java and Python
	// instances kill themselves when three such intervals pass without a check.
	// Zero disables both (instanceLivenessCheckFreqMs <= 0 in the Java worker).
	HealthCheckInterval time.Duration
	// StopGracePeriod is the time between SIGTERM and SIGKILL when stopping an instance.
	StopGracePeriod time.Duration
	// BackoffInitial, BackoffMax and BackoffReset shape restarts after crashes:
	// the delay doubles from Initial up to Max, and starts over once an instance
	// stayed up for Reset.
	BackoffInitial, BackoffMax, BackoffReset time.Duration

	// StateDir is where, with a launcher whose processes outlive the worker
	// (an Adopter), a record of each running instance process is kept for
	// the next worker to adopt (e.g. /run/pulsar-functions-worker/instances).
	// Blank: processes are stopped with the worker, as plain processes are.
	StateDir string

	// Logger receives the runtime's logs (default slog.Default()).
	Logger *slog.Logger
}

// InstanceAuth is the authentication and TLS configuration instances get (Java AuthenticationConfig).
type InstanceAuth struct {
	// Plugin and Params are the client auth plugin class and its parameter string; both or neither are passed.
	Plugin, Params string
	// UseTLS is --use_tls.
	UseTLS bool
	// TLSAllowInsecure is --tls_allow_insecure.
	TLSAllowInsecure bool
	// HostnameVerification is --hostname_verification_enabled.
	HostnameVerification bool
	// TrustCertsPath is --tls_trust_cert_path; blank leaves it out.
	TrustCertsPath string
}

// OptionsFromConfig maps functions_worker.yml to Options the way the Java
// worker's ProcessRuntimeFactory does, with pulsarHome standing in for the JVM
// properties bin/pulsar sets. Relative locations of distribution files
// (instance jar and main file, extra dependencies) are taken relative to
// pulsarHome; relative working directories (logDirectory, downloadDirectory,
// narExtractionDirectory) relative to the worker's working directory, as the
// Java worker resolves them (under systemd: /var/lib/pulsar-functions-worker).
//
//	functionRuntimeFactoryConfigs.javaInstanceJarLocation      -> JavaInstanceJar (else <home>/instances/java-instance.jar)
//	functionRuntimeFactoryConfigs.pythonInstanceLocation       -> PythonInstanceFile (else <home>/instances/python-instance/python_instance_main.py)
//	functionRuntimeFactoryConfigs.logDirectory                 -> LogDir (else <home>/logs)
//	functionRuntimeFactoryConfigs.extraFunctionDependenciesDir -> ExtraDependenciesDir (else <home>/instances/deps)
//	downloadDirectory, narExtractionDirectory                  -> DownloadDir, NarExtractionDir
//	pulsarServiceUrl, pulsarWebServiceUrl, pulsarFunctionsCluster, stateStorageServiceUrl
//	exposeAdminClientEnabled, maxPendingAsyncRequests, ignoreUnknownConfigFields, additionalJavaRuntimeArguments
//	instanceLivenessCheckFreqMs                                -> HealthCheckInterval
//	authenticationEnabled: brokerClientAuthenticationPlugin/Parameters (or clientAuthentication*),
//	  useTls, tlsAllowInsecureConnection, tlsEnableHostnameVerification, tlsTrustCertsFilePath -> Auth
//
// Secrets are those of the Java worker's default configurator, whatever
// secretsProviderConfiguratorClassName says (other configurators are Java
// classes): the clear-text providers, and no --secrets_provider_config (the
// default configurator returns none; secretsProviderConfiguratorConfig only
// initialises the configurator).
func OptionsFromConfig(cfg *config.Config, pulsarHome string) Options {
	home := pulsarHome
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) || home == "" {
			return p
		}
		return filepath.Join(home, p)
	}
	// Instances run in pulsarHome: hand them absolute paths.
	cwdAbs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	pr, _ := cfg.ProcessRuntime() // zero when another runtime is configured: distribution defaults
	o := Options{
		PulsarHome:                     home,
		JavaInstanceJar:                abs(pr.JavaInstanceJarLocation),
		PythonInstanceFile:             abs(pr.PythonInstanceLocation),
		ExtraDependenciesDir:           abs(pr.ExtraFunctionDependenciesDir),
		LogDir:                         cwdAbs(pr.LogDirectory),
		DownloadDir:                    cwdAbs(cfg.DownloadDirectory),
		NarExtractionDir:               cwdAbs(cfg.NarExtractionDirectory),
		PulsarServiceURL:               cfg.PulsarServiceUrl,
		PulsarWebServiceURL:            cfg.PulsarWebServiceUrl,
		ClusterName:                    cfg.PulsarFunctionsCluster,
		StateStorageServiceURL:         cfg.StateStorageServiceUrl,
		ExposeAdminClient:              cfg.ExposeAdminClientEnabled,
		MaxPendingAsyncRequests:        cfg.MaxPendingAsyncRequests,
		IgnoreUnknownConfigFields:      cfg.IgnoreUnknownConfigFields,
		AdditionalJavaRuntimeArguments: append([]string(nil), cfg.AdditionalJavaRuntimeArguments...),
		JavaSecretsProvider:            JavaClearTextSecretsProvider,
		PythonSecretsProvider:          PythonClearTextSecretsProvider,
	}
	if cfg.InstanceLivenessCheckFreqMs > 0 {
		o.HealthCheckInterval = time.Duration(cfg.InstanceLivenessCheckFreqMs) * time.Millisecond
	}
	if o.ExtraDependenciesDir == "" && home != "" {
		o.ExtraDependenciesDir = filepath.Join(home, "instances", "deps")
	}
	if cfg.AuthenticationEnabled {
		plugin, params := cfg.BrokerClientAuth()
		o.Auth = &InstanceAuth{
			Plugin:               plugin,
			Params:               params,
			UseTLS:               cfg.UseTls,
			TLSAllowInsecure:     cfg.TlsAllowInsecureConnection,
			HostnameVerification: cfg.TlsEnableHostnameVerification,
			TrustCertsPath:       cfg.TlsTrustCertsFilePath, // 4.0.8 FunctionRuntimeManager: not brokerClientTrustCertsFilePath
		}
	}
	return o.withDefaults()
}

// withDefaults fills zero fields with the distribution paths and Java defaults.
func (o Options) withDefaults() Options {
	home := o.PulsarHome
	inHome := func(parts ...string) string {
		if home == "" {
			return filepath.Join(parts...)
		}
		return filepath.Join(append([]string{home}, parts...)...)
	}
	if o.Java == "" {
		o.Java = "java"
	}
	if o.Python == "" {
		o.Python = "python3"
	}
	if o.JavaInstanceJar == "" {
		o.JavaInstanceJar = inHome("instances", "java-instance.jar")
	}
	if o.PythonInstanceFile == "" {
		o.PythonInstanceFile = inHome("instances", "python-instance", "python_instance_main.py")
	}
	if o.InstanceClasspath == "" {
		o.InstanceClasspath = inHome("conf") + ":" + inHome("lib") + "/*"
	}
	if o.JavaLogConfigFile == "" {
		o.JavaLogConfigFile = "java_instance_log4j2.xml" // resource inside java-instance.jar
		if f := inHome("conf", "functions_log4j2.xml"); fileExists(f) {
			o.JavaLogConfigFile = f
		}
	}
	if o.PythonLogConfigFile == "" {
		o.PythonLogConfigFile = inHome("conf", "functions-logging", "logging_config.ini")
	}
	if o.LogDir == "" {
		o.LogDir = inHome("logs")
	}
	if o.NarExtractionDir == "" {
		o.NarExtractionDir = os.TempDir()
	}
	if o.MaxPendingAsyncRequests == 0 {
		o.MaxPendingAsyncRequests = DefaultMaxPendingAsync
	}
	if o.StopGracePeriod <= 0 {
		o.StopGracePeriod = DefaultStopGracePeriod
	}
	if o.BackoffInitial <= 0 {
		o.BackoffInitial = DefaultBackoffInitial
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = DefaultBackoffMax
	}
	if o.BackoffMax < o.BackoffInitial {
		o.BackoffMax = o.BackoffInitial
	}
	if o.BackoffReset <= 0 {
		o.BackoffReset = DefaultBackoffReset
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// instanceLogDir is the effective log directory of the Java worker: <LogDir>/functions.
func (o *Options) instanceLogDir() string {
	return filepath.Join(o.LogDir, "functions")
}

// expectedHealthCheckSeconds is --expected_healthcheck_interval: Java divides
// instanceLivenessCheckFreqMs by 1000, dropping the remainder.
func (o *Options) expectedHealthCheckSeconds() int64 {
	return int64(o.HealthCheckInterval / time.Second)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
