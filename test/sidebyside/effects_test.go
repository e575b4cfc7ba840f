package sidebyside

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// The waits and effect checks below run in one goroutine per side, so they
// report through t.Errorf (never t.Fatal) and return.

// poll calls cond until it returns nil or timeout passes and returns cond's
// last error.
func poll(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// instanceStatus is the part of a function's, source's or sink's status the
// waits read.
type instanceStatus struct {
	NumInstances int `json:"numInstances"`
	NumRunning   int `json:"numRunning"`
}

// kindPath is the REST collection of a kind of deployment.
var kindPath = map[string]string{"function": "functions", "source": "sources", "sink": "sinks"}

// running waits until n instances of the named deployment run and, for a
// function or sink, consume their inputs.
func running(kind, name string, n int) func(*testing.T, *side) {
	return func(t *testing.T, s *side) {
		// Generous: under load a Java instance can miss its first health checks and be
		// restarted by its worker (seen at load 30 on 2 cores).
		err := poll(6*time.Minute, func() error {
			var st instanceStatus
			if err := s.w.GetJSON(fmt.Sprintf("/admin/v3/%s/public/%s/%s/status", kindPath[kind], s.ns, name), &st); err != nil {
				return err
			}
			if st.NumInstances != n || st.NumRunning != n {
				return fmt.Errorf("%d of %d running", st.NumRunning, st.NumInstances)
			}
			if got := len(instanceProcesses(s, name)); got != n {
				return fmt.Errorf("%d instance processes", got)
			}
			return nil
		})
		if err != nil {
			t.Errorf("%s worker: %s %s: %d instances running: %v", s.kind, kind, name, n, err)
			return
		}
		if kind != "source" && n > 0 {
			consuming(t, s, kind, name, n)
		}
	}
}

// consuming waits until n consumers of the deployment's subscription are on
// each of its (non-pattern) inputs: an instance reports running before it
// has subscribed.
func consuming(t *testing.T, s *side, kind, name string, n int) {
	var cfg struct {
		Inputs     []string `json:"inputs"`
		InputSpecs map[string]struct {
			RegexPattern bool `json:"regexPattern"`
		} `json:"inputSpecs"`
		SubName       string `json:"subName"`
		SourceSubName string `json:"sourceSubscriptionName"`
	}
	if err := s.w.GetJSON(fmt.Sprintf("/admin/v3/%s/public/%s/%s", kindPath[kind], s.ns, name), &cfg); err != nil {
		t.Errorf("%s worker: get %s: %v", s.kind, name, err)
		return
	}
	sub := cfg.SubName
	if sub == "" {
		sub = cfg.SourceSubName
	}
	if sub == "" {
		sub = "public/" + s.ns + "/" + name
	}
	topics := slices.Clone(cfg.Inputs)
	for topic, spec := range cfg.InputSpecs {
		if !spec.RegexPattern && !slices.Contains(topics, topic) {
			topics = append(topics, topic)
		}
	}
	for _, topic := range topics {
		topic = strings.TrimPrefix(topic, "persistent://")
		err := poll(3*time.Minute, func() error {
			var st struct {
				Subscriptions map[string]struct {
					Consumers []json.RawMessage `json:"consumers"`
				} `json:"subscriptions"`
			}
			code, body := s.p.Admin(t, "GET", "/admin/v2/persistent/"+topic+"/stats", nil)
			if code != 200 {
				return fmt.Errorf("topic stats: %d %s", code, body)
			}
			if err := json.Unmarshal(body, &st); err != nil {
				return err
			}
			if got := len(st.Subscriptions[sub].Consumers); got < n {
				return fmt.Errorf("%d consumers on %s", got, sub)
			}
			return nil
		})
		if err != nil {
			t.Errorf("%s worker: %s consuming %s: %v", s.kind, name, topic, err)
		}
	}
}

// stoppedInstances waits until the deployment has n instances and none runs.
func stoppedInstances(kind, name string, n int) func(*testing.T, *side) {
	return func(t *testing.T, s *side) {
		err := poll(2*time.Minute, func() error {
			var st instanceStatus
			if err := s.w.GetJSON(fmt.Sprintf("/admin/v3/%s/public/%s/%s/status", kindPath[kind], s.ns, name), &st); err != nil {
				return err
			}
			if st.NumInstances != n || st.NumRunning != 0 || len(instanceProcesses(s, name)) != 0 {
				return fmt.Errorf("%d of %d running, %d processes", st.NumRunning, st.NumInstances, len(instanceProcesses(s, name)))
			}
			return nil
		})
		if err != nil {
			t.Errorf("%s worker: %s %s stopped: %v", s.kind, kind, name, err)
		}
	}
}

// gone waits until the deployment's status answers 404 and none of its
// instance processes is left.
func gone(kind, name string) func(*testing.T, *side) {
	return func(t *testing.T, s *side) {
		err := poll(2*time.Minute, func() error {
			code, _ := harness.Do(t, "GET", fmt.Sprintf("%s/admin/v3/%s/public/%s/%s/status", s.w.URL(), kindPath[kind], s.ns, name), nil)
			if code != 404 {
				return fmt.Errorf("status answers %d", code)
			}
			if n := len(instanceProcesses(s, name)); n != 0 {
				return fmt.Errorf("%d instance processes left", n)
			}
			return nil
		})
		if err != nil {
			t.Errorf("%s worker: %s %s gone: %v", s.kind, kind, name, err)
		}
	}
}

// instanceProcesses lists the instance ids of the running processes of the
// side's deployment name: Java, Python and Go instances all carry the
// function's details (tenant, namespace, name) as JSON in their arguments.
func instanceProcesses(s *side, name string) []int {
	var ids []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, []byte(`"name":"`+name+`"`)) || !bytes.Contains(b, []byte(s.ns)) {
			continue
		}
		args := strings.Split(string(b), "\x00")
		id := -1
		switch {
		case slices.Contains(args, "--instance_id"): // Java and Python instances
			if i := slices.Index(args, "--instance_id"); i+1 < len(args) {
				id, _ = strconv.Atoi(args[i+1])
			}
		case slices.Contains(args, "-instance-conf"): // Go instances: one JSON argument
			if i := slices.Index(args, "-instance-conf"); i+1 < len(args) {
				var conf struct {
					InstanceID int `json:"instanceID"`
				}
				if json.Unmarshal([]byte(args[i+1]), &conf) == nil {
					id = conf.InstanceID
				}
			}
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// processes is an effect: the instance ids with a running process.
func processes(name string) func(*testing.T, *side) string {
	return func(_ *testing.T, s *side) string {
		return fmt.Sprintf("instance processes %v", instanceProcesses(s, name))
	}
}

// roundTrip is an effect: it sends msgs to the side's topic in (as strings)
// and reports what arrives on out, sorted, or what is missing.
func roundTrip(in, out string, msgs ...string) func(*testing.T, *side) string {
	return func(t *testing.T, s *side) string {
		in, out := s.expand(in), s.expand(out)
		client, err := pulsar.NewClient(pulsar.ClientOptions{URL: s.p.ServiceURL, Logger: plog.DefaultNopLogger()})
		if err != nil {
			t.Errorf("client: %v", err)
			return ""
		}
		defer client.Close()
		// A string schema where the topic has one (Java and Python functions), none where
		// the instance's producer made it a BYTES topic first (Go functions): which one
		// comes first is a race, the same on both sides.
		consumer, err := client.Subscribe(pulsar.ConsumerOptions{Topic: out, SubscriptionName: "sidebyside",
			SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest, Schema: pulsar.NewStringSchema(nil)})
		if err != nil && strings.Contains(err.Error(), "IncompatibleSchema") {
			consumer, err = client.Subscribe(pulsar.ConsumerOptions{Topic: out, SubscriptionName: "sidebyside",
				SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
		}
		if err != nil {
			t.Errorf("subscribe %s: %v", out, err)
			return ""
		}
		defer consumer.Close()
		producer, err := client.CreateProducer(pulsar.ProducerOptions{Topic: in, Schema: pulsar.NewStringSchema(nil)})
		raw := false
		if err != nil && strings.Contains(err.Error(), "IncompatibleSchema") {
			producer, err = client.CreateProducer(pulsar.ProducerOptions{Topic: in})
			raw = true
		}
		if err != nil {
			t.Errorf("producer %s: %v", in, err)
			return ""
		}
		defer producer.Close()
		for _, m := range msgs {
			msg := &pulsar.ProducerMessage{Value: m}
			if raw {
				msg = &pulsar.ProducerMessage{Payload: []byte(m)}
			}
			if _, err := producer.Send(context.Background(), msg); err != nil {
				t.Errorf("send to %s: %v", in, err)
				return ""
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		var got []string
		for len(got) < len(msgs) {
			m, err := consumer.Receive(ctx)
			if err != nil {
				break
			}
			got = append(got, string(m.Payload()))
			_ = consumer.Ack(m)
		}
		slices.Sort(got)
		return fmt.Sprintf("%d sent, received %q", len(msgs), got)
	}
}

// fileDigest is an effect: the size and digest of a file the step wrote,
// and whether it holds the same bytes as another file.
func fileDigest(path, sameAs string) func(*testing.T, *side) string {
	return func(_ *testing.T, s *side) string {
		got, err := os.ReadFile(s.expand(path))
		if err != nil {
			return "no file: " + strings.ReplaceAll(err.Error(), s.dir, "{dir}")
		}
		want, err := os.ReadFile(s.expand(sameAs))
		if err != nil {
			return "no reference file: " + err.Error()
		}
		return fmt.Sprintf("%d bytes, same as %s: %v, sha256 %x", len(got), sameAs, bytes.Equal(got, want), sha256.Sum256(got))
	}
}

// buildPythonZip writes a Python function packaged as the Python instance
// runtime expects a zip: pyzipfn/src with the function and pyzipfn/deps
// with a wheel of a module it imports, installed by the instance at start.
func buildPythonZip(t *testing.T) string {
	t.Helper()
	wheel := zipBytes(t, map[string]string{
		"shout/__init__.py":            "def shout(s):\n    return s.upper()\n",
		"shout-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: shout\nVersion: 1.0\n",
		"shout-1.0.dist-info/WHEEL":    "Wheel-Version: 1.0\nGenerator: pfw-sidebyside\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
		"shout-1.0.dist-info/RECORD":   "shout/__init__.py,,\nshout-1.0.dist-info/METADATA,,\nshout-1.0.dist-info/WHEEL,,\nshout-1.0.dist-info/RECORD,,\n",
	})
	fn := "from pulsar import Function\nfrom shout import shout\n\n\nclass Shout(Function):\n    def process(self, input, context):\n        return shout(input) + \"!\"\n"
	path := filepath.Join(t.TempDir(), "pyzipfn.zip")
	if err := os.WriteFile(path, zipBytes(t, map[string]string{
		"pyzipfn/src/shout_function.py":           fn,
		"pyzipfn/deps/shout-1.0-py3-none-any.whl": string(wheel),
	}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func zipBytes(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		w, err := zw.Create(n)
		if err == nil {
			_, err = w.Write([]byte(files[n]))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
