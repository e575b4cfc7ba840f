package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// functionStatus is the part of `functions status` the tests read.
type functionStatus struct {
	NumInstances int `json:"numInstances"`
	NumRunning   int `json:"numRunning"`
	Instances    []struct {
		InstanceID int `json:"instanceId"`
		Status     struct {
			Running     bool   `json:"running"`
			Error       string `json:"error"`
			NumRestarts int64  `json:"numRestarts"`
			WorkerID    string `json:"workerId"`
		} `json:"status"`
	} `json:"instances"`
}

func status(t *testing.T, p harness.Pulsar, w *harness.Worker, name string) (functionStatus, error) {
	t.Helper()
	out, err := p.PulsarAdmin(t, w.URL(), "functions", "status", "--tenant", "public", "--namespace", "default", "--name", name)
	if err != nil {
		return functionStatus{}, fmt.Errorf("functions status: %v: %s", err, out)
	}
	var st functionStatus
	if err := json.Unmarshal([]byte(out[strings.IndexByte(out, '{'):]), &st); err != nil {
		return st, fmt.Errorf("parse status %q: %v", out, err)
	}
	return st, nil
}

// waitRunning waits until all n instances of name run.
func waitRunning(t *testing.T, p harness.Pulsar, w *harness.Worker, name string, n int) functionStatus {
	t.Helper()
	var st functionStatus
	harness.Eventually(t, 4*time.Minute, name+" running", func() error {
		var err error
		if st, err = status(t, p, w, name); err != nil {
			return err
		}
		if st.NumInstances != n || st.NumRunning != n {
			return fmt.Errorf("%d of %d running: %+v", st.NumRunning, st.NumInstances, st.Instances)
		}
		return nil
	})
	waitConsuming(t, p, w, name, n)
	return st
}

// waitConsuming waits until the n instances of function name consume each of
// its (non-pattern) input topics. An instance reports running once its
// control port answers, before its consumer has subscribed; a message sent
// before the subscription exists is never seen by a subscription that starts
// at the latest message, the default (as with the Java worker).
func waitConsuming(t *testing.T, p harness.Pulsar, w *harness.Worker, name string, n int) {
	t.Helper()
	var cfg struct {
		InputSpecs map[string]struct {
			RegexPattern bool `json:"regexPattern"`
		} `json:"inputSpecs"`
		SubName string `json:"subName"`
	}
	if err := w.GetJSON("/admin/v3/functions/public/default/"+name, &cfg); err != nil {
		t.Fatalf("get %s: %v", name, err)
	}
	sub := cfg.SubName
	if sub == "" {
		sub = "public/default/" + name
	}
	for topic, spec := range cfg.InputSpecs {
		if !spec.RegexPattern {
			waitConsumers(t, p, topic, sub, n)
		}
	}
}

// exclamationRoundTrip sends n messages to in and expects each back on out
// with suffix appended, none lost.
func exclamationRoundTrip(t *testing.T, p harness.Pulsar, in, out string, n int, suffix string, schema bool) {
	t.Helper()
	exclamationRoundTripWith(t, pulsar.ClientOptions{URL: p.ServiceURL}, in, out, n, suffix, schema)
}

// exclamationRoundTripWith is exclamationRoundTrip with a client of the given
// options (such as the standalone's TLS listener).
func exclamationRoundTripWith(t *testing.T, opts pulsar.ClientOptions, in, out string, n int, suffix string, schema bool) {
	t.Helper()
	client, err := pulsar.NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	copts := pulsar.ConsumerOptions{Topic: out, SubscriptionName: "e2e", SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest}
	popts := pulsar.ProducerOptions{Topic: in}
	if schema {
		copts.Schema, popts.Schema = pulsar.NewStringSchema(nil), pulsar.NewStringSchema(nil)
	}
	consumer, err := client.Subscribe(copts)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	producer, err := client.CreateProducer(popts)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	want := map[string]bool{}
	for i := range n {
		msg := fmt.Sprintf("hello-%03d", i)
		want[msg+suffix] = true
		if _, err := producer.Send(context.Background(), &pulsar.ProducerMessage{Payload: []byte(msg)}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for len(want) > 0 {
		m, err := consumer.Receive(ctx)
		if err != nil {
			t.Fatalf("%d messages still missing on %s: %v", len(want), out, err)
		}
		delete(want, string(m.Payload()))
		_ = consumer.Ack(m)
	}
}

func TestFunctionsEndToEnd(t *testing.T) {
	t.Parallel() // own workers, functions namespace and names
	p := harness.RequirePulsar(t)
	goFn := buildGoFunction(t)
	tests := []struct {
		name    string
		runtime []string
		schema  bool
	}{
		{"java", []string{"--jar", filepath.Join(p.Home, "examples", "api-examples.jar"),
			"--classname", "org.apache.pulsar.functions.api.examples.ExclamationFunction"}, true},
		{"python", []string{"--py", filepath.Join(p.Home, "examples", "python-examples", "exclamation_function.py"),
			"--classname", "exclamation_function.ExclamationFunction"}, false},
		{"go", []string{"--go", goFn}, false},
	}
	ws := startCluster(t, p, 2, map[string]any{"instanceLivenessCheckFreqMs": 5000})
	expectMembers(t, ws, 30*time.Second)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := harness.UniqueName("excl-" + tt.name)
			in, out := "persistent://public/default/"+name+"-in", "persistent://public/default/"+name+"-out"
			args := append([]string{"functions", "create", "--tenant", "public", "--namespace", "default", "--name", name,
				"--inputs", in, "--output", out, "--parallelism", "2"}, tt.runtime...)
			if outp, err := p.PulsarAdmin(t, ws[1].URL(), args...); err != nil {
				t.Fatalf("functions create: %v\n%s", err, outp)
			}
			st := waitRunning(t, p, ws[0], name, 2)
			// Round robin over two workers: one instance each.
			var owners []string
			for _, in := range st.Instances {
				owners = append(owners, in.Status.WorkerID)
			}
			slices.Sort(owners)
			if !slices.Equal(owners, []string{ws[0].ID, ws[1].ID}) {
				t.Errorf("instances run on %v, want one on each worker", owners)
			}
			exclamationRoundTrip(t, p, in, out, 100, "!", tt.schema)

			if outp, err := p.PulsarAdmin(t, ws[0].URL(), "functions", "delete", "--tenant", "public", "--namespace", "default", "--name", name); err != nil {
				t.Fatalf("functions delete: %v\n%s", err, outp)
			}
			harness.Eventually(t, time.Minute, "assignments gone", func() error {
				for _, w := range ws {
					var a map[string][]string
					if err := w.GetJSON("/admin/v2/worker/assignments", &a); err != nil {
						return err
					}
					for _, keys := range a {
						for _, k := range keys {
							if strings.Contains(k, name) {
								return fmt.Errorf("%s still assigned on %s", k, w.ID)
							}
						}
					}
				}
				return nil
			})
		})
	}
}

// buildGoFunction builds test/gofunction, the Go function the tests deploy.
func buildGoFunction(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "exclamation-go")
	cmd := execCommand("go", "build", "-o", bin, "./test/gofunction")
	cmd.Dir = harness.RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build Go function: %v\n%s", err, out)
	}
	return bin
}

// waitConsumers waits until subscription sub of topic has at least n
// consumers.
func waitConsumers(t *testing.T, p harness.Pulsar, topic, sub string, n int) {
	t.Helper()
	harness.Eventually(t, 4*time.Minute, fmt.Sprintf("%d consumers of %s on %s", n, sub, topic), func() error {
		var st struct {
			Subscriptions map[string]struct {
				Consumers []json.RawMessage `json:"consumers"`
			} `json:"subscriptions"`
		}
		code, body := p.Admin(t, "GET", "/admin/v2/persistent/"+strings.TrimPrefix(topic, "persistent://")+"/stats", nil)
		if code != 200 {
			return fmt.Errorf("topic stats: %d %s", code, body)
		}
		if err := json.Unmarshal(body, &st); err != nil {
			return err
		}
		if got := len(st.Subscriptions[sub].Consumers); got < n {
			return fmt.Errorf("%d consumers", got)
		}
		return nil
	})
}
