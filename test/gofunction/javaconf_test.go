package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// javaGoInstanceConfig mirrors Pulsar 4.0.8's GoInstanceConfig as Jackson
// writes it: every field, in declaration order, with the names Jackson
// derives (note "regexPatternSubscription", last, from the Lombok getter
// isRegexPatternSubscription()).
type javaGoInstanceConfig struct {
	PulsarServiceURL               string            `json:"pulsarServiceURL"`
	StateStorageServiceURL         string            `json:"stateStorageServiceUrl"`
	PulsarWebServiceURL            string            `json:"pulsarWebServiceUrl"`
	InstanceID                     int               `json:"instanceID"`
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
	TimeoutMs                      int64             `json:"timeoutMs"`
	SubscriptionName               string            `json:"subscriptionName"`
	CleanupSubscription            bool              `json:"cleanupSubscription"`
	SubscriptionPosition           int32             `json:"subscriptionPosition"`
	SourceInputSpecs               map[string]string `json:"sourceInputSpecs"`
	SourceSpecsTopic               string            `json:"sourceSpecsTopic"`
	SourceSchemaType               string            `json:"sourceSchemaType"`
	ReceiverQueueSize              int32             `json:"receiverQueueSize"`
	SinkSpecsTopic                 string            `json:"sinkSpecsTopic"`
	SinkSchemaType                 string            `json:"sinkSchemaType"`
	CPU                            float64           `json:"cpu"`
	RAM                            int64             `json:"ram"`
	Disk                           int64             `json:"disk"`
	MaxMessageRetries              int32             `json:"maxMessageRetries"`
	DeadLetterTopic                string            `json:"deadLetterTopic"`
	MetricsPort                    int               `json:"metricsPort"`
	FunctionDetails                string            `json:"functionDetails"`
	RegexPatternSubscription       bool              `json:"regexPatternSubscription"`
}

// javaLaunch is the per-instance input of getGoInstanceCmd besides
// FunctionDetails.
type javaLaunch struct {
	InstanceID             int
	FuncID, FuncVersion    string
	Port, MetricsPort      int
	Cluster                string
	PulsarServiceURL       string
	StateStorageServiceURL *string // nil: not configured
	PulsarWebServiceURL    string  // set only when the admin client is exposed
	Auth                   *javaAuth
}

type javaAuth struct {
	Plugin, Params, TrustCerts             string
	AllowInsecure, HostnameVerificationEnb bool
}

// javaGoInstanceConf builds the -instance-conf JSON the way Pulsar 4.0.8's
// RuntimeUtils.getGoInstanceCmd does, so tests can run the fixture exactly
// as a Java worker would. TestJavaConfMatchesWorkerOutput checks it against
// the worker's real output in testdata.
func javaGoInstanceConf(t testing.TB, fd *pb.FunctionDetails, l javaLaunch) string {
	t.Helper()
	fdJSON, err := protojson.Marshal(fd)
	if err != nil {
		t.Fatalf("marshal FunctionDetails: %v", err)
	}
	c := javaGoInstanceConfig{
		SubscriptionPosition: int32(fd.GetSource().GetSubscriptionPosition()),
		FunctionDetails:      string(fdJSON),
		ClusterName:          l.Cluster,
		InstanceID:           l.InstanceID,
		FuncID:               l.FuncID,
		FuncVersion:          l.FuncVersion,
		//lint:ignore SA1019 autoAck is deprecated in Pulsar's Function.proto, yet Java's worker and instances still read and write it
		AutoAck:              fd.GetAutoAck(),
		Tenant:               fd.GetTenant(),
		NameSpace:            fd.GetNamespace(),
		Name:                 fd.GetName(),
		LogTopic:             fd.GetLogTopic(),
		ProcessingGuarantees: int32(fd.GetProcessingGuarantees()),
		Runtime:              int32(fd.GetRuntime()),
		SecretsMap:           fd.GetSecretsMap(),
		UserConfig:           fd.GetUserConfig(),
		Parallelism:          fd.GetParallelism(),
		MaxBufTuples:         1024,
		PulsarServiceURL:     l.PulsarServiceURL,
		CleanupSubscription:  fd.GetSource().GetCleanupSubscription(),
		SubscriptionName:     fd.GetSource().GetSubscriptionName(),
		SourceInputSpecs:     map[string]string{},
		TimeoutMs:            int64(fd.GetSource().GetTimeoutMs()),
		SinkSpecsTopic:       fd.GetSink().GetTopic(),
		CPU:                  fd.GetResources().GetCpu(),
		RAM:                  fd.GetResources().GetRam(),
		Disk:                 fd.GetResources().GetDisk(),
		DeadLetterTopic:      fd.GetRetryDetails().GetDeadLetterTopic(),
		MaxMessageRetries:    fd.GetRetryDetails().GetMaxMessageRetries(),
		MetricsPort:          l.MetricsPort,
		Port:                 l.Port,
		PulsarWebServiceURL:  l.PulsarWebServiceURL,
	}
	if l.StateStorageServiceURL != nil {
		c.StateStorageServiceURL = *l.StateStorageServiceURL
	}
	if a := l.Auth; a != nil {
		if a.Plugin != "" && a.Params != "" {
			c.ClientAuthenticationPlugin, c.ClientAuthenticationParameters = a.Plugin, a.Params
		}
		c.TLSAllowInsecureConnection = a.AllowInsecure
		c.TLSHostnameVerificationEnable = a.HostnameVerificationEnb
		c.TLSTrustCertsFilePath = a.TrustCerts
	}
	for topic, spec := range fd.GetSource().GetInputSpecs() {
		js, err := protojson.Marshal(spec)
		if err != nil {
			t.Fatalf("marshal ConsumerSpec: %v", err)
		}
		c.SourceInputSpecs[topic] = string(js)
		c.SourceSpecsTopic = topic // the last one iterated, as in Java
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		t.Fatalf("marshal GoInstanceConfig: %v", err)
	}
	return string(bytes.TrimSpace(buf.Bytes()))
}

// semanticConf decodes a conf for comparison: nested protobuf JSON
// (functionDetails, sourceInputSpecs values) is compared as messages, and
// sourceSpecsTopic (HashMap iteration order in Java) only for membership.
type semanticConf struct {
	flat    map[string]any
	details *pb.FunctionDetails
	specs   map[string]*pb.ConsumerSpec
}

func decodeSemantic(t *testing.T, s string) semanticConf {
	t.Helper()
	var sc semanticConf
	if err := json.Unmarshal([]byte(s), &sc.flat); err != nil {
		t.Fatalf("decode conf: %v", err)
	}
	sc.details = &pb.FunctionDetails{}
	if err := protojson.Unmarshal([]byte(sc.flat["functionDetails"].(string)), sc.details); err != nil {
		t.Fatalf("decode functionDetails: %v", err)
	}
	sc.specs = map[string]*pb.ConsumerSpec{}
	for topic, v := range sc.flat["sourceInputSpecs"].(map[string]any) {
		spec := &pb.ConsumerSpec{}
		if err := protojson.Unmarshal([]byte(v.(string)), spec); err != nil {
			t.Fatalf("decode sourceInputSpecs[%s]: %v", topic, err)
		}
		sc.specs[topic] = spec
	}
	if _, ok := sc.specs[sc.flat["sourceSpecsTopic"].(string)]; !ok && len(sc.specs) > 0 {
		t.Errorf("sourceSpecsTopic %v is not one of the inputs", sc.flat["sourceSpecsTopic"])
	}
	delete(sc.flat, "functionDetails")
	delete(sc.flat, "sourceInputSpecs")
	delete(sc.flat, "sourceSpecsTopic")
	return sc
}

func readGolden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSuffix(b, []byte("\n")))
}

func TestJavaConfMatchesWorkerOutput(t *testing.T) {
	state := "bk://127.0.0.1:4181"
	base := javaLaunch{
		FuncID: "0b5a0c3e-6f0e-4a55-9d51-3b2f4c8f6a11", FuncVersion: "7d3c1f2a-1111-4c2b-8e4e-2a9f0d6b5c22",
		Port: 40001, MetricsPort: 40002, Cluster: "standalone", PulsarServiceURL: "pulsar://127.0.0.1:6650",
	}
	full := base
	full.InstanceID = 2
	full.StateStorageServiceURL = &state
	full.PulsarWebServiceURL = "http://127.0.0.1:8080"
	full.Auth = &javaAuth{
		Plugin: "org.apache.pulsar.client.impl.auth.AuthenticationToken", Params: "token:abc",
		TrustCerts: "/etc/ca.pem", AllowInsecure: true,
	}
	manual := base
	manual.InstanceID = 1
	for _, tc := range []struct {
		golden string
		launch javaLaunch
	}{
		{"java-worker-process.json", base},
		{"java-worker-process-full.json", full},
		{"java-worker-manual.json", manual},
		{"java-worker-effectively-once.json", base},
		{"java-worker-atleast-once-no-autoack.json", base},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			golden := readGolden(t, tc.golden)
			want := decodeSemantic(t, golden)
			got := decodeSemantic(t, javaGoInstanceConf(t, want.details, tc.launch))
			if !proto.Equal(got.details, want.details) {
				t.Errorf("functionDetails differ:\n got %v\nwant %v", got.details, want.details)
			}
			if len(got.specs) != len(want.specs) {
				t.Errorf("sourceInputSpecs: got %d topics, want %d", len(got.specs), len(want.specs))
			}
			for topic, w := range want.specs {
				if !proto.Equal(got.specs[topic], w) {
					t.Errorf("sourceInputSpecs[%s]: got %v, want %v", topic, got.specs[topic], w)
				}
			}
			for k, w := range want.flat {
				if g, ok := got.flat[k]; !ok || g != w {
					t.Errorf("%s: got %#v, want %#v", k, got.flat[k], w)
				}
			}
			for k := range got.flat {
				if _, ok := want.flat[k]; !ok {
					t.Errorf("extra key %s", k)
				}
			}
		})
	}
}
