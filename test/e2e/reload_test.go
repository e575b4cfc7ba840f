package e2e

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// metric returns the value line of a Prometheus sample, e.g. "name 1".
func metricLine(t *testing.T, w *harness.Worker, name string) string {
	t.Helper()
	_, body := harness.Do(t, "GET", w.URL()+"/metrics", nil)
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, name+" ") || strings.HasPrefix(l, name+"{") {
			return l
		}
	}
	return ""
}

func rewrite(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s lacks %q", path, old)
	}
	// Write to a temp file and rename, as editors do.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func lineOf(t *testing.T, path, prefix string) int {
	t.Helper()
	b, _ := os.ReadFile(path)
	for i, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, prefix) {
			return i + 1
		}
	}
	t.Fatalf("%s: no line starts with %q", path, prefix)
	return 0
}

func TestLiveReload(t *testing.T) {
	t.Parallel() // Go functions only: runs beside the others after the Java-heavy tests
	p := harness.RequirePulsar(t)
	port := harness.FreePort(t)
	cfg := harness.WorkerConfig(t, p, "reloader", port, map[string]any{
		"pulsarFunctionsNamespace": "public/" + harness.UniqueName("fw"),
		"logLevel":                 "info",
	})
	w := harness.StartWorker(t, "reloader", port, cfg)
	w.WaitReady(60 * time.Second)
	const ok = "pulsar_functions_worker_config_last_reload_successful 1"
	const failed = "pulsar_functions_worker_config_last_reload_successful 0"
	if got := metricLine(t, w, "pulsar_functions_worker_config_last_reload_successful"); got != ok {
		t.Fatalf("before any reload: %q, want %q", got, ok)
	}
	if strings.Contains(w.Log(), "level=DEBUG") {
		t.Fatal("debug lines logged at logLevel info")
	}

	// A live key: the log level changes without a restart.
	rewrite(t, cfg, "logLevel: info", "logLevel: debug")
	harness.Eventually(t, 30*time.Second, "debug logging after the edit", func() error {
		if !strings.Contains(w.Log(), "level=DEBUG") {
			return fmt.Errorf("no debug line yet")
		}
		return nil
	})

	// A broken edit: the old config stays; the log names file, line and key;
	// the metric says so.
	rewrite(t, cfg, "workerPort: ", "workerPort: not-a-port #")
	line := lineOf(t, cfg, "workerPort: ")
	harness.Eventually(t, 30*time.Second, "failed reload reported", func() error {
		if got := metricLine(t, w, "pulsar_functions_worker_config_last_reload_successful"); got != failed {
			return fmt.Errorf("metric %q", got)
		}
		return nil
	})
	if want := fmt.Sprintf("line=%d key=workerPort", line); !strings.Contains(w.Log(), want) {
		t.Errorf("log lacks %q", want)
	}
	var members []workerInfo
	if err := w.GetJSON("/admin/v2/worker/cluster", &members); err != nil || len(members) != 1 {
		t.Fatalf("worker stopped serving after a bad edit: %v %v", members, err)
	}

	// A later good edit recovers; SIGHUP works as well as the file watch.
	rewrite(t, cfg, "workerPort: not-a-port #", "workerPort: ")
	w.Signal(syscall.SIGHUP)
	harness.Eventually(t, 30*time.Second, "good reload after the fix", func() error {
		if got := metricLine(t, w, "pulsar_functions_worker_config_last_reload_successful"); got != ok {
			return fmt.Errorf("metric %q", got)
		}
		return nil
	})
	if !w.Running() {
		t.Fatal("SIGHUP stopped the worker")
	}
}
