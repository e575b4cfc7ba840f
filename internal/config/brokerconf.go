package config

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
)

// Co-located mode: the worker runs beside a broker on the same host and takes
// from its broker.conf every setting 4.0.8's Java worker takes from the broker
// when it runs inside it (functionsWorkerEnabled=true). The Java list, in its
// order, is PulsarService.initializeWorkerConfigFromBrokerConfig (read from
// the 4.0.8 jar's bytecode) and PulsarService.startWorkerService (the broker
// URLs); the broker's values replace those of functions_worker.yml, as there.
// Where a separate process cannot do what the embedded worker does, the
// difference is named in brokerInheritance's comments and in README's
// deviation list.

// Kinds of Origin.
const (
	OriginBroker        = "broker.conf"           // a key of broker.conf
	OriginBrokerDefault = "broker.conf (default)" // broker.conf lacks the key: the broker's own default
	OriginWorker        = "functions_worker.yml"  // a key of functions_worker.yml
	OriginEnv           = "environment"           // a PF_* variable
	OriginDefault       = "default"               // nobody set it: the Java worker's default
)

// Origin says where an effective value came from.
type Origin struct {
	// Kind is one of the Origin* constants.
	Kind string
	// File is the file the value is in (blank for defaults and the environment).
	File string
	// Line is the 1-based line in File; 0 when unknown or absent.
	Line int
	// Key is the key in File (the broker's name for it), or the variable.
	Key string
}

// String renders the origin briefly ("broker.conf:12 clusterName",
// "functions_worker.yml:27", "environment PF_workerPort", "default"); the
// files' paths are in Colocated.
func (o Origin) String() string {
	switch o.Kind {
	case OriginBroker:
		return fmt.Sprintf("broker.conf:%d %s", o.Line, o.Key)
	case OriginBrokerDefault:
		return "broker.conf lacks " + o.Key + ": the broker's default"
	case OriginWorker:
		return fmt.Sprintf("functions_worker.yml:%d", o.Line)
	case OriginEnv:
		return "environment " + o.Key
	}
	return OriginDefault
}

// overlay is the layer of values broker.conf dictates, above the worker file
// and the environment, with the origin of each (by pathKey).
type overlay struct {
	file    string
	values  map[string]any
	origins map[string]Origin
}

func (o *overlay) set(key string, v any, from Origin) {
	o.values[key] = v
	o.origins[pathKey([]string{key})] = from
}

// origin returns where path (or an enclosing key) was set by the overlay.
func (o *overlay) origin(path []string) (Origin, bool) {
	if o == nil {
		return Origin{}, false
	}
	for i := len(path); i > 0; i-- {
		if from, ok := o.origins[pathKey(path[:i])]; ok {
			return from, true
		}
	}
	return Origin{}, false
}

// Colocated is the outcome of LoadColocated: where each effective value came from.
type Colocated struct {
	// BrokerConf and WorkerConf are the files read.
	BrokerConf, WorkerConf string
	// Origins maps each top-level worker key (and properties.<key> for provider
	// settings taken from broker.conf) to where its value came from.
	Origins map[string]Origin
	// Replaced lists the worker keys whose functions_worker.yml or environment
	// value broker.conf replaced, with where that value was.
	Replaced map[string]Origin
	// BrokerRunsWorker is broker.conf's functionsWorkerEnabled.
	BrokerRunsWorker bool
}

// WorkerConfBesideBroker is the functions_worker.yml the embedded Java worker
// reads by default (conf/functions_worker.yml beside conf/broker.conf).
func WorkerConfBesideBroker(brokerConf string) string {
	return filepath.Join(filepath.Dir(brokerConf), "functions_worker.yml")
}

// LoadColocated loads functions_worker.yml (workerConf) with PF_* overrides and
// then broker.conf's values above them, as the broker-embedded Java worker
// does. err is non-nil only when a file cannot be read or parsed at all;
// everything else is a Problem, located in the file whose key caused it.
func LoadColocated(ctx context.Context, brokerConf, workerConf string, env []string) (*Config, Problems, *Colocated, error) {
	bdata, err := readLimited(brokerConf)
	if err != nil {
		return nil, nil, nil, err
	}
	props, err := ParseProperties(brokerConf, bdata)
	if err != nil {
		return nil, nil, nil, err
	}
	wdata, err := readLimited(workerConf)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil, fmt.Errorf("%w (co-located mode reads functions_worker.yml for what broker.conf does not say, as the broker-embedded Java worker does; pass --config FILE)", err)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	// First pass: the worker's own file, for the keys the broker's values
	// depend on (its ports, useTls, functionsWorkerServiceNarPackage).
	own, _, err := LoadBytesContext(ctx, workerConf, wdata, env)
	if err != nil {
		return nil, nil, nil, err
	}
	b := &brokerReader{props: props}
	top := b.inherit(own)
	cfg, probs, l, err := loadLayers(ctx, workerConf, wdata, env, top)
	if err != nil {
		return nil, nil, nil, err
	}
	probs = append(probs, b.probs...)

	co := &Colocated{BrokerConf: brokerConf, WorkerConf: workerConf, Origins: map[string]Origin{}, Replaced: map[string]Origin{}}
	co.BrokerRunsWorker, _ = b.boolean("functionsWorkerEnabled", false)
	for _, key := range keysOf(reflectConfig) {
		var from Origin
		switch line, inFile := l.lines[pathKey([]string{key})]; {
		case inFile:
			from = Origin{Kind: OriginWorker, File: workerConf, Line: line, Key: key}
		default:
			from = Origin{Kind: OriginDefault}
		}
		if name, ok := l.envName([]string{key}); ok {
			from = Origin{Kind: OriginEnv, Key: name}
		}
		if over, ok := top.origin([]string{key}); ok {
			if from.Kind != OriginDefault && key != "properties" {
				co.Replaced[key] = from
			}
			from = over
		}
		co.Origins[key] = from
	}
	for k, from := range top.origins {
		if path := strings.Split(k, "\x00"); len(path) == 2 {
			co.Origins[path[0]+"."+path[1]] = from
		}
	}
	if co.BrokerRunsWorker {
		_, line, _ := props.Get("functionsWorkerEnabled")
		probs = append(probs, Problem{File: brokerConf, Line: line, Key: "functionsWorkerEnabled", Severity: Warning,
			Message: "is true: the broker runs its own Java functions worker too; set it to false when this worker takes its place"})
	}
	probs.sort()
	return cfg, probs, co, nil
}

// brokerReader reads broker.conf values as the broker's FieldParser does:
// values are trimmed, a blank value is the field's empty value, booleans are
// Boolean.valueOf (anything but "true" is false), sets are comma-separated.
type brokerReader struct {
	props *Properties
	probs Problems
}

func (b *brokerReader) from(key string) (string, Origin, bool) {
	v, line, ok := b.props.Get(key)
	if !ok {
		return "", Origin{Kind: OriginBrokerDefault, File: b.props.File, Key: key}, false
	}
	return strings.TrimSpace(v), Origin{Kind: OriginBroker, File: b.props.File, Line: line, Key: key}, true
}

func (b *brokerReader) problem(from Origin, sev Severity, format string, args ...any) {
	b.probs = append(b.probs, Problem{File: from.File, Line: from.Line, Key: from.Key, Severity: sev, Message: fmt.Sprintf(format, args...)})
}

func (b *brokerReader) str(key, def string) (string, Origin) {
	v, from, ok := b.from(key)
	if !ok {
		return def, from
	}
	return v, from
}

func (b *brokerReader) boolean(key string, def bool) (bool, Origin) {
	v, from, ok := b.from(key)
	if !ok || v == "" {
		return def, from
	}
	if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
		b.problem(from, Warning, "%q is not true or false; the broker reads it as false, and so does this worker", v)
	}
	return strings.EqualFold(v, "true"), from
}

func (b *brokerReader) integer(key string, def int64) (int64, Origin) {
	v, from, ok := b.from(key)
	if !ok || v == "" {
		return def, from
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		b.problem(from, Error, "expected a whole number, got %q (the broker refuses to start with it too)", v)
		return def, from
	}
	return n, from
}

// port reads an Optional<Integer> port: absent gives def, blank gives none.
func (b *brokerReader) port(key string, def *int) (*int, Origin) {
	v, from, ok := b.from(key)
	if !ok {
		return def, from
	}
	if v == "" {
		return nil, from
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		b.problem(from, Error, "expected a port number, got %q (the broker refuses to start with it too)", v)
		return def, from
	}
	return &n, from
}

func (b *brokerReader) set(key string) ([]any, Origin) {
	v, from, _ := b.from(key)
	out := []any{}
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, from
}

func intp(n int) *int { return &n }

// tokenSettings are the provider settings the token and basic providers read;
// inside the broker they come from broker.conf, so they are taken from there
// into properties (tokenSettingPrefix applies, as in the provider).
var tokenSettings = []string{"tokenSecretKey", "tokenPublicKey", "tokenPublicAlg", "tokenAuthClaim",
	"tokenAudienceClaim", "tokenAudience", "tokenAllowedClockSkewSeconds", "basicAuthConf"}

// inherit builds the overlay of broker values, given the worker's own config.
func (b *brokerReader) inherit(own *Config) *overlay {
	o := &overlay{file: b.props.File, values: map[string]any{}, origins: map[string]Origin{}}

	// workerPort/workerPortTls: Java sets them to the broker's webServicePort
	// and webServicePortTls, because the embedded worker's API is served by the
	// broker's own web server. A separate process cannot listen on the broker's
	// port, so ours come from functions_worker.yml (deviation).

	// workerHostname: the broker's advertisedAddress, or the host's canonical
	// name when it has none (ServiceConfigurationUtils.getDefaultOrConfiguredAddress).
	host, hostFrom := b.str("advertisedAddress", "")
	if host == "" {
		host = (&Config{}).EffectiveHostname()
	}
	o.set("workerHostname", host, hostFrom)
	cluster, clusterFrom := b.str("clusterName", "")
	if cluster == "" {
		b.problem(clusterFrom, Error, "required: the broker's cluster name is the worker's pulsarFunctionsCluster")
	}
	o.set("pulsarFunctionsCluster", cluster, clusterFrom)

	boolKey := func(worker, broker string, def bool) {
		v, from := b.boolean(broker, def)
		o.set(worker, v, from)
	}
	strKey := func(worker, broker, def string) {
		v, from := b.str(broker, def)
		o.set(worker, v, from)
	}
	setKey := func(worker, broker string) {
		v, from := b.set(broker)
		o.set(worker, v, from)
	}
	intKey := func(worker, broker string, def int64) (int64, Origin) {
		v, from := b.integer(broker, def)
		o.set(worker, v, from)
		return v, from
	}

	boolKey("authenticationEnabled", "authenticationEnabled", false)
	setKey("authenticationProviders", "authenticationProviders")
	boolKey("authorizationEnabled", "authorizationEnabled", false)
	strKey("authorizationProvider", "authorizationProvider", "org.apache.pulsar.broker.authorization.PulsarAuthorizationProvider")

	// ServiceConfiguration.getConfigurationMetadataStoreUrl: the first of
	// configurationMetadataStoreUrl, configurationStoreServers,
	// globalZookeeperServers, then getMetadataStoreUrl (metadataStoreUrl, or
	// "zk:" + zookeeperServers).
	store, storeFrom := "", Origin{Kind: OriginBrokerDefault, File: b.props.File, Key: "configurationMetadataStoreUrl"}
	for _, k := range []string{"configurationMetadataStoreUrl", "configurationStoreServers", "globalZookeeperServers", "metadataStoreUrl", "zookeeperServers"} {
		if v, from, _ := b.from(k); v != "" {
			store, storeFrom = v, from
			if k == "zookeeperServers" {
				store = "zk:" + v
			}
			break
		}
	}
	o.set("configurationMetadataStoreUrl", store, storeFrom)
	// The getters prefer the deprecated zooKeeper* values when above 0.
	timeout := func(worker, broker, old string, def int64) {
		if v, from := b.integer(old, -1); v > 0 {
			o.set(worker, v, from)
			return
		}
		intKey(worker, broker, def)
	}
	timeout("metadataStoreSessionTimeoutMillis", "metadataStoreSessionTimeoutMillis", "zooKeeperSessionTimeoutMillis", 30000)
	timeout("metadataStoreOperationTimeoutSeconds", "metadataStoreOperationTimeoutSeconds", "zooKeeperOperationTimeoutSeconds", 30)
	timeout("metadataStoreCacheExpirySeconds", "metadataStoreCacheExpirySeconds", "zooKeeperCacheExpirySeconds", 300)

	boolKey("tlsAllowInsecureConnection", "tlsAllowInsecureConnection", false)
	tlsEnabled, tlsFrom := b.boolean("tlsEnabled", false)
	o.set("tlsEnabled", tlsEnabled, tlsFrom)
	boolKey("tlsEnableHostnameVerification", "tlsHostnameVerificationEnabled", false)
	strKey("brokerClientTrustCertsFilePath", "brokerClientTrustCertsFilePath", "")
	strKey("tlsTrustCertsFilePath", "tlsTrustCertsFilePath", "")
	strKey("brokerClientAuthenticationPlugin", "brokerClientAuthenticationPlugin", "org.apache.pulsar.client.impl.auth.AuthenticationDisabled")
	strKey("brokerClientAuthenticationParameters", "brokerClientAuthenticationParameters", "")
	setKey("superUserRoles", "superUserRoles")
	setKey("proxyRoles", "proxyRoles")
	boolKey("functionsWorkerEnablePackageManagement", "functionsWorkerEnablePackageManagement", false)
	if strings.TrimSpace(own.FunctionsWorkerServiceNarPackage) == "" {
		strKey("functionsWorkerServiceNarPackage", "functionsWorkerServiceNarPackage", "")
	}

	// The embedded worker's HTTPS is the broker's web server, with the
	// broker's certificate, key and TLS settings; ours serves its own port
	// with the same files when tlsEnabled and workerPortTls are set.
	for _, k := range []string{"tlsCertificateFilePath", "tlsKeyFilePath"} {
		if v, from, ok := b.from(k); ok {
			o.set(k, v, from)
		}
	}
	if _, _, ok := b.from("tlsRequireTrustedClientCertOnConnect"); ok {
		boolKey("tlsRequireTrustedClientCertOnConnect", "tlsRequireTrustedClientCertOnConnect", false)
	}
	if _, _, ok := b.from("tlsCertRefreshCheckDurationSec"); ok {
		intKey("tlsCertRefreshCheckDurationSec", "tlsCertRefreshCheckDurationSec", 300)
	}
	for _, k := range []string{"webServiceTlsProtocols", "webServiceTlsCiphers"} {
		if _, _, ok := b.from(k); ok {
			setKey(k, k)
		}
	}

	// Authentication providers inside the broker read the broker's settings:
	// the SASL keys (the broker's defaults differ from the worker's) and the
	// token/basic settings, which the worker keeps in properties.
	strKey("saslJaasClientAllowedIds", "saslJaasClientAllowedIds", ".*pulsar.*")
	strKey("saslJaasServerSectionName", "saslJaasServerSectionName", "PulsarBroker")
	strKey("saslJaasServerRoleTokenSignerSecretPath", "saslJaasServerRoleTokenSignerSecretPath", "")
	strKey("kinitCommand", "kinitCommand", "/usr/bin/kinit")
	props := map[string]any{}
	prefix, _, hasPrefix := b.from("tokenSettingPrefix")
	for _, n := range tokenSettings {
		if v, from, ok := b.from(prefix + n); ok && v != "" {
			props[prefix+n] = v
			o.origins[pathKey([]string{"properties", prefix + n})] = from
		}
	}
	if hasPrefix {
		v, from, _ := b.from("tokenSettingPrefix")
		props["tokenSettingPrefix"] = v
		o.origins[pathKey([]string{"properties", "tokenSettingPrefix"})] = from
	}
	if len(props) > 0 {
		o.values["properties"] = props
	}

	// workerId: "c-<clusterName>-fw-<hostname>-<port>", the port being the
	// TLS one when TLS is on (WorkerConfig.getTlsEnabled: tlsEnabled and
	// workerPortTls), where a null Integer prints "null".
	port := "null"
	switch {
	case tlsEnabled && own.WorkerPortTls != nil:
		port = strconv.Itoa(*own.WorkerPortTls)
	case own.WorkerPort != nil:
		port = strconv.Itoa(*own.WorkerPort)
	}
	o.set("workerId", "c-"+cluster+"-fw-"+host+"-"+port, clusterFrom)

	// The broker URLs (startWorkerService): the TLS ones when the worker's
	// useTls is set or the broker has no plain port. Java uses the broker's
	// internal listener (its advertised address); we are on the same host and
	// dial the broker where it listens: its bindAddress when that is one
	// address, else localhost.
	dial, _ := b.str("bindAddress", "0.0.0.0")
	if dial == "" || dial == "0.0.0.0" || dial == "::" || dial == "[::]" {
		dial = "localhost"
	} else if strings.Contains(dial, ":") && !strings.HasPrefix(dial, "[") {
		dial = "[" + dial + "]"
	}
	svc, svcFrom := b.port("brokerServicePort", intp(6650))
	svcTLS, svcTLSFrom := b.port("brokerServicePortTls", nil)
	switch {
	case (own.UseTls || svc == nil) && svcTLS != nil:
		o.set("pulsarServiceUrl", fmt.Sprintf("pulsar+ssl://%s:%d", dial, *svcTLS), svcTLSFrom)
	case svc != nil:
		o.set("pulsarServiceUrl", fmt.Sprintf("pulsar://%s:%d", dial, *svc), svcFrom)
	default:
		b.problem(svcFrom, Error, "the broker has neither brokerServicePort nor brokerServicePortTls: there is no broker to connect to")
	}
	web, webFrom := b.port("webServicePort", intp(8080))
	webTLS, webTLSFrom := b.port("webServicePortTls", nil)
	switch {
	case (own.UseTls || web == nil) && webTLS != nil:
		o.set("pulsarWebServiceUrl", fmt.Sprintf("https://%s:%d", dial, *webTLS), webTLSFrom)
	case web != nil:
		o.set("pulsarWebServiceUrl", fmt.Sprintf("http://%s:%d", dial, *web), webFrom)
	default:
		b.problem(webFrom, Error, "the broker has neither webServicePort nor webServicePortTls: there is no admin API to use")
	}
	return o
}

// reflectConfig is the Config type, for listing its keys.
var reflectConfig = reflect.TypeFor[Config]()

// ColocatedPaths resolves the files of co-located mode: workerConf as given,
// or the functions_worker.yml beside broker.conf.
func ColocatedPaths(brokerConf, workerConf string) (string, string) {
	if workerConf == "" {
		workerConf = WorkerConfBesideBroker(brokerConf)
	}
	return brokerConf, workerConf
}

// ColocatedLoader returns a loader for reloads: both files again, with the
// process environment.
func ColocatedLoader(brokerConf, workerConf string) func(context.Context) (*Config, Problems, error) {
	return func(ctx context.Context) (*Config, Problems, error) {
		cfg, probs, _, err := LoadColocated(ctx, brokerConf, workerConf, os.Environ())
		return cfg, probs, err
	}
}
