package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// Conf is the -instance-conf JSON: the Jackson serialization of Pulsar's
// org.apache.pulsar.functions.instance.go.GoInstanceConfig (4.0.8), plus the
// keys older workers/SDKs used. Keys are the ones the Go SDK's conf.Conf
// declares; encoding/json matches them case-insensitively and ignores
// unknown keys, as the SDK does.
type Conf struct {
	PulsarServiceURL            string `json:"pulsarServiceURL"`
	StateStorageServiceURL      string `json:"stateStorageServiceUrl"`
	PulsarWebServiceURL         string `json:"pulsarWebServiceUrl"`
	InstanceID                  int    `json:"instanceID"`
	FuncID                      string `json:"funcID"`
	FuncVersion                 string `json:"funcVersion"`
	MaxBufTuples                int    `json:"maxBufTuples"`
	Port                        int    `json:"port"`
	ClusterName                 string `json:"clusterName"`
	KillAfterIdleMs             int64  `json:"killAfterIdleMs"`
	ExpectedHealthCheckInterval int32  `json:"expectedHealthCheckInterval"` // seconds

	// Function details, flattened.
	Tenant               string `json:"tenant"`
	NameSpace            string `json:"nameSpace"` // capital S, as GoInstanceConfig spells it
	Name                 string `json:"name"`
	ClassName            string `json:"className"`
	LogTopic             string `json:"logTopic"`
	ProcessingGuarantees int32  `json:"processingGuarantees"` // enum number
	SecretsMap           string `json:"secretsMap"`           // JSON text
	UserConfig           string `json:"userConfig"`           // JSON text
	Runtime              int32  `json:"runtime"`              // enum number, GO = 3

	// Authentication / TLS (newer GoInstanceConfig).
	ClientAuthenticationPlugin     string `json:"clientAuthenticationPlugin"`
	ClientAuthenticationParameters string `json:"clientAuthenticationParameters"`
	TLSTrustCertsFilePath          string `json:"tlsTrustCertsFilePath"`
	TLSHostnameVerificationEnable  bool   `json:"tlsHostnameVerificationEnable"`
	TLSAllowInsecureConnection     bool   `json:"tlsAllowInsecureConnection"`
	// Older spelling of the same two settings.
	ClientAuthPlugin string `json:"clientAuthPlugin"`
	ClientAuthParams string `json:"clientAuthParams"`

	AutoAck     bool  `json:"autoAck"` // deprecated; the worker only sets it when true
	Parallelism int32 `json:"parallelism"`

	// Source.
	SubscriptionType     int32             `json:"subscriptionType"` // never set by the Java worker
	TimeoutMs            int64             `json:"timeoutMs"`
	SubscriptionName     string            `json:"subscriptionName"`
	CleanupSubscription  bool              `json:"cleanupSubscription"`
	SubscriptionPosition int32             `json:"subscriptionPosition"` // LATEST 0, EARLIEST 1
	SourceInputSpecs     map[string]string `json:"sourceInputSpecs"`     // topic -> protobuf JSON of ConsumerSpec
	// Deprecated single-input fields.
	SourceSpecsTopic           string `json:"sourceSpecsTopic"`
	SourceSchemaType           string `json:"sourceSchemaType"`
	IsRegexPatternSubscription bool   `json:"isRegexPatternSubscription"` // the SDK's key
	RegexPatternSubscription   bool   `json:"regexPatternSubscription"`   // what Jackson actually writes
	ReceiverQueueSize          int32  `json:"receiverQueueSize"`

	// Sink.
	SinkSpecsTopic string `json:"sinkSpecsTopic"`
	SinkSchemaType string `json:"sinkSchemaType"`

	// Resources.
	CPU  float64 `json:"cpu"`
	RAM  int64   `json:"ram"`
	Disk int64   `json:"disk"`

	// Retry details.
	MaxMessageRetries int32  `json:"maxMessageRetries"`
	DeadLetterTopic   string `json:"deadLetterTopic"`

	MetricsPort int `json:"metricsPort"`

	// Compact protobuf JSON of the whole FunctionDetails (Pulsar 3.3+).
	FunctionDetails string `json:"functionDetails"`
}

// knownKeys are the Conf JSON keys, lower-cased (encoding/json matching is
// case-insensitive).
var knownKeys = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeOf(Conf{})
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		m[strings.ToLower(name)] = true
	}
	return m
}()

// ParseConf decodes -instance-conf content. It strips one pair of
// surrounding single quotes (the Kubernetes runtime's form) and returns the
// keys Conf does not know, sorted, which the SDK would silently ignore.
func ParseConf(content string) (*Conf, []string, error) {
	s := strings.TrimSpace(content)
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		s = s[1 : len(s)-1]
	}
	if s == "" {
		return nil, nil, errors.New("empty instance config")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, nil, fmt.Errorf("instance config is not a JSON object: %w", err)
	}
	c := &Conf{}
	if err := json.Unmarshal([]byte(s), c); err != nil {
		return nil, nil, fmt.Errorf("decode instance config: %w", err)
	}
	var unknown []string
	for k := range raw {
		if !knownKeys[strings.ToLower(k)] {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	return c, unknown, nil
}

// ParseConfFile reads -instance-conf-path: YAML (as the SDK expects) or
// JSON, with the same keys as -instance-conf.
func ParseConfFile(path string) (*Conf, []string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read instance config file: %w", err)
	}
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return nil, nil, fmt.Errorf("instance config file %s: %w", path, err)
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, nil, fmt.Errorf("instance config file %s: not a mapping", path)
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, nil, fmt.Errorf("instance config file %s: %w", path, err)
	}
	return ParseConf(string(j))
}

// errHelp is returned by LoadConf for -help / -h.
var errHelp = errors.New("help requested")

// LoadConf parses the command line: -instance-conf JSON, -instance-conf-path
// FILE (wins over -instance-conf when both are given, as in newer SDKs), -help.
// source says where the conf came from.
func LoadConf(args []string, stderr io.Writer) (c *Conf, unknown []string, source string, err error) {
	fs := flag.NewFlagSet("gofunction", flag.ContinueOnError)
	fs.SetOutput(stderr)
	content := fs.String("instance-conf", "", "instance config as JSON (what the worker passes; may be wrapped in single quotes)")
	path := fs.String("instance-conf-path", "", "instance config file (YAML or JSON, same keys as -instance-conf)")
	help := fs.Bool("help", false, "print usage")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, "", errHelp
		}
		return nil, nil, "", err
	}
	if *help {
		fs.Usage()
		return nil, nil, "", errHelp
	}
	if fs.NArg() > 0 {
		return nil, nil, "", fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case *path != "":
		c, unknown, err = ParseConfFile(*path)
		source = "-instance-conf-path " + *path
		if *content != "" {
			source += " (given together with -instance-conf, which is ignored)"
		}
	case *content != "":
		c, unknown, err = ParseConf(*content)
		source = "-instance-conf"
	default:
		err = errors.New("neither -instance-conf nor -instance-conf-path given")
	}
	return c, unknown, source, err
}

// Settings is everything the fixture runs with, derived from a Conf.
type Settings struct {
	Conf *Conf
	// Details is FunctionDetails from the conf's functionDetails when present
	// (as Pulsar 3.3+ sends it), else assembled from the flat fields the way
	// the Go SDK always did.
	Details        *pb.FunctionDetails
	DetailsFromKey bool // Details came from the functionDetails key
	// Mismatches lists flat fields that disagree with functionDetails.
	Mismatches []string
	User       UserConfig
	// UserConfigErr is set when userConfig is not a JSON object; the SDK
	// ignores that and runs with an empty map, and so do we.
	UserConfigErr error
}

// UserConfig are the fixture's test knobs, read from the function's
// userConfig JSON map.
type UserConfig struct {
	Raw map[string]any
	// Suffix appended to each payload (default "!").
	Suffix string
	// CrashAfterMessages > 0: exit(3) right after the N-th message has been
	// published and acked.
	CrashAfterMessages int64
	// CrashAfterSeconds > 0: exit(3) that long after the process started.
	CrashAfterSeconds float64
	// AllocateMiB > 0: allocate and touch that much memory at start, and hold it.
	AllocateMiB int64
	// FailPayload: a message whose payload equals it makes the function
	// return an error (a user exception); it is acked, nothing is published.
	FailPayload string
	// ProcessDelayMs: sleep this long inside the function for every message.
	ProcessDelayMs int64
}

// NewSettings derives Settings and rejects what the Go SDK rejects.
func NewSettings(c *Conf) (*Settings, error) {
	s := &Settings{Conf: c}
	if c.FunctionDetails != "" {
		fd := &pb.FunctionDetails{}
		if err := protojson.Unmarshal([]byte(c.FunctionDetails), fd); err != nil {
			return nil, fmt.Errorf("functionDetails is not FunctionDetails protobuf JSON: %w", err)
		}
		s.Details = fd
		s.DetailsFromKey = true
		s.Mismatches = compareFlat(c, fd)
	} else {
		fd, err := detailsFromFlat(c)
		if err != nil {
			return nil, err
		}
		s.Details = fd
	}
	if s.Details.GetSource() == nil {
		s.Details.Source = &pb.SourceSpec{}
	}
	if s.Details.GetSink() == nil {
		s.Details.Sink = &pb.SinkSpec{}
	}

	// The Go SDK's newInstanceConfWithConf panics on these.
	pg := s.Details.GetProcessingGuarantees()
	if pg == pb.ProcessingGuarantees_EFFECTIVELY_ONCE {
		return nil, errors.New("Go instance does not support EFFECTIVELY_ONCE processing guarantees (as the Go SDK)")
	}
	//lint:ignore SA1019 autoAck is deprecated in Pulsar's Function.proto, yet Java's worker and instances still read and write it
	if !s.Details.GetAutoAck() && (pg == pb.ProcessingGuarantees_ATLEAST_ONCE || pg == pb.ProcessingGuarantees_ATMOST_ONCE) {
		return nil, fmt.Errorf("processing guarantees %s with autoAck=false is contradictory; use MANUAL (as the Go SDK)", pg)
	}

	s.User, s.UserConfigErr = parseUserConfig(s.Details.GetUserConfig())
	return s, nil
}

// detailsFromFlat assembles FunctionDetails from the flat keys, as the Go
// SDK did before functionDetails existed.
func detailsFromFlat(c *Conf) (*pb.FunctionDetails, error) {
	inputs := map[string]*pb.ConsumerSpec{}
	if c.SourceSpecsTopic != "" {
		spec := &pb.ConsumerSpec{
			SchemaType:     c.SourceSchemaType,
			IsRegexPattern: c.IsRegexPatternSubscription || c.RegexPatternSubscription,
		}
		if c.ReceiverQueueSize != 0 {
			spec.ReceiverQueueSize = &pb.ConsumerSpec_ReceiverQueueSize{Value: c.ReceiverQueueSize}
		}
		inputs[c.SourceSpecsTopic] = spec
	}
	for topic, js := range c.SourceInputSpecs {
		spec := &pb.ConsumerSpec{}
		if err := protojson.Unmarshal([]byte(js), spec); err != nil {
			return nil, fmt.Errorf("sourceInputSpecs[%q] is not ConsumerSpec protobuf JSON: %w", topic, err)
		}
		inputs[topic] = spec
	}
	return &pb.FunctionDetails{
		Tenant:               c.Tenant,
		Namespace:            c.NameSpace,
		Name:                 c.Name,
		ClassName:            c.ClassName,
		LogTopic:             c.LogTopic,
		ProcessingGuarantees: pb.ProcessingGuarantees(c.ProcessingGuarantees),
		SecretsMap:           c.SecretsMap,
		UserConfig:           c.UserConfig,
		Runtime:              pb.FunctionDetails_Runtime(c.Runtime),
		//lint:ignore SA1019 autoAck is deprecated in Pulsar's Function.proto, yet Java's worker and instances still read and write it
		AutoAck:     c.AutoAck,
		Parallelism: c.Parallelism,
		Source: &pb.SourceSpec{
			SubscriptionType:     pb.SubscriptionType(c.SubscriptionType),
			InputSpecs:           inputs,
			TimeoutMs:            uint64(max(c.TimeoutMs, 0)),
			SubscriptionName:     c.SubscriptionName,
			CleanupSubscription:  c.CleanupSubscription,
			SubscriptionPosition: pb.SubscriptionPosition(c.SubscriptionPosition),
		},
		Sink:         &pb.SinkSpec{Topic: c.SinkSpecsTopic, SchemaType: c.SinkSchemaType},
		Resources:    &pb.Resources{Cpu: c.CPU, Ram: c.RAM, Disk: c.Disk},
		RetryDetails: &pb.RetryDetails{MaxMessageRetries: c.MaxMessageRetries, DeadLetterTopic: c.DeadLetterTopic},
	}, nil
}

// compareFlat reports flat keys that contradict functionDetails (a worker
// bug worth a warning; the SDK silently prefers functionDetails).
func compareFlat(c *Conf, fd *pb.FunctionDetails) []string {
	var out []string
	check := func(key string, flat, details any) {
		if !reflect.DeepEqual(flat, details) {
			out = append(out, fmt.Sprintf("%s: flat %v, functionDetails %v", key, flat, details))
		}
	}
	check("tenant", c.Tenant, fd.GetTenant())
	check("nameSpace", c.NameSpace, fd.GetNamespace())
	check("name", c.Name, fd.GetName())
	check("logTopic", c.LogTopic, fd.GetLogTopic())
	check("processingGuarantees", c.ProcessingGuarantees, int32(fd.GetProcessingGuarantees()))
	check("userConfig", c.UserConfig, fd.GetUserConfig())
	//lint:ignore SA1019 autoAck is deprecated in Pulsar's Function.proto, yet Java's worker and instances still read and write it
	check("autoAck", c.AutoAck, fd.GetAutoAck())
	check("subscriptionName", c.SubscriptionName, fd.GetSource().GetSubscriptionName())
	check("subscriptionPosition", c.SubscriptionPosition, int32(fd.GetSource().GetSubscriptionPosition()))
	check("sinkSpecsTopic", c.SinkSpecsTopic, fd.GetSink().GetTopic())
	var flatInputs, fdInputs []string
	for t := range c.SourceInputSpecs {
		flatInputs = append(flatInputs, t)
	}
	for t := range fd.GetSource().GetInputSpecs() {
		fdInputs = append(fdInputs, t)
	}
	slices.Sort(flatInputs)
	slices.Sort(fdInputs)
	if len(flatInputs) > 0 || len(fdInputs) > 0 {
		check("sourceInputSpecs topics", flatInputs, fdInputs)
	}
	return out
}

func parseUserConfig(js string) (UserConfig, error) {
	u := UserConfig{Raw: map[string]any{}, Suffix: "!"}
	if strings.TrimSpace(js) == "" {
		return u, nil
	}
	if err := json.Unmarshal([]byte(js), &u.Raw); err != nil {
		u.Raw = map[string]any{}
		return u, fmt.Errorf("userConfig is not a JSON object: %w", err)
	}
	var errs []error
	num := func(key string) float64 {
		v, ok := u.Raw[key]
		if !ok {
			return 0
		}
		switch x := v.(type) {
		case float64:
			return x
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err == nil {
				return f
			}
		}
		errs = append(errs, fmt.Errorf("userConfig %q: want a number, got %v", key, v))
		return 0
	}
	str := func(key string) (string, bool) {
		v, ok := u.Raw[key]
		if !ok {
			return "", false
		}
		if s, ok := v.(string); ok {
			return s, true
		}
		errs = append(errs, fmt.Errorf("userConfig %q: want a string, got %v", key, v))
		return "", false
	}
	u.CrashAfterMessages = int64(num("crashAfterMessages"))
	u.CrashAfterSeconds = num("crashAfterSeconds")
	u.AllocateMiB = int64(num("allocateMiB"))
	u.ProcessDelayMs = int64(num("processDelayMs"))
	if s, ok := str("suffix"); ok {
		u.Suffix = s
	}
	u.FailPayload, _ = str("failPayload")
	return u, errors.Join(errs...)
}

// Inputs returns the input topics, sorted.
func (s *Settings) Inputs() []string {
	var ts []string
	for t := range s.Details.GetSource().GetInputSpecs() {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts
}

// FQFN is tenant/namespace/name.
func (s *Settings) FQFN() string {
	return s.Details.GetTenant() + "/" + s.Details.GetNamespace() + "/" + s.Details.GetName()
}

// SubscriptionName is the source's subscriptionName, else tenant/ns/name
// (the Java worker and every SDK name it so).
func (s *Settings) SubscriptionName() string {
	if n := s.Details.GetSource().GetSubscriptionName(); n != "" {
		return n
	}
	return s.FQFN()
}

// AuthPlugin returns the client auth plugin and its parameters, preferring
// the current key names over the older ones.
func (s *Settings) AuthPlugin() (string, string) {
	c := s.Conf
	if c.ClientAuthenticationPlugin != "" {
		return c.ClientAuthenticationPlugin, c.ClientAuthenticationParameters
	}
	return c.ClientAuthPlugin, c.ClientAuthParams
}
