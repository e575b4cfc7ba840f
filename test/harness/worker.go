package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// Worker is one pulsar-functions-worker process started by a test.
type Worker struct {
	ID         string
	Kind       string // KindGo or KindJava
	Port       int
	ConfigPath string
	LogPath    string
	cmd        *exec.Cmd
	done       chan struct{}
	exitErr    error
	t          testing.TB
}

// WorkerConfig writes a functions_worker.yml for one test worker: the
// shipped etc/pulsar/functions_worker.yml with its own workerId and port, the
// shared standalone (with its stream storage as stateStorageServiceUrl when
// it has one), and the given overrides (a nil value leaves a key unset).
func WorkerConfig(t testing.TB, p Pulsar, id string, port int, overrides map[string]any) string {
	t.Helper()
	return writeConfig(t, p, filepath.Join(RepoRoot(t), "etc", "pulsar", "functions_worker.yml"), map[string]any{
		"workerId":                 id,
		"workerHostname":           "127.0.0.1",
		"workerPort":               port,
		"workerPortTls":            nil,
		"pulsarServiceUrl":         p.ServiceURL,
		"pulsarWebServiceUrl":      p.WebServiceURL,
		"pulsarFunctionsCluster":   "standalone",
		"pulsarFunctionsNamespace": "public/functions",
		"downloadDirectory":        filepath.Join(t.TempDir(), "download"),
		// Instance logs in the test's directory, not in the shared distribution.
		"functionRuntimeFactoryConfigs": map[string]any{"logDirectory": filepath.Join(t.TempDir(), "logs")},
		"logLevel":                      "debug",
	}, overrides, filepath.Join(t.TempDir(), id+".yml"))
}

// writeConfig writes a functions_worker.yml to path: the base file's keys,
// then settings, the standalone's stream storage as stateStorageServiceUrl
// when it has one, then overrides (a nil value sets a key to null).
func writeConfig(t testing.TB, p Pulsar, base string, settings, overrides map[string]any, path string) string {
	t.Helper()
	cfg := map[string]any{}
	b, err := os.ReadFile(base)
	if err != nil {
		t.Fatalf("read %s: %v", base, err)
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("parse %s: %v", base, err)
	}
	maps.Copy(cfg, settings)
	if p.StateStorageURL != "" {
		cfg["stateStorageServiceUrl"] = p.StateStorageURL
	}
	maps.Copy(cfg, overrides)
	if b, err = yaml.Marshal(cfg); err != nil {
		t.Fatalf("marshal worker config: %v", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatalf("write worker config: %v", err)
	}
	return path
}

// Kinds of worker a test can start.
const (
	KindGo   = "go"   // our pulsar-functions-worker binary
	KindJava = "java" // the Java functions worker of the pinned distribution
)

// StartWorker runs the worker binary with config and stops it (SIGKILL if it
// must) when the test ends. It does not wait for readiness.
func StartWorker(t testing.TB, id string, port int, config string, env ...string) *Worker {
	t.Helper()
	return StartWorkerArgs(t, id, port, "", []string{"--config", config}, env...)
}

// StartWorkerArgs is StartWorker with the run command's flags given (the
// co-located mode's --broker-conf) and dir as its working directory ("" for
// the test's), where relative paths of the config resolve.
func StartWorkerArgs(t testing.TB, id string, port int, dir string, args []string, env ...string) *Worker {
	t.Helper()
	cmd := exec.Command(WorkerBinary(t), append([]string{"run"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	// The Python instance runtime runs "python3" from PATH: the virtualenv
	// scripts/pulsar.sh built, when there is one.
	if py := os.Getenv("PFW_PYTHON"); py != "" {
		cmd.Env = append(cmd.Env, "PATH="+filepath.Dir(py)+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	config := ""
	for i, a := range args {
		if (a == "--config" || a == "--broker-conf") && i+1 < len(args) {
			config = args[i+1]
		}
	}
	return startProcess(t, KindGo, id, port, config, cmd)
}

// startProcess starts cmd in a process group of its own (so the worker and
// the instances it spawns can be killed together), logging to a file in the
// test's directory, and stops the group when the test ends. On failure it
// prints the worker's warnings and errors and the end of its log.
func startProcess(t testing.TB, kind, id string, port int, config string, cmd *exec.Cmd) *Worker {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), id+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("create worker log: %v", err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s worker %s: %v", kind, id, err)
	}
	w := &Worker{ID: id, Kind: kind, Port: port, ConfigPath: config, LogPath: logPath, cmd: cmd, done: make(chan struct{}), t: t}
	go func() {
		w.exitErr = cmd.Wait()
		logf.Close()
		close(w.done)
	}()
	t.Cleanup(func() {
		// The group: the worker and the instances it started (a Java worker's
		// instance JVMs outlive a killed worker otherwise).
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-w.done
		if t.Failed() {
			w.logProblems()
			w.keepLog()
		}
	})
	return w
}

// keepLog copies the log of a worker whose test failed out of the test's
// temporary directory, which go test deletes, into PFW_TEST_LOGS (default
// $TMPDIR/pfw-test-logs), and says where.
func (w *Worker) keepLog() {
	dir := os.Getenv("PFW_TEST_LOGS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "pfw-test-logs")
	}
	dir = filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(w.t.Name()))
	b, err := os.ReadFile(w.LogPath)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, w.ID+".log"), b, 0o644)
	}
	if err != nil {
		w.t.Logf("keep the log of %s worker %s: %v", w.Kind, w.ID, err)
		return
	}
	w.t.Logf("log of %s worker %s kept in %s", w.Kind, w.ID, filepath.Join(dir, w.ID+".log"))
}

// logProblems prints the worker's warnings and errors and the end of its log.
func (w *Worker) logProblems() {
	b, _ := os.ReadFile(w.LogPath)
	var important []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") ||
			strings.Contains(l, "] ERROR ") || strings.Contains(l, "] WARN ") ||
			strings.HasPrefix(l, "panic") || strings.HasPrefix(l, "goroutine ") {
			important = append(important, l)
		}
	}
	w.t.Logf("warnings and errors of %s worker %s:\n%s", w.Kind, w.ID, trimLog([]byte(strings.Join(important, "\n")), 8000))
	w.t.Logf("end of the log of %s worker %s (%s):\n%s", w.Kind, w.ID, w.LogPath, trimLog(b, 3000))
}

// URL is the worker's base URL.
func (w *Worker) URL() string { return "http://127.0.0.1:" + strconv.Itoa(w.Port) }

// Running reports whether the process has not exited.
func (w *Worker) Running() bool {
	select {
	case <-w.done:
		return false
	default:
		return true
	}
}

// WaitReady waits until /initialized answers true.
func (w *Worker) WaitReady(timeout time.Duration) {
	w.t.Helper()
	Eventually(w.t, timeout, "worker "+w.ID+" initialized", func() error {
		if !w.Running() {
			w.t.Fatalf("worker %s exited before it was initialized: %v", w.ID, w.exitErr)
		}
		resp, err := http.Get(w.URL() + "/initialized")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/initialized: %s", resp.Status)
		}
		return nil
	})
}

// GetJSON GETs path from the worker and decodes a 200 answer into v.
func (w *Worker) GetJSON(path string, v any) error {
	resp, err := http.Get(w.URL() + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Reason string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("GET %s: %s %s", path, resp.Status, e.Reason)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// Kill kills the worker and every process it started with SIGKILL, as if
// its machine died, and waits for the worker to be gone.
func (w *Worker) Kill() {
	w.t.Helper()
	_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
	if _, err := w.Wait(time.Minute); err != nil {
		w.t.Fatalf("kill %s worker %s: %v", w.Kind, w.ID, err)
	}
}

// Stop stops the worker as `systemctl stop` stops a unit with the default
// KillMode=control-group: SIGTERM to the worker and every process it started,
// then, once the worker has exited (or after timeout), SIGKILL to whatever
// of them is left. It returns the worker's exit code.
func (w *Worker) Stop(timeout time.Duration) int {
	w.t.Helper()
	pgid := w.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	code, err := w.Wait(timeout)
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	if err != nil {
		w.t.Fatalf("stop %s worker %s: %v", w.Kind, w.ID, err)
	}
	return code
}

// Pid is the worker process's pid.
func (w *Worker) Pid() int { return w.cmd.Process.Pid }

// Signal sends sig to the worker process.
func (w *Worker) Signal(sig syscall.Signal) {
	w.t.Helper()
	if err := w.cmd.Process.Signal(sig); err != nil {
		w.t.Fatalf("signal %v to worker %s: %v", sig, w.ID, err)
	}
}

// Wait waits for the process to exit and returns its exit code (-1 when
// killed by a signal).
func (w *Worker) Wait(timeout time.Duration) (int, error) {
	select {
	case <-w.done:
	case <-time.After(timeout):
		return 0, fmt.Errorf("worker %s still running after %s", w.ID, timeout)
	}
	var ee *exec.ExitError
	if errors.As(w.exitErr, &ee) {
		return ee.ExitCode(), nil
	}
	if w.exitErr != nil {
		return 0, w.exitErr
	}
	return 0, nil
}

// Log returns what the worker has logged so far.
func (w *Worker) Log() string {
	b, _ := os.ReadFile(w.LogPath)
	return string(b)
}
