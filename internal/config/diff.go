package config

import (
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"slices"
	"strings"
)

// Change is one key whose value differs between two configs.
type Change struct {
	// Key is the dotted key as written in the file: superUserRoles,
	// functionRuntimeFactoryConfigs.logDirectory, functionInstanceMaxResources.ram.
	Key string
	// Old and New are the values in the old and the new config: the field's Go value
	// (a *int stays a *int; nil when the key or its enclosing object is absent).
	// They may hold secrets: log a Change through String or as a slog value, never
	// by printing Old and New directly.
	Old, New any
	// Live says the running worker can apply the new value without a restart (see
	// Classify). A key the worker does not use at all is live: there is nothing to
	// restart for.
	Live bool
}

// String renders the change for a log line, secrets redacted:
//
//	superUserRoles: [a] -> [a b] (live)
//	brokerClientAuthenticationParameters: <redacted> -> <redacted> (restart needed)
func (c Change) String() string {
	how := "restart needed"
	if c.Live {
		how = "live"
	}
	return fmt.Sprintf("%s: %s -> %s (%s)", c.Key, Render(c.Key, c.Old), Render(c.Key, c.New), how)
}

// LogValue makes slog.Any("change", c) log the redacted String, not Old and New.
func (c Change) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Diff returns every key whose value differs between old and new, sorted by key,
// each marked Live or not by Classify. Values are compared with reflect.DeepEqual
// field by field. Nested objects (functionInstance*Resources, the deprecated
// *ContainerFactory blocks and functionRuntimeFactoryConfigs) are compared key by
// key and reported with dotted keys; when one side is null the object is one
// change under its own key. Lists and free-form maps (properties, customLabels, ...)
// are compared as whole values. A nil config counts as a Config with no value set.
func Diff(old, new *Config) []Change {
	if old == nil {
		old = &Config{}
	}
	if new == nil {
		new = &Config{}
	}
	var out []Change
	diffStruct(&out, "", reflect.ValueOf(old).Elem(), reflect.ValueOf(new).Elem())
	for i := range out {
		out[i].Live, _ = Classify(out[i].Key)
	}
	slices.SortFunc(out, func(a, b Change) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// nestedObjectMaps are map[string]any keys that stand for a typed object of the
// selected runtime, so they are diffed key by key like a struct.
var nestedObjectMaps = map[string]bool{"functionRuntimeFactoryConfigs": true}

func dotted(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func diffStruct(out *[]Change, prefix string, a, b reflect.Value) {
	t := a.Type()
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("koanf")
		if tag == "" {
			continue
		}
		diffValue(out, dotted(prefix, tag), a.Field(i), b.Field(i))
	}
}

func diffValue(out *[]Change, key string, a, b reflect.Value) {
	switch {
	case a.Kind() == reflect.Pointer && a.Type().Elem().Kind() == reflect.Struct:
		if !a.IsNil() && !b.IsNil() {
			diffStruct(out, key, a.Elem(), b.Elem())
			return
		}
	case a.Kind() == reflect.Map && a.Type().Elem().Kind() == reflect.Interface && nestedObjectMaps[key]:
		diffMap(out, key, mapOf(a), mapOf(b))
		return
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		*out = append(*out, Change{Key: key, Old: a.Interface(), New: b.Interface()})
	}
}

func mapOf(v reflect.Value) map[string]any {
	m, _ := v.Interface().(map[string]any)
	return m
}

// diffMap diffs two object-like maps key by key, descending into nested objects.
// A nil map and an empty one are the same: no keys set.
func diffMap(out *[]Change, prefix string, a, b map[string]any) {
	keys := make(map[string]bool, len(a)+len(b))
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	for k := range keys {
		av, aok := a[k]
		bv, bok := b[k]
		am, aIsMap := av.(map[string]any)
		bm, bIsMap := bv.(map[string]any)
		if aIsMap && bIsMap {
			diffMap(out, dotted(prefix, k), am, bm)
			continue
		}
		if aok != bok || !reflect.DeepEqual(av, bv) {
			*out = append(*out, Change{Key: dotted(prefix, k), Old: av, New: bv})
		}
	}
}

// Classify says whether the running worker applies a new value of key (a dotted
// key as in Change.Key) without a restart, and why. A nested key takes the class
// of the nearest enclosing key in the table (functionInstanceMaxResources.ram is
// classed as functionInstanceMaxResources); a key not in the table needs a restart.
func Classify(key string) (live bool, why string) {
	for k := key; ; {
		if r, ok := reloadRules[k]; ok {
			return r.live, r.why
		}
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			return false, "not classified: restart to be safe"
		}
		k = k[:i]
	}
}

type reloadRule struct {
	live bool
	why  string
}

// reloadRules is what a reload can apply without restarting the worker. It is the
// single source of truth: the daemon applies the live keys, reports the others as
// needing a restart. Keep the table in the comment below in step (a test checks).
//
// "live" means the worker uses the new value from the next request, tick or
// submission on; keys that only shape instances affect instances started
// afterwards. "restart" means the value is used only while the worker starts (or
// is baked into running instances), so a reload reports it and keeps the old value.
// A worker restart does not restart running instances (they are re-adopted), so
// instance command-line keys reach a running function only when it is next
// (re)started.
//
//	key                                           applied  why
//	workerId                                      restart  this worker's identity in membership and assignments
//	workerHostname                                restart  advertised to other workers and clients in the worker's membership
//	workerPort                                    restart  listening socket (and the .socket unit)
//	workerPortTls                                 restart  listening socket (and the .socket unit)
//	numHttpServerThreads                          restart  HTTP server is sized at start
//	httpRequestsLimitEnabled                      live     the rate limiter is consulted on each request
//	httpRequestsMaxPerSecond                      live     the rate limiter's rate can change in place
//	maxConcurrentHttpRequests                     restart  HTTP server is sized at start
//	httpServerThreadPoolQueueSize                 restart  HTTP server is sized at start
//	httpServerAcceptQueueSize                     restart  listen backlog is set when the socket is bound
//	maxHttpServerConnections                      restart  HTTP server is sized at start
//	webServiceHaProxyProtocolEnabled              restart  listeners are wrapped at start
//	webServiceTrustXForwardedFor                  restart  request middleware is built at start
//	webServiceLogDetailedAddresses                restart  request middleware is built at start
//	authenticateMetricsEndpoint                   live     checked on each /metrics request
//	includeStandardPrometheusMetrics              restart  metric collectors are registered at start
//	jvmGCMetricsLoggerClassName                   live     Java-only plugin: no effect in this worker
//	configurationMetadataStoreUrl                 restart  metadata store connection settings are read at start
//	configurationStoreServers                     restart  metadata store connection settings are read at start
//	metadataStoreSessionTimeoutMillis             restart  metadata store connection settings are read at start
//	metadataStoreOperationTimeoutSeconds          restart  metadata store connection settings are read at start
//	metadataStoreCacheExpirySeconds               restart  metadata store connection settings are read at start
//	metadataStoreAllowReadOnlyOperations          restart  metadata store connection settings are read at start
//	zooKeeperSessionTimeoutMillis                 restart  metadata store connection settings are read at start
//	zooKeeperOperationTimeoutSeconds              restart  metadata store connection settings are read at start
//	zooKeeperCacheExpirySeconds                   restart  metadata store connection settings are read at start
//	zooKeeperAllowReadOnlyOperations              restart  metadata store connection settings are read at start
//	initializedDlogMetadata                       restart  package storage is set up at start
//	pulsarServiceUrl                              restart  broker client is built at start; also given to instances
//	pulsarWebServiceUrl                           restart  admin client is built at start; also given to instances
//	functionWebServiceUrl                         restart  read at start
//	useTls                                        restart  broker client is built at start; also given to instances
//	pulsarFunctionsNamespace                      restart  holds the state topics the worker follows from start
//	pulsarFunctionsCluster                        restart  namespace bootstrap at start; also given to instances
//	functionMetadataTopicName                     restart  state topic followed from start
//	clusterCoordinationTopicName                  restart  state topic followed from start; leader election
//	functionAssignmentTopicName                   restart  state topic followed from start
//	useCompactedMetadataTopic                     restart  metadata message format; all workers must agree
//	topicCompactionFrequencySec                   live     the leader's compaction timer takes the new period
//	brokerClientAuthenticationEnabled             restart  broker client is built at start; also given to instances
//	brokerClientAuthenticationPlugin              restart  broker client is built at start; also given to instances
//	brokerClientAuthenticationParameters          restart  broker client is built at start; also given to instances
//	brokerClientTrustCertsFilePath                restart  broker client is built at start
//	clientAuthenticationPlugin                    restart  broker client is built at start; also given to instances
//	clientAuthenticationParameters                restart  broker client is built at start; also given to instances
//	bookkeeperClientAuthenticationPlugin          restart  BookKeeper client settings are read at start
//	bookkeeperClientAuthenticationParametersName  restart  BookKeeper client settings are read at start
//	bookkeeperClientAuthenticationParameters      restart  BookKeeper client settings are read at start
//	numFunctionPackageReplicas                    restart  package store is set up at start
//	downloadDirectory                             restart  package store and instances use it from start
//	functionsWorkerEnablePackageManagement        restart  picks the package store at start
//	connectorsDirectory                           restart  built-in connectors are scanned at start
//	functionsDirectory                            restart  built-in functions are scanned at start
//	narExtractionDirectory                        restart  given to instances
//	enableReferencingConnectorDirectoryFiles      live     checked on each submission
//	additionalEnabledConnectorUrlPatterns         live     checked on each submission
//	enableReferencingFunctionsDirectoryFiles      live     checked on each submission
//	additionalEnabledFunctionsUrlPatterns         live     checked on each submission
//	enableClassloadingOfBuiltinFiles              live     Java-only class loading: no effect in this worker
//	enableClassloadingOfExternalFiles             live     Java-only class loading: no effect in this worker
//	validateConnectorConfig                       live     Java-only class loading: no effect in this worker
//	ignoreUnknownConfigFields                     restart  instance command line
//	uploadBuiltinSinksSources                     restart  done once at start
//	schedulerClassName                            restart  scheduler is chosen at start
//	failureCheckFreqMs                            live     the leader's dead-worker timer takes the new period
//	rescheduleTimeoutMs                           live     read at each dead-worker check
//	rebalanceCheckFreqSec                         live     the leader's rebalance timer takes the new period
//	workerListProbeIntervalSec                    live     the leader's drain-record timer takes the new period
//	initialBrokerReconnectMaxRetries              restart  used only while starting
//	assignmentWriteMaxRetries                     restart  the leader's assignment writer is set up when it takes over
//	instanceLivenessCheckFreqMs                   restart  baked into running instances, which kill themselves if checked less often
//	exposeAdminClientEnabled                      restart  instance command line
//	maxPendingAsyncRequests                       restart  instance command line
//	forwardSourceMessageProperty                  restart  instance command line
//	functionRuntimeFactoryClassName               restart  the runtime is built at start
//	functionRuntimeFactoryConfigs                 restart  the runtime is built at start
//	threadContainerFactory                        restart  the runtime is built at start
//	processContainerFactory                       restart  the runtime is built at start
//	kubernetesContainerFactory                    restart  the runtime is built at start
//	additionalJavaRuntimeArguments                restart  instance command line
//	functionInstanceMinResources                  live     checked on each submission; applies to instances started afterwards
//	functionInstanceMaxResources                  live     checked on each submission; applies to instances started afterwards
//	functionInstanceResourceGranularities         live     checked on each submission; applies to instances started afterwards
//	functionInstanceResourceChangeInLockStep      live     checked on each submission; applies to instances started afterwards
//	runtimeCustomizerClassName                    restart  runtime plugin is loaded at start
//	runtimeCustomizerConfig                       restart  runtime plugin is loaded at start
//	functionAuthProviderClassName                 restart  runtime plugin is loaded at start
//	secretsProviderConfiguratorClassName          restart  runtime plugin is loaded at start
//	secretsProviderConfiguratorConfig             restart  instance command line
//	functionsWorkerServiceNarPackage              restart  worker service is chosen at start
//	functionsWorkerServiceCustomConfigs           restart  worker service is chosen at start
//	stateStorageServiceUrl                        restart  instance command line
//	stateStorageProviderImplementation            restart  instance command line
//	authenticationEnabled                         restart  providers are built at start; gates instances' auth arguments and broker auth
//	authenticationProviders                       restart  providers are built at start
//	authorizationEnabled                          live     checked on each request (the provider is built at start either way)
//	authorizationProvider                         restart  provider is built at start
//	superUserRoles                                live     checked on each request (a tenant created at start keeps its admin roles)
//	proxyRoles                                    live     checked on each request
//	saslJaasClientAllowedIds                      restart  SASL provider is built at start
//	saslJaasServerSectionName                     restart  SASL provider is built at start
//	saslJaasServerRoleTokenSignerSecretPath       restart  SASL provider is built at start
//	kinitCommand                                  restart  SASL provider is built at start
//	tlsEnabled                                    restart  listening socket
//	tlsCertificateFilePath                        restart  listener set up at start; the file itself is re-read every tlsCertRefreshCheckDurationSec
//	tlsKeyFilePath                                restart  listener set up at start; the file itself is re-read every tlsCertRefreshCheckDurationSec
//	tlsTrustCertsFilePath                         restart  listener and broker client set up at start; also given to instances
//	tlsAllowInsecureConnection                    restart  broker client is built at start; also given to instances
//	tlsEnableHostnameVerification                 restart  broker client is built at start; also given to instances
//	tlsRequireTrustedClientCertOnConnect          restart  listener set up at start
//	tlsCertRefreshCheckDurationSec                live     the certificate reloader takes the new period
//	tlsProvider                                   live     Java TLS provider: no effect in this worker
//	tlsEnabledWithKeyStore                        restart  listener set up at start
//	tlsKeyStoreType                               restart  listener set up at start
//	tlsKeyStore                                   restart  listener set up at start
//	tlsKeyStorePassword                           restart  listener set up at start
//	tlsTrustStoreType                             restart  listener set up at start
//	tlsTrustStore                                 restart  listener set up at start
//	tlsTrustStorePassword                         restart  listener set up at start
//	webServiceTlsProtocols                        restart  listener set up at start
//	webServiceTlsCiphers                          restart  listener set up at start
//	properties                                    restart  client and provider settings are read at start
//	addFunctionsClusterToNamespace                restart  namespace bootstrap runs at start
//	logLevel                                      live     the log level can change in place
//	maxPackageSizeBytes                           restart  the package store is set up at start
//	saslJaasConfigFile                            restart  SASL provider is built at start
//	saslKrb5ConfigFile                            restart  SASL provider is built at start
//	maxParallelism                                restart  the REST API is set up at start
var reloadRules = map[string]reloadRule{
	"workerId":                         {false, "this worker's identity in membership and assignments"},
	"workerHostname":                   {false, "advertised to other workers and clients in the worker's membership"},
	"workerPort":                       {false, "listening socket (and the .socket unit)"},
	"workerPortTls":                    {false, "listening socket (and the .socket unit)"},
	"numHttpServerThreads":             {false, "HTTP server is sized at start"},
	"httpRequestsLimitEnabled":         {true, "the rate limiter is consulted on each request"},
	"httpRequestsMaxPerSecond":         {true, "the rate limiter's rate can change in place"},
	"maxConcurrentHttpRequests":        {false, "HTTP server is sized at start"},
	"httpServerThreadPoolQueueSize":    {false, "HTTP server is sized at start"},
	"httpServerAcceptQueueSize":        {false, "listen backlog is set when the socket is bound"},
	"maxHttpServerConnections":         {false, "HTTP server is sized at start"},
	"webServiceHaProxyProtocolEnabled": {false, "listeners are wrapped at start"},
	"webServiceTrustXForwardedFor":     {false, "request middleware is built at start"},
	"webServiceLogDetailedAddresses":   {false, "request middleware is built at start"},

	"authenticateMetricsEndpoint":      {true, "checked on each /metrics request"},
	"includeStandardPrometheusMetrics": {false, "metric collectors are registered at start"},
	"jvmGCMetricsLoggerClassName":      {true, "Java-only plugin: no effect in this worker"},

	"configurationMetadataStoreUrl":        {false, "metadata store connection settings are read at start"},
	"configurationStoreServers":            {false, "metadata store connection settings are read at start"},
	"metadataStoreSessionTimeoutMillis":    {false, "metadata store connection settings are read at start"},
	"metadataStoreOperationTimeoutSeconds": {false, "metadata store connection settings are read at start"},
	"metadataStoreCacheExpirySeconds":      {false, "metadata store connection settings are read at start"},
	"metadataStoreAllowReadOnlyOperations": {false, "metadata store connection settings are read at start"},
	"zooKeeperSessionTimeoutMillis":        {false, "metadata store connection settings are read at start"},
	"zooKeeperOperationTimeoutSeconds":     {false, "metadata store connection settings are read at start"},
	"zooKeeperCacheExpirySeconds":          {false, "metadata store connection settings are read at start"},
	"zooKeeperAllowReadOnlyOperations":     {false, "metadata store connection settings are read at start"},
	"initializedDlogMetadata":              {false, "package storage is set up at start"},

	"pulsarServiceUrl":             {false, "broker client is built at start; also given to instances"},
	"pulsarWebServiceUrl":          {false, "admin client is built at start; also given to instances"},
	"functionWebServiceUrl":        {false, "read at start"},
	"useTls":                       {false, "broker client is built at start; also given to instances"},
	"pulsarFunctionsNamespace":     {false, "holds the state topics the worker follows from start"},
	"pulsarFunctionsCluster":       {false, "namespace bootstrap at start; also given to instances"},
	"functionMetadataTopicName":    {false, "state topic followed from start"},
	"clusterCoordinationTopicName": {false, "state topic followed from start; leader election"},
	"functionAssignmentTopicName":  {false, "state topic followed from start"},
	"useCompactedMetadataTopic":    {false, "metadata message format; all workers must agree"},
	"topicCompactionFrequencySec":  {true, "the leader's compaction timer takes the new period"},

	"brokerClientAuthenticationEnabled":            {false, "broker client is built at start; also given to instances"},
	"brokerClientAuthenticationPlugin":             {false, "broker client is built at start; also given to instances"},
	"brokerClientAuthenticationParameters":         {false, "broker client is built at start; also given to instances"},
	"brokerClientTrustCertsFilePath":               {false, "broker client is built at start"},
	"clientAuthenticationPlugin":                   {false, "broker client is built at start; also given to instances"},
	"clientAuthenticationParameters":               {false, "broker client is built at start; also given to instances"},
	"bookkeeperClientAuthenticationPlugin":         {false, "BookKeeper client settings are read at start"},
	"bookkeeperClientAuthenticationParametersName": {false, "BookKeeper client settings are read at start"},
	"bookkeeperClientAuthenticationParameters":     {false, "BookKeeper client settings are read at start"},

	"numFunctionPackageReplicas":               {false, "package store is set up at start"},
	"downloadDirectory":                        {false, "package store and instances use it from start"},
	"functionsWorkerEnablePackageManagement":   {false, "picks the package store at start"},
	"connectorsDirectory":                      {false, "built-in connectors are scanned at start"},
	"functionsDirectory":                       {false, "built-in functions are scanned at start"},
	"narExtractionDirectory":                   {false, "given to instances"},
	"enableReferencingConnectorDirectoryFiles": {true, "checked on each submission"},
	"additionalEnabledConnectorUrlPatterns":    {true, "checked on each submission"},
	"enableReferencingFunctionsDirectoryFiles": {true, "checked on each submission"},
	"additionalEnabledFunctionsUrlPatterns":    {true, "checked on each submission"},
	"enableClassloadingOfBuiltinFiles":         {true, "Java-only class loading: no effect in this worker"},
	"enableClassloadingOfExternalFiles":        {true, "Java-only class loading: no effect in this worker"},
	"validateConnectorConfig":                  {true, "Java-only class loading: no effect in this worker"},
	"ignoreUnknownConfigFields":                {false, "instance command line"},
	"uploadBuiltinSinksSources":                {false, "done once at start"},

	"schedulerClassName":               {false, "scheduler is chosen at start"},
	"failureCheckFreqMs":               {true, "the leader's dead-worker timer takes the new period"},
	"rescheduleTimeoutMs":              {true, "read at each dead-worker check"},
	"rebalanceCheckFreqSec":            {true, "the leader's rebalance timer takes the new period"},
	"workerListProbeIntervalSec":       {true, "the leader's drain-record timer takes the new period"},
	"initialBrokerReconnectMaxRetries": {false, "used only while starting"},
	"assignmentWriteMaxRetries":        {false, "the leader's assignment writer is set up when it takes over"},
	"instanceLivenessCheckFreqMs":      {false, "baked into running instances, which kill themselves if checked less often"},
	"exposeAdminClientEnabled":         {false, "instance command line"},
	"maxPendingAsyncRequests":          {false, "instance command line"},
	"forwardSourceMessageProperty":     {false, "instance command line"},

	"functionRuntimeFactoryClassName":          {false, "the runtime is built at start"},
	"functionRuntimeFactoryConfigs":            {false, "the runtime is built at start"},
	"threadContainerFactory":                   {false, "the runtime is built at start"},
	"processContainerFactory":                  {false, "the runtime is built at start"},
	"kubernetesContainerFactory":               {false, "the runtime is built at start"},
	"additionalJavaRuntimeArguments":           {false, "instance command line"},
	"functionInstanceMinResources":             {true, "checked on each submission; applies to instances started afterwards"},
	"functionInstanceMaxResources":             {true, "checked on each submission; applies to instances started afterwards"},
	"functionInstanceResourceGranularities":    {true, "checked on each submission; applies to instances started afterwards"},
	"functionInstanceResourceChangeInLockStep": {true, "checked on each submission; applies to instances started afterwards"},
	"runtimeCustomizerClassName":               {false, "runtime plugin is loaded at start"},
	"runtimeCustomizerConfig":                  {false, "runtime plugin is loaded at start"},
	"functionAuthProviderClassName":            {false, "runtime plugin is loaded at start"},
	"secretsProviderConfiguratorClassName":     {false, "runtime plugin is loaded at start"},
	"secretsProviderConfiguratorConfig":        {false, "instance command line"},
	"functionsWorkerServiceNarPackage":         {false, "worker service is chosen at start"},
	"functionsWorkerServiceCustomConfigs":      {false, "worker service is chosen at start"},

	"stateStorageServiceUrl":             {false, "instance command line"},
	"stateStorageProviderImplementation": {false, "instance command line"},

	"authenticationEnabled":                   {false, "providers are built at start; gates instances' auth arguments and broker auth"},
	"authenticationProviders":                 {false, "providers are built at start"},
	"authorizationEnabled":                    {true, "checked on each request (the provider is built at start either way)"},
	"authorizationProvider":                   {false, "provider is built at start"},
	"superUserRoles":                          {true, "checked on each request (a tenant created at start keeps its admin roles)"},
	"proxyRoles":                              {true, "checked on each request"},
	"saslJaasClientAllowedIds":                {false, "SASL provider is built at start"},
	"saslJaasServerSectionName":               {false, "SASL provider is built at start"},
	"saslJaasServerRoleTokenSignerSecretPath": {false, "SASL provider is built at start"},
	"kinitCommand":                            {false, "SASL provider is built at start"},

	"tlsEnabled":                           {false, "listening socket"},
	"tlsCertificateFilePath":               {false, "listener set up at start; the file itself is re-read every tlsCertRefreshCheckDurationSec"},
	"tlsKeyFilePath":                       {false, "listener set up at start; the file itself is re-read every tlsCertRefreshCheckDurationSec"},
	"tlsTrustCertsFilePath":                {false, "listener and broker client set up at start; also given to instances"},
	"tlsAllowInsecureConnection":           {false, "broker client is built at start; also given to instances"},
	"tlsEnableHostnameVerification":        {false, "broker client is built at start; also given to instances"},
	"tlsRequireTrustedClientCertOnConnect": {false, "listener set up at start"},
	"tlsCertRefreshCheckDurationSec":       {true, "the certificate reloader takes the new period"},
	"tlsProvider":                          {true, "Java TLS provider: no effect in this worker"},
	"tlsEnabledWithKeyStore":               {false, "listener set up at start"},
	"tlsKeyStoreType":                      {false, "listener set up at start"},
	"tlsKeyStore":                          {false, "listener set up at start"},
	"tlsKeyStorePassword":                  {false, "listener set up at start"},
	"tlsTrustStoreType":                    {false, "listener set up at start"},
	"tlsTrustStore":                        {false, "listener set up at start"},
	"tlsTrustStorePassword":                {false, "listener set up at start"},
	"webServiceTlsProtocols":               {false, "listener set up at start"},
	"webServiceTlsCiphers":                 {false, "listener set up at start"},

	"properties":                     {false, "client and provider settings are read at start"},
	"addFunctionsClusterToNamespace": {false, "namespace bootstrap runs at start"},
	"logLevel":                       {true, "the log level can change in place"},
	"maxPackageSizeBytes":            {false, "the package store is set up at start"},
	"maxParallelism":                 {false, "the REST API is set up at start"},
	"saslJaasConfigFile":             {false, "SASL provider is built at start"},
	"saslKrb5ConfigFile":             {false, "SASL provider is built at start"},
}

// redacted replaces secret values in Render's output.
const redacted = "<redacted>"

// secretWords mark a key (or a map entry's key) whose value is a secret. Keys
// ending in secretExempt name a file, a class or a parameter rather than hold one
// (tlsKeyStorePassword is secret; saslJaasServerRoleTokenSignerSecretPath is not).
var (
	secretWords  = []string{"password", "passwd", "passphrase", "secret", "token", "credential", "parameters", "params", "privatekey", "apikey", "authdata"}
	secretExempt = []string{"path", "file", "classname", "name", "dir", "directory"}
)

// IsSecretKey reports whether the value of key (dotted or not; only its last
// segment counts) is a secret: brokerClientAuthenticationParameters,
// clientAuthenticationParameters, bookkeeperClientAuthenticationParameters,
// tlsKeyStorePassword, tlsTrustStorePassword, secretsProviderConfiguratorConfig,
// and free-form entries such as properties' brokerClient_authParams or
// tokenSecretKey.
func IsSecretKey(key string) bool {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		key = key[i+1:]
	}
	k := strings.ToLower(key)
	for _, s := range secretExempt {
		if strings.HasSuffix(k, s) {
			return false
		}
	}
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// inlineSecret finds "password=...", "token:..." and the like inside a string, as
// in JVM options (-Djavax.net.ssl.keyStorePassword=x) or parameter strings.
var inlineSecret = regexp.MustCompile(`(?i)((?:password|passwd|secret|token|credentials?|authparams)[^=:\s,;&]*[=:])[^\s,;&]+`)

// urlPassword finds the password of user:password@ in URLs (also multi-host
// Pulsar URLs that net/url cannot parse).
var urlPassword = regexp.MustCompile(`(://[^/@\s:]*:)[^/@\s]*@`)

// Render formats the value of key for a log line: pointers dereferenced, null for
// nil, objects as maps with their file keys, and secrets replaced with
// "<redacted>": the whole value of a secret key (unless empty, so "set" and
// "unset" stay visible), secret entries of maps, URL passwords, and
// password=/token: pairs inside strings.
func Render(key string, v any) string {
	p := plain(reflect.ValueOf(v))
	if p == nil {
		return "null"
	}
	if IsSecretKey(key) && !isEmpty(p) {
		return redacted
	}
	p = scrub(p)
	if s, ok := p.(string); ok && s == "" {
		return `""`
	}
	return fmt.Sprint(p)
}

// plain turns a config value into nil, scalars, []any and map[string]any, so it
// prints without pointer addresses.
func plain(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return plain(v.Elem())
	case reflect.Struct:
		m := map[string]any{}
		t := v.Type()
		for i := range t.NumField() {
			tag := t.Field(i).Tag.Get("koanf")
			if tag == "" || !t.Field(i).IsExported() {
				continue
			}
			if f := plain(v.Field(i)); f != nil {
				m[tag] = f
			}
		}
		return m
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		m := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			m[fmt.Sprint(it.Key().Interface())] = plain(it.Value())
		}
		return m
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return []any{}
		}
		s := make([]any, v.Len())
		for i := range s {
			s[i] = plain(v.Index(i))
		}
		return s
	}
	return v.Interface()
}

func isEmpty(p any) bool {
	switch x := p.(type) {
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// scrub redacts secrets inside a plain value.
func scrub(p any) any {
	switch x := p.(type) {
	case string:
		return scrubString(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = scrub(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if IsSecretKey(k) && e != nil && !isEmpty(e) {
				out[k] = redacted
			} else {
				out[k] = scrub(e)
			}
		}
		return out
	}
	return p
}

func scrubString(s string) string {
	s = urlPassword.ReplaceAllString(s, "${1}"+redacted+"@")
	return inlineSecret.ReplaceAllString(s, "${1}"+redacted)
}
