package config

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
)

// ok reports whether none of the keys failed to decode; rules that combine keys
// skip broken ones rather than pile a second error onto the same mistake.
func (l *loader) ok(keys ...string) bool {
	for _, k := range keys {
		if l.bad[k] {
			return false
		}
	}
	return true
}

// validate applies the rules that types alone cannot express.
func (l *loader) validate(c *Config) {
	key := func(k ...string) []string { return k }

	// Identity: WorkerInfo is "<id>:<host>:<port>" and peers split it on ':'.
	if strings.Contains(c.WorkerId, ":") {
		l.errorf(key("workerId"), "must not contain ':' (other workers split \"id:host:port\" on it)")
	}
	if strings.Contains(c.WorkerHostname, ":") {
		l.errorf(key("workerHostname"), "must not contain ':' (other workers split \"id:host:port\" on it; use a name, not an IPv6 address)")
	}

	// Listeners.
	l.port(key("workerPort"), c.WorkerPort)
	l.port(key("workerPortTls"), c.WorkerPortTls)
	if c.WorkerPort == nil && !c.TLSEnabled() && l.ok("workerPort", "workerPortTls", "tlsEnabled") {
		l.errorf(key("workerPort"), "no listener: workerPort is null and HTTPS is off (HTTPS needs tlsEnabled: true and workerPortTls)")
	}
	if c.TlsEnabled && c.WorkerPortTls == nil && l.ok("workerPortTls") {
		l.warnf(key("tlsEnabled"), "has no effect while workerPortTls is null")
	}
	if c.TLSEnabled() {
		const why = "required when tlsEnabled is true and workerPortTls is set"
		if c.TlsEnabledWithKeyStore {
			if c.TlsKeyStore == "" {
				l.errorf(key("tlsKeyStore"), "%s (tlsEnabledWithKeyStore is true)", why)
			}
		} else {
			if c.TlsCertificateFilePath == "" {
				l.errorf(key("tlsCertificateFilePath"), why)
			}
			if c.TlsKeyFilePath == "" {
				l.errorf(key("tlsKeyFilePath"), why)
			}
		}
	}

	// HTTP server sizes (Jetty rejects these at start-up in Java).
	l.atLeast(key("numHttpServerThreads"), int64(c.NumHttpServerThreads), 1)
	l.atLeast(key("maxConcurrentHttpRequests"), int64(c.MaxConcurrentHttpRequests), 1)
	l.atLeast(key("httpServerThreadPoolQueueSize"), int64(c.HttpServerThreadPoolQueueSize), 1)
	l.atLeast(key("httpServerAcceptQueueSize"), int64(c.HttpServerAcceptQueueSize), 0)
	l.atLeast(key("maxHttpServerConnections"), int64(c.MaxHttpServerConnections), 0)
	if c.HttpRequestsLimitEnabled && !(c.HttpRequestsMaxPerSecond > 0) && l.ok("httpRequestsMaxPerSecond") {
		l.errorf(key("httpRequestsMaxPerSecond"), "must be above 0 when httpRequestsLimitEnabled is true, got %v", c.HttpRequestsMaxPerSecond)
	}

	// Broker and internal topics: Java has no defaults for these, the yml must set them.
	l.url(key("pulsarServiceUrl"), c.PulsarServiceUrl, true, "pulsar://localhost:6650", "pulsar", "pulsar+ssl", "http", "https")
	l.url(key("pulsarWebServiceUrl"), c.PulsarWebServiceUrl, true, "http://localhost:8080", "http", "https")
	l.url(key("functionWebServiceUrl"), c.FunctionWebServiceUrl, false, "", "http", "https")
	if ns := c.PulsarFunctionsNamespace; ns == "" {
		l.required(key("pulsarFunctionsNamespace"), "public/functions")
	} else if t, n, ok := strings.Cut(ns, "/"); !ok || t == "" || n == "" || strings.Contains(n, "/") {
		l.errorf(key("pulsarFunctionsNamespace"), "must be <tenant>/<namespace>, got %q", ns)
	}
	if c.PulsarFunctionsCluster == "" {
		l.required(key("pulsarFunctionsCluster"), "standalone")
	}
	for k, v := range map[string]string{
		"functionMetadataTopicName":    c.FunctionMetadataTopicName,
		"clusterCoordinationTopicName": c.ClusterCoordinationTopicName,
		"functionAssignmentTopicName":  c.FunctionAssignmentTopicName,
	} {
		if v == "" {
			l.required(key(k), map[string]string{
				"functionMetadataTopicName":    "metadata",
				"clusterCoordinationTopicName": "coordinate",
				"functionAssignmentTopicName":  "assignments",
			}[k])
		} else if strings.Contains(v, "/") {
			l.errorf(key(k), "must be a bare topic name inside pulsarFunctionsNamespace, got %q", v)
		}
	}
	if c.SchedulerClassName == "" {
		l.required(key("schedulerClassName"), RoundRobinSchedulerClass)
	}
	if c.DownloadDirectory == "" {
		l.required(key("downloadDirectory"), "download/pulsar_functions")
	}

	// Timers.
	if c.FailureCheckFreqMs <= 0 && l.ok("failureCheckFreqMs") {
		l.errorf(key("failureCheckFreqMs"), "must be above 0 (the leader's dead-worker check runs at this period), got %d", c.FailureCheckFreqMs)
	}
	if c.RescheduleTimeoutMs < 0 && l.ok("rescheduleTimeoutMs") {
		l.errorf(key("rescheduleTimeoutMs"), "must not be negative, got %d", c.RescheduleTimeoutMs)
	}
	if c.InstanceLivenessCheckFreqMs <= 0 && l.ok("instanceLivenessCheckFreqMs") {
		l.warnf(key("instanceLivenessCheckFreqMs"), "is %d: instance health checks are off, so instances that die are not restarted", c.InstanceLivenessCheckFreqMs)
	}
	if c.MaxParallelism < 0 && l.ok("maxParallelism") {
		l.errorf(key("maxParallelism"), "must not be negative (0 means no limit), got %d", c.MaxParallelism)
	}
	if c.TlsCertRefreshCheckDurationSec < 0 && l.ok("tlsCertRefreshCheckDurationSec") {
		l.errorf(key("tlsCertRefreshCheckDurationSec"), "must not be negative, got %d", c.TlsCertRefreshCheckDurationSec)
	}

	// Package URL allow-lists are matched with Go's regexp (RE2).
	l.patterns(key("additionalEnabledConnectorUrlPatterns"), c.AdditionalEnabledConnectorUrlPatterns)
	l.patterns(key("additionalEnabledFunctionsUrlPatterns"), c.AdditionalEnabledFunctionsUrlPatterns)

	l.validateRuntime(c)
	l.checkRuntimeChoice(c)
	l.checkBookkeeperAuth(c)

	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		if l.ok("logLevel") {
			l.errorf(key("logLevel"), "must be one of debug, info, warn, error; got %q", c.LogLevel)
		}
	}
}

func (l *loader) port(path []string, p *int) {
	if p != nil && (*p < 1 || *p > 65535) {
		l.errorf(path, "port %d is out of range 1..65535 (use null to turn it off)", *p)
	}
}

func (l *loader) atLeast(path []string, v, least int64) {
	if v < least && l.ok(path[0]) {
		l.errorf(path, "must be at least %d, got %d", least, v)
	}
}

func (l *loader) required(path []string, example string) {
	if l.ok(path[0]) {
		l.errorf(path, "required: the Java worker has no default (for example %s)", example)
	}
}

// url checks a URL's scheme; Pulsar admin URLs may list several hosts after it.
func (l *loader) url(path []string, v string, required bool, example string, schemes ...string) {
	if v == "" {
		if required {
			l.required(path, example)
		}
		return
	}
	scheme, _, ok := strings.Cut(v, "://")
	for _, s := range schemes {
		if ok && strings.EqualFold(scheme, s) {
			return
		}
	}
	l.errorf(path, "must start with %s://, got %q", strings.Join(schemes, ":// or "), v)
}

func (l *loader) patterns(path []string, pats []string) {
	for i, p := range pats {
		if _, err := regexp.Compile(p); err != nil {
			l.errorf(child(path, fmt.Sprintf("[%d]", i)), "not a regular expression Go can use: %v", err)
		}
	}
}

// validateRuntime checks that a runtime is selected the way Java selects it and that
// its settings have the right keys and types.
func (l *loader) validateRuntime(c *Config) {
	cls := c.FunctionRuntimeFactoryClassName
	factories := map[string]bool{
		"threadContainerFactory":     c.ThreadContainerFactory != nil,
		"processContainerFactory":    c.ProcessContainerFactory != nil,
		"kubernetesContainerFactory": c.KubernetesContainerFactory != nil,
	}
	anyFactory := false
	for k, set := range factories {
		anyFactory = anyFactory || set
		if set && cls != "" {
			l.warnf([]string{k}, "ignored: functionRuntimeFactoryClassName is set and takes precedence")
		}
	}
	if cls == "" {
		if l.ok("functionRuntimeFactoryClassName", "threadContainerFactory", "processContainerFactory", "kubernetesContainerFactory") && !anyFactory {
			l.required([]string{"functionRuntimeFactoryClassName"}, ProcessRuntimeFactoryClass)
		}
		if c.FunctionRuntimeFactoryConfigs != nil {
			l.warnf([]string{"functionRuntimeFactoryConfigs"}, "ignored: functionRuntimeFactoryClassName is not set")
		}
	}
	if k := c.KubernetesContainerFactory; k != nil {
		l.validateKubernetes([]string{"kubernetesContainerFactory"}, k)
	}

	var schema reflect.Type
	switch cls {
	case ProcessRuntimeFactoryClass:
		schema = reflect.TypeFor[ProcessRuntimeFactoryConfig]()
	case ThreadRuntimeFactoryClass:
		schema = reflect.TypeFor[ThreadRuntimeFactoryConfig]()
	case KubernetesRuntimeFactoryClass:
		schema = reflect.TypeFor[KubernetesRuntimeFactoryConfig]()
	default:
		return // a custom runtime: its keys are its own business
	}
	if c.FunctionRuntimeFactoryConfigs == nil || !l.ok("functionRuntimeFactoryConfigs") {
		return
	}
	v := reflect.New(schema)
	if d, ok := v.Interface().(defaulter); ok {
		d.applyDefaults()
	}
	path := []string{"functionRuntimeFactoryConfigs"}
	l.decodeStruct(path, c.FunctionRuntimeFactoryConfigs, v.Elem())
	if k, ok := v.Interface().(*KubernetesRuntimeFactoryConfig); ok {
		l.validateKubernetes(path, k)
	}
}

func (l *loader) validateKubernetes(path []string, k *KubernetesRuntimeFactoryConfig) {
	l.port(child(path, "grpcPort"), k.GrpcPort)
	l.port(child(path, "metricsPort"), k.MetricsPort)
	if k.GracePeriodSeconds < 0 {
		l.errorf(child(path, "gracePeriodSeconds"), "must not be negative, got %d", k.GracePeriodSeconds)
	}
}
