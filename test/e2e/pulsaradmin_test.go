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

// pulsaradminClient is pulsar-client-go's admin client pointed at worker w.
func pulsaradminClient(t *testing.T, w *harness.Worker) padmin.Client {
	t.Helper()
	c, err := padmin.New(&config.Config{WebServiceURL: w.URL()})
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
	p := harness.RequirePulsar(t)
	bin := buildGoFunction(t)
	ws := startCluster(t, p, 2, map[string]any{"instanceLivenessCheckFreqMs": 5000})
	leader := expectMembers(t, ws, 30*time.Second)
	a := pulsaradminClient(t, ws[0]).Functions()
	fw := pulsaradminClient(t, ws[1]).FunctionsWorker()

	name := harness.UniqueName("padm")
	in := "persistent://public/default/" + name + "-in"
	out := "persistent://public/default/" + name + "-out"
	fc := &utils.FunctionConfig{
		Tenant: "public", Namespace: "default", Name: name, Runtime: "GO",
		Inputs: []string{in}, Output: out, Parallelism: 2, Go: &bin,
		UserConfig: map[string]interface{}{"suffix": "!"},
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
		if got.Name != name || got.Parallelism != 2 || got.Runtime != "GO" || !slices.Equal(got.Inputs, []string{in}) || got.Output != out {
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
		got, err := a.TriggerFunction("public", "default", name, in, "hi", "")
		if err != nil || got != "hi!" {
			t.Fatalf("TriggerFunction = %q, %v; want %q", got, err, "hi!")
		}
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
		if err := instanceRunning(0, true)(); err != nil {
			t.Fatal(err)
		}
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
			Inputs: []string{in}, Output: out + "-2", Parallelism: 1}
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
				list, err := pulsaradminClient(t, w).FunctionsWorker().GetFunctionsStats()
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
