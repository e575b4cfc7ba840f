package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// processesMentioning lists pids whose command line contains s.
func processesMentioning(s string) []string {
	var out []string
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), s) {
			out = append(out, d.Name())
		}
	}
	return out
}

func downloadDir(t *testing.T, w *harness.Worker) string {
	t.Helper()
	b, err := os.ReadFile(w.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		DownloadDirectory string `yaml:"downloadDirectory"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.DownloadDirectory
}

func goFunctionArgs(t *testing.T, name, in, out, bin string, extra ...string) []string {
	t.Helper()
	return append([]string{"--tenant", "public", "--namespace", "default", "--name", name,
		"--inputs", in, "--output", out, "--go", bin}, extra...)
}

func TestFunctionUpdateAndDelete(t *testing.T) {
	t.Parallel() // Go functions only: runs beside the others after the Java-heavy tests
	p := harness.RequirePulsar(t)
	bin := buildGoFunction(t)
	ws := startCluster(t, p, 2, map[string]any{"instanceLivenessCheckFreqMs": 5000})
	leader := expectMembers(t, ws, 30*time.Second)
	var nonLeader *harness.Worker
	for _, w := range ws {
		if w.ID != leader.WorkerID {
			nonLeader = w
		}
	}
	name := harness.UniqueName("lifecycle")
	in, out := "persistent://public/default/"+name+"-in", "persistent://public/default/"+name+"-out"

	// Created through the non-leader: it lands through the leader.
	if o, err := p.PulsarAdmin(t, nonLeader.URL(), append([]string{"functions", "create"},
		goFunctionArgs(t, name, in, out, bin, "--parallelism", "2")...)...); err != nil {
		t.Fatalf("create: %v\n%s", err, o)
	}
	waitRunning(t, p, ws[0], name, 2)

	// get and list agree on both workers.
	var gets []string
	for _, w := range ws {
		o, err := p.PulsarAdmin(t, w.URL(), "functions", "get", "--tenant", "public", "--namespace", "default", "--name", name)
		if err != nil {
			t.Fatalf("get on %s: %v\n%s", w.ID, err, o)
		}
		var cfg map[string]any
		if err := json.Unmarshal([]byte(o[strings.IndexByte(o, '{'):]), &cfg); err != nil {
			t.Fatalf("get on %s: %v\n%s", w.ID, err, o)
		}
		if cfg["name"] != name || cfg["parallelism"] != float64(2) {
			t.Errorf("get on %s: %v", w.ID, cfg)
		}
		b, _ := json.Marshal(cfg)
		gets = append(gets, string(b))
		l, err := p.PulsarAdmin(t, w.URL(), "functions", "list", "--tenant", "public", "--namespace", "default")
		if err != nil || !strings.Contains(l, name) {
			t.Errorf("list on %s lacks %s: %v\n%s", w.ID, name, err, l)
		}
	}
	if gets[0] != gets[1] {
		t.Errorf("get differs between workers:\n%s\n%s", gets[0], gets[1])
	}

	// Parallelism 2 -> 3: a third instance, placed on the less busy worker.
	if o, err := p.PulsarAdmin(t, ws[0].URL(), "functions", "update", "--tenant", "public", "--namespace", "default",
		"--name", name, "--parallelism", "3"); err != nil {
		t.Fatalf("update parallelism: %v\n%s", err, o)
	}
	waitRunning(t, p, ws[1], name, 3)

	// A new package: every instance restarts on it (it appends "?" now).
	if o, err := p.PulsarAdmin(t, ws[1].URL(), "functions", "update", "--tenant", "public", "--namespace", "default",
		"--name", name, "--go", bin, "--user-config", `{"suffix":"?"}`); err != nil {
		t.Fatalf("update package: %v\n%s", err, o)
	}
	waitRunning(t, p, ws[0], name, 3)
	exclamationRoundTrip(t, p, in, out, 20, "?", false)

	// Delete: no process, downloaded file, metadata or assignment is left.
	if o, err := p.PulsarAdmin(t, ws[0].URL(), "functions", "delete", "--tenant", "public", "--namespace", "default", "--name", name); err != nil {
		t.Fatalf("delete: %v\n%s", err, o)
	}
	harness.Eventually(t, time.Minute, "nothing of the function left", func() error {
		if pids := processesMentioning(name); len(pids) > 0 {
			return fmt.Errorf("processes still running: %v", pids)
		}
		for _, w := range ws {
			dir := filepath.Join(downloadDir(t, w), "public", "default", name)
			if _, err := os.Stat(dir); err == nil {
				return fmt.Errorf("%s still exists", dir)
			}
			// Nor a cached copy: this cluster ran no other function.
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
			if b, _ := json.Marshal(a); strings.Contains(string(b), name) {
				return fmt.Errorf("%s: assignments %s", w.ID, b)
			}
			code, body := harness.Do(t, "GET", w.URL()+"/admin/v3/functions/public/default/"+name, nil)
			if code != 404 {
				return fmt.Errorf("%s: get after delete: %d %s", w.ID, code, body)
			}
		}
		return nil
	})
}

func TestInstancesMoveWhenTheirWorkerDies(t *testing.T) {
	t.Parallel() // Go functions only: runs beside the others after the Java-heavy tests
	p := harness.RequirePulsar(t)
	bin := buildGoFunction(t)
	// Instances of a dead worker stop themselves after 3 missed health
	// checks (3 s); the leader moves them after rescheduleTimeoutMs (8 s), so
	// one never runs twice.
	ws := startCluster(t, p, 2, map[string]any{
		"instanceLivenessCheckFreqMs": 1000, "failureCheckFreqMs": 1000, "rescheduleTimeoutMs": 8000,
	})
	leader := expectMembers(t, ws, 30*time.Second)
	name := harness.UniqueName("move")
	in, out := "persistent://public/default/"+name+"-in", "persistent://public/default/"+name+"-out"
	if o, err := p.PulsarAdmin(t, ws[0].URL(), append([]string{"functions", "create"},
		goFunctionArgs(t, name, in, out, bin, "--parallelism", "2")...)...); err != nil {
		t.Fatalf("create: %v\n%s", err, o)
	}
	waitRunning(t, p, ws[0], name, 2)

	var victim, survivor *harness.Worker
	for _, w := range ws {
		if w.ID != leader.WorkerID {
			victim = w
		} else {
			survivor = w
		}
	}
	start := time.Now()
	victim.Signal(syscall.SIGKILL)
	st := waitRunning(t, p, survivor, name, 2)
	t.Logf("both instances RUNNING on %s %s after the kill -9 (rescheduleTimeoutMs 8 s)", survivor.ID, time.Since(start).Round(time.Second))
	for _, in := range st.Instances {
		if in.Status.WorkerID != survivor.ID {
			t.Errorf("instance %d on %s", in.InstanceID, in.Status.WorkerID)
		}
	}
	// Exactly two instance processes exist: the dead worker's copies stopped.
	if pids := processesMentioning("\"name\":\"" + name + "\""); len(pids) != 2 {
		t.Errorf("%d instance processes of %s, want 2: %v", len(pids), name, pids)
	}
	exclamationRoundTrip(t, p, in, out, 20, "!", false)
}

func TestCrashingInstanceBacksOff(t *testing.T) {
	t.Parallel() // Go functions only: runs beside the others after the Java-heavy tests
	p := harness.RequirePulsar(t)
	bin := buildGoFunction(t)
	ws := startCluster(t, p, 1, map[string]any{"instanceLivenessCheckFreqMs": 5000})
	name := harness.UniqueName("crash")
	in, out := "persistent://public/default/"+name+"-in", "persistent://public/default/"+name+"-out"
	if o, err := p.PulsarAdmin(t, ws[0].URL(), append([]string{"functions", "create"},
		goFunctionArgs(t, name, in, out, bin, "--user-config", `{"crashAfterSeconds":1}`)...)...); err != nil {
		t.Fatalf("create: %v\n%s", err, o)
	}
	var restarts []time.Time
	var last int64
	sawReason := false
	harness.Eventually(t, 3*time.Minute, "three restarts, the exit reason in status", func() error {
		st, err := status(t, p, ws[0], name)
		if err != nil {
			return err
		}
		if len(st.Instances) != 1 {
			return fmt.Errorf("status: %+v", st)
		}
		s := st.Instances[0].Status
		if s.NumRestarts > last {
			restarts = append(restarts, time.Now())
			last = s.NumRestarts
		}
		// While it waits to restart, status says why it died.
		if !s.Running && strings.Contains(s.Error, "exit code 3") {
			sawReason = true
		}
		if last < 3 || !sawReason {
			return fmt.Errorf("numRestarts %d, exit reason seen %v (error %q)", last, sawReason, s.Error)
		}
		return nil
	})
	for i := 1; i < len(restarts); i++ {
		t.Logf("restart %d seen %s after the previous one", i+1, restarts[i].Sub(restarts[i-1]).Round(time.Millisecond))
	}
}

func functionsNamespace(t *testing.T, w *harness.Worker) string {
	t.Helper()
	b, err := os.ReadFile(w.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Namespace string `yaml:"pulsarFunctionsNamespace"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.Namespace
}
