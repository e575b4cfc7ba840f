// Package sidebyside runs the same pulsar-admin commands against a Java
// functions worker of the pinned distribution and against ours, on one
// standalone, and compares what each answered and what each did.
//
// Each kind of worker is a cluster of its own (a functions namespace of its
// own) and deploys into a namespace of its own, so that the two never share
// a function, a topic or a state table. Every step of cases_test.go runs on
// both sides at once; the outputs are normalized (normalize_test.go: names of
// the side, ids, ports, times, measured figures) and must then be equal, and
// so must the exit status and the observed effect (messages on the output
// topic, state values, instance processes). The differences we intend are
// listed in one place, deviations_test.go, each with its reason and a check
// of exactly the difference it allows; anything else fails the test.
package sidebyside

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// side is one kind of worker and what the steps need to address it.
type side struct {
	kind string // harness.KindJava or harness.KindGo
	p    harness.Pulsar
	w    *harness.Worker
	ns   string // the namespace its functions, sources and sinks live in (under "public")
	dir  string // its scratch directory (files steps write and read)
	vars map[string]string
	repl *strings.Replacer // its own names -> placeholders, for normalization
}

// result is what one step did on one side.
type result struct {
	code   int    // pulsar-admin's exit status, or the HTTP status of a REST step
	out    string // its output, normalized
	raw    string // its output as printed
	effect string // what the step's effect check observed, normalized
}

// settings both workers get: the same failure-detection and liveness timers,
// the built-in connectors, and package management on (packages in the
// broker's package service, as mixed clusters need; with it off, 4.0.8's
// upload by path answers 500).
func settings(connectors string) map[string]any {
	return map[string]any{
		"functionsWorkerEnablePackageManagement": true,
		"failureCheckFreqMs":                     2000,
		"rescheduleTimeoutMs":                    8000,
		"instanceLivenessCheckFreqMs":            10000,
		"connectorsDirectory":                    connectors,
	}
}

func TestSideBySide(t *testing.T) {
	p := harness.RequirePulsar(t)
	p.RequireJavaWorkers(t)
	connectors := harness.ConnectorsDir(t)
	goFn := buildGoFunction(t)
	pyZip := buildPythonZip(t)

	sides := []*side{
		newSide(t, p, harness.KindJava, connectors),
		newSide(t, p, harness.KindGo, connectors),
	}
	for _, s := range sides {
		s.vars["{gofn}"] = goFn
		s.vars["{pyzip}"] = pyZip
		s.writeFiles(t)
	}
	for _, s := range sides {
		s.w.WaitReady(4 * time.Minute)
	}
	for _, s := range sides {
		waitLeader(t, s)
	}

	seen := map[string]bool{}
	for _, st := range steps() {
		if seen[st.name] {
			t.Fatalf("two steps named %q", st.name)
		}
		seen[st.name] = true
		if !t.Run(st.name, func(t *testing.T) { runStep(t, st, sides[0], sides[1]) }) && st.fatal {
			t.Fatalf("step %s failed: later steps depend on it", st.name)
		}
	}
	for name := range deviations {
		if !seen[name] {
			t.Errorf("deviations_test.go lists %q, which is no step", name)
		}
	}
}

// newSide starts one worker of kind in a functions namespace of its own and
// creates the namespace its deployments go to.
func newSide(t *testing.T, p harness.Pulsar, kind, connectors string) *side {
	t.Helper()
	tag := map[string]string{harness.KindJava: "sbsj", harness.KindGo: "sbsg"}[kind]
	ns := harness.UniqueName(tag)
	fns := harness.UniqueName(tag + "fw")
	for _, n := range []string{ns, fns} {
		if code, body := p.Admin(t, http.MethodPut, "/admin/v2/namespaces/public/"+n, nil); code != http.StatusNoContent && code != http.StatusOK {
			t.Fatalf("create namespace public/%s: %d %s", n, code, body)
		}
	}
	ov := settings(connectors)
	ov["pulsarFunctionsNamespace"] = "public/" + fns
	id := tag + "-worker"
	port := harness.FreePort(t)
	var w *harness.Worker
	if kind == harness.KindJava {
		w = harness.StartJavaWorker(t, p, id, port, harness.JavaWorkerConfig(t, p, id, port, ov))
	} else {
		w = harness.StartWorker(t, id, port, harness.WorkerConfig(t, p, id, port, ov))
	}
	dir := t.TempDir()
	s := &side{kind: kind, p: p, w: w, ns: ns, dir: dir}
	s.vars = map[string]string{
		"{ns}":   ns,
		"{dir}":  dir,
		"{jar}":  filepath.Join(p.Home, "examples", "api-examples.jar"),
		"{py}":   filepath.Join(p.Home, "examples", "python-examples"),
		"{home}": p.Home,
	}
	// Longest first: a worker id contains the tag, the scratch directory
	// is unrelated to either.
	s.repl = strings.NewReplacer(
		dir, "{dir}",
		"public/"+fns, "public/{fw}",
		fns, "{fw}",
		ns, "{ns}",
		id, "{worker}",
		fmt.Sprintf("127.0.0.1:%d", port), "{host}:{port}",
		fmt.Sprintf("localhost:%d", port), "{host}:{port}",
	)
	return s
}

// writeFiles writes the files steps pass to pulsar-admin: a function config
// file in the side's namespace, a trigger file and an upload.
func (s *side) writeFiles(t *testing.T) {
	t.Helper()
	files := map[string]string{
		"function-config.yaml": fmt.Sprintf(`tenant: public
namespace: %s
name: fromfile
className: org.apache.pulsar.functions.api.examples.ExclamationFunction
inputs: ["persistent://public/%[1]s/fromfile-in"]
output: "persistent://public/%[1]s/fromfile-out"
autoAck: true
parallelism: 1
userConfig:
  greeting: hello
`, s.ns),
		"trigger.txt": "from-a-file",
		"upload.bin":  "package bytes \x00\x01\x02 of the side-by-side suite",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(s.dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// waitLeader waits until the side's only worker is its cluster's leader.
func waitLeader(t *testing.T, s *side) {
	t.Helper()
	harness.Eventually(t, 3*time.Minute, s.kind+" worker leads its cluster", func() error {
		var leader struct {
			WorkerID string `json:"workerId"`
		}
		if err := s.w.GetJSON("/admin/v2/worker/cluster/leader", &leader); err != nil {
			return err
		}
		if leader.WorkerID != s.w.ID {
			return fmt.Errorf("leader %q", leader.WorkerID)
		}
		return nil
	})
}

// expand replaces the placeholders of arg with the side's values.
func (s *side) expand(arg string) string {
	for k, v := range s.vars {
		arg = strings.ReplaceAll(arg, k, v)
	}
	return arg
}

// run runs the step on one side.
func (s *side) run(t *testing.T, st step) result {
	var raw string
	var code int
	if st.http != "" {
		method, path, _ := strings.Cut(s.expand(st.http), " ")
		var body []byte
		code, body = harness.Do(t, method, s.w.URL()+path, nil)
		raw = string(body)
	} else {
		args := make([]string, len(st.args))
		for i, a := range st.args {
			args[i] = s.expand(a)
		}
		raw, code = s.p.PulsarAdminExit(t, s.w.URL(), args...)
	}
	r := result{code: code, raw: raw, out: normalize(s, raw, st)}
	if st.after != nil {
		st.after(t, s)
	}
	if st.effect != nil {
		r.effect = s.repl.Replace(st.effect(t, s))
	}
	return r
}

// runStep runs st on both sides at once and compares.
func runStep(t *testing.T, st step, java, ours *side) {
	var rj, ro result
	var wg sync.WaitGroup
	wg.Add(2)
	// A goroutine may not call t.Fatal: a failed wait inside the effect
	// check is reported through t.Errorf and ends that side's work.
	go func() { defer wg.Done(); rj = java.run(t, st) }()
	go func() { defer wg.Done(); ro = ours.run(t, st) }()
	wg.Wait()
	if t.Failed() {
		t.Logf("java printed (exit %d):\n%s\nours printed (exit %d):\n%s", rj.code, rj.raw, ro.code, ro.raw)
		return
	}
	diff := compare(rj, ro)
	dev, intended := deviations[st.name]
	switch {
	case diff == "" && intended:
		t.Errorf("listed as a deviation (%s), but both workers now answer the same: take it off the list", dev.reason)
	case diff == "":
	case intended:
		if err := dev.check(rj, ro); err != nil {
			t.Errorf("intended deviation (%s) does not hold: %v\njava (exit %d):\n%s\nours (exit %d):\n%s",
				dev.reason, err, rj.code, rj.raw, ro.code, ro.raw)
		}
	default:
		t.Errorf("the workers differ:\n%s\njava printed (exit %d):\n%s\nours printed (exit %d):\n%s",
			diff, rj.code, rj.raw, ro.code, ro.raw)
	}
}

// compare describes how two results differ, or returns "".
func compare(j, o result) string {
	var b strings.Builder
	if j.code != o.code {
		fmt.Fprintf(&b, "exit status: java %d, ours %d\n", j.code, o.code)
	}
	if j.out != o.out {
		fmt.Fprintf(&b, "output (normalized):\n--- java\n%s\n--- ours\n%s\n", j.out, o.out)
	}
	if j.effect != o.effect {
		fmt.Fprintf(&b, "effect:\n--- java\n%s\n--- ours\n%s\n", j.effect, o.effect)
	}
	return b.String()
}

// buildGoFunction builds test/gofunction, the Go function the steps deploy.
func buildGoFunction(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "exclamation-go")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./test/gofunction")
	cmd.Dir = harness.RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build Go function: %v\n%s", err, out)
	}
	return bin
}
