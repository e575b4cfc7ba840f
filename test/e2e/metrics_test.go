package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// scrapeMetrics GETs /metrics, checks it parses with the Prometheus text
// parser with one TYPE line per family, and returns the families.
func scrapeMetrics(t *testing.T, w *harness.Worker) (map[string]int, time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := http.Get(w.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	types := map[string]int{}
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "# TYPE ") {
			types[strings.Fields(l)[2]]++
		}
	}
	for name, n := range types {
		if n != 1 {
			t.Errorf("family %s has %d TYPE lines", name, n)
		}
	}
	series := map[string]int{}
	for name, mf := range fams {
		series[name] = len(mf.GetMetric())
	}
	return series, took
}

// With 50 instances running, /metrics answers with the worker's metrics
// and every instance's, merged into one family per name, and parses with
// the Prometheus text parser. The time the scrape took is logged.
func TestMetricsWithFiftyInstances(t *testing.T) {
	t.Parallel() // Go functions only: runs beside the others after the Java-heavy tests
	const n = 50
	p := harness.RequirePulsar(t)
	bin := buildGoFunction(t)
	ws := startCluster(t, p, 1, map[string]any{"instanceLivenessCheckFreqMs": 10000})
	w := ws[0]
	name := harness.UniqueName("metrics50")
	in, out := "persistent://public/default/"+name+"-in", "persistent://public/default/"+name+"-out"
	if o, err := p.PulsarAdmin(t, w.URL(), append([]string{"functions", "create"},
		goFunctionArgs(t, name, in, out, bin, "--parallelism", fmt.Sprint(n))...)...); err != nil {
		t.Fatalf("create: %v\n%s", err, o)
	}
	waitAllRunning(t, w, name, n, 8*time.Minute)

	var series map[string]int
	var took time.Duration
	harness.Eventually(t, time.Minute, "every instance in /metrics", func() error {
		series, took = scrapeMetrics(t, w)
		if got := series["pulsar_function_received_total"]; got != n {
			return fmt.Errorf("%d pulsar_function_received_total series, want %d", got, n)
		}
		return nil
	})
	t.Logf("GET /metrics with %d instances took %s (%d families)", n, took.Round(time.Microsecond), len(series))
	for i := range 3 {
		_, took = scrapeMetrics(t, w)
		t.Logf("scrape %d: %s", i+2, took.Round(time.Microsecond))
	}
	for _, fam := range []string{"pulsar_function_worker_instance_count", "pulsar_function_worker_start_up_time_ms",
		"pulsar_function_worker_schedule_execution_time_total_ms", "pulsar_function_worker_total_function_count",
		"pulsar_function_worker_is_leader", "pulsar_function_process_latency_ms", "pulsar_function_last_invocation"} {
		if series[fam] == 0 {
			t.Errorf("/metrics lacks %s", fam)
		}
	}
	if series["pulsar_function_process_latency_ms"] != n {
		t.Errorf("pulsar_function_process_latency_ms has %d series, want %d", series["pulsar_function_process_latency_ms"], n)
	}
}

// Java, Python and Go instances on one worker: their pages (simpleclient's,
// prometheus_client's and the Go fixture's, each with its own runtime
// metrics) merge into one page the Prometheus parser reads, with every
// instance's function metrics under one family.
func TestMetricsMergeJavaPythonAndGoInstances(t *testing.T) {
	t.Parallel() // own workers, functions namespace and names
	p := harness.RequirePulsar(t)
	goFn := buildGoFunction(t)
	ws := startCluster(t, p, 1, nil)
	w := ws[0]
	runtimes := map[string][]string{
		"java":   {"--jar", p.Home + "/examples/api-examples.jar", "--classname", "org.apache.pulsar.functions.api.examples.ExclamationFunction"},
		"python": {"--py", p.Home + "/examples/python-examples/exclamation_function.py", "--classname", "exclamation_function.ExclamationFunction"},
		"go":     {"--go", goFn},
	}
	var names []string
	for _, rt := range []string{"java", "python", "go"} {
		name := harness.UniqueName("mix-" + rt)
		names = append(names, name)
		args := append([]string{"functions", "create", "--tenant", "public", "--namespace", "default", "--name", name,
			"--inputs", "persistent://public/default/" + name + "-in", "--output", "persistent://public/default/" + name + "-out",
			"--parallelism", "2"}, runtimes[rt]...)
		if o, err := p.PulsarAdmin(t, w.URL(), args...); err != nil {
			t.Fatalf("create %s: %v\n%s", rt, err, o)
		}
	}
	for _, name := range names {
		waitAllRunning(t, w, name, 2, 5*time.Minute)
	}
	var series map[string]int
	var took time.Duration
	harness.Eventually(t, 2*time.Minute, "every instance in /metrics", func() error {
		series, took = scrapeMetrics(t, w)
		if got := series["pulsar_function_received_total"]; got != 6 {
			return fmt.Errorf("%d pulsar_function_received_total series, want 6", got)
		}
		return nil
	})
	t.Logf("GET /metrics with 2 Java, 2 Python and 2 Go instances took %s (%d families)", took.Round(time.Microsecond), len(series))
	// The runtimes' own metrics are there, one series per instance.
	for _, fam := range []string{"jvm_threads_current", "python_info"} {
		if series[fam] != 2 {
			t.Errorf("%s has %d series, want 2 (one per instance)", fam, series[fam])
		}
	}
}
