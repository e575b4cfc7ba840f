package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// namespaceWithoutLocalCluster makes tenant/namespace replicated only to a
// second cluster, the situation the broker answers with "Namespace missing
// local cluster name in clusters list".
func namespaceWithoutLocalCluster(t *testing.T, p harness.Pulsar) (ns, other string) {
	t.Helper()
	other = harness.UniqueName("pfw-other")
	tenant := harness.UniqueName("pfw-t")
	ns = tenant + "/functions"
	steps := []struct {
		method, path string
		body         any
	}{
		{"PUT", "/admin/v2/clusters/" + other, map[string]any{"serviceUrl": "http://127.0.0.1:1", "brokerServiceUrl": "pulsar://127.0.0.1:1"}},
		{"PUT", "/admin/v2/tenants/" + tenant, map[string]any{"adminRoles": []string{}, "allowedClusters": []string{"standalone", other}}},
		{"PUT", "/admin/v2/namespaces/" + ns, map[string]any{"replication_clusters": []string{other}}},
	}
	for _, s := range steps {
		if code, body := p.Admin(t, s.method, s.path, s.body); code/100 != 2 {
			t.Fatalf("%s %s: %d %s", s.method, s.path, code, body)
		}
	}
	t.Cleanup(func() {
		p.Admin(t, "DELETE", "/admin/v2/namespaces/"+ns+"?force=true", nil)
		p.Admin(t, "DELETE", "/admin/v2/tenants/"+tenant+"?force=true", nil)
		p.Admin(t, "DELETE", "/admin/v2/clusters/"+other, nil)
	})
	return ns, other
}

func TestNamespaceMissingLocalClusterStopsTheWorker(t *testing.T) {
	t.Parallel() // Go functions only: runs beside the others after the Java-heavy tests
	p := harness.RequirePulsar(t)
	ns, other := namespaceWithoutLocalCluster(t, p)
	port := harness.FreePort(t)
	w := harness.StartWorker(t, "lonely", port, harness.WorkerConfig(t, p, "lonely", port, map[string]any{
		"pulsarFunctionsNamespace": ns,
	}))
	code, err := w.Wait(60 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	log := w.Log()
	for _, want := range []string{
		"Namespace missing local cluster name in clusters list",
		"the namespace's clusters are [" + other + "]",
		"pulsar-admin namespaces set-clusters " + ns + " --clusters " + other + ",standalone",
		"addFunctionsClusterToNamespace",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("worker log lacks %q", want)
		}
	}
}

func TestNamespaceMissingLocalClusterRepairedWhenAllowed(t *testing.T) {
	t.Parallel() // Go functions only: runs beside the others after the Java-heavy tests
	p := harness.RequirePulsar(t)
	ns, other := namespaceWithoutLocalCluster(t, p)
	port := harness.FreePort(t)
	w := harness.StartWorker(t, "repairer", port, harness.WorkerConfig(t, p, "repairer", port, map[string]any{
		"pulsarFunctionsNamespace":       ns,
		"addFunctionsClusterToNamespace": true,
	}))
	w.WaitReady(60 * time.Second)
	expectMembers(t, []*harness.Worker{w}, 30*time.Second)
	code, body := p.Admin(t, "GET", "/admin/v2/namespaces/"+ns+"/replication", nil)
	if code != 200 {
		t.Fatalf("get replication clusters: %d %s", code, body)
	}
	for _, c := range []string{other, "standalone"} {
		if !strings.Contains(string(body), `"`+c+`"`) {
			t.Errorf("namespace clusters %s lack %s", body, c)
		}
	}
}

func TestWorkerWaitsForUnreachableBroker(t *testing.T) {
	t.Parallel() // Go functions only: runs beside the others after the Java-heavy tests
	p := harness.RequirePulsar(t)
	web, err := url.Parse(p.WebServiceURL)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := url.Parse(p.ServiceURL)
	if err != nil {
		t.Fatal(err)
	}
	// Ports where no broker listens yet.
	webPort, binPort, port := harness.FreePort(t), harness.FreePort(t), harness.FreePort(t)
	w := harness.StartWorker(t, "patient", port, harness.WorkerConfig(t, p, "patient", port, map[string]any{
		"pulsarFunctionsNamespace": "public/" + harness.UniqueName("fw"),
		"pulsarWebServiceUrl":      fmt.Sprintf("http://127.0.0.1:%d", webPort),
		"pulsarServiceUrl":         fmt.Sprintf("pulsar://127.0.0.1:%d", binPort),
	}))
	harness.Eventually(t, 30*time.Second, "worker logs that it waits for the broker", func() error {
		if n := strings.Count(w.Log(), "waiting for broker"); n < 3 {
			return fmt.Errorf("%d retries logged so far", n)
		}
		return nil
	})
	if !w.Running() {
		t.Fatal("worker gave up while the broker was down")
	}
	var st int
	if err := w.GetJSON("/initialized", &st); err == nil {
		t.Fatal("worker says it is initialized without a broker")
	}

	up := time.Now()
	harness.Forward(t, webPort, web.Host)
	harness.Forward(t, binPort, bin.Host)
	w.WaitReady(30 * time.Second)
	t.Logf("joined %s after the broker came up", time.Since(up).Round(time.Millisecond))
	expectMembers(t, []*harness.Worker{w}, 30*time.Second)
}
