package main

import (
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

type wantSettings struct {
	fqfn           string
	instanceID     int
	funcID         string
	port           int
	metricsPort    int
	cluster        string
	serviceURL     string
	inputs         []string
	regex          []string         // inputs that are patterns
	queueSize      map[string]int32 // receiver queue sizes, where set
	output         string
	subscription   string
	subType        pb.SubscriptionType
	position       pb.SubscriptionPosition
	guarantees     pb.ProcessingGuarantees
	autoAck        bool
	logTopic       string
	hcInterval     int32
	detailsFromKey bool
	authPlugin     string
	authParams     string
	user           UserConfig // Raw is not compared
	unknown        []string
}

func TestLoadConf(t *testing.T) {
	process := readGolden(t, "java-worker-process.json")
	processFull := readGolden(t, "java-worker-process-full.json")
	manual := readGolden(t, "java-worker-manual.json")
	k8s := readGolden(t, "java-worker-kubernetes.arg")
	flatOnly := readGolden(t, "flat-only.json")
	yamlPath := filepath.Join("testdata", "conf.yaml")

	minimal := wantSettings{
		fqfn: "public/default/exclaim", funcID: "0b5a0c3e-6f0e-4a55-9d51-3b2f4c8f6a11",
		port: 40001, metricsPort: 40002, cluster: "standalone", serviceURL: "pulsar://127.0.0.1:6650",
		inputs: []string{"persistent://public/default/in"}, output: "persistent://public/default/out",
		subscription: "public/default/exclaim", subType: pb.SubscriptionType_SHARED,
		position: pb.SubscriptionPosition_LATEST, guarantees: pb.ProcessingGuarantees_ATLEAST_ONCE,
		autoAck: true, detailsFromKey: true,
		user: UserConfig{Suffix: "?", CrashAfterMessages: 5},
	}
	k8sWant := minimal
	k8sWant.instanceID = 1
	full := wantSettings{
		fqfn: "t1/ns1/fn", instanceID: 2, funcID: "0b5a0c3e-6f0e-4a55-9d51-3b2f4c8f6a11",
		port: 40001, metricsPort: 40002, cluster: "standalone", serviceURL: "pulsar://127.0.0.1:6650",
		inputs: []string{"persistent://t1/ns1/a", "persistent://t1/ns1/b.*"},
		regex:  []string{"persistent://t1/ns1/b.*"}, queueSize: map[string]int32{"persistent://t1/ns1/a": 50},
		output: "persistent://t1/ns1/out", subscription: "my-sub",
		// FAILOVER only reaches the instance through functionDetails: the
		// worker never sets the flat subscriptionType (it stays 0 = SHARED).
		subType: pb.SubscriptionType_FAILOVER, position: pb.SubscriptionPosition_EARLIEST,
		guarantees: pb.ProcessingGuarantees_ATLEAST_ONCE, autoAck: true, logTopic: "persistent://t1/ns1/fn-log",
		detailsFromKey: true,
		authPlugin:     "org.apache.pulsar.client.impl.auth.AuthenticationToken", authParams: "token:abc",
		user: UserConfig{Suffix: "!", AllocateMiB: 64, CrashAfterSeconds: 2.5},
	}
	manualWant := full
	manualWant.instanceID = 1
	manualWant.guarantees = pb.ProcessingGuarantees_MANUAL
	manualWant.autoAck = false
	manualWant.authPlugin, manualWant.authParams = "", ""
	flat := wantSettings{
		fqfn: "t/n/f", instanceID: 4, funcID: "f-id", port: 40001, metricsPort: 40002, cluster: "c1",
		serviceURL: "pulsar://127.0.0.1:6650",
		inputs:     []string{"persistent://t/n/in-.*"}, regex: []string{"persistent://t/n/in-.*"},
		queueSize: map[string]int32{"persistent://t/n/in-.*": 7}, output: "persistent://t/n/out",
		subscription: "t/n/f", subType: pb.SubscriptionType_FAILOVER, position: pb.SubscriptionPosition_EARLIEST,
		guarantees: pb.ProcessingGuarantees_ATMOST_ONCE, autoAck: true, hcInterval: 30,
		authPlugin: "token", authParams: "token:xyz",
		user: UserConfig{Suffix: "??", ProcessDelayMs: 20, FailPayload: "boom"},
	}
	fromYAML := wantSettings{
		fqfn: "public/default/from-yaml", instanceID: 7, funcID: "yaml-func", port: 40011, metricsPort: 40012,
		cluster: "yaml-cluster", serviceURL: "pulsar://localhost:6650",
		inputs: []string{"persistent://public/default/yaml-in"}, output: "persistent://public/default/yaml-out",
		subscription: "public/default/from-yaml", guarantees: pb.ProcessingGuarantees_ATLEAST_ONCE, autoAck: true,
		user: UserConfig{Suffix: "!", CrashAfterMessages: 3},
	}
	typo := wantSettings{
		fqfn: "a/b/c", subscription: "a/b/c", autoAck: true, guarantees: pb.ProcessingGuarantees_ATLEAST_ONCE,
		user: UserConfig{Suffix: "!"}, unknown: []string{"sinkSpecTopic", "sourceSpecTopic"},
	}

	for _, tc := range []struct {
		name string
		args []string
		want wantSettings
		err  string // substring of the expected error
	}{
		{name: "process runtime (4.0.8 worker)", args: []string{"-instance-conf", process}, want: minimal},
		{name: "double dash and equals", args: []string{"--instance-conf=" + process}, want: minimal},
		{name: "kubernetes single-quoted", args: []string{"-instance-conf", k8s}, want: k8sWant},
		{name: "quoted with surrounding blanks", args: []string{"-instance-conf", "  " + k8s + "\n"}, want: k8sWant},
		{name: "all knobs (4.0.8 worker)", args: []string{"-instance-conf", processFull}, want: full},
		{name: "MANUAL without autoAck", args: []string{"-instance-conf", manual}, want: manualWant},
		{name: "flat keys only (older worker)", args: []string{"-instance-conf", flatOnly}, want: flat},
		{name: "yaml file", args: []string{"-instance-conf-path", yamlPath}, want: fromYAML},
		{name: "file wins over content", args: []string{"-instance-conf", process, "-instance-conf-path", yamlPath}, want: fromYAML},
		{name: "unknown keys reported",
			args: []string{"-instance-conf", `{"tenant":"a","nameSpace":"b","name":"c","autoAck":true,"sourceSpecTopic":"x","sinkSpecTopic":"y"}`},
			want: typo},

		{name: "EFFECTIVELY_ONCE rejected like the SDK", args: []string{"-instance-conf", readGolden(t, "java-worker-effectively-once.json")}, err: "EFFECTIVELY_ONCE"},
		{name: "ATLEAST_ONCE without autoAck rejected like the SDK", args: []string{"-instance-conf", readGolden(t, "java-worker-atleast-once-no-autoack.json")}, err: "autoAck=false"},
		{name: "no flags", args: nil, err: "neither -instance-conf nor -instance-conf-path"},
		{name: "empty quoted content", args: []string{"-instance-conf", "''"}, err: "empty instance config"},
		{name: "not JSON", args: []string{"-instance-conf", "{tenant: a}"}, err: "not a JSON object"},
		{name: "JSON array", args: []string{"-instance-conf", "[1]"}, err: "not a JSON object"},
		{name: "wrong type", args: []string{"-instance-conf", `{"port":"40001"}`}, err: "decode instance config"},
		{name: "bad functionDetails", args: []string{"-instance-conf", `{"functionDetails":"{\"nope\":1}"}`}, err: "functionDetails"},
		{name: "bad sourceInputSpecs", args: []string{"-instance-conf", `{"autoAck":true,"sourceInputSpecs":{"t":"{\"x\":1}"}}`}, err: "sourceInputSpecs"},
		{name: "missing file", args: []string{"-instance-conf-path", "testdata/nope.yaml"}, err: "read instance config file"},
		{name: "stray argument", args: []string{"-instance-conf", process, "extra"}, err: "unexpected arguments"},
		{name: "unknown flag", args: []string{"-instance_conf", process}, err: "not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, unknown, _, err := LoadConf(tc.args, io.Discard)
			var s *Settings
			if err == nil {
				s, err = NewSettings(c)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Mismatches) > 0 {
				t.Errorf("flat keys disagree with functionDetails: %v", s.Mismatches)
			}
			if s.UserConfigErr != nil {
				t.Errorf("userConfig: %v", s.UserConfigErr)
			}
			got := settingsSummary(s)
			got.unknown = unknown
			w := tc.want
			if w.queueSize == nil {
				w.queueSize = map[string]int32{}
			}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("settings:\n got %+v\nwant %+v", got, w)
			}
		})
	}
}

func settingsSummary(s *Settings) wantSettings {
	d := s.Details
	w := wantSettings{
		fqfn: s.FQFN(), instanceID: s.Conf.InstanceID, funcID: s.Conf.FuncID, port: s.Conf.Port,
		metricsPort: s.Conf.MetricsPort, cluster: s.Conf.ClusterName, serviceURL: s.Conf.PulsarServiceURL,
		inputs: s.Inputs(), queueSize: map[string]int32{}, output: d.GetSink().GetTopic(),
		subscription: s.SubscriptionName(), subType: d.GetSource().GetSubscriptionType(),
		position: d.GetSource().GetSubscriptionPosition(), guarantees: d.GetProcessingGuarantees(),
		//lint:ignore SA1019 autoAck is deprecated in Pulsar's Function.proto, yet Java's worker and instances still read and write it
		autoAck: d.GetAutoAck(), logTopic: d.GetLogTopic(), hcInterval: s.Conf.ExpectedHealthCheckInterval,
		detailsFromKey: s.DetailsFromKey, user: s.User,
	}
	w.user.Raw = nil
	w.authPlugin, w.authParams = s.AuthPlugin()
	for _, topic := range w.inputs {
		spec := d.GetSource().GetInputSpecs()[topic]
		if spec.GetIsRegexPattern() {
			w.regex = append(w.regex, topic)
		}
		if q := spec.GetReceiverQueueSize().GetValue(); q != 0 {
			w.queueSize[topic] = q
		}
	}
	return w
}

func TestFlatKeysDisagreeingWithFunctionDetails(t *testing.T) {
	c, _, err := ParseConf(readGolden(t, "java-worker-process.json"))
	if err != nil {
		t.Fatal(err)
	}
	c.Tenant = "other"
	c.SinkSpecsTopic = "persistent://public/default/elsewhere"
	s, err := NewSettings(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Mismatches) != 2 {
		t.Errorf("mismatches = %q, want tenant and sinkSpecsTopic", s.Mismatches)
	}
	if s.FQFN() != "public/default/exclaim" {
		t.Errorf("functionDetails must win, fqfn = %s", s.FQFN())
	}
}

func TestJacksonRegexKeyIsKnown(t *testing.T) {
	// Jackson writes GoInstanceConfig.isRegexPatternSubscription as
	// "regexPatternSubscription"; the SDK only knows the "is" spelling.
	c, unknown, err := ParseConf(`{"autoAck":true,"sourceSpecsTopic":"persistent://a/b/c.*","regexPatternSubscription":true}`)
	if err != nil || len(unknown) > 0 {
		t.Fatalf("err=%v unknown=%v", err, unknown)
	}
	s, err := NewSettings(c)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Details.GetSource().GetInputSpecs()["persistent://a/b/c.*"].GetIsRegexPattern() {
		t.Error("regexPatternSubscription not applied")
	}
}

func TestParseUserConfig(t *testing.T) {
	for _, tc := range []struct {
		name, js string
		want     UserConfig
		err      string
	}{
		{name: "empty", js: "", want: UserConfig{Suffix: "!"}},
		{name: "numbers", js: `{"crashAfterMessages":10,"crashAfterSeconds":0.5,"allocateMiB":128,"processDelayMs":5}`,
			want: UserConfig{Suffix: "!", CrashAfterMessages: 10, CrashAfterSeconds: 0.5, AllocateMiB: 128, ProcessDelayMs: 5}},
		{name: "numbers as strings", js: `{"crashAfterMessages":"10","crashAfterSeconds":" 3 ","allocateMiB":"64"}`,
			want: UserConfig{Suffix: "!", CrashAfterMessages: 10, CrashAfterSeconds: 3, AllocateMiB: 64}},
		{name: "suffix and failPayload", js: `{"suffix":"?","failPayload":"bad"}`, want: UserConfig{Suffix: "?", FailPayload: "bad"}},
		{name: "empty suffix", js: `{"suffix":""}`, want: UserConfig{Suffix: ""}},
		{name: "other keys ignored", js: `{"whatever":[1,2]}`, want: UserConfig{Suffix: "!"}},
		{name: "not an object", js: `[1]`, want: UserConfig{Suffix: "!"}, err: "not a JSON object"},
		{name: "wrong types", js: `{"crashAfterMessages":"many","suffix":1}`, want: UserConfig{Suffix: "!"}, err: "crashAfterMessages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseUserConfig(tc.js)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
			got.Raw = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
