package runtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// launchParams is what varies per instance start in a command line.
type launchParams struct {
	details         *pb.FunctionDetails
	instanceID      int32
	functionID      string // random UUID per instance (Java: per FunctionActioner start)
	functionVersion string // random UUID
	packagePath     string // local file of the user code (executable for Go)
	grpcPort        int
	metricsPort     int
	// transformPath and transformID are set only for a sink with a transform function (Java only).
	transformPath, transformID string
}

// command is a built instance command line plus the environment it needs.
type command struct {
	argv []string
	env  []string // KEY=VALUE added to the worker's environment
}

// buildCommand returns the command line the Java worker 4.0.8 Process runtime
// would run (RuntimeUtils.getCmd / getGoInstanceCmd).
//
// Differences from the 4.0.8 worker, all deliberate:
//   - --function_details is protobuf JSON with protojson's key order and escaping
//     (equivalent JSON; Java prints keys by field number and HTML-escapes).
//   - PYTHONPATH for Python instances is the real ${PYTHONPATH} plus the extra
//     dependencies dir; Java sets the literal text "${PYTHONPATH}:<dir>".
//   - empty tokens of runtimeFlags (from repeated spaces) are dropped; Java passes
//     them on as empty arguments, which the JVM takes for the main class.
func buildCommand(o *Options, p launchParams) (command, error) {
	d := p.details
	switch d.GetRuntime() {
	case pb.FunctionDetails_JAVA, pb.FunctionDetails_PYTHON:
		return javaPythonCommand(o, p)
	case pb.FunctionDetails_GO:
		conf, err := goInstanceConf(o, p)
		if err != nil {
			return command{}, err
		}
		return command{argv: []string{p.packagePath, "-instance-conf", conf}}, nil
	default:
		return command{}, fmt.Errorf("unsupported runtime %v", d.GetRuntime())
	}
}

func javaPythonCommand(o *Options, p launchParams) (command, error) {
	d := p.details
	isJava := d.GetRuntime() == pb.FunctionDetails_JAVA
	detailsJSON, err := functionDetailsJSON(d)
	if err != nil {
		return command{}, err
	}
	var c command
	a := func(s ...string) { c.argv = append(c.argv, s...) }
	logDir := o.instanceLogDir()
	if isJava {
		cp := o.JavaInstanceJar
		if o.ExtraDependenciesDir != "" {
			cp += ":" + o.ExtraDependenciesDir + "/*"
		}
		a(o.Java, "-cp", cp)
		if o.ExtraDependenciesDir != "" {
			a("-Dpulsar.functions.extra.dependencies.dir=" + o.ExtraDependenciesDir)
		}
		// 4.0.8 passes neither -Dpulsar.log.level nor --logging_level (later releases do).
		a("-Dpulsar.functions.instance.classpath="+o.InstanceClasspath,
			"-Dlog4j.configurationFile="+o.JavaLogConfigFile,
			"-Dpulsar.function.log.dir="+functionLogDir(logDir, d),
			"-Dpulsar.function.log.file="+d.GetName()+"-"+strconv.Itoa(int(p.instanceID)),
			"-Dio.netty.tryReflectionSetAccessible=true",
			"-Dorg.apache.pulsar.shade.io.netty.tryReflectionSetAccessible=true",
			"-Dio.grpc.netty.shaded.io.netty.tryReflectionSetAccessible=true",
			// Java adds these when the worker's own JVM is >= 11 / >= 9; bin/pulsar
			// requires 17, and instances run on the same java.
			"--add-opens", "java.base/java.nio=ALL-UNNAMED",
			"--add-opens", "java.base/jdk.internal.misc=ALL-UNNAMED",
			"--add-opens", "java.base/java.util.zip=ALL-UNNAMED")
		a(o.AdditionalJavaRuntimeArguments...)
		a(splitRuntimeFlags(d.GetRuntimeFlags())...)
		if ram := d.GetResources().GetRam(); ram != 0 {
			a("-Xmx" + strconv.FormatInt(ram, 10))
		}
		a("org.apache.pulsar.functions.instance.JavaInstanceMain", "--jar", p.packagePath)
		if p.transformPath != "" {
			a("--transform_function_jar", p.transformPath, "--transform_function_id", p.transformID)
		}
	} else {
		a(o.Python)
		a(splitRuntimeFlags(d.GetRuntimeFlags())...)
		a(o.PythonInstanceFile,
			"--py", p.packagePath,
			"--logging_directory", logDir,
			"--logging_file", d.GetName(),
			"--logging_config_file", o.PythonLogConfigFile)
		if o.ExtraDependenciesDir != "" {
			c.env = append(c.env, "PYTHONPATH="+joinPythonPath(o.ExtraDependenciesDir))
		}
	}
	a("--instance_id", strconv.Itoa(int(p.instanceID)),
		"--function_id", p.functionID,
		"--function_version", p.functionVersion,
		// The quotes are part of the argument: both instances strip one of each.
		"--function_details", "'"+detailsJSON+"'",
		"--pulsar_serviceurl", o.PulsarServiceURL)
	if isJava && o.ExposeAdminClient && strings.TrimSpace(o.PulsarWebServiceURL) != "" {
		a("--web_serviceurl", o.PulsarWebServiceURL, "--expose_pulsaradmin")
	}
	if au := o.Auth; au != nil {
		if strings.TrimSpace(au.Plugin) != "" && strings.TrimSpace(au.Params) != "" {
			a("--client_auth_plugin", au.Plugin, "--client_auth_params", au.Params)
		}
		a("--use_tls", strconv.FormatBool(au.UseTLS),
			"--tls_allow_insecure", strconv.FormatBool(au.TLSAllowInsecure),
			"--hostname_verification_enabled", strconv.FormatBool(au.HostnameVerification))
		if strings.TrimSpace(au.TrustCertsPath) != "" {
			a("--tls_trust_cert_path", au.TrustCertsPath)
		}
	}
	a("--max_buffered_tuples", strconv.Itoa(DefaultMaxBufferedTuples),
		"--port", strconv.Itoa(p.grpcPort),
		"--metrics_port", strconv.Itoa(p.metricsPort))
	if isJava {
		a("--pending_async_requests", strconv.Itoa(o.MaxPendingAsyncRequests))
		if o.IgnoreUnknownConfigFields {
			a("--ignore_unknown_config_fields")
		}
	}
	if o.StateStorageServiceURL != "" {
		a("--state_storage_serviceurl", o.StateStorageServiceURL)
	}
	a("--expected_healthcheck_interval", strconv.FormatInt(o.expectedHealthCheckSeconds(), 10))
	provider := o.PythonSecretsProvider
	if isJava {
		provider = o.JavaSecretsProvider
	}
	if provider != "" {
		a("--secrets_provider", provider)
		if len(o.SecretsProviderConfig) > 0 {
			b, err := json.Marshal(o.SecretsProviderConfig)
			if err != nil {
				return command{}, fmt.Errorf("encode secrets provider config: %w", err)
			}
			a("--secrets_provider_config", "'"+string(b)+"'")
		}
	}
	a("--cluster_name", o.ClusterName)
	if isJava && o.NarExtractionDir != "" {
		a("--nar_extraction_directory", o.NarExtractionDir)
	}
	return c, nil
}

// functionLogDir is <logDir>/<tenant>/<namespace>/<name> (Java genFunctionLogFolder).
func functionLogDir(logDir string, d *pb.FunctionDetails) string {
	return filepath.Join(logDir, d.GetTenant(), d.GetNamespace(), d.GetName())
}

// joinPythonPath appends dir to the worker's PYTHONPATH, if any.
func joinPythonPath(dir string) string {
	if cur := getenv("PYTHONPATH"); cur != "" {
		return cur + ":" + dir
	}
	return dir
}

// functionDetailsJSON prints FunctionDetails as protobuf JSON, as the 4.0.8 Java
// worker's JsonFormat printer does for the instances: field JSON names, enums by
// name, zero values left out, 64-bit integers as strings.
//
// Two fields our .proto knows but 4.0.8's Java classes do not
// (ConsumerSpec.messagePayloadProcessorSpec, ProducerSpec.batchingSpec) are left
// out, as a Java worker would (it keeps them as unknown fields, which it does
// not print); the 4.0.8 Java instance's parser would reject them.
func functionDetailsJSON(d *pb.FunctionDetails) (string, error) {
	d = javaView(d)
	b, err := protojson.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("encode function details of %s: %w", fqfn(d), err)
	}
	// protojson inserts random whitespace on purpose; compacting makes the
	// argument stable (and identical between restarts and in golden files).
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return "", fmt.Errorf("compact function details of %s: %w", fqfn(d), err)
	}
	return buf.String(), nil
}

// javaView returns d without the fields unknown to Pulsar 4.0.8's Java classes.
func javaView(d *pb.FunctionDetails) *pb.FunctionDetails {
	needs := d.GetSink().GetProducerSpec().GetBatchingSpec() != nil
	for _, cs := range d.GetSource().GetInputSpecs() {
		if cs.GetMessagePayloadProcessorSpec() != nil {
			needs = true
		}
	}
	if !needs {
		return d
	}
	d = proto.Clone(d).(*pb.FunctionDetails)
	for _, cs := range d.GetSource().GetInputSpecs() {
		if cs != nil {
			cs.MessagePayloadProcessorSpec = nil
		}
	}
	if ps := d.GetSink().GetProducerSpec(); ps != nil {
		ps.BatchingSpec = nil
	}
	return d
}

// splitRuntimeFlags splits runtimeFlags like Java's RuntimeUtils.splitRuntimeArgs:
// at each whitespace character that is not inside double quotes (quotes are kept).
func splitRuntimeFlags(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	start := 0
	quotesAfter := strings.Count(s, `"`)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			quotesAfter--
			continue
		}
		// Java's \s: space, \t, \n, \x0B, \f, \r. The regex's lookahead splits only
		// where an even number of quotes follows, i.e. outside quotes.
		if strings.IndexByte(" \t\n\x0b\f\r", c) >= 0 && quotesAfter%2 == 0 {
			if tok := s[start:i]; tok != "" {
				out = append(out, tok)
			}
			start = i + 1
		}
	}
	if tok := s[start:]; tok != "" {
		out = append(out, tok)
	}
	return out
}

// goInstanceConfig is the JSON of the Java worker's GoInstanceConfig, which the Go
// SDK (pulsar-function-go/conf) reads from -instance-conf. Keys and order are
// those Jackson writes for the 4.0.8 class; every field is written, as Jackson does.
type goInstanceConfig struct {
	PulsarServiceURL               string            `json:"pulsarServiceURL"`
	StateStorageServiceURL         string            `json:"stateStorageServiceUrl"`
	PulsarWebServiceURL            string            `json:"pulsarWebServiceUrl"`
	InstanceID                     int32             `json:"instanceID"`
	FuncID                         string            `json:"funcID"`
	FuncVersion                    string            `json:"funcVersion"`
	MaxBufTuples                   int               `json:"maxBufTuples"`
	Port                           int               `json:"port"`
	ClusterName                    string            `json:"clusterName"`
	KillAfterIdleMs                int               `json:"killAfterIdleMs"`
	ExpectedHealthCheckInterval    int               `json:"expectedHealthCheckInterval"`
	Tenant                         string            `json:"tenant"`
	NameSpace                      string            `json:"nameSpace"`
	Name                           string            `json:"name"`
	ClassName                      string            `json:"className"`
	LogTopic                       string            `json:"logTopic"`
	ProcessingGuarantees           int32             `json:"processingGuarantees"`
	SecretsMap                     string            `json:"secretsMap"`
	UserConfig                     string            `json:"userConfig"`
	ClientAuthenticationPlugin     string            `json:"clientAuthenticationPlugin"`
	ClientAuthenticationParameters string            `json:"clientAuthenticationParameters"`
	TLSTrustCertsFilePath          string            `json:"tlsTrustCertsFilePath"`
	TLSHostnameVerificationEnable  bool              `json:"tlsHostnameVerificationEnable"`
	TLSAllowInsecureConnection     bool              `json:"tlsAllowInsecureConnection"`
	Runtime                        int32             `json:"runtime"`
	AutoAck                        bool              `json:"autoAck"`
	Parallelism                    int32             `json:"parallelism"`
	SubscriptionType               int32             `json:"subscriptionType"`
	TimeoutMs                      uint64            `json:"timeoutMs"`
	SubscriptionName               string            `json:"subscriptionName"`
	CleanupSubscription            bool              `json:"cleanupSubscription"`
	SubscriptionPosition           int32             `json:"subscriptionPosition"`
	SourceInputSpecs               map[string]string `json:"sourceInputSpecs"`
	SourceSpecsTopic               string            `json:"sourceSpecsTopic"`
	SourceSchemaType               string            `json:"sourceSchemaType"`
	ReceiverQueueSize              int               `json:"receiverQueueSize"`
	SinkSpecsTopic                 string            `json:"sinkSpecsTopic"`
	SinkSchemaType                 string            `json:"sinkSchemaType"`
	CPU                            float64           `json:"cpu"`
	RAM                            int64             `json:"ram"`
	Disk                           int64             `json:"disk"`
	MaxMessageRetries              int32             `json:"maxMessageRetries"`
	DeadLetterTopic                string            `json:"deadLetterTopic"`
	MetricsPort                    int               `json:"metricsPort"`
	FunctionDetails                string            `json:"functionDetails"`
	// Jackson names Lombok's isRegexPatternSubscription() "regexPatternSubscription"
	// and, as a getter-only property, writes it last.
	RegexPatternSubscription bool `json:"regexPatternSubscription"`
}

// goInstanceConf is the -instance-conf argument (RuntimeUtils.getGoInstanceCmd).
// The Java worker never sets expectedHealthCheckInterval for Go, so a Go
// instance whose worker died keeps consuming, and runs twice once the leader
// reschedules it. We set it, like for Java and Python instances: the Go SDK
// then stops consuming after three missed health checks. killAfterIdleMs
// stays 0 as in Java.
func goInstanceConf(o *Options, p launchParams) (string, error) {
	d := javaView(p.details)
	detailsJSON, err := functionDetailsJSON(d)
	if err != nil {
		return "", err
	}
	c := goInstanceConfig{
		PulsarServiceURL:            o.PulsarServiceURL,
		StateStorageServiceURL:      o.StateStorageServiceURL,
		InstanceID:                  p.instanceID,
		FuncID:                      p.functionID,
		FuncVersion:                 p.functionVersion,
		MaxBufTuples:                DefaultMaxBufferedTuples,
		Port:                        p.grpcPort,
		ClusterName:                 o.ClusterName,
		ExpectedHealthCheckInterval: int(o.HealthCheckInterval / time.Second),
		Tenant:                      d.GetTenant(),
		NameSpace:                   d.GetNamespace(),
		Name:                        d.GetName(),
		LogTopic:                    d.GetLogTopic(),
		ProcessingGuarantees:        int32(d.GetProcessingGuarantees()),
		SecretsMap:                  d.GetSecretsMap(),
		UserConfig:                  d.GetUserConfig(),
		Runtime:                     int32(d.GetRuntime()),
		//lint:ignore SA1019 autoAck is deprecated in Pulsar's Function.proto, yet Java's worker and instances still read and write it
		AutoAck:              d.GetAutoAck(),
		Parallelism:          d.GetParallelism(),
		TimeoutMs:            d.GetSource().GetTimeoutMs(),
		SubscriptionName:     d.GetSource().GetSubscriptionName(),
		CleanupSubscription:  d.GetSource().GetCleanupSubscription(),
		SubscriptionPosition: int32(d.GetSource().GetSubscriptionPosition()),
		SinkSpecsTopic:       d.GetSink().GetTopic(),
		CPU:                  d.GetResources().GetCpu(),
		RAM:                  d.GetResources().GetRam(),
		Disk:                 d.GetResources().GetDisk(),
		MaxMessageRetries:    d.GetRetryDetails().GetMaxMessageRetries(),
		DeadLetterTopic:      d.GetRetryDetails().GetDeadLetterTopic(),
		MetricsPort:          p.metricsPort,
		FunctionDetails:      detailsJSON,
	}
	if o.ExposeAdminClient && strings.TrimSpace(o.PulsarWebServiceURL) != "" {
		c.PulsarWebServiceURL = o.PulsarWebServiceURL
	}
	if au := o.Auth; au != nil {
		if strings.TrimSpace(au.Plugin) != "" && strings.TrimSpace(au.Params) != "" {
			c.ClientAuthenticationPlugin, c.ClientAuthenticationParameters = au.Plugin, au.Params
		}
		c.TLSAllowInsecureConnection = au.TLSAllowInsecure
		c.TLSHostnameVerificationEnable = au.HostnameVerification
		if strings.TrimSpace(au.TrustCertsPath) != "" {
			c.TLSTrustCertsFilePath = au.TrustCertsPath
		}
	}
	// Java always builds the map (getInputSpecsMap is never null) and leaves
	// sourceSpecsTopic at the last topic its HashMap yields; with one input, as
	// the Go SDK supports, that is the input. Sorting keeps ours deterministic.
	c.SourceInputSpecs = map[string]string{}
	for _, topic := range sortedKeys(d.GetSource().GetInputSpecs()) {
		spec, err := protojson.Marshal(d.GetSource().GetInputSpecs()[topic])
		if err != nil {
			return "", fmt.Errorf("encode input spec %s of %s: %w", topic, fqfn(d), err)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, spec); err != nil {
			return "", fmt.Errorf("compact input spec %s of %s: %w", topic, fqfn(d), err)
		}
		c.SourceInputSpecs[topic] = buf.String()
		c.SourceSpecsTopic = topic
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return "", fmt.Errorf("encode Go instance config of %s: %w", fqfn(d), err)
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}
