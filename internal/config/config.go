// Package config is the schema of functions_worker.yml: the Java worker's key names
// and defaults (Apache Pulsar 4.0.8 WorkerConfig), loading with environment
// overrides, and validation that reports every problem by file, line and key.
package config

import "os"

// Class names the Java worker accepts in functionRuntimeFactoryClassName.
const (
	ProcessRuntimeFactoryClass    = "org.apache.pulsar.functions.runtime.process.ProcessRuntimeFactory"
	ThreadRuntimeFactoryClass     = "org.apache.pulsar.functions.runtime.thread.ThreadRuntimeFactory"
	KubernetesRuntimeFactoryClass = "org.apache.pulsar.functions.runtime.kubernetes.KubernetesRuntimeFactory"
)

// RoundRobinSchedulerClass is the only scheduler the Java worker ships.
const RoundRobinSchedulerClass = "org.apache.pulsar.functions.worker.scheduler.RoundRobinScheduler"

// Config holds every functions_worker.yml key. Field defaults are the Java worker's
// values for an absent key (see Default); comments note where the shipped yml differs.
// A Config returned together with error Problems must not be used to run a worker.
type Config struct {
	// --- Identity and HTTP server ---

	// WorkerId names this worker in membership and assignments; blank derives <hostname>-<port> (yml: standalone).
	WorkerId string `koanf:"workerId"`
	// WorkerHostname is the host other workers and clients use to reach us; blank means the canonical local name (yml: localhost).
	WorkerHostname string `koanf:"workerHostname"`
	// WorkerPort is the plain HTTP port; nil turns plain HTTP off (Java default nil, yml: 6750).
	WorkerPort *int `koanf:"workerPort"`
	// WorkerPortTls is the HTTPS port, used only with tlsEnabled (Java default nil, yml: 6751).
	WorkerPortTls *int `koanf:"workerPortTls"`
	// NumHttpServerThreads sizes the HTTP request thread pool.
	NumHttpServerThreads int `koanf:"numHttpServerThreads"`
	// HttpRequestsLimitEnabled turns on the per-second request rate limit (answers 429 beyond it).
	HttpRequestsLimitEnabled bool `koanf:"httpRequestsLimitEnabled"`
	// HttpRequestsMaxPerSecond is the rate limit used when httpRequestsLimitEnabled is true.
	HttpRequestsMaxPerSecond float64 `koanf:"httpRequestsMaxPerSecond"`
	// MaxConcurrentHttpRequests caps requests served at once; more wait in line.
	MaxConcurrentHttpRequests int `koanf:"maxConcurrentHttpRequests"`
	// HttpServerThreadPoolQueueSize bounds requests waiting for a server thread.
	HttpServerThreadPoolQueueSize int `koanf:"httpServerThreadPoolQueueSize"`
	// HttpServerAcceptQueueSize is the listen backlog of the HTTP sockets.
	HttpServerAcceptQueueSize int `koanf:"httpServerAcceptQueueSize"`
	// MaxHttpServerConnections caps open HTTP connections; 0 means no cap.
	MaxHttpServerConnections int `koanf:"maxHttpServerConnections"`
	// WebServiceHaProxyProtocolEnabled expects the HAProxy PROXY header to learn client addresses.
	WebServiceHaProxyProtocolEnabled bool `koanf:"webServiceHaProxyProtocolEnabled"`
	// WebServiceTrustXForwardedFor takes client addresses from X-Forwarded-For.
	WebServiceTrustXForwardedFor bool `koanf:"webServiceTrustXForwardedFor"`
	// WebServiceLogDetailedAddresses logs both ends of each request; nil means on when either option above is on.
	WebServiceLogDetailedAddresses *bool `koanf:"webServiceLogDetailedAddresses"`

	// --- Metrics ---

	// AuthenticateMetricsEndpoint makes /metrics require authentication like the admin API.
	AuthenticateMetricsEndpoint bool `koanf:"authenticateMetricsEndpoint"`
	// IncludeStandardPrometheusMetrics adds process/runtime metrics to /metrics (Java: JVM metrics).
	IncludeStandardPrometheusMetrics bool `koanf:"includeStandardPrometheusMetrics"`
	// JvmGCMetricsLoggerClassName is a Java plugin for GC metrics; kept for file compatibility.
	JvmGCMetricsLoggerClassName string `koanf:"jvmGCMetricsLoggerClassName"`

	// --- Metadata store (ZooKeeper/etcd; used by Java for DistributedLog package storage) ---

	// ConfigurationMetadataStoreUrl is the configuration metadata store, e.g. zk:host:2181 (yml: zk:localhost:2181).
	ConfigurationMetadataStoreUrl string `koanf:"configurationMetadataStoreUrl"`
	// ConfigurationStoreServers is the deprecated spelling of configurationMetadataStoreUrl, used when that is blank (yml: localhost:2181).
	ConfigurationStoreServers string `koanf:"configurationStoreServers"`
	// MetadataStoreSessionTimeoutMillis is the metadata store session timeout.
	MetadataStoreSessionTimeoutMillis int64 `koanf:"metadataStoreSessionTimeoutMillis"`
	// MetadataStoreOperationTimeoutSeconds bounds a single metadata store operation.
	MetadataStoreOperationTimeoutSeconds int `koanf:"metadataStoreOperationTimeoutSeconds"`
	// MetadataStoreCacheExpirySeconds is how long cached metadata entries live.
	MetadataStoreCacheExpirySeconds int `koanf:"metadataStoreCacheExpirySeconds"`
	// MetadataStoreAllowReadOnlyOperations lets reads continue while the store is read-only.
	MetadataStoreAllowReadOnlyOperations bool `koanf:"metadataStoreAllowReadOnlyOperations"`
	// ZooKeeperSessionTimeoutMillis is deprecated; a value above 0 overrides metadataStoreSessionTimeoutMillis.
	ZooKeeperSessionTimeoutMillis int64 `koanf:"zooKeeperSessionTimeoutMillis"`
	// ZooKeeperOperationTimeoutSeconds is deprecated; a value above 0 overrides metadataStoreOperationTimeoutSeconds.
	ZooKeeperOperationTimeoutSeconds int `koanf:"zooKeeperOperationTimeoutSeconds"`
	// ZooKeeperCacheExpirySeconds is deprecated; a value above 0 overrides metadataStoreCacheExpirySeconds.
	ZooKeeperCacheExpirySeconds int `koanf:"zooKeeperCacheExpirySeconds"`
	// ZooKeeperAllowReadOnlyOperations is deprecated; true also allows read-only operations.
	ZooKeeperAllowReadOnlyOperations bool `koanf:"zooKeeperAllowReadOnlyOperations"`
	// InitializedDlogMetadata says DistributedLog metadata was created beforehand, so the worker only builds its URI.
	InitializedDlogMetadata bool `koanf:"initializedDlogMetadata"`

	// --- Broker connection and internal topics ---

	// PulsarServiceUrl is the broker's binary URL, used by the worker and handed to instances (no Java default; yml: pulsar://localhost:6650).
	PulsarServiceUrl string `koanf:"pulsarServiceUrl"`
	// PulsarWebServiceUrl is the broker's admin (HTTP) URL (no Java default; yml: http://localhost:8080).
	PulsarWebServiceUrl string `koanf:"pulsarWebServiceUrl"`
	// FunctionWebServiceUrl is the URL of the functions REST API of the cluster; blank means this worker's own address.
	FunctionWebServiceUrl string `koanf:"functionWebServiceUrl"`
	// UseTls is deprecated; a pulsar+ssl:// service URL is what turns TLS on towards the broker.
	UseTls bool `koanf:"useTls"`
	// PulsarFunctionsNamespace is the tenant/namespace holding the worker's internal topics (no Java default; yml: public/functions).
	PulsarFunctionsNamespace string `koanf:"pulsarFunctionsNamespace"`
	// PulsarFunctionsCluster is the Pulsar cluster name; it must be among the namespace's replication clusters (no Java default; yml: standalone).
	PulsarFunctionsCluster string `koanf:"pulsarFunctionsCluster"`
	// FunctionMetadataTopicName is the topic (in the functions namespace) holding function metadata (no Java default; yml: metadata).
	FunctionMetadataTopicName string `koanf:"functionMetadataTopicName"`
	// ClusterCoordinationTopicName is the topic whose failover subscription elects the leader (no Java default; yml: coordinate).
	ClusterCoordinationTopicName string `koanf:"clusterCoordinationTopicName"`
	// FunctionAssignmentTopicName is the topic the leader writes instance assignments to (no Java default; yml: assignments).
	FunctionAssignmentTopicName string `koanf:"functionAssignmentTopicName"`
	// UseCompactedMetadataTopic switches the metadata topic to keyed, compacted messages; all workers must agree.
	UseCompactedMetadataTopic bool `koanf:"useCompactedMetadataTopic"`
	// TopicCompactionFrequencySec is how often the leader compacts the internal topics; 0 or less disables it.
	TopicCompactionFrequencySec int64 `koanf:"topicCompactionFrequencySec"`

	// --- Broker client security ---

	// BrokerClientAuthenticationEnabled makes the worker authenticate to brokers; nil follows authenticationEnabled.
	BrokerClientAuthenticationEnabled *bool `koanf:"brokerClientAuthenticationEnabled"`
	// BrokerClientAuthenticationPlugin is the Java auth plugin class for broker connections, also passed to instances.
	BrokerClientAuthenticationPlugin string `koanf:"brokerClientAuthenticationPlugin"`
	// BrokerClientAuthenticationParameters is the plugin's parameter string, also passed to instances.
	BrokerClientAuthenticationParameters string `koanf:"brokerClientAuthenticationParameters"`
	// BrokerClientTrustCertsFilePathRaw is the key as written; use the BrokerClientTrustCertsFilePath method, which falls back to tlsTrustCertsFilePath (Go forbids a field and method of one name).
	BrokerClientTrustCertsFilePathRaw string `koanf:"brokerClientTrustCertsFilePath"`
	// ClientAuthenticationPlugin is the deprecated fallback for brokerClientAuthenticationPlugin.
	ClientAuthenticationPlugin string `koanf:"clientAuthenticationPlugin"`
	// ClientAuthenticationParameters is the deprecated fallback for brokerClientAuthenticationParameters.
	ClientAuthenticationParameters string `koanf:"clientAuthenticationParameters"`
	// BookkeeperClientAuthenticationPlugin is the auth plugin for the DistributedLog BookKeeper client.
	BookkeeperClientAuthenticationPlugin string `koanf:"bookkeeperClientAuthenticationPlugin"`
	// BookkeeperClientAuthenticationParametersName names the BookKeeper auth parameter.
	BookkeeperClientAuthenticationParametersName string `koanf:"bookkeeperClientAuthenticationParametersName"`
	// BookkeeperClientAuthenticationParameters is the value of that BookKeeper auth parameter.
	BookkeeperClientAuthenticationParameters string `koanf:"bookkeeperClientAuthenticationParameters"`

	// --- Function packages ---

	// NumFunctionPackageReplicas is how many bookies keep each stored package (Java default 0, yml: 1).
	NumFunctionPackageReplicas int `koanf:"numFunctionPackageReplicas"`
	// DownloadDirectory is where packages are fetched to before instances start (no Java default; yml: download/pulsar_functions).
	DownloadDirectory string `koanf:"downloadDirectory"`
	// FunctionsWorkerEnablePackageManagement stores packages in Pulsar's package service instead of DistributedLog.
	FunctionsWorkerEnablePackageManagement bool `koanf:"functionsWorkerEnablePackageManagement"`
	// ConnectorsDirectory holds the built-in connector archives served as builtin://.
	ConnectorsDirectory string `koanf:"connectorsDirectory"`
	// FunctionsDirectory holds the built-in function archives served as builtin://.
	FunctionsDirectory string `koanf:"functionsDirectory"`
	// NarExtractionDirectory is where NAR archives are unpacked (Java default: the JVM temp dir).
	NarExtractionDirectory string `koanf:"narExtractionDirectory"`
	// EnableReferencingConnectorDirectoryFiles allows file: URLs that point into connectorsDirectory.
	EnableReferencingConnectorDirectoryFiles bool `koanf:"enableReferencingConnectorDirectoryFiles"`
	// AdditionalEnabledConnectorUrlPatterns are regular expressions of extra http(s) URLs allowed for connectors.
	AdditionalEnabledConnectorUrlPatterns []string `koanf:"additionalEnabledConnectorUrlPatterns"`
	// EnableReferencingFunctionsDirectoryFiles allows file: URLs that point into functionsDirectory.
	EnableReferencingFunctionsDirectoryFiles bool `koanf:"enableReferencingFunctionsDirectoryFiles"`
	// AdditionalEnabledFunctionsUrlPatterns are regular expressions of extra http(s) URLs allowed for functions.
	AdditionalEnabledFunctionsUrlPatterns []string `koanf:"additionalEnabledFunctionsUrlPatterns"`
	// EnableClassloadingOfBuiltinFiles loads built-in archives' classes to validate submissions (Java only).
	EnableClassloadingOfBuiltinFiles bool `koanf:"enableClassloadingOfBuiltinFiles"`
	// EnableClassloadingOfExternalFiles loads uploaded archives' classes to validate submissions (Java only).
	EnableClassloadingOfExternalFiles bool `koanf:"enableClassloadingOfExternalFiles"`
	// ValidateConnectorConfig checks connector configs against their annotated config classes (needs classloading).
	ValidateConnectorConfig bool `koanf:"validateConnectorConfig"`
	// IgnoreUnknownConfigFields drops unknown connector config fields instead of failing; passed to Java instances.
	IgnoreUnknownConfigFields bool `koanf:"ignoreUnknownConfigFields"`
	// UploadBuiltinSinksSources uploads built-in connectors to package storage for externally managed runtimes.
	UploadBuiltinSinksSources bool `koanf:"uploadBuiltinSinksSources"`

	// --- Scheduling and supervision ---

	// SchedulerClassName picks the placement strategy; only the round-robin scheduler exists (no Java default; the yml names it).
	SchedulerClassName string `koanf:"schedulerClassName"`
	// FailureCheckFreqMs is how often the leader looks for dead workers; must be above 0 (Java default 0, yml: 30000).
	FailureCheckFreqMs int64 `koanf:"failureCheckFreqMs"`
	// RescheduleTimeoutMs is how long instances of a vanished worker wait before moving (Java default 0, yml: 60000).
	RescheduleTimeoutMs int64 `koanf:"rescheduleTimeoutMs"`
	// RebalanceCheckFreqSec is the period of automatic rebalancing; 0 or less disables it (yml: -1).
	RebalanceCheckFreqSec int64 `koanf:"rebalanceCheckFreqSec"`
	// WorkerListProbeIntervalSec is how often the leader prunes drain records of departed workers; 0 or less disables it.
	WorkerListProbeIntervalSec int `koanf:"workerListProbeIntervalSec"`
	// InitialBrokerReconnectMaxRetries is how many one-second attempts start-up makes to reach the broker (Java default 0, yml: 60).
	InitialBrokerReconnectMaxRetries int `koanf:"initialBrokerReconnectMaxRetries"`
	// AssignmentWriteMaxRetries bounds retries of assignment writes (Java default 0, yml: 60).
	AssignmentWriteMaxRetries int `koanf:"assignmentWriteMaxRetries"`
	// InstanceLivenessCheckFreqMs is the instance health-check and restart period; 0 or less disables it (Java default 0, yml: 30000).
	InstanceLivenessCheckFreqMs int64 `koanf:"instanceLivenessCheckFreqMs"`
	// ExposeAdminClientEnabled gives functions an admin client in their context.
	ExposeAdminClientEnabled bool `koanf:"exposeAdminClientEnabled"`
	// MaxPendingAsyncRequests caps a Java instance's in-flight async calls.
	MaxPendingAsyncRequests int `koanf:"maxPendingAsyncRequests"`
	// ForwardSourceMessageProperty copies input message properties onto function output.
	ForwardSourceMessageProperty bool `koanf:"forwardSourceMessageProperty"`

	// --- Function runtime ---

	// FunctionRuntimeFactoryClassName selects how instances run: process, thread or Kubernetes runtime class (no Java default; yml: process).
	FunctionRuntimeFactoryClassName string `koanf:"functionRuntimeFactoryClassName"`
	// FunctionRuntimeFactoryConfigs are the selected runtime's settings, checked against its keys; ProcessRuntime gives them typed.
	FunctionRuntimeFactoryConfigs map[string]any `koanf:"functionRuntimeFactoryConfigs"`
	// ThreadContainerFactory is the deprecated way to pick the thread runtime, used when no runtime class is set.
	ThreadContainerFactory *ThreadRuntimeFactoryConfig `koanf:"threadContainerFactory"`
	// ProcessContainerFactory is the deprecated way to pick the process runtime, used when no runtime class is set.
	ProcessContainerFactory *ProcessRuntimeFactoryConfig `koanf:"processContainerFactory"`
	// KubernetesContainerFactory is the deprecated way to pick the Kubernetes runtime, used when no runtime class is set.
	KubernetesContainerFactory *KubernetesRuntimeFactoryConfig `koanf:"kubernetesContainerFactory"`
	// AdditionalJavaRuntimeArguments are extra JVM options for Java instances.
	AdditionalJavaRuntimeArguments []string `koanf:"additionalJavaRuntimeArguments"`
	// FunctionInstanceMinResources is the least a function may request (Kubernetes runtime only).
	FunctionInstanceMinResources *Resources `koanf:"functionInstanceMinResources"`
	// FunctionInstanceMaxResources is the most a function may request (Kubernetes runtime only).
	FunctionInstanceMaxResources *Resources `koanf:"functionInstanceMaxResources"`
	// FunctionInstanceResourceGranularities makes requests multiples of these amounts.
	FunctionInstanceResourceGranularities *Resources `koanf:"functionInstanceResourceGranularities"`
	// FunctionInstanceResourceChangeInLockStep requires every granular resource to use the same multiple.
	FunctionInstanceResourceChangeInLockStep bool `koanf:"functionInstanceResourceChangeInLockStep"`
	// RuntimeCustomizerClassName is a Java plugin that adjusts instances from customRuntimeOptions.
	RuntimeCustomizerClassName string `koanf:"runtimeCustomizerClassName"`
	// RuntimeCustomizerConfig is handed to the runtime customizer at start.
	RuntimeCustomizerConfig map[string]any `koanf:"runtimeCustomizerConfig"`
	// FunctionAuthProviderClassName is the Java plugin giving instances credentials; blank picks one by runtime.
	FunctionAuthProviderClassName string `koanf:"functionAuthProviderClassName"`
	// SecretsProviderConfiguratorClassName is the Java plugin choosing how instances read secrets.
	SecretsProviderConfiguratorClassName string `koanf:"secretsProviderConfiguratorClassName"`
	// SecretsProviderConfiguratorConfig is handed to the secrets configurator at start.
	SecretsProviderConfiguratorConfig map[string]string `koanf:"secretsProviderConfiguratorConfig"`
	// FunctionsWorkerServiceNarPackage names an alternative Java worker service archive.
	FunctionsWorkerServiceNarPackage string `koanf:"functionsWorkerServiceNarPackage"`
	// FunctionsWorkerServiceCustomConfigs are settings for that alternative worker service.
	FunctionsWorkerServiceCustomConfigs map[string]any `koanf:"functionsWorkerServiceCustomConfigs"`

	// --- State ---

	// StateStorageServiceUrl is the table service for function state, e.g. bk://localhost:4181.
	StateStorageServiceUrl string `koanf:"stateStorageServiceUrl"`
	// StateStorageProviderImplementation is the state store class instances load.
	StateStorageProviderImplementation string `koanf:"stateStorageProviderImplementation"`

	// --- Authentication and authorization ---

	// AuthenticationEnabled makes the REST API require credentials; it also gates auth/TLS arguments given to instances.
	AuthenticationEnabled bool `koanf:"authenticationEnabled"`
	// AuthenticationProviders are the Java provider classes accepted for authentication.
	AuthenticationProviders []string `koanf:"authenticationProviders"`
	// AuthorizationEnabled makes the REST API check the caller's permissions.
	AuthorizationEnabled bool `koanf:"authorizationEnabled"`
	// AuthorizationProvider is the Java authorization provider class.
	AuthorizationProvider string `koanf:"authorizationProvider"`
	// SuperUserRoles may do anything, including the leader's internal endpoints.
	SuperUserRoles []string `koanf:"superUserRoles"`
	// ProxyRoles may act for another principal (originalPrincipal).
	ProxyRoles []string `koanf:"proxyRoles"`
	// SaslJaasClientAllowedIds is a regular expression limiting SASL client ids.
	SaslJaasClientAllowedIds string `koanf:"saslJaasClientAllowedIds"`
	// SaslJaasServerSectionName is the JAAS login section of the worker.
	SaslJaasServerSectionName string `koanf:"saslJaasServerSectionName"`
	// SaslJaasServerRoleTokenSignerSecretPath is the file with the secret signing SASL role tokens.
	SaslJaasServerRoleTokenSignerSecretPath string `koanf:"saslJaasServerRoleTokenSignerSecretPath"`
	// KinitCommand is the Kerberos kinit binary.
	KinitCommand string `koanf:"kinitCommand"`

	// --- TLS ---

	// TlsEnabled turns on the HTTPS listener; it takes effect only with workerPortTls set.
	TlsEnabled bool `koanf:"tlsEnabled"`
	// TlsCertificateFilePath is the PEM certificate of the HTTPS listener.
	TlsCertificateFilePath string `koanf:"tlsCertificateFilePath"`
	// TlsKeyFilePath is the PEM private key of the HTTPS listener.
	TlsKeyFilePath string `koanf:"tlsKeyFilePath"`
	// TlsTrustCertsFilePath is the CA bundle for client certificates and, by default, for brokers and instances.
	TlsTrustCertsFilePath string `koanf:"tlsTrustCertsFilePath"`
	// TlsAllowInsecureConnection accepts untrusted peer certificates.
	TlsAllowInsecureConnection bool `koanf:"tlsAllowInsecureConnection"`
	// TlsEnableHostnameVerification checks that peer certificates name the host dialled.
	TlsEnableHostnameVerification bool `koanf:"tlsEnableHostnameVerification"`
	// TlsRequireTrustedClientCertOnConnect rejects HTTPS clients without a trusted certificate.
	TlsRequireTrustedClientCertOnConnect bool `koanf:"tlsRequireTrustedClientCertOnConnect"`
	// TlsCertRefreshCheckDurationSec is how often certificate files are re-read; 0 checks on every connection.
	TlsCertRefreshCheckDurationSec int64 `koanf:"tlsCertRefreshCheckDurationSec"`
	// TlsProvider names the Java TLS provider (yml: Conscrypt, Java default blank).
	TlsProvider string `koanf:"tlsProvider"`
	// TlsEnabledWithKeyStore takes TLS material from Java key stores instead of PEM files.
	TlsEnabledWithKeyStore bool `koanf:"tlsEnabledWithKeyStore"`
	// TlsKeyStoreType is the key store format (JKS or PKCS12).
	TlsKeyStoreType string `koanf:"tlsKeyStoreType"`
	// TlsKeyStore is the key store path.
	TlsKeyStore string `koanf:"tlsKeyStore"`
	// TlsKeyStorePassword unlocks the key store.
	TlsKeyStorePassword string `koanf:"tlsKeyStorePassword"`
	// TlsTrustStoreType is the trust store format (JKS or PKCS12).
	TlsTrustStoreType string `koanf:"tlsTrustStoreType"`
	// TlsTrustStore is the trust store path.
	TlsTrustStore string `koanf:"tlsTrustStore"`
	// TlsTrustStorePassword unlocks the trust store.
	TlsTrustStorePassword string `koanf:"tlsTrustStorePassword"`
	// WebServiceTlsProtocols limits the TLS versions of the HTTPS listener; empty means the defaults.
	WebServiceTlsProtocols []string `koanf:"webServiceTlsProtocols"`
	// WebServiceTlsCiphers limits the cipher suites of the HTTPS listener; empty means the defaults.
	WebServiceTlsCiphers []string `koanf:"webServiceTlsCiphers"`

	// --- Free-form ---

	// Properties holds keys WorkerConfig does not name: bookkeeper_* for the BookKeeper client, brokerClient_* for the Pulsar client, provider settings.
	Properties map[string]string `koanf:"properties"`

	// --- Our own keys (not in the Java worker) ---

	// AddFunctionsClusterToNamespace (ours) adds pulsarFunctionsCluster to the functions namespace's clusters instead of refusing to start.
	AddFunctionsClusterToNamespace bool `koanf:"addFunctionsClusterToNamespace"`
	// LogLevel (ours) is the worker's log level: debug, info, warn or error.
	LogLevel string `koanf:"logLevel"`
	// MaxPackageSizeBytes (ours) bounds a function package, enforced while it streams in or down; 0 means no limit.
	MaxPackageSizeBytes int64 `koanf:"maxPackageSizeBytes"`
	// SaslJaasConfigFile (ours) is the JAAS file with the saslJaasServerSectionName section (the Java worker's -Djava.security.auth.login.config).
	SaslJaasConfigFile string `koanf:"saslJaasConfigFile"`
	// SaslKrb5ConfigFile (ours) is the krb5.conf whose default_realm completes a JAAS principal without realm (the Java worker's -Djava.security.krb5.conf); "" means $KRB5_CONFIG, else /etc/krb5.conf.
	SaslKrb5ConfigFile string `koanf:"saslKrb5ConfigFile"`
	// MaxParallelism (ours) is the most instances a function, source or sink may ask for; creates and updates above it are refused with 400; 0 means no limit.
	MaxParallelism int `koanf:"maxParallelism"`
}

// Resources is an amount of CPU, memory and disk (Java's common.functions.Resources).
type Resources struct {
	// Cpu is in cores.
	Cpu *float64 `koanf:"cpu"`
	// Ram is in bytes.
	Ram *int64 `koanf:"ram"`
	// Disk is in bytes.
	Disk *int64 `koanf:"disk"`
}

// ProcessRuntimeFactoryConfig are functionRuntimeFactoryConfigs keys of the process runtime.
type ProcessRuntimeFactoryConfig struct {
	// JavaInstanceJarLocation overrides the path of java-instance.jar.
	JavaInstanceJarLocation string `koanf:"javaInstanceJarLocation"`
	// PythonInstanceLocation overrides the path of python_instance_main.py.
	PythonInstanceLocation string `koanf:"pythonInstanceLocation"`
	// LogDirectory is where instance log files go.
	LogDirectory string `koanf:"logDirectory"`
	// ExtraFunctionDependenciesDir adds its jars to Java instances' classpath.
	ExtraFunctionDependenciesDir string `koanf:"extraFunctionDependenciesDir"`
}

// ThreadRuntimeFactoryConfig are functionRuntimeFactoryConfigs keys of the thread runtime.
type ThreadRuntimeFactoryConfig struct {
	// ThreadGroupName names the Java thread group of instances.
	ThreadGroupName string `koanf:"threadGroupName"`
	// PulsarClientMemoryLimit caps the memory of the shared Pulsar client.
	PulsarClientMemoryLimit *MemoryLimit `koanf:"pulsarClientMemoryLimit"`
}

// MemoryLimit bounds the thread runtime's Pulsar client memory, in bytes or as a share of direct memory.
type MemoryLimit struct {
	// AbsoluteValue is in bytes.
	AbsoluteValue *int64 `koanf:"absoluteValue"`
	// PercentOfMaxDirectMemory is a percentage of the JVM's direct memory.
	PercentOfMaxDirectMemory *float64 `koanf:"percentOfMaxDirectMemory"`
}

// KubernetesRuntimeFactoryConfig are functionRuntimeFactoryConfigs keys of the Kubernetes runtime.
type KubernetesRuntimeFactoryConfig struct {
	// K8Uri is the API server; blank uses the worker's own Kubernetes settings.
	K8Uri string `koanf:"k8Uri"`
	// JobNamespace is the namespace for instance pods (blank: default).
	JobNamespace string `koanf:"jobNamespace"`
	// JobName overrides the generated StatefulSet name.
	JobName string `koanf:"jobName"`
	// PulsarDockerImageName is the image instances run in.
	PulsarDockerImageName string `koanf:"pulsarDockerImageName"`
	// FunctionDockerImages maps JAVA, PYTHON and GO to images.
	FunctionDockerImages map[string]string `koanf:"functionDockerImages"`
	// ImagePullPolicy is the pods' image pull policy.
	ImagePullPolicy string `koanf:"imagePullPolicy"`
	// PulsarRootDir is the Pulsar home inside the image.
	PulsarRootDir string `koanf:"pulsarRootDir"`
	// ConfigAdminCLI is the admin tool path inside the image.
	ConfigAdminCLI string `koanf:"configAdminCLI"`
	// SubmittingInsidePod says the worker itself runs in the target cluster.
	SubmittingInsidePod *bool `koanf:"submittingInsidePod"`
	// PulsarServiceUrl overrides the broker URL given to instances.
	PulsarServiceUrl string `koanf:"pulsarServiceUrl"`
	// PulsarAdminUrl overrides the admin URL given to instances.
	PulsarAdminUrl string `koanf:"pulsarAdminUrl"`
	// InstallUserCodeDependencies installs Python dependencies in the pod.
	InstallUserCodeDependencies *bool `koanf:"installUserCodeDependencies"`
	// PythonDependencyRepository is the Python package index for dependencies.
	PythonDependencyRepository string `koanf:"pythonDependencyRepository"`
	// PythonExtraDependencyRepository is an additional Python package index.
	PythonExtraDependencyRepository string `koanf:"pythonExtraDependencyRepository"`
	// ExtraFunctionDependenciesDir is the extra dependency directory, relative to pulsarRootDir unless absolute.
	ExtraFunctionDependenciesDir string `koanf:"extraFunctionDependenciesDir"`
	// CustomLabels are added to instance pods.
	CustomLabels map[string]string `koanf:"customLabels"`
	// ExpectedMetricsCollectionInterval is in seconds.
	ExpectedMetricsCollectionInterval *int `koanf:"expectedMetricsCollectionInterval"`
	// ChangeConfigMap is a config map re-read for runtime changes.
	ChangeConfigMap string `koanf:"changeConfigMap"`
	// ChangeConfigMapNamespace is that config map's namespace.
	ChangeConfigMapNamespace string `koanf:"changeConfigMapNamespace"`
	// PercentMemoryPadding adds this percentage to requested memory.
	PercentMemoryPadding int `koanf:"percentMemoryPadding"`
	// CpuOverCommitRatio divides the CPU limit to get the request.
	CpuOverCommitRatio float64 `koanf:"cpuOverCommitRatio"`
	// MemoryOverCommitRatio divides the memory limit to get the request.
	MemoryOverCommitRatio float64 `koanf:"memoryOverCommitRatio"`
	// GrpcPort is the instance control port inside the pod.
	GrpcPort *int `koanf:"grpcPort"`
	// MetricsPort is the instance metrics port inside the pod; nil disables metrics.
	MetricsPort *int `koanf:"metricsPort"`
	// NarExtractionDirectory is where NARs are unpacked inside the pod.
	NarExtractionDirectory string `koanf:"narExtractionDirectory"`
	// FunctionInstanceClassPath is the instance classpath inside the pod.
	FunctionInstanceClassPath string `koanf:"functionInstanceClassPath"`
	// GracePeriodSeconds is the StatefulSet deletion grace period.
	GracePeriodSeconds int `koanf:"gracePeriodSeconds"`
	// KubernetesFunctionAuthProviderConfig configures the Kubernetes function auth provider.
	KubernetesFunctionAuthProviderConfig map[string]any `koanf:"kubernetesFunctionAuthProviderConfig"`
}

// Default returns the configuration the Java worker uses for a file with no keys,
// plus our own keys' defaults. It is not a runnable configuration by itself: Java
// DefaultMaxParallelism bounds a component's instances unless maxParallelism
// says otherwise. Every instance is a process (a JVM is 100+ MB), so 1000 is
// more than any cluster we know runs for one component, yet a typo such as
// 100000 cannot start a fork storm across the workers (issue 12: three workers
// started 333 processes in 19 s before anyone noticed).
const DefaultMaxParallelism = 1000

// leaves the broker URLs, namespace, topic names and timers unset.
func Default() *Config {
	return &Config{
		NumHttpServerThreads:                     8,
		HttpRequestsMaxPerSecond:                 100.0,
		MaxConcurrentHttpRequests:                1024,
		HttpServerThreadPoolQueueSize:            8192,
		HttpServerAcceptQueueSize:                8192,
		MaxHttpServerConnections:                 2048,
		AuthenticateMetricsEndpoint:              true,
		MetadataStoreSessionTimeoutMillis:        30000,
		MetadataStoreOperationTimeoutSeconds:     30,
		MetadataStoreCacheExpirySeconds:          300,
		ZooKeeperSessionTimeoutMillis:            -1,
		ZooKeeperOperationTimeoutSeconds:         -1,
		ZooKeeperCacheExpirySeconds:              -1,
		TopicCompactionFrequencySec:              1800,
		TlsCertRefreshCheckDurationSec:           300,
		ConnectorsDirectory:                      "./connectors",
		FunctionsDirectory:                       "./functions",
		NarExtractionDirectory:                   os.TempDir(),
		EnableReferencingConnectorDirectoryFiles: true,
		EnableReferencingFunctionsDirectoryFiles: true,
		UploadBuiltinSinksSources:                true,
		WorkerListProbeIntervalSec:               60,
		MaxPendingAsyncRequests:                  1000,
		ForwardSourceMessageProperty:             true,
		StateStorageProviderImplementation:       "org.apache.pulsar.functions.instance.state.BKStateStoreProviderImpl",
		AuthorizationProvider:                    "org.apache.pulsar.broker.authorization.PulsarAuthorizationProvider",
		SaslJaasClientAllowedIds:                 ".*pulsar.*",
		SaslJaasServerSectionName:                "PulsarFunction",
		KinitCommand:                             "/usr/bin/kinit",
		TlsKeyStoreType:                          "JKS",
		TlsTrustStoreType:                        "JKS",
		LogLevel:                                 "info",
		MaxPackageSizeBytes:                      500 << 20,
		MaxParallelism:                           DefaultMaxParallelism,
	}
}

// defaulter is implemented by nested objects whose Java class has field initialisers,
// so a partially written object gets Java's values for the keys it leaves out.
type defaulter interface{ applyDefaults() }

func (r *Resources) applyDefaults() {
	cpu, ram, disk := 1.0, int64(1<<30), int64(10<<30)
	r.Cpu, r.Ram, r.Disk = &cpu, &ram, &disk
}

func (k *KubernetesRuntimeFactoryConfig) applyDefaults() {
	interval, grpc, metrics := 30, 9093, 9094
	k.ExpectedMetricsCollectionInterval = &interval
	k.CpuOverCommitRatio = 1.0
	k.MemoryOverCommitRatio = 1.0
	k.GrpcPort = &grpc
	k.MetricsPort = &metrics
	k.NarExtractionDirectory = os.TempDir()
	k.GracePeriodSeconds = 5
}
