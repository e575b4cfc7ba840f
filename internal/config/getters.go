package config

import (
	"log/slog"
	"reflect"
	"strconv"
	"strings"
)

// TLSEnabled reports whether the HTTPS listener runs: tlsEnabled and workerPortTls
// both set (Java 4.0.x WorkerConfig.getTlsEnabled; older releases used "or").
func (c *Config) TLSEnabled() bool {
	return c.TlsEnabled && c.WorkerPortTls != nil
}

// AdvertisedPort is the port in this worker's WorkerInfo: workerPortTls when TLS is
// on, else workerPort, else 0 (a config with no listener has an Error).
func (c *Config) AdvertisedPort() int {
	switch {
	case c.TLSEnabled():
		return *c.WorkerPortTls
	case c.WorkerPort != nil:
		return *c.WorkerPort
	}
	return 0
}

// EffectiveWorkerId is workerId, or "<hostname>-<port>" when it is blank, where
// hostname is EffectiveHostname(localHost) and port is workerPort, or
// workerPortTls when workerPort is null (Java getWorkerId; note this differs
// from AdvertisedPort when both ports are set and TLS is on).
func (c *Config) EffectiveWorkerId(localHost string) string {
	if strings.TrimSpace(c.WorkerId) != "" {
		return c.WorkerId
	}
	port := "null" // what Java prints for a null Integer
	switch {
	case c.WorkerPort != nil:
		port = strconv.Itoa(*c.WorkerPort)
	case c.WorkerPortTls != nil:
		port = strconv.Itoa(*c.WorkerPortTls)
	}
	return c.EffectiveHostname(localHost) + "-" + port
}

// EffectiveHostname is workerHostname, or localHost when it is blank: the
// local host's canonical name, which the caller resolves (the config package
// does no I/O beyond reading its file).
func (c *Config) EffectiveHostname(localHost string) string {
	if strings.TrimSpace(c.WorkerHostname) != "" {
		return c.WorkerHostname
	}
	return localHost
}

// BrokerClientAuth returns the auth plugin class and parameters for broker
// connections, each falling back to the deprecated clientAuthentication* key.
// Java falls back only on null; a blank value counts as unset here.
func (c *Config) BrokerClientAuth() (plugin, params string) {
	plugin, params = c.BrokerClientAuthenticationPlugin, c.BrokerClientAuthenticationParameters
	if plugin == "" {
		plugin = c.ClientAuthenticationPlugin
	}
	if params == "" {
		params = c.ClientAuthenticationParameters
	}
	return plugin, params
}

// BrokerClientAuthEnabled reports whether the worker authenticates to brokers:
// brokerClientAuthenticationEnabled, or authenticationEnabled when that is null.
func (c *Config) BrokerClientAuthEnabled() bool {
	if c.BrokerClientAuthenticationEnabled != nil {
		return *c.BrokerClientAuthenticationEnabled
	}
	return c.AuthenticationEnabled
}

// BrokerClientTrustCertsFilePath is the CA bundle for broker TLS, falling back to
// tlsTrustCertsFilePath when blank.
func (c *Config) BrokerClientTrustCertsFilePath() string {
	if strings.TrimSpace(c.BrokerClientTrustCertsFilePathRaw) != "" {
		return c.BrokerClientTrustCertsFilePathRaw
	}
	return c.TlsTrustCertsFilePath
}

// MetadataTopic is persistent://<pulsarFunctionsNamespace>/<functionMetadataTopicName>.
func (c *Config) MetadataTopic() string {
	return "persistent://" + c.PulsarFunctionsNamespace + "/" + c.FunctionMetadataTopicName
}

// AssignmentTopic is persistent://<pulsarFunctionsNamespace>/<functionAssignmentTopicName>.
func (c *Config) AssignmentTopic() string {
	return "persistent://" + c.PulsarFunctionsNamespace + "/" + c.FunctionAssignmentTopicName
}

// CoordinationTopic is persistent://<pulsarFunctionsNamespace>/<clusterCoordinationTopicName>.
func (c *Config) CoordinationTopic() string {
	return "persistent://" + c.PulsarFunctionsNamespace + "/" + c.ClusterCoordinationTopicName
}

// ConfigurationMetadataStore is configurationMetadataStoreUrl, or the deprecated
// configurationStoreServers when that is blank.
func (c *Config) ConfigurationMetadataStore() string {
	if strings.TrimSpace(c.ConfigurationMetadataStoreUrl) != "" {
		return c.ConfigurationMetadataStoreUrl
	}
	return c.ConfigurationStoreServers
}

// SlogLevel maps logLevel to a slog level; unknown values (an Error at load) give info.
func (c *Config) SlogLevel() slog.Level {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return slog.LevelInfo
	}
	return lv
}

// RuntimeFactoryClassName is the runtime the Java worker would use: the configured
// class, else the first deprecated container factory set (thread, process,
// Kubernetes), else "".
func (c *Config) RuntimeFactoryClassName() string {
	switch {
	case c.FunctionRuntimeFactoryClassName != "":
		return c.FunctionRuntimeFactoryClassName
	case c.ThreadContainerFactory != nil:
		return ThreadRuntimeFactoryClass
	case c.ProcessContainerFactory != nil:
		return ProcessRuntimeFactoryClass
	case c.KubernetesContainerFactory != nil:
		return KubernetesRuntimeFactoryClass
	}
	return ""
}

// ProcessRuntime returns the process runtime's settings, from
// functionRuntimeFactoryConfigs or the deprecated processContainerFactory; ok is
// false when the selected runtime is not the process runtime.
func (c *Config) ProcessRuntime() (cfg ProcessRuntimeFactoryConfig, ok bool) {
	if c.RuntimeFactoryClassName() != ProcessRuntimeFactoryClass {
		return cfg, false
	}
	if c.FunctionRuntimeFactoryClassName == "" {
		return *c.ProcessContainerFactory, true
	}
	if c.FunctionRuntimeFactoryConfigs != nil {
		l := &loader{quiet: true}
		l.decodeStruct(nil, c.FunctionRuntimeFactoryConfigs, reflect.ValueOf(&cfg).Elem())
	}
	return cfg, true
}
