package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// connectorStatus is the part of `sources status` / `sinks status` the tests
// read; the counters differ between the two kinds.
type connectorStatus struct {
	NumInstances int `json:"numInstances"`
	NumRunning   int `json:"numRunning"`
	Instances    []struct {
		InstanceID int `json:"instanceId"`
		Status     struct {
			Running               bool   `json:"running"`
			Error                 string `json:"error"`
			NumReceivedFromSource int64  `json:"numReceivedFromSource"`
			NumWritten            int64  `json:"numWritten"`
			NumReadFromPulsar     int64  `json:"numReadFromPulsar"`
			NumWrittenToSink      int64  `json:"numWrittenToSink"`
			WorkerID              string `json:"workerId"`
		} `json:"status"`
	} `json:"instances"`
}

// admin runs pulsar-admin and fails the test when it fails.
func admin(t *testing.T, p harness.Pulsar, w *harness.Worker, args ...string) string {
	t.Helper()
	out, err := p.PulsarAdmin(t, w.URL(), args...)
	if err != nil {
		t.Fatalf("pulsar-admin %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// jsonOf parses the JSON value in pulsar-admin's output (after any log lines).
func decodeJSON(out string, v any) error {
	i := strings.IndexAny(out, "[{")
	if i < 0 {
		return fmt.Errorf("no JSON in %q", out)
	}
	return json.Unmarshal([]byte(out[i:]), v)
}

// waitConnector waits until kind ("sources" or "sinks") name has n running
// instances and cond holds for its status.
func waitConnector(t *testing.T, p harness.Pulsar, w *harness.Worker, kind, name string, n int, cond func(connectorStatus) error) connectorStatus {
	t.Helper()
	var st connectorStatus
	harness.Eventually(t, 4*time.Minute, kind+" "+name+" running", func() error {
		out, err := p.PulsarAdmin(t, w.URL(), kind, "status", "--tenant", "public", "--namespace", "default", "--name", name)
		if err != nil {
			return fmt.Errorf("%s status: %v: %s", kind, err, out)
		}
		if err := decodeJSON(out, &st); err != nil {
			return err
		}
		if st.NumInstances != n || st.NumRunning != n {
			return fmt.Errorf("%d of %d running: %+v", st.NumRunning, st.NumInstances, st.Instances)
		}
		if cond != nil {
			return cond(st)
		}
		return nil
	})
	return st
}

func TestConnectorsEndToEnd(t *testing.T) {
	t.Parallel() // own workers, functions namespace and names
	p := harness.RequirePulsar(t)
	dir := harness.ConnectorsDir(t)
	nar := filepath.Join(dir, "pulsar-io-data-generator-4.0.8.nar")
	// The default liveness check (30 s) gives a Java connector instance on a busy
	// machine time to start before it stops itself for lack of health checks.
	ws := startCluster(t, p, 1, map[string]any{"connectorsDirectory": dir})
	w := ws[0]

	t.Run("built-in lists", func(t *testing.T) {
		want := map[string]string{
			"name":              "data-generator",
			"description":       "Test data generator source",
			"sourceClass":       "org.apache.pulsar.io.datagenerator.DataGeneratorSource",
			"sinkClass":         "org.apache.pulsar.io.datagenerator.DataGeneratorPrintSink",
			"sourceConfigClass": "org.apache.pulsar.io.datagenerator.DataGeneratorSourceConfig",
		}
		for _, kind := range []string{"sources", "sinks"} {
			if out := admin(t, p, w, kind, "available-"+kind); !strings.HasPrefix(out, "data-generator\nTest data generator source\n") {
				t.Errorf("available-%s printed %q", kind, out)
			}
			var defs []map[string]string
			if err := w.GetJSON("/admin/v3/"+kind+"/builtin"+kind, &defs); err != nil {
				t.Fatal(err)
			}
			if len(defs) != 1 || fmt.Sprint(defs[0]) != fmt.Sprint(want) {
				t.Errorf("builtin%s = %v, want [%v]", kind, defs, want)
			}
		}
		var fields []map[string]any
		if err := w.GetJSON("/admin/v3/sources/builtinsources/data-generator/configdefinition", &fields); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(fields); got != "[map[attributes:map[defaultValue:50 help:How long to sleep between emitting messages required:true sensitive:false] fieldName:sleepBetweenMessages typeName:long]]" {
			t.Errorf("configdefinition = %s", got)
		}
		var all []map[string]string
		if err := w.GetJSON("/admin/v3/functions/connectors", &all); err != nil || len(all) != 1 {
			t.Errorf("F20 = %v, %v", all, err)
		}
		admin(t, p, w, "sources", "reload")
		admin(t, p, w, "sinks", "reload")
	})

	source := harness.UniqueName("datagen-src")
	out := "persistent://public/default/" + source + "-out"
	t.Run("builtin source", func(t *testing.T) {
		admin(t, p, w, "sources", "create", "--tenant", "public", "--namespace", "default", "--name", source,
			"--archive", "builtin://data-generator", "--destination-topic-name", out,
			"--source-config", `{"sleepBetweenMessages":"50"}`)
		waitConnector(t, p, w, "sources", source, 1, func(st connectorStatus) error {
			if st.Instances[0].Status.NumWritten == 0 {
				return fmt.Errorf("nothing written yet: %+v", st.Instances[0].Status)
			}
			return nil
		})
		readSome(t, p, out, 5)

		var names []string
		if err := decodeJSON(admin(t, p, w, "sources", "list", "--tenant", "public", "--namespace", "default"), &names); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(names, []string{source}) {
			t.Errorf("sources list = %v, want [%s]", names, source)
		}
		var sinkNames []string
		if err := decodeJSON(admin(t, p, w, "sinks", "list", "--tenant", "public", "--namespace", "default")+"[]", &sinkNames); err == nil && len(sinkNames) != 0 {
			t.Errorf("sinks list = %v, want none", sinkNames)
		}
		var cfg map[string]any
		if err := decodeJSON(admin(t, p, w, "sources", "get", "--tenant", "public", "--namespace", "default", "--name", source), &cfg); err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]any{
			"tenant": "public", "namespace": "default", "name": source, "topicName": out,
			"archive": "builtin://data-generator", "className": "org.apache.pulsar.io.datagenerator.DataGeneratorSource",
			"parallelism": 1.0, "processingGuarantees": "ATLEAST_ONCE",
		} {
			if fmt.Sprint(cfg[k]) != fmt.Sprint(v) {
				t.Errorf("sources get: %s = %v, want %v", k, cfg[k], v)
			}
		}
		if c, _ := cfg["configs"].(map[string]any); fmt.Sprint(c) != "map[sleepBetweenMessages:50]" {
			t.Errorf("sources get: configs = %v", cfg["configs"])
		}

		// Update: the new config is stored and the instance runs again.
		admin(t, p, w, "sources", "update", "--tenant", "public", "--namespace", "default", "--name", source,
			"--source-config", `{"sleepBetweenMessages":"80"}`)
		if err := decodeJSON(admin(t, p, w, "sources", "get", "--tenant", "public", "--namespace", "default", "--name", source), &cfg); err != nil {
			t.Fatal(err)
		}
		if c, _ := cfg["configs"].(map[string]any); fmt.Sprint(c) != "map[sleepBetweenMessages:80]" {
			t.Errorf("after update: configs = %v", cfg["configs"])
		}
		waitConnector(t, p, w, "sources", source, 1, nil)
	})

	// Sinks: the NAR's DataGeneratorPrintSink (a Sink<Person>) on the
	// source's output, once as builtin://, once as an uploaded NAR.
	uploaded := filepath.Join(t.TempDir(), "my-connector.nar")
	copyFile(t, nar, uploaded)
	var sinks []string
	for _, archive := range []string{"builtin://data-generator", uploaded} {
		sink := harness.UniqueName("print-sink")
		sinks = append(sinks, sink)
		t.Run("sink "+filepath.Base(archive), func(t *testing.T) {
			admin(t, p, w, "sinks", "create", "--tenant", "public", "--namespace", "default", "--name", sink,
				"--archive", archive, "--inputs", out)
			waitConnector(t, p, w, "sinks", sink, 1, func(st connectorStatus) error {
				if s := st.Instances[0].Status; s.NumReadFromPulsar < 10 || s.NumWrittenToSink < 10 {
					return fmt.Errorf("read %d, written %d of 10", s.NumReadFromPulsar, s.NumWrittenToSink)
				}
				return nil
			})
			var cfg map[string]any
			if err := decodeJSON(admin(t, p, w, "sinks", "get", "--tenant", "public", "--namespace", "default", "--name", sink), &cfg); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(cfg["inputs"]) != "["+out+"]" || cfg["className"] != "org.apache.pulsar.io.datagenerator.DataGeneratorPrintSink" {
				t.Errorf("sinks get = %v", cfg)
			}
			// One Java instance at a time besides the source's: the test
			// machines are small.
			admin(t, p, w, "sinks", "delete", "--tenant", "public", "--namespace", "default", "--name", sink)
		})
	}

	// Deleted: no process, download, metadata or assignment is left.
	admin(t, p, w, "sources", "delete", "--tenant", "public", "--namespace", "default", "--name", source)
	harness.Eventually(t, time.Minute, "nothing of the connectors left", func() error {
		for _, name := range append([]string{source}, sinks...) {
			if pids := processesMentioning(name); len(pids) > 0 {
				return fmt.Errorf("%s: processes still running: %v", name, pids)
			}
		}
		var files []string
		_ = filepath.WalkDir(downloadDir(t, w), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				files = append(files, p)
			}
			return nil
		})
		if len(files) > 0 {
			return fmt.Errorf("downloaded files left: %v", files)
		}
		var a map[string][]string
		if err := w.GetJSON("/admin/v2/worker/assignments", &a); err != nil {
			return err
		}
		if b, _ := json.Marshal(a); strings.Contains(string(b), "print-sink") || strings.Contains(string(b), source) {
			return fmt.Errorf("assignments %s", b)
		}
		for _, path := range []string{"/admin/v3/sources/public/default/" + source, "/admin/v3/sinks/public/default/" + sinks[0], "/admin/v3/sinks/public/default/" + sinks[1]} {
			if code, body := harness.Do(t, "GET", w.URL()+path, nil); code != 404 {
				return fmt.Errorf("GET %s after delete: %d %s", path, code, body)
			}
		}
		return nil
	})
}

// readSome reads n messages from topic, from its start.
func readSome(t *testing.T, p harness.Pulsar, topic string, n int) {
	t.Helper()
	client, err := pulsar.NewClient(pulsar.ClientOptions{URL: p.ServiceURL})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	reader, err := client.CreateReader(pulsar.ReaderOptions{Topic: topic, StartMessageID: pulsar.EarliestMessageID()})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := range n {
		m, err := reader.Next(ctx)
		if err != nil {
			t.Fatalf("message %d of %d from %s: %v", i+1, n, topic, err)
		}
		if len(m.Payload()) == 0 {
			t.Errorf("empty message from %s", topic)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
