package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// instancePIDs maps instance id to the pid of each running instance process
// of the function name (a Java, Python or Go instance started by a worker).
func instancePIDs(name string) map[int]int {
	out := map[int]int{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, []byte(`"name":"`+name+`"`)) {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if i := slices.Index(args, "--instance_id"); i >= 0 && i+1 < len(args) {
			if id, err := strconv.Atoi(args[i+1]); err == nil {
				out[id] = pid
			}
		}
	}
	return out
}

// jsonOf decodes the JSON object pulsar-admin printed.
func jsonOf(t *testing.T, out string, v any) {
	t.Helper()
	i := strings.IndexByte(out, '{')
	if i < 0 {
		t.Fatalf("no JSON in %q", out)
	}
	if err := json.Unmarshal([]byte(out[i:]), v); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
}

// statsData is the part of FunctionStats / FunctionInstanceStatsData the
// test reads.
type statsData struct {
	ReceivedTotal              int64 `json:"receivedTotal"`
	ProcessedSuccessfullyTotal int64 `json:"processedSuccessfullyTotal"`
	OneMin                     struct {
		ReceivedTotal int64 `json:"receivedTotal"`
	} `json:"1min"`
	LastInvocation *int64 `json:"lastInvocation"`
	Instances      []struct {
		InstanceID int       `json:"instanceId"`
		Metrics    statsData `json:"metrics"`
	} `json:"instances"`
}

// TestAdminCLI drives the distribution's bin/pulsar-admin through every
// `functions` subcommand against two of our workers and checks what each
// answers, not only that it succeeds. Every command goes to the worker that
// does not hold the instance it names where that matters, so redirects and
// worker-to-worker calls are exercised too.
func TestAdminCLI(t *testing.T) {
	t.Parallel() // own workers, functions namespace and names
	p := harness.RequirePulsar(t)
	// Java instances stop themselves after three missed health checks; a
	// long interval keeps them alive on a loaded machine (the worker still
	// probes every second until an instance first answers).
	ws := startCluster(t, p, 2, map[string]any{"instanceLivenessCheckFreqMs": 30000})
	leader := expectMembers(t, ws, 30*time.Second)
	_, others := find(ws, leader.WorkerID)
	nonLeader := others[0]
	jar := filepath.Join(p.Home, "examples", "api-examples.jar")
	name := harness.UniqueName("cli")
	in, out := "persistent://public/default/"+name+"-in", "persistent://public/default/"+name+"-out"
	id := []string{"--tenant", "public", "--namespace", "default", "--name", name}
	admin := func(w *harness.Worker, args ...string) string {
		t.Helper()
		o, err := p.PulsarAdmin(t, w.URL(), append([]string{"functions"}, args...)...)
		if err != nil {
			t.Fatalf("functions %s: %v\n%s", strings.Join(args, " "), err, o)
		}
		return o
	}
	withID := func(args ...string) []string { return append(append([]string{}, args...), id...) }

	// create, through the worker that does not lead.
	admin(nonLeader, withID("create", "--jar", jar, "--classname", "org.apache.pulsar.functions.api.examples.ExclamationFunction",
		"--inputs", in, "--output", out, "--parallelism", "2")...)
	st := waitRunning(t, p, ws[0], name, 2)
	owner := map[int]string{}
	for _, i := range st.Instances {
		owner[i.InstanceID] = i.Status.WorkerID
	}
	// notOwner is a worker that does not run instance i.
	notOwner := func(i int) *harness.Worker {
		for _, w := range ws {
			if w.ID != owner[i] {
				return w
			}
		}
		t.Fatalf("both workers own instance %d?", i)
		return nil
	}

	t.Run("get and list", func(t *testing.T) {
		var cfg struct {
			ClassName   string   `json:"className"`
			Parallelism int      `json:"parallelism"`
			Inputs      []string `json:"inputs"`
			Output      string   `json:"output"`
		}
		jsonOf(t, admin(ws[1], withID("get")...), &cfg)
		if cfg.ClassName != "org.apache.pulsar.functions.api.examples.ExclamationFunction" || cfg.Parallelism != 2 || cfg.Output != out {
			t.Errorf("get: %+v", cfg)
		}
		list := admin(ws[0], "list", "--tenant", "public", "--namespace", "default")
		if !slices.Contains(strings.Fields(list), name) {
			t.Errorf("list %q lacks %s", list, name)
		}
	})

	t.Run("trigger", func(t *testing.T) {
		if got := strings.TrimSpace(admin(ws[0], withID("trigger", "--trigger-value", "hello")...)); got != "hello!" {
			t.Errorf("trigger --trigger-value hello: %q, want hello!", got)
		}
		file := filepath.Join(t.TempDir(), "value")
		if err := os.WriteFile(file, []byte("from-a-file"), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(admin(ws[1], withID("trigger", "--trigger-file", file, "--topic", in)...)); got != "from-a-file!" {
			t.Errorf("trigger --trigger-file: %q, want from-a-file!", got)
		}
	})

	t.Run("stats", func(t *testing.T) {
		exclamationRoundTrip(t, p, in, out, 20, "!", true)
		// 20 messages, plus the two triggers.
		var all statsData
		harness.Eventually(t, time.Minute, "stats count every message", func() error {
			all = statsData{}
			jsonOf(t, admin(ws[0], withID("stats")...), &all)
			if all.ReceivedTotal < 22 || all.ProcessedSuccessfullyTotal < 22 || len(all.Instances) != 2 {
				return fmt.Errorf("stats: %+v", all)
			}
			return nil
		})
		// The "1min" counters cover the instances' current minute only.
		if all.LastInvocation == nil || all.OneMin.ReceivedTotal > all.ReceivedTotal {
			t.Errorf("lastInvocation %v, 1min.receivedTotal %d of %d", all.LastInvocation, all.OneMin.ReceivedTotal, all.ReceivedTotal)
		}
		var sum int64
		for _, inst := range all.Instances {
			var one statsData
			jsonOf(t, admin(notOwner(inst.InstanceID), withID("stats", "--instance-id", strconv.Itoa(inst.InstanceID))...), &one)
			if one.ReceivedTotal < inst.Metrics.ReceivedTotal {
				t.Errorf("instance %d: stats --instance-id says %d received, stats said %d", inst.InstanceID, one.ReceivedTotal, inst.Metrics.ReceivedTotal)
			}
			sum += inst.Metrics.ReceivedTotal
		}
		if sum != all.ReceivedTotal {
			t.Errorf("instances received %d in all, the total says %d", sum, all.ReceivedTotal)
		}
	})

	t.Run("status of one instance", func(t *testing.T) {
		for i := range 2 {
			var s struct {
				Running  bool   `json:"running"`
				WorkerID string `json:"workerId"`
			}
			jsonOf(t, admin(notOwner(i), withID("status", "--instance-id", strconv.Itoa(i))...), &s)
			if !s.Running || s.WorkerID != owner[i] {
				t.Errorf("instance %d: %+v, want running on %s", i, s, owner[i])
			}
		}
	})

	// running tells, per instance, whether status says it runs.
	running := func() map[int]bool {
		st, err := status(t, p, ws[0], name)
		if err != nil {
			t.Fatal(err)
		}
		r := map[int]bool{}
		for _, i := range st.Instances {
			r[i.InstanceID] = i.Status.Running
		}
		return r
	}
	waitFor := func(what string, want map[int]bool, procs int) {
		t.Helper()
		harness.Eventually(t, 5*time.Minute, what, func() error {
			got, pids := running(), instancePIDs(name)
			if !maps.Equal(got, want) || len(pids) != procs {
				return fmt.Errorf("running %v, processes %v", got, pids)
			}
			return nil
		})
	}

	t.Run("stop and start one instance", func(t *testing.T) {
		if o := admin(ws[1], withID("stop", "--instance-id", "0")...); !strings.Contains(o, "Stopped successfully") {
			t.Errorf("stop: %q", o)
		}
		waitFor("instance 0 stopped", map[int]bool{0: false, 1: true}, 1)
		if _, ok := instancePIDs(name)[0]; ok {
			t.Error("instance 0 still has a process")
		}
		// Stopping it again is not permitted.
		if o, err := p.PulsarAdmin(t, ws[0].URL(), append([]string{"functions"}, withID("stop", "--instance-id", "0")...)...); err == nil ||
			!strings.Contains(o, "Operation not permitted") {
			t.Errorf("second stop: %v %q", err, o)
		}
		admin(ws[0], withID("start", "--instance-id", "0")...)
		waitFor("instance 0 running again", map[int]bool{0: true, 1: true}, 2)
	})

	t.Run("stop and start the function", func(t *testing.T) {
		admin(ws[0], withID("stop")...)
		waitFor("all stopped", map[int]bool{0: false, 1: false}, 0)
		admin(ws[1], withID("start")...)
		waitFor("all running again", map[int]bool{0: true, 1: true}, 2)
		if got := strings.TrimSpace(admin(ws[0], withID("trigger", "--trigger-value", "again")...)); got != "again!" {
			t.Errorf("trigger after start: %q", got)
		}
	})

	t.Run("restart", func(t *testing.T) {
		before := instancePIDs(name)
		// One instance, asked of the worker that does not run it: 307.
		admin(notOwner(1), withID("restart", "--instance-id", "1")...)
		harness.Eventually(t, 5*time.Minute, "instance 1 restarted", func() error {
			now := instancePIDs(name)
			if now[1] == 0 || now[1] == before[1] || !running()[1] {
				return fmt.Errorf("pids before %v, now %v", before, now)
			}
			if now[0] != before[0] {
				return fmt.Errorf("instance 0 restarted too: before %v, now %v", before, now)
			}
			return nil
		})
		// The whole function: local instances here, the other worker's through it.
		before = instancePIDs(name)
		admin(ws[0], withID("restart")...)
		harness.Eventually(t, 5*time.Minute, "both instances restarted", func() error {
			now, r := instancePIDs(name), running()
			for i := range 2 {
				if now[i] == 0 || now[i] == before[i] || !r[i] {
					return fmt.Errorf("pids before %v, now %v, running %v", before, now, r)
				}
			}
			return nil
		})
	})

	t.Run("upload and download", func(t *testing.T) {
		want, err := os.ReadFile(jar)
		if err != nil {
			t.Fatal(err)
		}
		// The function's own package, by name, from either worker.
		for _, w := range ws {
			dest := filepath.Join(t.TempDir(), "pkg.jar")
			admin(w, withID("download", "--destination-file", dest)...)
			if got, _ := os.ReadFile(dest); !bytes.Equal(got, want) {
				t.Errorf("download by name from %s: %d bytes, want the %d of %s", w.ID, len(got), len(want), jar)
			}
		}
		// Upload by path, download by path from the other worker.
		src := filepath.Join(t.TempDir(), "blob.bin")
		blob := bytes.Repeat([]byte("pulsar functions worker\x00\xff"), 100_000) // several segments
		if err := os.WriteFile(src, blob, 0o644); err != nil {
			t.Fatal(err)
		}
		path := "public/default/" + name + "/blob.bin"
		if o := admin(ws[0], "upload", "--source-file", src, "--path", path); !strings.Contains(o, "Uploaded successfully") {
			t.Errorf("upload: %q", o)
		}
		dest := filepath.Join(t.TempDir(), "blob.out")
		admin(ws[1], "download", "--path", path, "--destination-file", dest)
		if got, _ := os.ReadFile(dest); !bytes.Equal(got, blob) {
			t.Errorf("download --path: %d bytes, want the %d uploaded", len(got), len(blob))
		}
	})

	t.Run("update and delete", func(t *testing.T) {
		admin(ws[1], withID("update", "--user-config", `{"greeting":"hi"}`)...)
		var cfg struct {
			UserConfig map[string]any `json:"userConfig"`
		}
		jsonOf(t, admin(ws[0], withID("get")...), &cfg)
		if cfg.UserConfig["greeting"] != "hi" {
			t.Errorf("userConfig after update: %v", cfg.UserConfig)
		}
		waitRunning(t, p, ws[0], name, 2)
		admin(ws[0], withID("delete")...)
		harness.Eventually(t, time.Minute, "instances gone", func() error {
			if pids := instancePIDs(name); len(pids) > 0 {
				return fmt.Errorf("processes %v", pids)
			}
			return nil
		})
		if o, err := p.PulsarAdmin(t, ws[1].URL(), append([]string{"functions"}, withID("get")...)...); err == nil ||
			!strings.Contains(o, "doesn't exist") {
			t.Errorf("get after delete: %v %q", err, o)
		}
		if list := admin(ws[1], "list", "--tenant", "public", "--namespace", "default"); slices.Contains(strings.Fields(list), name) {
			t.Errorf("list after delete still has %s: %q", name, list)
		}
	})
}
