package e2e

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

var update = flag.Bool("update", false, "rewrite test/e2e/testdata/*.golden")

// shape replaces every JSON value by its type, keeping object keys; an
// array becomes the list of its elements' distinct shapes.
func shape(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			out[k] = shape(e)
		}
		return out
	case []any:
		var out []any
		seen := map[string]bool{}
		for _, e := range v {
			s := shape(e)
			b, _ := json.Marshal(s)
			if !seen[string(b)] {
				seen[string(b)] = true
				out = append(out, s)
			}
		}
		return out
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func goldenShape(t *testing.T, file string, body []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: not JSON: %v: %s", file, err, body)
	}
	got, _ := json.MarshalIndent(shape(v), "", "  ")
	got = append(got, '\n')
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("shape of %s differs from %s:\ngot:\n%s\nwant:\n%s\nbody: %s", file, path, got, want, body)
	}
}

// /admin/v2/worker-stats answers in the Java worker's shapes, which the
// real pulsar-admin reads (functions-worker monitoring-metrics and
// function-stats): one JVM-style metrics entry, and one entry per local
// instance named tenant/namespace/name:id with FunctionInstanceStatsData.
func TestWorkerStatsShapes(t *testing.T) {
	t.Parallel() // Go functions only: runs beside the others after the Java-heavy tests
	p := harness.RequirePulsar(t)
	bin := buildGoFunction(t)
	ws := startCluster(t, p, 1, map[string]any{"instanceLivenessCheckFreqMs": 5000})
	w := ws[0]
	name := harness.UniqueName("wstats")
	in, out := "persistent://public/default/"+name+"-in", "persistent://public/default/"+name+"-out"
	if o, err := p.PulsarAdmin(t, w.URL(), append([]string{"functions", "create"},
		goFunctionArgs(t, name, in, out, bin, "--parallelism", "2")...)...); err != nil {
		t.Fatalf("create: %v\n%s", err, o)
	}
	waitAllRunning(t, w, name, 2, 3*time.Minute)

	for _, base := range []string{"/admin/v2/worker-stats", "/admin/worker-stats"} {
		code, body := harness.Do(t, "GET", w.URL()+base+"/metrics", nil)
		if code != 200 {
			t.Fatalf("%s/metrics: %d %s", base, code, body)
		}
		goldenShape(t, "worker-stats-metrics.shape.golden", body)
		code, body = harness.Do(t, "GET", w.URL()+base+"/functionsmetrics", nil)
		if code != 200 {
			t.Fatalf("%s/functionsmetrics: %d %s", base, code, body)
		}
		goldenShape(t, "worker-stats-functionsmetrics.shape.golden", body)
		var list []struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range list {
			names = append(names, e.Name)
		}
		slices.Sort(names)
		if want := []string{"public/default/" + name + ":0", "public/default/" + name + ":1"}; !slices.Equal(names, want) {
			t.Errorf("functionsmetrics names %v, want %v", names, want)
		}
	}

	o, err := p.PulsarAdmin(t, w.URL(), "functions-worker", "monitoring-metrics")
	if err != nil || !strings.Contains(o, "jvm_heap_used") || !strings.Contains(o, "jvm_metrics") {
		t.Errorf("functions-worker monitoring-metrics: %v\n%s", err, o)
	}
	o, err = p.PulsarAdmin(t, w.URL(), "functions-worker", "function-stats")
	if err != nil || !strings.Contains(o, "public/default/"+name+":1") || !strings.Contains(o, "receivedTotal") {
		t.Errorf("functions-worker function-stats: %v\n%s", err, o)
	}
}
