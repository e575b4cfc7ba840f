package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	padmin "github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/config"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// pulsaradminClient is pulsar-client-go's admin client pointed at worker w,
// for the API version v: V3 for Functions, Sources and Sinks (/admin/v3/...,
// as pulsarctl uses them), the default (v2) for FunctionsWorker.
func pulsaradminClient(t *testing.T, w *harness.Worker, v config.APIVersion) padmin.Client {
	t.Helper()
	c, err := padmin.New(&config.Config{WebServiceURL: w.URL(), PulsarAPIVersion: v})
	if err != nil {
		t.Fatalf("pulsaradmin client for %s: %v", w.URL(), err)
	}
	return c
}

// sendMessages produces n payloads "<prefix>-<i>" to topic.
func sendMessages(t *testing.T, p harness.Pulsar, topic, prefix string, n int) {
	t.Helper()
	client, err := pulsar.NewClient(pulsar.ClientOptions{URL: p.ServiceURL})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	producer, err := client.CreateProducer(pulsar.ProducerOptions{Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	for i := range n {
		if _, err := producer.Send(context.Background(), &pulsar.ProducerMessage{Payload: []byte(fmt.Sprintf("%s-%d", prefix, i))}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPulsaradminFunctionsAndWorker drives every call of pulsar-client-go's
// pulsaradmin Functions and FunctionsWorker APIs against two of our workers
// and checks what each returns, as a Go client of a Java worker would.
func TestPulsaradminFunctionsAndWorker(t *testing.T) {
	t.Parallel() // Go functions only: runs beside the others after the Java-heavy tests
	p := harness.RequirePulsar(t)
	bin := buildGoFunction(t)
	ws := startCluster(t, p, 2, map[string]any{"instanceLivenessCheckFreqMs": 5000,
		// file: package URLs outside functionsDirectory are refused unless a pattern allows them (Java's PackageUrlValidator).
		"additionalEnabledFunctionsUrlPatterns": []any{"file:///.*"}})
	leader := expectMembers(t, ws, 30*time.Second)
	a := pulsaradminClient(t, ws[0], config.V3).Functions()
	fw := pulsaradminClient(t, ws[1], config.V2).FunctionsWorker()

	name := harness.UniqueName("padm")
	in := "persistent://public/default/" + name + "-in"
	out := "persistent://public/default/" + name + "-out"
	fc := &utils.FunctionConfig{
		Tenant: "public", Namespace: "default", Name: name, Runtime: "GO",
		Inputs: []string{in}, Output: out, Parallelism: 2, Go: &bin,
		UserConfig: map[string]interface{}{"suffix": "!"},
		// pulsaradmin sends autoAck as given (false unless set); pulsar-admin's
		// default is true, and the Go runtime refuses ATLEAST_ONCE without it.
		AutoAck: true,
	}

	t.Run("CreateFunc", func(t *testing.T) {
		if err := a.CreateFunc(fc, bin); err != nil {
			t.Fatal(err)
		}
	})
	harness.Eventually(t, 4*time.Minute, name+" running", func() error {
		st, err := a.GetFunctionStatus("public", "default", name)
		if err != nil {
			return err
		}
		if st.NumInstances != 2 || st.NumRunning != 2 {
			return fmt.Errorf("%d of %d running", st.NumRunning, st.NumInstances)
		}
		return nil
	})

	t.Run("GetFunctions", func(t *testing.T) {
		list, err := a.GetFunctions("public", "default")
		if err != nil || !slices.Contains(list, name) {
			t.Fatalf("GetFunctions = %v, %v; want it to contain %s", list, err, name)
		}
	})
	t.Run("GetFunction", func(t *testing.T) {
		got, err := a.GetFunction("public", "default", name)
		if err != nil {
			t.Fatal(err)
		}
		// The Java worker gives the inputs back as inputSpecs.
		if _, ok := got.InputSpecs[in]; got.Name != name || got.Parallelism != 2 || got.Runtime != "GO" || !ok || got.Output != out {
			t.Fatalf("GetFunction = %+v", got)
		}
	})
	t.Run("GetFunctionStatus", func(t *testing.T) {
		st, err := a.GetFunctionStatus("public", "default", name)
		if err != nil {
			t.Fatal(err)
		}
		workers := map[string]bool{}
		for _, i := range st.Instances {
			if !i.Status.Running {
				t.Errorf("instance %d not running: %+v", i.InstanceID, i.Status)
			}
			workers[i.Status.WorkerID] = true
		}
		if len(workers) != 2 {
			t.Errorf("instances on workers %v, want one on each of the two", workers)
		}
	})
	t.Run("GetFunctionStatusWithInstanceID", func(t *testing.T) {
		for id := range 2 {
			st, err := a.GetFunctionStatusWithInstanceID("public", "default", name, id)
			if err != nil || !st.Running {
				t.Fatalf("instance %d: %+v, %v", id, st, err)
			}
		}
	})

	sendMessages(t, p, in, "m", 20)
	t.Run("GetFunctionStats", func(t *testing.T) {
		harness.Eventually(t, time.Minute, "20 messages counted", func() error {
			st, err := a.GetFunctionStats("public", "default", name)
			if err != nil {
				return err
			}
			if st.ReceivedTotal != 20 || st.ProcessedSuccessfullyTotal != 20 || len(st.Instances) != 2 {
				return fmt.Errorf("stats %+v", st)
			}
			return nil
		})
	})
	t.Run("GetFunctionStatsWithInstanceID", func(t *testing.T) {
		var total int64
		for id := range 2 {
			st, err := a.GetFunctionStatsWithInstanceID("public", "default", name, id)
			if err != nil {
				t.Fatal(err)
			}
			total += st.ReceivedTotal
		}
		if total != 20 {
			t.Fatalf("instances received %d in all, want 20", total)
		}
	})
	t.Run("TriggerFunction", func(t *testing.T) {
		// pulsaradmin (v0.19) never reads the answer's body, so it returns ""
		// against any worker; that the value went through the function shows
		// in its counters. (pulsar-admin reads the output: TestAdminCLI.)
		if _, err := a.TriggerFunction("public", "default", name, in, "hi", ""); err != nil {
			t.Fatal(err)
		}
		harness.Eventually(t, time.Minute, "the triggered value counted", func() error {
			st, err := a.GetFunctionStats("public", "default", name)
			if err != nil {
				return err
			}
			if st.ProcessedSuccessfullyTotal != 21 {
				return fmt.Errorf("processed %d, want 21", st.ProcessedSuccessfullyTotal)
			}
			return nil
		})
	})

	instanceRunning := func(id int, want bool) func() error {
		return func() error {
			st, err := a.GetFunctionStatusWithInstanceID("public", "default", name, id)
			if err != nil {
				return err
			}
			if st.Running != want {
				return fmt.Errorf("instance %d running=%v, want %v", id, st.Running, want)
			}
			return nil
		}
	}
	t.Run("StopFunctionWithID", func(t *testing.T) {
		if err := a.StopFunctionWithID("public", "default", name, 1); err != nil {
			t.Fatal(err)
		}
		harness.Eventually(t, time.Minute, "instance 1 stopped", instanceRunning(1, false))
		// The function's metadata changed, so instance 0 restarts (as with Java).
		harness.Eventually(t, 2*time.Minute, "instance 0 running", instanceRunning(0, true))
	})
	t.Run("StartFunctionWithID", func(t *testing.T) {
		if err := a.StartFunctionWithID("public", "default", name, 1); err != nil {
			t.Fatal(err)
		}
		harness.Eventually(t, 2*time.Minute, "instance 1 running", instanceRunning(1, true))
	})
	t.Run("StopFunction", func(t *testing.T) {
		if err := a.StopFunction("public", "default", name); err != nil {
			t.Fatal(err)
		}
		harness.Eventually(t, time.Minute, "all stopped", func() error {
			st, err := a.GetFunctionStatus("public", "default", name)
			if err != nil {
				return err
			}
			if st.NumRunning != 0 {
				return fmt.Errorf("%d running", st.NumRunning)
			}
			return nil
		})
	})
	t.Run("StartFunction", func(t *testing.T) {
		if err := a.StartFunction("public", "default", name); err != nil {
			t.Fatal(err)
		}
		harness.Eventually(t, 2*time.Minute, "all running", func() error {
			st, err := a.GetFunctionStatus("public", "default", name)
			if err != nil {
				return err
			}
			if st.NumRunning != 2 {
				return fmt.Errorf("%d running", st.NumRunning)
			}
			return nil
		})
	})
	t.Run("RestartFunctionWithID", func(t *testing.T) {
		harness.Eventually(t, 2*time.Minute, "instance 0 running", instanceRunning(0, true))
		if err := a.RestartFunctionWithID("public", "default", name, 0); err != nil {
			t.Fatal(err)
		}
		harness.Eventually(t, 2*time.Minute, "instance 0 running again", instanceRunning(0, true))
	})
	t.Run("RestartFunction", func(t *testing.T) {
		if err := a.RestartFunction("public", "default", name); err != nil {
			t.Fatal(err)
		}
		harness.Eventually(t, 2*time.Minute, "both running again", func() error {
			for id := range 2 {
				if err := instanceRunning(id, true)(); err != nil {
					return err
				}
			}
			return nil
		})
	})

	t.Run("UpdateFunction", func(t *testing.T) {
		upd := *fc
		upd.Parallelism = 1
		if err := a.UpdateFunction(&upd, "", &utils.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := a.GetFunction("public", "default", name)
		if err != nil || got.Parallelism != 1 {
			t.Fatalf("after update: parallelism %d, %v", got.Parallelism, err)
		}
	})
	t.Run("UpdateFunctionWithURL", func(t *testing.T) {
		upd := *fc
		upd.Parallelism = 1
		upd.UserConfig = map[string]interface{}{"suffix": "?"}
		if err := a.UpdateFunctionWithURL(&upd, "file://"+bin, &utils.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := a.GetFunction("public", "default", name)
		if err != nil || got.UserConfig["suffix"] != "?" {
			t.Fatalf("after update with URL: %+v, %v", got.UserConfig, err)
		}
	})
	t.Run("DownloadFunctionByNs", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "fn")
		if err := a.DownloadFunctionByNs(dest, "public", "default", name); err != nil {
			t.Fatal(err)
		}
		sameFile(t, dest, bin)
	})
	t.Run("Upload and DownloadFunction", func(t *testing.T) {
		path := "public/default/" + name + "/uploaded-binary"
		if err := a.Upload(bin, path); err != nil {
			t.Fatal(err)
		}
		dest := filepath.Join(t.TempDir(), "fn")
		if err := a.DownloadFunction(path, dest); err != nil {
			t.Fatal(err)
		}
		sameFile(t, dest, bin)
	})

	other := harness.UniqueName("padm-url")
	t.Run("CreateFuncWithURL", func(t *testing.T) {
		fc2 := &utils.FunctionConfig{Tenant: "public", Namespace: "default", Name: other, Runtime: "GO",
			Inputs: []string{in}, Output: out + "-2", Parallelism: 1, AutoAck: true}
		if err := a.CreateFuncWithURL(fc2, "file://"+bin); err != nil {
			t.Fatal(err)
		}
		got, err := a.GetFunction("public", "default", other)
		if err != nil || got.Name != other {
			t.Fatalf("GetFunction after CreateFuncWithURL = %+v, %v", got, err)
		}
	})

	t.Run("GetCluster", func(t *testing.T) {
		members, err := fw.GetCluster()
		if err != nil || len(members) != 2 {
			t.Fatalf("GetCluster = %v, %v; want both workers", members, err)
		}
	})
	t.Run("GetClusterLeader", func(t *testing.T) {
		l, err := fw.GetClusterLeader()
		if err != nil || l.WorkerID != leader.WorkerID {
			t.Fatalf("GetClusterLeader = %+v, %v; want %s", l, err, leader.WorkerID)
		}
	})
	t.Run("GetAssignments", func(t *testing.T) {
		as, err := fw.GetAssignments()
		if err != nil {
			t.Fatal(err)
		}
		var all []string
		for _, list := range as {
			all = append(all, list...)
		}
		if !slices.Contains(all, "public/default/"+name+":0") {
			t.Fatalf("GetAssignments = %v, want public/default/%s:0 in it", as, name)
		}
	})
	t.Run("GetFunctionsStats", func(t *testing.T) {
		harness.Eventually(t, time.Minute, "stats of the local instances", func() error {
			var names []string
			for _, w := range ws {
				list, err := pulsaradminClient(t, w, config.V2).FunctionsWorker().GetFunctionsStats()
				if err != nil {
					return err
				}
				for _, s := range list {
					names = append(names, s.Name)
				}
			}
			if !slices.ContainsFunc(names, func(s string) bool { return strings.Contains(s, name) }) {
				return fmt.Errorf("no stats of %s in %v", name, names)
			}
			return nil
		})
	})
	t.Run("GetMetrics", func(t *testing.T) {
		m, err := fw.GetMetrics()
		if err != nil || len(m) == 0 {
			t.Fatalf("GetMetrics = %v, %v", m, err)
		}
	})

	t.Run("DeleteFunction", func(t *testing.T) {
		for _, n := range []string{name, other} {
			if err := a.DeleteFunction("public", "default", n); err != nil {
				t.Fatal(err)
			}
		}
		list, err := a.GetFunctions("public", "default")
		if err != nil || slices.Contains(list, name) || slices.Contains(list, other) {
			t.Fatalf("after delete: %v, %v", list, err)
		}
		if _, err := a.GetFunction("public", "default", name); err == nil || !strings.Contains(err.Error(), "404") {
			t.Fatalf("GetFunction of a deleted function: %v, want a 404", err)
		}
	})
}

// sameFile fails unless got and want have the same bytes.
func sameFile(t *testing.T, got, want string) {
	t.Helper()
	g, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, w) {
		t.Fatalf("%s: %d bytes differ from %s (%d bytes)", got, len(g), want, len(w))
	}
}

// TestPulsaradminSourcesAndSinks drives every call of pulsaradmin's Sources
// and Sinks APIs against two of our workers with the data-generator
// connector: built in (builtin://) and uploaded (the NAR file itself).
func TestPulsaradminSourcesAndSinks(t *testing.T) {
	t.Parallel() // own workers, functions namespace and names
	p := harness.RequirePulsar(t)
	dir := harness.ConnectorsDir(t)
	nar := filepath.Join(dir, "pulsar-io-data-generator-4.0.8.nar")
	ws := startCluster(t, p, 2, map[string]any{"connectorsDirectory": dir})
	expectMembers(t, ws, 30*time.Second)
	src := pulsaradminClient(t, ws[0], config.V3).Sources()
	snk := pulsaradminClient(t, ws[1], config.V3).Sinks()

	source, sink := harness.UniqueName("padm-src"), harness.UniqueName("padm-snk")
	topic := "persistent://public/default/" + source + "-out"
	sc := &utils.SourceConfig{Tenant: "public", Namespace: "default", Name: source, TopicName: topic,
		Parallelism: 1, Configs: map[string]interface{}{"sleepBetweenMessages": 100}}
	kc := &utils.SinkConfig{Tenant: "public", Namespace: "default", Name: sink, Inputs: []string{topic},
		Parallelism: 1, AutoAck: true}

	t.Run("GetBuiltInSources", func(t *testing.T) {
		list, err := src.GetBuiltInSources()
		if err != nil || !slices.ContainsFunc(list, func(c *utils.ConnectorDefinition) bool { return c.Name == "data-generator" }) {
			t.Fatalf("GetBuiltInSources = %v, %v", list, err)
		}
	})
	t.Run("GetBuiltInSinks", func(t *testing.T) {
		list, err := snk.GetBuiltInSinks()
		if err != nil || !slices.ContainsFunc(list, func(c *utils.ConnectorDefinition) bool { return c.Name == "data-generator" }) {
			t.Fatalf("GetBuiltInSinks = %v, %v", list, err)
		}
	})
	t.Run("ReloadBuiltInSources", func(t *testing.T) {
		if err := src.ReloadBuiltInSources(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ReloadBuiltInSinks", func(t *testing.T) {
		if err := snk.ReloadBuiltInSinks(); err != nil {
			t.Fatal(err)
		}
	})

	// A built-in connector goes by its archive (pulsaradmin sends no file
	// for a builtin:// name); builtin:// is no package URL, for Java either.
	t.Run("CreateSource (built in)", func(t *testing.T) {
		sc.Archive = "builtin://data-generator"
		if err := src.CreateSource(sc, "builtin://data-generator"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("CreateSink", func(t *testing.T) {
		if err := snk.CreateSink(kc, nar); err != nil {
			t.Fatal(err)
		}
	})
	sourceRunning := func(want int) func() error {
		return func() error {
			st, err := src.GetSourceStatus("public", "default", source)
			if err != nil {
				return err
			}
			if st.NumRunning != want {
				return fmt.Errorf("%d running, want %d", st.NumRunning, want)
			}
			return nil
		}
	}
	sinkRunning := func(want int) func() error {
		return func() error {
			st, err := snk.GetSinkStatus("public", "default", sink)
			if err != nil {
				return err
			}
			if st.NumRunning != want {
				return fmt.Errorf("%d running, want %d", st.NumRunning, want)
			}
			return nil
		}
	}
	harness.Eventually(t, 5*time.Minute, "source and sink running", func() error {
		if err := sourceRunning(1)(); err != nil {
			return err
		}
		return sinkRunning(1)()
	})

	t.Run("GetSourceStatusWithID", func(t *testing.T) {
		harness.Eventually(t, 2*time.Minute, "source writes", func() error {
			st, err := src.GetSourceStatusWithID("public", "default", source, 0)
			if err != nil {
				return err
			}
			if !st.Running || st.NumWritten == 0 {
				return fmt.Errorf("source instance 0: %+v", st)
			}
			return nil
		})
	})
	t.Run("GetSinkStatusWithID", func(t *testing.T) {
		harness.Eventually(t, 2*time.Minute, "sink reads and writes", func() error {
			st, err := snk.GetSinkStatusWithID("public", "default", sink, 0)
			if err != nil {
				return err
			}
			if !st.Running || st.NumReadFromPulsar == 0 || st.NumWrittenToSink == 0 {
				return fmt.Errorf("sink instance 0: %+v", st)
			}
			return nil
		})
	})
	t.Run("ListSources and ListSinks", func(t *testing.T) {
		ls, err := src.ListSources("public", "default")
		if err != nil || !slices.Contains(ls, source) || slices.Contains(ls, sink) {
			t.Fatalf("ListSources = %v, %v", ls, err)
		}
		lk, err := snk.ListSinks("public", "default")
		if err != nil || !slices.Contains(lk, sink) || slices.Contains(lk, source) {
			t.Fatalf("ListSinks = %v, %v", lk, err)
		}
	})
	t.Run("GetSource and GetSink", func(t *testing.T) {
		gs, err := src.GetSource("public", "default", source)
		if err != nil || gs.TopicName != topic || gs.Archive != "builtin://data-generator" || fmt.Sprint(gs.Configs) != "map[sleepBetweenMessages:100]" {
			t.Fatalf("GetSource = %+v, %v", gs, err)
		}
		gk, err := snk.GetSink("public", "default", sink)
		if err != nil || !slices.Equal(gk.Inputs, []string{topic}) || gk.Name != sink {
			t.Fatalf("GetSink = %+v, %v", gk, err)
		}
	})

	for _, op := range []struct {
		name       string
		stop, strt func() error
	}{
		{"StopSourceWithID/StartSourceWithID",
			func() error { return src.StopSourceWithID("public", "default", source, 0) },
			func() error { return src.StartSourceWithID("public", "default", source, 0) }},
		{"StopSource/StartSource",
			func() error { return src.StopSource("public", "default", source) },
			func() error { return src.StartSource("public", "default", source) }},
	} {
		t.Run(op.name, func(t *testing.T) {
			if err := op.stop(); err != nil {
				t.Fatal(err)
			}
			harness.Eventually(t, time.Minute, "source stopped", sourceRunning(0))
			if err := op.strt(); err != nil {
				t.Fatal(err)
			}
			harness.Eventually(t, 3*time.Minute, "source running again", sourceRunning(1))
		})
	}
	for _, op := range []struct {
		name       string
		stop, strt func() error
	}{
		{"StopSinkWithID/StartSinkWithID",
			func() error { return snk.StopSinkWithID("public", "default", sink, 0) },
			func() error { return snk.StartSinkWithID("public", "default", sink, 0) }},
		{"StopSink/StartSink",
			func() error { return snk.StopSink("public", "default", sink) },
			func() error { return snk.StartSink("public", "default", sink) }},
	} {
		t.Run(op.name, func(t *testing.T) {
			if err := op.stop(); err != nil {
				t.Fatal(err)
			}
			harness.Eventually(t, time.Minute, "sink stopped", sinkRunning(0))
			if err := op.strt(); err != nil {
				t.Fatal(err)
			}
			harness.Eventually(t, 3*time.Minute, "sink running again", sinkRunning(1))
		})
	}
	t.Run("RestartSource/RestartSourceWithID", func(t *testing.T) {
		if err := src.RestartSourceWithID("public", "default", source, 0); err != nil {
			t.Fatal(err)
		}
		if err := src.RestartSource("public", "default", source); err != nil {
			t.Fatal(err)
		}
		harness.Eventually(t, 3*time.Minute, "source running after restarts", sourceRunning(1))
	})
	t.Run("RestartSink/RestartSinkWithID", func(t *testing.T) {
		if err := snk.RestartSinkWithID("public", "default", sink, 0); err != nil {
			t.Fatal(err)
		}
		if err := snk.RestartSink("public", "default", sink); err != nil {
			t.Fatal(err)
		}
		harness.Eventually(t, 3*time.Minute, "sink running after restarts", sinkRunning(1))
	})

	t.Run("UpdateSourceWithURL", func(t *testing.T) {
		upd := *sc
		upd.Archive = "" // the package comes from the URL now
		upd.Configs = map[string]interface{}{"sleepBetweenMessages": 200}
		if err := src.UpdateSourceWithURL(&upd, "file://"+nar, &utils.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		gs, err := src.GetSource("public", "default", source)
		if err != nil || fmt.Sprint(gs.Configs) != "map[sleepBetweenMessages:200]" {
			t.Fatalf("after update: %+v, %v", gs.Configs, err)
		}
	})
	t.Run("UpdateSource", func(t *testing.T) {
		upd := *sc
		upd.Archive = "" // the package is uploaded now
		upd.Configs = map[string]interface{}{"sleepBetweenMessages": 300}
		if err := src.UpdateSource(&upd, nar, &utils.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		gs, err := src.GetSource("public", "default", source)
		if err != nil || fmt.Sprint(gs.Configs) != "map[sleepBetweenMessages:300]" {
			t.Fatalf("after update: %+v, %v", gs.Configs, err)
		}
	})
	t.Run("UpdateSinkWithURL", func(t *testing.T) {
		upd := *kc
		upd.Configs = map[string]interface{}{"k": "v1"}
		if err := snk.UpdateSinkWithURL(&upd, "file://"+nar, &utils.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		gk, err := snk.GetSink("public", "default", sink)
		if err != nil || fmt.Sprint(gk.Configs) != "map[k:v1]" {
			t.Fatalf("after update: %+v, %v", gk.Configs, err)
		}
	})
	t.Run("UpdateSink", func(t *testing.T) {
		upd := *kc
		upd.Configs = map[string]interface{}{"k": "v2"}
		if err := snk.UpdateSink(&upd, nar, &utils.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		gk, err := snk.GetSink("public", "default", sink)
		if err != nil || fmt.Sprint(gk.Configs) != "map[k:v2]" {
			t.Fatalf("after update: %+v, %v", gk.Configs, err)
		}
	})
	// Names are unique across functions, sources and sinks.
	other, otherSink := harness.UniqueName("padm-src2"), harness.UniqueName("padm-snk2")
	t.Run("CreateSourceWithURL and CreateSinkWithURL", func(t *testing.T) {
		sc2 := *sc
		sc2.Name, sc2.TopicName, sc2.Archive = other, topic+"-2", ""
		if err := src.CreateSourceWithURL(&sc2, "file://"+nar); err != nil {
			t.Fatal(err)
		}
		kc2 := *kc
		kc2.Name, kc2.Inputs = otherSink, []string{topic + "-2"}
		if err := snk.CreateSinkWithURL(&kc2, "file://"+nar); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("DeleteSource and DeleteSink", func(t *testing.T) {
		for _, n := range []string{source, other} {
			if err := src.DeleteSource("public", "default", n); err != nil {
				t.Fatalf("DeleteSource %s: %v", n, err)
			}
		}
		for _, n := range []string{sink, otherSink} {
			if err := snk.DeleteSink("public", "default", n); err != nil {
				t.Fatalf("DeleteSink %s: %v", n, err)
			}
		}
		ls, _ := src.ListSources("public", "default")
		lk, _ := snk.ListSinks("public", "default")
		if slices.Contains(ls, source) || slices.Contains(ls, other) || slices.Contains(lk, sink) || slices.Contains(lk, otherSink) {
			t.Fatalf("after delete: sources %v, sinks %v", ls, lk)
		}
	})
}

// TestPulsaradminFunctionState is pulsaradmin's PutFunctionState and
// GetFunctionState against our worker and the standalone's stream storage.
func TestPulsaradminFunctionState(t *testing.T) {
	t.Parallel() // Go functions only: runs beside the others after the Java-heavy tests
	p := harness.RequirePulsar(t)
	p.RequireStateStorage(t)
	bin := buildGoFunction(t)
	ws := startCluster(t, p, 1, nil)
	expectMembers(t, ws, 30*time.Second)
	a := pulsaradminClient(t, ws[0], config.V3).Functions()
	name := harness.UniqueName("padm-state")
	fc := &utils.FunctionConfig{Tenant: "public", Namespace: "default", Name: name, Runtime: "GO",
		Inputs: []string{"persistent://public/default/" + name + "-in"}, Parallelism: 1, AutoAck: true}
	if err := a.CreateFunc(fc, bin); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.DeleteFunction("public", "default", name) })
	if err := a.PutFunctionState("public", "default", name, utils.FunctionState{Key: "greeting", StringValue: "hello"}); err != nil {
		t.Fatalf("PutFunctionState: %v", err)
	}
	got, err := a.GetFunctionState("public", "default", name, "greeting")
	if err != nil || got.Key != "greeting" || got.StringValue != "hello" {
		t.Fatalf("GetFunctionState = %+v, %v; want greeting=hello", got, err)
	}
	if _, err := a.GetFunctionState("public", "default", name, "missing"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("GetFunctionState of a missing key: %v, want a 404", err)
	}
}
