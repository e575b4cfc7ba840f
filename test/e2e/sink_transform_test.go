package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"go.yaml.in/yaml/v3"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// The distribution's example function a sink transform can run: it returns
// a Record of its String input with "!" appended.
const recordFunction = "org.apache.pulsar.functions.api.examples.RecordFunction"

// TestSinkTransformFunction: a sink created through pulsar-admin with
// --transform-function runs the function inside the sink's instance: what
// the built-in data-generator print sink logs is the function's output.
// The function comes from the broker's package service (function://). The
// same is done on a Java worker of the pinned distribution, whose `sinks
// get` leaves transformFunction out (README, deviations).
func TestSinkTransformFunction(t *testing.T) {
	t.Parallel() // its own workers and names
	p := harness.RequirePulsar(t)
	dir := harness.ConnectorsDir(t)
	jar := filepath.Join(p.Home, "examples", "api-examples.jar")
	pkg := "function://public/default/" + harness.UniqueName("sink-transform") + "@v1"
	if out, err := p.PulsarAdmin(t, p.WebServiceURL, "packages", "upload", pkg, "--path", jar, "--description", "e2e sink transform"); err != nil {
		t.Fatalf("packages upload: %v\n%s", err, out)
	}
	t.Cleanup(func() { p.PulsarAdmin(t, p.WebServiceURL, "packages", "delete", pkg) })

	t.Run("our worker", func(t *testing.T) {
		t.Parallel()
		w := startCluster(t, p, 1, map[string]any{"connectorsDirectory": dir})[0]
		name := harness.UniqueName("xform-sink")
		in := "persistent://public/default/" + name + "-in"
		admin(t, p, w, "sinks", "create", "--tenant", "public", "--namespace", "default", "--name", name,
			"--archive", "builtin://data-generator", "--inputs", in, "--transform-function", pkg,
			"--transform-function-classname", recordFunction, "--transform-function-config", `{"publish-topic":"unused"}`)
		expectTransformed(t, p, w, name, in, "first")
		expectSinkGet(t, p, w, name, map[string]any{"transformFunction": pkg,
			"transformFunctionClassName": recordFunction, "transformFunctionConfig": `{"publish-topic":"unused"}`})

		// The transform function's package as stored (F19, transform-function=true).
		dest := filepath.Join(t.TempDir(), "transform.jar")
		admin(t, p, w, "functions", "download", "--tenant", "public", "--namespace", "default", "--name", name,
			"--transform-function", "--destination-file", dest)
		if got, want := readFile(t, dest), readFile(t, jar); !bytes.Equal(got, want) {
			t.Errorf("downloaded transform function: %d bytes, the package has %d", len(got), len(want))
		}

		// An update that leaves the function out keeps it (4.0.8 would fall
		// back to the sink's Person type: README, deviations).
		admin(t, p, w, "sinks", "update", "--tenant", "public", "--namespace", "default", "--name", name,
			"--transform-function-config", `{"publish-topic":"other"}`)
		expectSinkGet(t, p, w, name, map[string]any{"transformFunction": pkg, "transformFunctionConfig": `{"publish-topic":"other"}`})
		expectTransformed(t, p, w, name, in, "after-update")

		out, code := p.PulsarAdminExit(t, w.URL(), "sinks", "create", "--tenant", "public", "--namespace", "default", "--name", name+"-bad",
			"--archive", "builtin://data-generator", "--inputs", in, "--transform-function", pkg,
			"--transform-function-classname", "org.apache.pulsar.functions.api.examples.ExclamationFunction")
		if code == 0 || !strings.Contains(out, "Sink transform function output must be of type Record") {
			t.Errorf("a transform function returning a String: exit %d\n%s", code, out)
		}
		admin(t, p, w, "sinks", "delete", "--tenant", "public", "--namespace", "default", "--name", name)
	})

	t.Run("Java worker", func(t *testing.T) {
		t.Parallel()
		port := harness.FreePort(t)
		w := harness.StartJavaWorker(t, p, "xform-java", port, harness.JavaWorkerConfig(t, p, "xform-java", port, map[string]any{
			"pulsarFunctionsNamespace": "public/" + harness.UniqueName("fwj"),
			"connectorsDirectory":      dir,
		}))
		w.WaitReady(4 * time.Minute)
		name := harness.UniqueName("xform-sink-j")
		in := "persistent://public/default/" + name + "-in"
		admin(t, p, w, "sinks", "create", "--tenant", "public", "--namespace", "default", "--name", name,
			"--archive", "builtin://data-generator", "--inputs", in, "--transform-function", pkg,
			"--transform-function-classname", recordFunction, "--transform-function-config", `{"publish-topic":"unused"}`)
		expectTransformed(t, p, w, name, in, "java")
		// Java's answer lacks transformFunction.
		expectSinkGet(t, p, w, name, map[string]any{"transformFunction": nil,
			"transformFunctionClassName": recordFunction, "transformFunctionConfig": `{"publish-topic":"unused"}`})
		admin(t, p, w, "sinks", "delete", "--tenant", "public", "--namespace", "default", "--name", name)
	})
}

// expectTransformed waits until sink name runs and the print sink has
// logged the function's output ("RECV: <value>!") of a message sent to in;
// each attempt sends a new one, as the sink subscribes at the latest
// position when its instance starts. Nothing reaches the sink untransformed.
func expectTransformed(t *testing.T, p harness.Pulsar, w *harness.Worker, name, in, tag string) {
	t.Helper()
	waitConnector(t, p, w, "sinks", name, 1, nil)
	client, err := pulsar.NewClient(pulsar.ClientOptions{URL: p.ServiceURL})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	producer, err := client.CreateProducer(pulsar.ProducerOptions{Topic: in, Schema: pulsar.NewStringSchema(nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	logs := filepath.Join(instanceLogDir(t, w), "public", "default", name)
	var sent []string
	harness.Eventually(t, 3*time.Minute, name+" logs transformed messages", func() error {
		msg := fmt.Sprintf("%s-%d", tag, len(sent))
		if _, err := producer.Send(context.Background(), &pulsar.ProducerMessage{Value: msg}); err != nil {
			return err
		}
		sent = append(sent, msg)
		var all string
		files, _ := filepath.Glob(filepath.Join(logs, "*"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			all += string(b)
		}
		for _, m := range sent {
			if strings.Contains(all, "RECV: "+m+"\n") {
				t.Errorf("the sink received %q untransformed", m)
			}
			if strings.Contains(all, "RECV: "+m+"!") {
				return nil
			}
		}
		return fmt.Errorf("none of %v logged transformed in %s", sent, files)
	})
}

// expectSinkGet checks fields of `sinks get` (nil: absent).
func expectSinkGet(t *testing.T, p harness.Pulsar, w *harness.Worker, name string, want map[string]any) {
	t.Helper()
	var cfg map[string]any
	if err := decodeJSON(admin(t, p, w, "sinks", "get", "--tenant", "public", "--namespace", "default", "--name", name), &cfg); err != nil {
		t.Fatal(err)
	}
	for k, v := range want {
		if got, ok := cfg[k]; (v == nil && ok) || (v != nil && got != v) {
			t.Errorf("sinks get: %s = %v, want %v", k, got, v)
		}
	}
}

// instanceLogDir is where the worker's instances log:
// <functionRuntimeFactoryConfigs.logDirectory>/functions.
func instanceLogDir(t *testing.T, w *harness.Worker) string {
	t.Helper()
	var c struct {
		Factory struct {
			LogDirectory string `yaml:"logDirectory"`
		} `yaml:"functionRuntimeFactoryConfigs"`
	}
	if err := yaml.Unmarshal(readFile(t, w.ConfigPath), &c); err != nil || c.Factory.LogDirectory == "" {
		t.Fatalf("no logDirectory in %s: %v", w.ConfigPath, err)
	}
	return filepath.Join(c.Factory.LogDirectory, "functions")
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
