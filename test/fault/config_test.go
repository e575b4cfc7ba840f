package fault

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// replaceFile writes data to path through a temporary file and a rename, as
// editors and configuration managers do.
func replaceFile(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// pointAt makes link a symlink to target, replacing what link was in one
// rename.
func pointAt(t *testing.T, link, target string) {
	t.Helper()
	tmp := link + ".new"
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
}

// TestConfigReloadTorture: bad config files of every kind, one after the
// other, each followed by the good file, on a worker running a function. For
// each bad file the worker must report the failure, keep the old config,
// keep serving and keep its instance (same process); each good file after it
// must be applied; the worker never exits.
func TestConfigReloadTorture(t *testing.T) {
	t.Parallel()
	p := harness.RequirePulsar(t)
	res := experiment(t, "config reload torture (13 kinds of file)")
	c := newCluster(t, p, res, 1, nil)
	w := c.live()[0]
	expect := map[string]fate{"steady": present(1)}
	if code, body, err := c.submit(w, http.MethodPost, "steady", 1, false); err != nil || !ok(code) {
		t.Fatalf("create: %d %s %v", code, body, err)
	}
	c.converge("setup", time.Now(), 2*time.Minute, expect)

	// The worker reads its config through a symlink, so that symlinks can be
	// swapped: worker.yml -> good.yml. It has been running on a plain file
	// (the harness's); restart it on the symlink.
	dir := t.TempDir()
	good, err := os.ReadFile(w.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	goodPath, link := filepath.Join(dir, "good.yml"), filepath.Join(dir, "worker.yml")
	replaceFile(t, goodPath, good)
	pointAt(t, link, "good.yml")
	c.stop(w, syscall.SIGTERM)
	c.mu.Lock()
	c.workers[w.ID] = harness.StartWorker(t, w.ID, w.Port, link)
	w = c.workers[w.ID]
	c.mu.Unlock()
	w.WaitReady(90 * time.Second)
	c.converge("restarted on the symlinked config", time.Now(), 2*time.Minute, expect)
	pid := instanceProcesses(c.ns)[0].pid

	workerPort := regexp.MustCompile(`(?m)^workerPort: (\d+)$`)
	if !workerPort.Match(good) {
		t.Fatalf("no workerPort line in\n%s", good)
	}
	bomb := "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	for i := 'b'; i <= 'j'; i++ {
		bomb += fmt.Sprintf("%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	var huge bytes.Buffer
	huge.Write(good)
	huge.WriteString("properties:\n")
	for i := range 100_000 {
		fmt.Fprintf(&huge, "  k%d: v\n", i)
	}
	binary := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(12, 34))
	for i := range binary {
		binary[i] = byte(rng.UintN(256))
	}
	// A missing file (deleted, or a dangling link) is not a configuration:
	// the worker warns and keeps the current one until the file is back,
	// without a reload that could fail.
	const missing = "config file is missing; keeping the current config"
	const reloaded = `msg="config reloaded"`
	cases := []struct {
		name   string
		apply  func()
		report string // the log line that reports it; "" is a failed reload
	}{
		{name: "syntax error", apply: func() { replaceFile(t, goodPath, workerPort.ReplaceAll(good, []byte("workerPort: [$1"))) }},
		{name: "type error", apply: func() { replaceFile(t, goodPath, workerPort.ReplaceAll(good, []byte("workerPort: not-a-port"))) }},
		{name: "truncated", apply: func() { replaceFile(t, goodPath, good[:len(good)/2]) }},
		{name: "empty", apply: func() { replaceFile(t, goodPath, nil) }},
		{name: "binary", apply: func() { replaceFile(t, goodPath, binary) }},
		{name: "a directory", apply: func() {
			_ = os.Mkdir(filepath.Join(dir, "adir"), 0o755)
			pointAt(t, link, "adir")
		}},
		{name: "deleted file", apply: func() {
			if err := os.Remove(goodPath); err != nil {
				t.Fatal(err)
			}
		}, report: missing},
		{name: "symlink swapped to a bad file", apply: func() {
			replaceFile(t, filepath.Join(dir, "bad.yml"), workerPort.ReplaceAll(good, []byte("workerPort: -1")))
			pointAt(t, link, "bad.yml")
		}},
		{name: "symlink swapped to a dangling target", apply: func() { pointAt(t, link, "nothing-here.yml") }, report: missing},
		{name: "symlink loop", apply: func() {
			pointAt(t, filepath.Join(dir, "loop-a.yml"), "loop-b.yml")
			pointAt(t, filepath.Join(dir, "loop-b.yml"), "loop-a.yml")
			pointAt(t, link, "loop-a.yml")
		}},
		{name: "YAML alias bomb", apply: func() { replaceFile(t, goodPath, append(append([]byte{}, good...), bomb...)) }},
		// Valid (properties is free-form), within the decoder's budget: it
		// must be decoded and reported promptly, and not block later reloads.
		{name: "huge mapping (100k keys, valid: needs a restart)", apply: func() { replaceFile(t, goodPath, huge.Bytes()) }, report: reloaded},
		{name: "over the size limit (5 MiB)", apply: func() {
			replaceFile(t, goodPath, append(append([]byte{}, good...), bytes.Repeat([]byte("# padding\n"), 500_000)...))
		}},
	}
	count := func(s string) int { return strings.Count(w.Log(), s) }
	var worstReport, worstRecover time.Duration
	restore := func(name string) {
		t.Helper()
		before := count(reloaded)
		start := time.Now()
		replaceFile(t, goodPath, good)
		pointAt(t, link, "good.yml")
		harness.Eventually(t, time.Minute, "the good file applied after "+name, func() error {
			if count(reloaded) == before {
				return fmt.Errorf("no \"config reloaded\" yet")
			}
			return nil
		})
		worstRecover = max(worstRecover, time.Since(start))
	}
	for _, tc := range cases {
		report := tc.report
		if report == "" {
			report = "config reload failed; keeping the running config"
		}
		before := count(report)
		start := time.Now()
		tc.apply()
		harness.Eventually(t, 2*time.Minute, "the reload reported: "+tc.name, func() error {
			if !w.Running() {
				t.Fatalf("%s: the worker exited", tc.name)
			}
			if count(report) == before {
				return fmt.Errorf("no %q logged yet", report)
			}
			return nil
		})
		reported := time.Since(start)
		worstReport = max(worstReport, reported)
		// Still serving, on the old config, with the same instance.
		_, metrics, err := do(mustRequest(http.MethodGet, w.URL()+"/metrics"))
		if err != nil || (tc.report == "" && !strings.Contains(metrics, "pulsar_functions_worker_config_last_reload_successful 0")) {
			res.halfApplied++
			t.Errorf("%s: /metrics does not say the reload failed (%v)", tc.name, err)
		}
		_, vs := c.check(expect)
		for _, v := range vs {
			res.halfApplied++
			t.Errorf("%s: %s", tc.name, v.msg)
		}
		if ps := instanceProcesses(c.ns); len(ps) != 1 || ps[0].pid != pid {
			res.halfApplied++
			t.Errorf("%s: instance processes %v, want the same pid %d", tc.name, ps, pid)
		}
		t.Logf("%s: reported after %s", tc.name, reported.Round(time.Millisecond))
		restore(tc.name)
		res.faults++
	}
	c.countExits()

	// A valid change afterwards is applied: debug logging.
	start := time.Now()
	replaceFile(t, goodPath, bytes.Replace(good, []byte("logLevel: info"), []byte("logLevel: debug"), 1))
	harness.Eventually(t, time.Minute, "logLevel debug applied", func() error {
		if !strings.Contains(w.Log(), "level=DEBUG") {
			return fmt.Errorf("no debug line yet")
		}
		return nil
	})
	res.recovery = max(worstRecover, time.Since(start))
	d, _ := c.converge("after the torture", start, time.Minute, expect)
	_ = d
	res.note = fmt.Sprintf("each reported within %s; recovery = the good file applied", worstReport.Round(time.Millisecond))
}
